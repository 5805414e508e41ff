import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIgnoreMatcher, type IgnoreMatcher } from '../../core/ignore.js';
import type { ScanResult } from '../endpoint.js';
import { findScan, MAX_SKIPPED_BELOW_IGNORED } from './findScan.js';
import { scanTree } from './scan.js';
import { TempDirs, writeFile } from './testFixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** A result in a stable order, for comparing two scans of the same tree. */
function sorted(result: ScanResult): object {
  const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : 1);
  return {
    entries: [...result.entries].sort(byPath),
    problems: [...result.problems].sort(byPath),
    temporaries: [...result.temporaries].sort(),
    unlisted: [...result.unlisted].sort(),
    tree: [...(result.tree ?? new Map()).keys()].sort(),
  };
}

/** Both scans of `root`; the fast one must have answered. */
async function bothScans(root: string, ignore?: IgnoreMatcher): Promise<[ScanResult, ScanResult]> {
  const options = ignore === undefined ? {} : { ignore };
  const fast = await findScan(root, root, options);
  const worker = await scanTree(root, root, options);
  expect(fast, 'find should have answered for this tree').toBeDefined();
  return [fast as ScanResult, worker];
}

/** A tree with every kind of entry the fast scan answers for. */
function awkwardTree(): string {
  const root = dirs.make();
  const names = [
    'with space',
    '-rf',
    `quotes "d" 'q'`,
    '$(reboot)',
    'line\nbreak',
    'caf\u00e9',
    'cafe\u0301',
    '日本語',
  ];
  for (const name of names) writeFile(root, `names/${name}.txt`, name);
  writeFile(root, 'bin/run.sh', '#!/bin/sh\n', { mode: 0o755 });
  writeFile(root, 'bin/group-exec-only', 'x', { mode: 0o654 });
  writeFile(root, 'deep/a/b/c/d/file', 'deep');
  writeFile(root, 'big.bin', Buffer.alloc(300_000));
  mkdirSync(join(root, 'empty'));
  symlinkSync('big.bin', join(root, 'link-to-file'));
  symlinkSync('/etc', join(root, 'deep/a/link-out'));
  writeFile(root, '.tether-partial-0123456789abcdef', 'half');
  writeFile(root, 'deep/.tether-partial-fedcba9876543210', 'half');
  writeFile(root, '.tether-staging-x/inside/batch.tar', 'tar');
  writeFile(root, 'back\\slash.txt', 'x');
  writeFile(root, 'back\\dir/inside', 'x');
  writeFile(root, 'logs/keep.log', 'x');
  writeFile(root, 'logs/drop.log', 'x');
  writeFile(root, 'node_modules/pkg/index.js', 'x');
  symlinkSync('index.js', join(root, 'node_modules/pkg/ignored-link'));
  return root;
}

