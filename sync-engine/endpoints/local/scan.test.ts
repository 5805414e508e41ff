import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../core/entry.js';
import { createIgnoreMatcher } from '../../core/ignore.js';
import { TetherError } from '../../errors.js';
import { createLocalEndpoint, type LocalEndpoint, type LocalEndpointOptions } from './localEndpoint.js';
import { runningAsRoot, TempDirs, writeFile } from './testFixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const T = 1_700_000_000_123;

function byPath(entries: readonly Entry[]): Map<string, Entry> {
  return new Map(entries.map((e) => [e.path, e]));
}

/** Each scan test runs against both ways of listing a tree (see `LocalEndpointOptions.scanner`). */
const scanners = [
  ['GNU find where it can', 'auto'],
  ['the worker thread', 'worker'],
] as const;

describe.each(scanners)('scan with %s', (_, scanner) => {
  const open = (root: string, options: LocalEndpointOptions = {}): Promise<LocalEndpoint> =>
    createLocalEndpoint(root, { ...options, scanner });

  it('lists files and folders with size, integer-ms mtime and the executable bit', async () => {
    const root = dirs.make();
    writeFile(root, 'a.txt', 'hello', { mtimeMs: T });
    writeFile(root, 'bin/run.sh', '#!/bin/sh\n', { mtimeMs: T + 1, mode: 0o755 });
    writeFile(root, 'deep/er/still/x', '', { mtimeMs: T + 2 });
    mkdirSync(join(root, 'empty'));
    const endpoint = await open(root);
    const result = await endpoint.scan();
    await endpoint.close();

    const entries = byPath(result.entries);
    expect([...entries.keys()].sort()).toEqual([
      'a.txt',
      'bin',
      'bin/run.sh',
      'deep',
      'deep/er',
      'deep/er/still',
      'deep/er/still/x',
      'empty',
    ]);
    expect(entries.get('a.txt')).toEqual({ path: 'a.txt', kind: 'file', size: 5, mtimeMs: T, executable: false });
    expect(entries.get('bin/run.sh')).toMatchObject({ size: 10, mtimeMs: T + 1, executable: true });
    expect(entries.get('deep/er/still/x')).toMatchObject({ kind: 'file', size: 0, mtimeMs: T + 2 });
    expect(entries.get('empty')).toMatchObject({ kind: 'dir', size: 0, executable: false });
    expect(Number.isInteger(entries.get('empty')?.mtimeMs)).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.unlisted).toEqual([]);
    expect(result.temporaries).toEqual([]);
  });

  it('keeps awkward names exactly, NFC and NFD as two files', async () => {
    const root = dirs.make();
    const names = [
      'with space.txt',
      '-leading-dash',
      `quotes "double" and 'single'`,
      '$(touch pwned)',
      'line\nbreak',
      'caf\u00e9', // NFC
      'cafe\u0301', // NFD
      '日本語.txt',
      'semi;colon&amp|pipe',
    ];
    for (const name of names) writeFile(root, `dir/${name}`, name);
    const endpoint = await open(root);
    const result = await endpoint.scan();
    await endpoint.close();
    const entries = byPath(result.entries);
    for (const name of names) expect(entries.get(`dir/${name}`)?.size).toBe(Buffer.byteLength(name));
    expect(result.entries).toHaveLength(names.length + 1);
    expect(result.problems).toEqual([]);
  });

  it('skips symbolic links with a problem and never follows them', async () => {
    const root = dirs.make();
    const outside = dirs.make();
    writeFile(outside, 'secret/file', 'outside');
    writeFile(root, 'real.txt', 'x');
    symlinkSync(join(outside, 'secret'), join(root, 'link-to-dir'));
    symlinkSync('real.txt', join(root, 'link-to-file'));
    symlinkSync('nowhere', join(root, 'dangling'));
    const endpoint = await open(root);
    const result = await endpoint.scan();
    await endpoint.close();
    expect(result.entries.map((e) => e.path)).toEqual(['real.txt']);
    const problems = new Map(result.problems.map((p) => [p.path, p.message]));
    expect([...problems.keys()].sort()).toEqual(['dangling', 'link-to-dir', 'link-to-file']);
    expect(problems.get('link-to-dir')).toMatch(/^symlink skipped: link-to-dir -> .*secret/);
    expect(problems.get('link-to-file')).toMatch(/^symlink skipped: link-to-file -> real\.txt/);
  });

  it('skips FIFOs and sockets with a problem', async () => {
    const root = dirs.make();
    writeFile(root, 'ok', 'x');
    const made = spawnSync('mkfifo', [join(root, 'pipe')]);
    expect(made.status).toBe(0);
    const endpoint = await open(root);
    const result = await endpoint.scan();
    await endpoint.close();
    expect(result.entries.map((e) => e.path)).toEqual(['ok']);
    expect(result.problems).toEqual([{ path: 'pipe', message: expect.stringMatching(/named pipe/) as unknown }]);
  });

  it('reports engine temporaries apart, even where ignore rules would hide them', async () => {
    const root = dirs.make();
    writeFile(root, '.tether-partial-0123456789abcdef', 'half');
    writeFile(root, 'sub/.tether-partial-fedcba9876543210', 'half');
    writeFile(root, '.tether-staging-x/batch.tar', 'tar');
    writeFile(root, 'sub/kept', 'x');
    const endpoint = await open(root);
    const result = await endpoint.scan({ ignore: (path) => path.startsWith('.tether') });
    await endpoint.close();
    expect(result.entries.map((e) => e.path).sort()).toEqual(['sub', 'sub/kept']);
    expect([...result.temporaries].sort()).toEqual([
      '.tether-partial-0123456789abcdef',
      '.tether-staging-x',
      'sub/.tether-partial-fedcba9876543210',
    ]);
  });

  it('applies ignore rules without descending into ignored folders', async () => {
    const root = dirs.make();
    writeFile(root, 'node_modules/pkg/index.js', 'x');
    writeFile(root, 'node_modules/pkg/link-problem', 'x');
    symlinkSync('index.js', join(root, 'node_modules/pkg/link'));
    symlinkSync('a.log', join(root, 'ignored-link.log'));
    writeFile(root, 'src/a.ts', 'x');
    writeFile(root, 'src/a.log', 'x');
    const asked: string[] = [];
    const endpoint = await open(root);
    const result = await endpoint.scan({
      ignore: (path, isDir) => {
        asked.push(`${path}${isDir ? '/' : ''}`);
        return path === 'node_modules' || path.endsWith('.log');
      },
    });
    await endpoint.close();
    expect(result.entries.map((e) => e.path).sort()).toEqual(['src', 'src/a.ts']);
    expect(asked.filter((p) => p.startsWith('node_modules/'))).toEqual(['node_modules/']);
    expect(asked).toContain('src/');
    // The skipped link is itself ignored, so it is not a problem either.
    expect(result.problems).toEqual([]);
  });

  it('applies a matcher built from rules in the worker, as the same rules applied on the main thread would', async () => {
    const root = dirs.make();
    writeFile(root, 'node_modules/pkg/index.js', 'x');
    symlinkSync('a.log', join(root, 'ignored-link.log'));
    symlinkSync('a.ts', join(root, 'kept-link'));
    writeFile(root, 'src/a.ts', 'x');
    writeFile(root, 'src/a.log', 'x');
    writeFile(root, 'src/keep.log', 'x');
    writeFile(root, 'build/out/x.o', 'x');
    writeFile(root, '.tether-partial-0123456789abcdef', 'half');
    const matcher = createIgnoreMatcher(['node_modules/', '*.log', '!keep.log'], 'build/\n');
    expect(matcher.rules).toBeDefined();
    const endpoint = await open(root);
    const inWorker = await endpoint.scan({ ignore: matcher });
    // A plain function (no rules attached) goes through the main thread's answers instead.
    const onMain = await endpoint.scan({ ignore: (path, isDir) => matcher(path, isDir) });
    await endpoint.close();
    const paths = (entries: readonly Entry[]): string[] => entries.map((e) => e.path).sort();
    expect(paths(inWorker.entries)).toEqual(['src', 'src/a.ts', 'src/keep.log']);
    expect(paths(onMain.entries)).toEqual(paths(inWorker.entries));
    expect(inWorker.problems).toEqual([
      { path: 'kept-link', message: expect.stringMatching(/^symlink skipped/) as unknown },
    ]);
    expect(onMain.problems).toEqual(inWorker.problems);
    expect(inWorker.temporaries).toEqual(['.tether-partial-0123456789abcdef']);
  });

  it('puts an unreadable folder into unlisted, never treating it as empty', async (context) => {
    if (runningAsRoot) {
      // Root reads through chmod 000; local.integration.test.ts runs this case as an unprivileged user.
      console.log('skipped: running as root, where chmod 000 does not stop reads (see local.integration.test.ts)');
      context.skip();
    }
    const root = dirs.make();
    writeFile(root, 'locked/file', 'x');
    writeFile(root, 'open/file', 'x');
    chmodSync(join(root, 'locked'), 0o000);
    try {
      const endpoint = await open(root);
      const result = await endpoint.scan();
      await endpoint.close();
      expect(result.unlisted).toEqual(['locked']);
      expect(result.problems.map((p) => p.path)).toEqual(['locked']);
      expect(result.entries.map((e) => e.path).sort()).toEqual(['locked', 'open', 'open/file']);
    } finally {
      chmodSync(join(root, 'locked'), 0o755);
    }
  });

  it('reports names that are not valid UTF-8 as problems', async () => {
    const root = dirs.make();
    writeFile(root, 'fine', 'x');
    // 0xff never appears in UTF-8: the name cannot round-trip through a JavaScript string.
    writeFileSync(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff]), Buffer.from('.txt')]), 'x');
    writeFile(root, 'real-\ufffd-replacement-char', 'x');
    const endpoint = await open(root);
    const result = await endpoint.scan();
    await endpoint.close();
    expect(result.entries.map((e) => e.path).sort()).toEqual(['fine', 'real-\ufffd-replacement-char']);
    expect(result.problems).toEqual([
      { path: 'bad-\ufffd.txt', message: expect.stringMatching(/not valid UTF-8/) as unknown },
    ]);
  });

  it('reports progress and lists a tree of several batches completely', { timeout: 60_000 }, async () => {
    const root = dirs.make();
    // 4,505 entries: more than one 4,096-entry batch from the worker.
    for (let d = 0; d < 5; d++) {
      mkdirSync(join(root, `d${d}`));
      for (let f = 0; f < 900; f++) writeFileSync(join(root, `d${d}`, `f${f}`), '');
    }
    const endpoint = await open(root);
    const seen: number[] = [];
    const result = await endpoint.scan({ onProgress: (n) => seen.push(n) });
    const withIgnore = await endpoint.scan({ ignore: (path) => path.endsWith('7') });
    await endpoint.close();
    expect(new Set(result.entries.map((e) => e.path)).size).toBe(4505);
    expect(seen.at(-1)).toBe(4505);
    expect(withIgnore.entries).toHaveLength(5 * 810 + 5);
  });

  it(
    'descends into every folder of a folder holding more folders than one batch, with an ignore rule',
    { timeout: 60_000 },
    async () => {
      const root = dirs.make();
      for (let d = 0; d < 4200; d++) mkdirSync(join(root, `d${d}`));
      writeFile(root, 'd4199/inner/file', 'x');
      writeFile(root, 'd0/inner/file', 'x');
      const endpoint = await open(root);
      const result = await endpoint.scan({ ignore: (path) => path === 'd7' });
      await endpoint.close();
      const paths = new Set(result.entries.map((e) => e.path));
      expect(paths.size).toBe(4199 + 4);
      expect(paths.has('d4199/inner/file')).toBe(true);
      expect(paths.has('d0/inner/file')).toBe(true);
      expect(paths.has('d7')).toBe(false);
    },
  );

  it('fails when the root cannot be listed, and when cancelled', async () => {
    const root = dirs.make();
    writeFile(root, 'x', 'x');
    const endpoint = await open(root, {
      displayName: 'file:///somewhere',
      missingCode: 'listing-failed',
    });
    const controller = new AbortController();
    controller.abort();
    await expect(endpoint.scan({ signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
    const midway = new AbortController();
    const aborting = endpoint.scan({
      signal: midway.signal,
      ignore: () => {
        midway.abort();
        return false;
      },
    });
    await expect(aborting).rejects.toMatchObject({ code: 'cancelled' });
    rmSync(root, { recursive: true });
    const error = await endpoint.scan().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TetherError);
    expect(error).toMatchObject({
      code: 'listing-failed',
      message: expect.stringContaining('file:///somewhere') as unknown,
    });
    await endpoint.close();
  });
});

// Worker only: find walks ahead of the ignore callback, so it may already have listed the folder this test deletes.
describe('scan with the worker thread', () => {
  it('puts a folder that vanished before it was listed into unlisted, with a problem', async () => {
    const root = dirs.make();
    writeFile(root, 'going/file', 'x');
    writeFile(root, 'staying/file', 'x');
    const endpoint = await createLocalEndpoint(root, { scanner: 'worker' });
    // The ignore callback runs before the worker descends: deleting the folder there makes it vanish mid-scan.
    const result = await endpoint.scan({
      ignore: (path) => {
        if (path === 'going') rmSync(join(root, 'going'), { recursive: true });
        return false;
      },
    });
    await endpoint.close();
    expect(result.unlisted).toEqual(['going']);
    expect(result.problems).toEqual([
      { path: 'going', message: expect.stringMatching(/could not list this folder/) as unknown },
    ]);
    expect(result.entries.map((e) => e.path).sort()).toEqual(['going', 'staying', 'staying/file']);
  });
});
