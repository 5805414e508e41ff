import { describe, expect, it } from 'vitest';
import { commonFolder } from './treeOps.js';

describe('commonFolder (what a removal lists)', () => {
  const cases: { paths: string[]; folder: string }[] = [
    { paths: ['runs/a/ckpt-1.pt'], folder: 'runs/a' },
    { paths: ['runs/a/ckpt-1.pt', 'runs/a/ckpt-2.pt'], folder: 'runs/a' },
    { paths: ['runs/a/x', 'runs/b/y'], folder: 'runs' },
    // A folder being removed lies inside the listing of its parent, marker and all.
    { paths: ['runs/a', 'runs/a/x'], folder: 'runs' },
    { paths: ['top.txt', 'runs/a/x'], folder: '' },
    { paths: ['runsx/a', 'runs/a'], folder: '' },
    { paths: ['a/b/c/d', 'a/b/cc/d'], folder: 'a/b' },
    { paths: [], folder: '' },
  ];
  for (const { paths, folder } of cases) {
    it(`${JSON.stringify(paths)} → "${folder}"`, () => {
      expect(commonFolder(paths)).toBe(folder);
    });
  }
});
