import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../core/entry.js';
import { createLocalEndpoint } from './localEndpoint.js';
import { fileEntry, TempDirs, writeFile } from './testFixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const T = 1_700_000_000_000;
const dir = (path: string, mtimeMs = T): Entry => ({ path, kind: 'dir', size: 0, mtimeMs, executable: false });

async function scanned(root: string): Promise<Map<string, Entry>> {
  const endpoint = await createLocalEndpoint(root);
  const result = await endpoint.scan();
  await endpoint.close();
  return new Map(result.entries.map((e) => [e.path, e]));
}

describe('mkdirs', () => {
  it('creates folders parents first, accepts existing ones and reports a file in the way', async () => {
    const root = dirs.make();
    writeFile(root, 'blocked', 'a file');
    mkdirSync(join(root, 'exists'));
    const endpoint = await createLocalEndpoint(root);
    const problems = await endpoint.mkdirs([
      dir('a/b/c', T + 3),
      dir('a', T + 1),
      dir('a/b', T + 2),
      dir('exists'),
      dir('blocked'),
    ]);
    await endpoint.close();
    expect(problems).toEqual([{ path: 'blocked', message: 'folder not created: a file is in the way' }]);
    expect(lstatSync(join(root, 'a/b/c')).isDirectory()).toBe(true);
    expect(Math.trunc(lstatSync(join(root, 'a/b/c')).mtimeMs)).toBe(T + 3);
  });
});

