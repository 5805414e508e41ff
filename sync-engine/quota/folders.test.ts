import { describe, expect, it } from 'vitest';
import { largestFolders, type FolderUsage, type ListedEntry } from './folders.js';

const file = (path: string, size: number): ListedEntry => ({ path, kind: 'file', size });
const dir = (path: string): ListedEntry => ({ path, kind: 'dir', size: 0 });

const VOLUME: ListedEntry[] = [
  dir('datasets'),
  dir('datasets/cifar'),
  file('datasets/cifar/a.bin', 100),
  file('datasets/cifar/b.bin', 100),
  dir('datasets/coco'),
  file('datasets/coco/deep/x.jpg', 50),
  dir('checkpoints'),
  file('checkpoints/e1.ckpt', 300),
  dir('empty'),
  file('README.md', 1000),
  { path: 'link', kind: 'symlink', size: 0 },
];

const cases: { description: string; depth: number; limit: number; expected: FolderUsage[] }[] = [
  {
    description: 'top-level folders, largest first; root files belong to no folder; empty folders show as 0',
    depth: 1,
    limit: 10,
    expected: [
      { path: 'checkpoints', bytes: 300, files: 1 },
      { path: 'datasets', bytes: 250, files: 3 },
      { path: 'empty', bytes: 0, files: 0 },
    ],
  },
  {
    description: 'two levels: a parent counts everything below it, deeper files included',
    depth: 2,
    limit: 10,
    expected: [
      { path: 'checkpoints', bytes: 300, files: 1 },
      { path: 'datasets', bytes: 250, files: 3 },
      { path: 'datasets/cifar', bytes: 200, files: 2 },
      { path: 'datasets/coco', bytes: 50, files: 1 },
      { path: 'empty', bytes: 0, files: 0 },
    ],
  },
  {
    description: 'the limit keeps the largest',
    depth: 2,
    limit: 2,
    expected: [
      { path: 'checkpoints', bytes: 300, files: 1 },
      { path: 'datasets', bytes: 250, files: 3 },
    ],
  },
];

describe('largestFolders', () => {
  it.each(cases)('$description', ({ depth, limit, expected }) => {
    expect(largestFolders(VOLUME, { depth, limit })).toEqual(expected);
  });

  it('ties are ordered by path, and an empty volume has no folders', () => {
    expect(largestFolders([file('b/x', 5), file('a/y', 5)], { depth: 1, limit: 5 }).map((f) => f.path)).toEqual([
      'a',
      'b',
    ]);
    expect(largestFolders([], { depth: 3, limit: 5 })).toEqual([]);
  });
});
