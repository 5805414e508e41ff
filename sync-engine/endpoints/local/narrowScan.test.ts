import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIgnoreMatcher, type IgnoreMatcher } from '../../core/ignore.js';
import type { NarrowScope } from '../../core/narrowScope.js';
import { narrowedView } from '../../core/testing/narrowed.js';
import { createLocalEndpoint } from './localEndpoint.js';
import { TempDirs, writeFile } from './testFixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** A tree with a bit of everything: nested folders, a link to a folder outside, temporaries, ignored names. */
function awkwardTree(): { root: string; outside: string } {
  const root = dirs.make();
  const outside = dirs.make();
  writeFile(outside, 'secret.txt', 'outside the root');
  writeFile(outside, 'sub/deeper/more.txt', 'a folder outside the root');
  writeFile(outside, '.tether-partial-x', 'a temporary outside the root');
  writeFile(root, 'top.txt', 'top');
  writeFile(root, 'data/a/x.bin', 'x');
  writeFile(root, 'data/a/deep/y.bin', 'yy', { mode: 0o755 });
  writeFile(root, 'data/a/.tether-partial-abc', 'partial');
  writeFile(root, 'data/a/skip.tmp', 'ignored');
  writeFile(root, 'data/a b/z', 'a sibling that only shares a prefix');
  writeFile(root, 'data/other.txt', 'out of scope');
  writeFile(root, 'plain', 'a file where the scope expects a folder');
  mkdirSync(join(root, 'empty'));
  symlinkSync(outside, join(root, 'link'));
  return { root, outside };
}

const scopes: [string, NarrowScope][] = [
  ['a folder and a file', { roots: ['data/a', 'top.txt'], parents: ['data'] }],
  ['a file deep down', { roots: ['data/a/deep/y.bin'], parents: ['data', 'data/a', 'data/a/deep'] }],
  ['paths that do not exist', { roots: ['data/gone', 'nothing/here'], parents: ['data', 'nothing'] }],
  ['a path through a link', { roots: ['link/secret.txt', 'link/.tether-partial-x'], parents: ['link'] }],
  ['a folder through a link', { roots: ['link/sub'], parents: ['link'] }],
  ['a path through a file', { roots: ['plain/x'], parents: ['plain'] }],
  ['an empty folder and a temporary', { roots: ['empty', 'data/a/.tether-partial-abc'], parents: ['data', 'data/a'] }],
];

const ignores: [string, () => IgnoreMatcher][] = [
  ['rules applied in the worker', () => createIgnoreMatcher(['*.tmp'])],
  ['a function asked on the main thread', () => (path: string) => path.endsWith('.tmp')],
];

describe.each(ignores)('a narrowed local scan, with %s', (_, ignore) => {
  it.each(scopes)('finds in the scope exactly what a full scan finds there: %s', async (_name, scope) => {
    const { root } = awkwardTree();
    const endpoint = await createLocalEndpoint(root);
    try {
      const full = await endpoint.scan({ ignore: ignore() });
      const narrow = await endpoint.scan({ ignore: ignore(), within: scope });
      expect(narrowedView(narrow, scope)).toEqual(narrowedView(full, scope));
      // Nothing was looked at outside the root, not even to be dropped afterwards.
      expect(narrow.entries.filter((e) => e.path.startsWith('link/'))).toEqual([]);
      expect(narrow.temporaries.filter((t) => t.startsWith('link/'))).toEqual([]);
      // It listed only the scope: nothing outside it, and no sibling that merely shares a prefix.
      const roots = scope.roots;
      for (const entry of narrow.entries) {
        const inside = roots.some((r) => entry.path === r || entry.path.startsWith(`${r}/`));
        expect(inside || scope.parents.includes(entry.path), entry.path).toBe(true);
      }
    } finally {
      await endpoint.close();
    }
  });
});

describe('a narrowed local scan', () => {
  it('never reports what it reached through a link, so nothing there is ever acted on or removed', async () => {
    const { root } = awkwardTree();
    const endpoint = await createLocalEndpoint(root);
    const scope = { roots: ['link/.tether-partial-x', 'link/secret.txt'], parents: ['link'] };
    try {
      const result = narrowedView(await endpoint.scan({ within: scope }), scope);
      expect(result).toEqual({
        entries: [],
        problems: [{ path: 'link', message: expect.stringMatching(/symlink skipped/) as unknown }],
        temporaries: [],
        unlisted: [],
      });
    } finally {
      await endpoint.close();
    }
  });
});