describe('remove', () => {
  it('removes what is unchanged, children first, and refuses changed files and non-empty folders', async () => {
    const root = dirs.make();
    writeFile(root, 'd/old.txt', 'old', { mtimeMs: T });
    writeFile(root, 'd/edited.txt', 'before', { mtimeMs: T });
    writeFile(root, 'e/sub/x', 'x', { mtimeMs: T });
    writeFile(root, 'e/.tether-partial-0000000000000000', 'leftover');
    writeFile(root, 'f/new-file', 'not in the plan');
    const seen = await scanned(root);
    writeFile(root, 'd/edited.txt', 'after!', { mtimeMs: T + 60_000 });
    const endpoint = await createLocalEndpoint(root);
    const { removed, problems } = await endpoint.remove(
      ['d', 'd/old.txt', 'd/edited.txt', 'e', 'e/sub', 'e/sub/x', 'f'].map((p) => seen.get(p)!),
    );
    await endpoint.close();
    expect(removed.sort()).toEqual(['d/old.txt', 'e', 'e/sub', 'e/sub/x']);
    const byPath = new Map(problems.map((p) => [p.path, p.message]));
    expect(byPath.get('d/edited.txt')).toMatch(/^not deleted: it changed here since the scan \(it was modified at/);
    expect(byPath.get('d')).toMatch(/^not deleted: the folder is not empty: it still holds 1 item \("edited\.txt"\)/);
    expect(byPath.get('f')).toMatch(/"new-file"/);
    expect(readFileSync(join(root, 'd/edited.txt'), 'utf8')).toBe('after!');
    expect(existsSync(join(root, 'e'))).toBe(false);
    expect(readdirSync(root).sort()).toEqual(['d', 'f']);
  });

  it('counts what is already gone as removed, and refuses a file that became a folder', async () => {
    const root = dirs.make();
    mkdirSync(join(root, 'now-a-dir'));
    const endpoint = await createLocalEndpoint(root);
    const { removed, problems } = await endpoint.remove([
      fileEntry('never-there', 1, T),
      fileEntry('missing-parent/x', 1, T),
      fileEntry('now-a-dir', 1, T),
    ]);
    await endpoint.close();
    expect(removed.sort()).toEqual(['missing-parent/x', 'never-there']);
    expect(problems).toEqual([
      { path: 'now-a-dir', message: 'not deleted: it changed here since the scan (it is now a folder, not a file)' },
    ]);
  });
});

describe('rename', () => {
  it('moves a file aside without ever replacing the destination', async () => {
    const root = dirs.make();
    writeFile(root, 'a.txt', 'mine', { mtimeMs: T });
    writeFile(root, 'taken.txt', 'someone else', { mtimeMs: T });
    const seen = await scanned(root);
    const endpoint = await createLocalEndpoint(root);
    await expect(endpoint.rename('a.txt', 'taken.txt', seen.get('a.txt')!)).rejects.toThrow(
      /taken\.txt already exists/,
    );
    expect(readFileSync(join(root, 'taken.txt'), 'utf8')).toBe('someone else');
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('mine');

    await endpoint.rename('a.txt', 'a (conflict).txt', seen.get('a.txt')!);
    expect(existsSync(join(root, 'a.txt'))).toBe(false);
    expect(readFileSync(join(root, 'a (conflict).txt'), 'utf8')).toBe('mine');
    expect(Math.trunc(lstatSync(join(root, 'a (conflict).txt')).mtimeMs)).toBe(T);

    writeFile(root, 'b.txt', 'changed after the scan');
    await expect(endpoint.rename('b.txt', 'b2.txt', fileEntry('b.txt', 1, T))).rejects.toThrow(
      /changed since the scan/,
    );
    await expect(endpoint.rename('taken.txt', '../out.txt', seen.get('taken.txt')!)).rejects.toThrow(/invalid path/);
    await endpoint.close();
  });

  it('renames folders only when the destination is free', async () => {
    const root = dirs.make();
    writeFile(root, 'd/x', 'x');
    mkdirSync(join(root, 'busy'));
    const seen = await scanned(root);
    const endpoint = await createLocalEndpoint(root);
    await expect(endpoint.rename('d', 'busy', seen.get('d')!)).rejects.toThrow(/already exists/);
    await endpoint.rename('d', 'd2', seen.get('d')!);
    await endpoint.close();
    expect(readFileSync(join(root, 'd2/x'), 'utf8')).toBe('x');
  });
});

describe('setMetadata', () => {
  it('sets mtime and executable bit of unchanged files, and refuses changed ones', async () => {
    const root = dirs.make();
    writeFile(root, 'script', 'echo', { mtimeMs: T, mode: 0o640 });
    writeFile(root, 'edited', 'x', { mtimeMs: T });
    const seen = await scanned(root);
    writeFile(root, 'edited', 'xyz', { mtimeMs: T });
    const endpoint = await createLocalEndpoint(root);
    const problems = await endpoint.setMetadata([
      {
        path: 'script',
        entry: { ...seen.get('script')!, executable: true, mtimeMs: T + 777 },
        expected: seen.get('script')!,
      },
      { path: 'edited', entry: { ...seen.get('edited')!, mtimeMs: T + 1 }, expected: seen.get('edited')! },
    ]);
    await endpoint.close();
    const script = lstatSync(join(root, 'script'));
    expect(script.mode & 0o777).toBe(0o750);
    expect(Math.trunc(script.mtimeMs)).toBe(T + 777);
    expect(problems).toEqual([
      {
        path: 'edited',
        message: expect.stringMatching(/^metadata not updated: it changed here since the scan/) as unknown,
      },
    ]);
    expect(Math.trunc(lstatSync(join(root, 'edited')).mtimeMs)).toBe(T);
  });
});

describe('removeTemporaries', () => {
  it('removes engine temporaries only', async () => {
    const root = dirs.make();
    const outside = dirs.make();
    writeFile(root, '.tether-partial-1111111111111111', 'x');
    writeFile(root, 'sub/.tether-staging-abc/batch.tar', 'x');
    writeFile(root, 'precious.txt', 'keep me');
    writeFile(outside, '.tether-partial-2222222222222222', 'not ours');
    symlinkSync(outside, join(root, 'link'));
    const endpoint = await createLocalEndpoint(root);
    await endpoint.removeTemporaries([
      '.tether-partial-1111111111111111',
      'sub/.tether-staging-abc',
      'precious.txt',
      'link/.tether-partial-2222222222222222',
      '../.tether-partial-3333333333333333',
      'already-gone/.tether-partial-4444444444444444',
    ]);
    await endpoint.close();
    expect(readdirSync(root).sort()).toEqual(['link', 'precious.txt', 'sub']);
    expect(readdirSync(join(root, 'sub'))).toEqual([]);
    expect(readdirSync(outside)).toEqual(['.tether-partial-2222222222222222']);
  });
});
