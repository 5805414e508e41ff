import { describe, expect, it } from 'vitest';
import { changedSince, compareEntries, sameRecord, type CompareSettings, type Difference } from './compare.js';
import type { Entry } from './entry.js';
import type { CompareMode } from './plan.js';
import { dir, file, symlink } from './testing/fixtures.js';

const settings = (compare: CompareMode, mtimePrecisionMs = 1): CompareSettings => ({ compare, mtimePrecisionMs });

describe('compareEntries', () => {
  const cases: [string, Entry, Entry, CompareSettings, Difference][] = [
    ['directories, whatever their mtimes', dir('d', 0), dir('d', 99_999), settings('size-mtime'), 'equal'],
    ['a file and a directory', file('x'), dir('x'), settings('none'), 'content'],
    ['a file and a symlink', file('x'), symlink('x', 'y'), settings('none'), 'content'],
    ['symlinks with the same target', symlink('l', 'a/b'), symlink('l', 'a/b'), settings('size-mtime'), 'equal'],
    ['symlinks with different targets', symlink('l', 'a'), symlink('l', 'b'), settings('none'), 'content'],
    [
      'size-mtime: same size and mtime',
      file('f', { size: 3 }),
      file('f', { size: 3 }),
      settings('size-mtime'),
      'equal',
    ],
    ['size-mtime: different sizes', file('f', { size: 3 }), file('f', { size: 4 }), settings('size-mtime'), 'content'],
    [
      'size-mtime: mtimes within the precision',
      file('f', { mtime: 0 }),
      file('f', { mtime: 999 }),
      settings('size-mtime', 1000),
      'equal',
    ],
    [
      'size-mtime: mtimes exactly one precision apart',
      file('f', { mtime: 0 }),
      file('f', { mtime: 1000 }),
      settings('size-mtime', 1000),
      'content',
    ],
    [
      'size-mtime: 1 ms apart at 1 ms precision',
      file('f', { mtime: 0 }),
      file('f', { mtime: 1 }),
      settings('size-mtime'),
      'content',
    ],
    [
      'size-mtime: a fraction of a ms apart at 1 ms precision',
      file('f', { mtime: 0 }),
      file('f', { mtime: 0.4 }),
      settings('size-mtime'),
      'equal',
    ],
    [
      'size-mtime: precision 0 means exact',
      file('f', { mtime: 0 }),
      file('f', { mtime: 0.4 }),
      settings('size-mtime', 0),
      'content',
    ],
    [
      'size-mtime: only the executable bit differs',
      file('f'),
      file('f', { exec: true }),
      settings('size-mtime'),
      'metadata',
    ],
    [
      'size-mtime: the executable bit and the mtime differ',
      file('f'),
      file('f', { exec: true, mtime: 5000 }),
      settings('size-mtime'),
      'content',
    ],
    [
      'sha256: equal hashes, different mtimes',
      file('f', { sha: 'aa', mtime: 0 }),
      file('f', { sha: 'aa', mtime: 60_000 }),
      settings('sha256'),
      'equal',
    ],
    [
      'sha256: different hashes, same size and mtime',
      file('f', { sha: 'aa' }),
      file('f', { sha: 'bb' }),
      settings('sha256'),
      'content',
    ],
    [
      'sha256: different sizes are different content, whatever the hashes say',
      file('f', { sha: 'aa', size: 1 }),
      file('f', { sha: 'aa', size: 2 }),
      settings('sha256'),
      'content',
    ],
    [
      'sha256: equal hashes, only the executable bit differs',
      file('f', { sha: 'aa' }),
      file('f', { sha: 'aa', exec: true, mtime: 7 }),
      settings('sha256'),
      'metadata',
    ],
    [
      'sha256: a missing hash falls back to size-mtime (mtimes differ)',
      file('f', { sha: 'aa', mtime: 0 }),
      file('f', { mtime: 5000 }),
      settings('sha256'),
      'content',
    ],
    [
      'sha256: a missing hash falls back to size-mtime (same mtime)',
      file('f', { mtime: 0 }),
      file('f', { sha: 'bb', mtime: 0 }),
      settings('sha256'),
      'equal',
    ],
    [
      'none: different sizes and mtimes',
      file('f', { size: 1 }),
      file('f', { size: 2, mtime: 9 }),
      settings('none'),
      'equal',
    ],
    ['none: the executable bit is not compared', file('f'), file('f', { exec: true }), settings('none'), 'equal'],
    [
      'ignoreExecutable: only the executable bit differs',
      file('f'),
      file('f', { exec: true }),
      { ...settings('size-mtime'), ignoreExecutable: true },
      'equal',
    ],
  ];
  it.each(cases)('%s', (_name, a, b, s, expected) => {
    expect(compareEntries(a, b, s)).toBe(expected);
    expect(compareEntries(b, a, s)).toBe(expected);
  });
});

describe('changedSince', () => {
  it.each([
    ['nothing then, nothing now', undefined, undefined, settings('size-mtime'), false],
    ['created', file('f'), undefined, settings('none'), true],
    ['deleted', undefined, file('f'), settings('none'), true],
    ['unchanged', file('f'), file('f'), settings('sha256'), false],
    ['a new mtime within the precision', file('f', { mtime: 500 }), file('f'), settings('size-mtime', 1000), false],
    ['executable bit only', file('f', { exec: true }), file('f'), settings('size-mtime'), true],
    ['compare none still sees an edit since the ancestor', file('f', { size: 2 }), file('f'), settings('none'), true],
    [
      'compare none still sees a touch since the ancestor',
      file('f', { mtime: 5000 }),
      file('f'),
      settings('none'),
      true,
    ],
    [
      'sha256: a touch is no change',
      file('f', { sha: 'a', mtime: 5000 }),
      file('f', { sha: 'a' }),
      settings('sha256'),
      false,
    ],
    ['a folder became a file', file('d'), dir('d'), settings('none'), true],
  ] as const)('%s', (_name, current, ancestor, s, expected) => {
    expect(changedSince(current, ancestor, s)).toBe(expected);
  });
});

describe('sameRecord', () => {
  it.each([
    ['no record yet', file('f'), undefined, false],
    ['folders, whatever their mtimes', dir('d', 5), dir('d', 0), true],
    ['the same file', file('f', { sha: 'a' }), file('f', { sha: 'a' }), true],
    ['mtimes within the precision', file('f', { mtime: 999 }), file('f'), true],
    ['a new mtime', file('f', { mtime: 1000 }), file('f'), false],
    ['a new executable bit', file('f', { exec: true }), file('f'), false],
    ['a hash the record lacks', file('f', { sha: 'a' }), file('f'), false],
    ['a different hash', file('f', { sha: 'a' }), file('f', { sha: 'b' }), false],
    ['no hash known now: the recorded one stands', file('f'), file('f', { sha: 'a' }), true],
    ['a symlink retargeted', symlink('l', 'b'), symlink('l', 'a'), false],
    ['a file where a folder was', file('d'), dir('d'), false],
  ] as const)('%s', (_name, entry, recorded, expected) => {
    expect(sameRecord(entry, recorded, 1000)).toBe(expected);
  });
});