describe('findScan', () => {
  it('gives the same result as the worker scan, problems and temporaries included', async () => {
    const root = awkwardTree();
    const [fast, worker] = await bothScans(root);
    expect(sorted(fast)).toEqual(sorted(worker));
    expect(fast.entries.find((e) => e.path === 'bin/run.sh')?.executable).toBe(true);
    expect(fast.entries.find((e) => e.path === 'bin/group-exec-only')?.executable).toBe(false);
    expect(fast.entries.find((e) => e.path === 'big.bin')?.size).toBe(300_000);
    expect(fast.entries.find((e) => e.path === 'empty')).toMatchObject({ kind: 'dir', size: 0 });
    expect(fast.temporaries.sort()).toEqual([
      '.tether-partial-0123456789abcdef',
      '.tether-staging-x',
      'deep/.tether-partial-fedcba9876543210',
    ]);
    expect(fast.problems.map((p) => p.path).sort()).toEqual([
      'back\\dir',
      'back\\slash.txt',
      'deep/a/link-out',
      'link-to-file',
      'node_modules/pkg/ignored-link',
    ]);
    expect(fast.entries.some((e) => e.path.startsWith('back\\dir/'))).toBe(false);
  });

  it('applies ignore rules as the worker scan does: from rules, from a bare function, negations included', async () => {
    const root = awkwardTree();
    const matcher = createIgnoreMatcher(['node_modules/', '*.log', '!keep.log'], 'deep/a/b/\n');
    const [fast, worker] = await bothScans(root, matcher);
    expect(sorted(fast)).toEqual(sorted(worker));
    const paths = fast.entries.map((e) => e.path);
    expect(paths).toContain('logs/keep.log');
    expect(paths).not.toContain('logs/drop.log');
    expect(paths.filter((p) => p.startsWith('node_modules') || p.startsWith('deep/a/b'))).toEqual([]);
    // The ignored link below node_modules is not a problem either.
    expect(fast.problems.map((p) => p.path)).not.toContain('node_modules/pkg/ignored-link');

    const asked: string[] = [];
    const bare = (path: string, isDir: boolean): boolean => {
      asked.push(path);
      return matcher(path, isDir);
    };
    const [fastBare, workerBare] = await bothScans(root, bare);
    expect(sorted(fastBare)).toEqual(sorted(workerBare));
    expect(sorted(fastBare)).toEqual(sorted(fast));
    // Nothing below an ignored folder is asked about.
    expect(asked.filter((p) => p.startsWith('node_modules/'))).toEqual([]);
  });

  it('reads mtimes to the same millisecond as lstat, nanoseconds just below a whole millisecond included', async () => {
    const root = dirs.make();
    const stamps = [
      '1700000000.000000000',
      '1700000000.123456789',
      '1700000000.999999999',
      '1700000000.000999999',
      '1733580000.999999500',
      '2000000000.999999999',
      '0.000000001',
    ];
    stamps.forEach((stamp, i) => {
      const file = writeFile(root, `f${i}`, 'x');
      execFileSync('touch', ['-h', '-d', `@${stamp}`, file]);
    });
    const [fast, worker] = await bothScans(root);
    expect(sorted(fast)).toEqual(sorted(worker));
    stamps.forEach((_, i) => {
      const expected = Math.trunc(lstatSync(join(root, `f${i}`)).mtimeMs);
      expect(fast.tree?.get(`f${i}`)?.mtimeMs, `f${i}`).toBe(expected);
    });
  });

  it('steps aside for what only the worker scan can report', async () => {
    const fifo = dirs.make();
    writeFile(fifo, 'ok', 'x');
    expect(spawnSync('mkfifo', [join(fifo, 'pipe')]).status).toBe(0);
    expect(await findScan(fifo, fifo)).toBeUndefined();

    const badName = dirs.make();
    writeFileSync(Buffer.concat([Buffer.from(`${badName}/bad-`), Buffer.from([0xff])]), 'x');
    expect(await findScan(badName, badName)).toBeUndefined();

    const beforeEpoch = dirs.make();
    execFileSync('touch', ['-d', '@-5.5', writeFile(beforeEpoch, 'old', 'x')]);
    expect(await findScan(beforeEpoch, beforeEpoch)).toBeUndefined();

    // find warns (the root is gone) and exits non-zero.
    expect(await findScan(join(dirs.make(), 'missing'), 'missing')).toBeUndefined();
  });

  it('steps aside when it would walk too far below ignored folders', { timeout: 60_000 }, async () => {
    const root = dirs.make();
    writeFile(root, 'kept', 'x');
    for (let d = 0; d * 1000 <= MAX_SKIPPED_BELOW_IGNORED; d++) {
      mkdirSync(join(root, `cache/d${d}`), { recursive: true });
      for (let f = 0; f < 1000; f++) writeFileSync(join(root, `cache/d${d}/f${f}`), '');
    }
    const ignore = createIgnoreMatcher(['cache/']);
    expect(await findScan(root, root, { ignore })).toBeUndefined();
    expect((await scanTree(root, root, { ignore })).entries.map((e) => e.path)).toEqual(['kept']);
  });

  it('reports progress, and stops find when cancelled', async () => {
    const root = dirs.make();
    for (let f = 0; f < 3000; f++) writeFileSync(join(root, `f${f}`), '');
    const seen: number[] = [];
    const result = await findScan(root, root, { onProgress: (n) => seen.push(n) });
    expect(result?.entries).toHaveLength(3000);
    expect(seen.at(-1)).toBe(3000);

    const controller = new AbortController();
    const scanning = findScan(root, 'the folder', {
      signal: controller.signal,
      ignore: () => {
        controller.abort();
        return false;
      },
    });
    await expect(scanning).rejects.toMatchObject({ code: 'cancelled', message: 'scan of the folder cancelled' });
    // find's output went to an unlinked spool file: none is left, cancelled or not.
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(`tether-find-${process.pid}-`))).toEqual([]);
  });
});
