import { describe, expect, it } from 'vitest';
import type { Entry } from './entry.js';
import { MAX_NARROW_PATHS, narrowScopeOf, narrowTree, whyNotNarrow } from './narrowScope.js';
import type { Plan } from './plan.js';

const file = (path: string): Entry => ({ path, kind: 'file', size: 1, mtimeMs: 1000, executable: false });
const dir = (path: string): Entry => ({ path, kind: 'dir', size: 0, mtimeMs: 1000, executable: false });
const emptyPlan: Plan = { local: [], remote: [], conflicts: [], problems: [], inSync: [], forget: [] };

describe('narrowScopeOf', () => {
  it('keeps the changed paths that are not below another, and every folder above them once', () => {
    expect(narrowScopeOf(['data/a/x.bin', 'data/a', 'data/a/y.bin', 'data/b/c/z.txt', 'top.txt'])).toEqual({
      roots: ['data/a', 'data/b/c/z.txt', 'top.txt'],
      parents: ['data', 'data/b', 'data/b/c'],
    });
  });

  it('does not take a name that merely starts like a root for something below it', () => {
    expect(narrowScopeOf(['a', 'a b', 'ab/c'])).toEqual({ roots: ['a', 'a b', 'ab/c'], parents: ['ab'] });
  });

  it('asks for a full sync for the root itself, an invalid or non-NFC path, too many paths, or none', () => {
    expect(narrowScopeOf([''])).toBeUndefined();
    expect(narrowScopeOf(['ok.txt', '../outside'])).toBeUndefined();
    expect(narrowScopeOf(['a//b'])).toBeUndefined();
    expect(narrowScopeOf(['cafe\u0301.txt'])).toBeUndefined(); // NFD
    expect(narrowScopeOf(['caf\u00e9.txt'])).toEqual({ roots: ['caf\u00e9.txt'], parents: [] });
    const many = Array.from({ length: MAX_NARROW_PATHS + 1 }, (_, i) => `f${i}`);
    expect(narrowScopeOf(many)).toBeUndefined();
    expect(narrowScopeOf(many.slice(1))?.roots).toHaveLength(MAX_NARROW_PATHS);
    expect(narrowScopeOf([])).toBeUndefined();
  });
});

describe('narrowTree', () => {
  const scope = { roots: ['d/new', 'd/x.txt'], parents: ['d'] };

  it('keeps the roots, what is below them and their parents, nothing else', () => {
    const tree = new Map(
      [dir('d'), file('d/x.txt'), file('d/x.txt2'), dir('d/new'), file('d/new/1'), file('d/other'), file('e')].map(
        (e) => [e.path, e] as const,
      ),
    );
    expect([...narrowTree(tree, scope).keys()].sort()).toEqual(['d', 'd/new', 'd/new/1', 'd/x.txt']);
  });

  it('leaves out what lies below a parent that is not a folder, as a full scan never reaches it', () => {
    // A narrowed scan looked the paths up by name: `d` is now a file (or a link), `d/x.txt` came through it.
    const tree = new Map([file('d'), file('d/x.txt'), dir('d/new'), file('d/new/1')].map((e) => [e.path, e] as const));
    expect([...narrowTree(tree, scope).keys()]).toEqual(['d']);
    const noParent = new Map([file('d/x.txt')].map((e) => [e.path, e] as const));
    expect(narrowTree(noParent, scope).size).toBe(0);
  });
});

describe('whyNotNarrow', () => {
  it('lets a plan that only adds and updates stay narrowed', () => {
    const plan: Plan = {
      ...emptyPlan,
      remote: [
        { kind: 'mkdir', path: 'd', source: dir('d') },
        { kind: 'copy', path: 'd/x', source: file('d/x') },
        { kind: 'metadata', path: 'd/y', source: file('d/y'), expected: file('d/y') },
      ],
    };
    expect(whyNotNarrow(plan)).toBeUndefined();
  });

  it('sends deletions, renames and conflicts to a full sync', () => {
    expect(whyNotNarrow({ ...emptyPlan, local: [{ kind: 'delete', path: 'x', expected: file('x') }] })).toBe(
      'a deletion',
    );
    expect(whyNotNarrow({ ...emptyPlan, remote: [{ kind: 'rename', path: 'x', to: 'y', expected: file('x') }] })).toBe(
      'a rename',
    );
    expect(
      whyNotNarrow({
        ...emptyPlan,
        conflicts: [{ path: 'x', local: file('x'), remote: file('x'), conflictPath: 'x.conflict' }],
      }),
    ).toBe('a conflict');
  });
});
