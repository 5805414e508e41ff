import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalEndpoint } from './localEndpoint.js';
import type { LocalEndpoint } from './localEndpoint.js';
import { RootedPaths } from './paths.js';
import { fileEntry, readAll, TempDirs, writeFile } from './testFixtures.js';

const dirs = new TempDirs();
let root = '';
let outside = '';

beforeEach(() => {
  root = dirs.make();
  outside = dirs.make();
  writeFile(outside, 'victim.txt', 'outside', { mtimeMs: 1000 });
  mkdirSync(join(outside, 'folder'));
  writeFile(root, 'real/file.txt', 'inside', { mtimeMs: 2000 });
  symlinkSync(outside, join(root, 'escape'));
  symlinkSync(outside, join(root, 'real/deeper-escape'));
});
afterEach(() => dirs.cleanup());

describe('RootedPaths.resolve', () => {
  it.each([
    ['../victim.txt', /invalid path \(path has a "\.\." segment\)/],
    ['/etc/passwd', /invalid path \(absolute path\)/],
    ['real/../../victim.txt', /invalid path/],
    ['./real/file.txt', /invalid path \(path has a "\." segment\)/],
    ['real//file.txt', /empty segment/],
    ['', /empty path/],
    ['a\0b', /NUL/],
    ['escape/victim.txt', /the folder escape is a symbolic link/],
    ['real/deeper-escape/folder/x', /the folder real\/deeper-escape is a symbolic link/],
    ['real/file.txt/x', /real\/file\.txt is not a folder/],
    ['missing/x', /the folder missing does not exist/],
  ])('refuses %j', async (path, reason) => {
    const resolved = await new RootedPaths(root).resolve(path);
    expect(resolved.ok).toBe(false);
    if (!resolved.ok) expect(resolved.reason).toMatch(reason);
  });

  it('accepts clean paths under the root, the last component unfollowed', async () => {
    const paths = new RootedPaths(root);
    expect(await paths.resolve('real/file.txt')).toEqual({ ok: true, abs: join(root, 'real/file.txt') });
    // The link itself is a name in the root; what it is, lstat tells the caller.
    expect(await paths.resolve('escape')).toEqual({ ok: true, abs: join(root, 'escape') });
  });
});

describe('no operation reaches outside the root', () => {
  const attempts = ['../victim.txt', 'escape/victim.txt', 'escape/folder', 'real/deeper-escape/victim.txt'];
  let endpoint: LocalEndpoint;
  beforeEach(async () => {
    endpoint = await createLocalEndpoint(root);
  });
  afterEach(async () => {
    await endpoint.close();
    expect(readdirSync(outside).sort()).toEqual(['folder', 'victim.txt']);
    expect(readdirSync(join(outside, 'folder'))).toEqual([]);
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('outside');
  });

  it.each(attempts)('remove %j', async (path) => {
    const { removed, problems } = await endpoint.remove([fileEntry(path, 7, 1000)]);
    expect(removed).toEqual([]);
    expect(problems).toHaveLength(1);
  });

  it.each(attempts)('mkdirs %j/sub', async (path) => {
    expect(
      await endpoint.mkdirs([{ path: `${path}/sub`, kind: 'dir', size: 0, mtimeMs: 0, executable: false }]),
    ).toHaveLength(1);
  });

  it.each(attempts)('setMetadata %j', async (path) => {
    const entry = fileEntry(path, 7, 1000);
    expect(await endpoint.setMetadata([{ path, entry: { ...entry, executable: true }, expected: entry }])).toHaveLength(
      1,
    );
  });

  it.each(attempts)('readFiles and partialOffset %j', async (path) => {
    const entry = fileEntry(path, 7, 1000);
    expect(await endpoint.partialOffset(path, entry)).toBe(0);
    for await (const file of endpoint.readFiles([{ path, entry, offset: 0 }])) {
      await expect(readAll(file.stream)).rejects.toThrow(/^cannot read /);
    }
  });

  it.each(attempts)('rename to and from %j', async (path) => {
    await expect(endpoint.rename('real/file.txt', path, fileEntry('real/file.txt', 6, 2000))).rejects.toThrow();
    await expect(endpoint.rename(path, 'real/stolen', fileEntry(path, 7, 1000))).rejects.toThrow();
  });
});
