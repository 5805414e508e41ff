import { describe, expect, it } from 'vitest';
import type { Entry } from './entry.js';
import { compileGlob, invalidGlobReason } from './glob.js';
import {
  gatePulls,
  invalidCheckpointRulesReason,
  invalidSelectionReason,
  NO_CHECKPOINT_RULES,
  olderThanNewest,
  outsideSelection,
  releasedByMarkers,
  type CheckpointRules,
  type Observation,
} from './pullFilters.js';
import { dir, file, T0, tree } from './testing/fixtures.js';

describe('compileGlob', () => {
  it.each([
    ['*.done', 'a.done', true],
    ['*.done', 'run/ckpt.done', true],
    ['*.done', 'run/ckpt.done/x', false],
    ['COMPLETE', 'ckpt/COMPLETE', true],
    ['COMPLETE', 'ckpt/COMPLETE.tmp', false],
    ['checkpoint-*', 'runs/a/checkpoint-3', true],
    ['runs/checkpoint-*', 'runs/checkpoint-3', true],
    ['runs/checkpoint-*', 'x/runs/checkpoint-3', false],
    ['/runs/checkpoint-*', 'runs/checkpoint-3', true],
    ['runs/*/ckpt-?', 'runs/a/ckpt-1', true],
    ['runs/*/ckpt-?', 'runs/a/b/ckpt-1', false],
    ['runs/**/ckpt-?', 'runs/a/b/ckpt-1', true],
    ['runs/**/ckpt-?', 'runs/ckpt-1', true],
    ['a.b', 'axb', false],
    ['(x)+', '(x)+', true],
  ])('%s against %s: %s', (pattern, path, expected) => {
    expect(compileGlob(pattern).matches(path)).toBe(expected);
  });

  it.each([
    ['', /empty/],
    ['a//b', /empty segment/],
    ['a/', /empty segment/],
    ['../x', /"\." or "\.\."/],
  ])('refuses %j', (pattern, reason) => {
    expect(invalidGlobReason(pattern)).toMatch(reason);
    expect(() => compileGlob(pattern)).toThrow(reason);
  });
});

const QUIET = 60_000;
const NOW = T0 + 10_000_000;
const rules = (over: Partial<CheckpointRules>): CheckpointRules => ({ ...NO_CHECKPOINT_RULES, ...over });
const seen = (path: string, size: number, mtime: number, since: number): [string, Observation] => [
  path,
  { size, mtimeMs: T0 + mtime, since },
];

interface GateCase {
  readonly description: string;
  readonly rules: CheckpointRules;
  readonly ancestor?: readonly Entry[];
  readonly remote: readonly Entry[];
  readonly observations?: readonly [string, Observation][];
  /** `path: reason`, sorted. */
  readonly held: readonly string[];
  readonly observed?: readonly [string, Observation][];
  readonly recheckAt?: number;
}

const gateCases: readonly GateCase[] = [
  {
    description: 'no rules: nothing is held',
    rules: NO_CHECKPOINT_RULES,
    remote: [file('a', { size: 5 })],
    held: [],
  },
  {
    description: 'a new file seen for the first time is held, and its observation starts now',
    rules: rules({ quietMs: QUIET }),
    remote: [file('ckpt.pt', { size: 100 })],
    held: ['ckpt.pt: settling'],
    observed: [seen('ckpt.pt', 100, 0, NOW)],
    recheckAt: NOW + QUIET,
  },
  {
    description: 'a file that grew since the last observation is held again, with a new clock',
    rules: rules({ quietMs: QUIET }),
    remote: [file('ckpt.pt', { size: 200, mtime: 5 })],
    observations: [seen('ckpt.pt', 100, 0, NOW - 2 * QUIET)],
    held: ['ckpt.pt: settling'],
    observed: [seen('ckpt.pt', 200, 5, NOW)],
    recheckAt: NOW + QUIET,
  },
  {
    description: 'a file unchanged for less than the quiet period stays held, keeping its first sighting',
    rules: rules({ quietMs: QUIET }),
    remote: [file('ckpt.pt', { size: 100 })],
    observations: [seen('ckpt.pt', 100, 0, NOW - QUIET + 1)],
    held: ['ckpt.pt: settling'],
    observed: [seen('ckpt.pt', 100, 0, NOW - QUIET + 1)],
    recheckAt: NOW + 1,
  },
  {
    description: 'a file unchanged across the quiet period is released; it stays observed until it is pulled',
    rules: rules({ quietMs: QUIET }),
    remote: [file('ckpt.pt', { size: 100 })],
    observations: [seen('ckpt.pt', 100, 0, NOW - QUIET), seen('gone.pt', 1, 0, NOW - 1)],
    held: [],
    observed: [seen('ckpt.pt', 100, 0, NOW - QUIET)],
  },
  {
    description: 'a file equal to the ancestor is never held (it was synced before)',
    rules: rules({ quietMs: QUIET, markers: ['COMPLETE'] }),
    ancestor: [file('old.pt', { size: 7 })],
    remote: [file('old.pt', { size: 7 })],
    held: [],
  },
  {
    description: 'a changed file that was synced before is gated like a new one',
    rules: rules({ quietMs: QUIET }),
    ancestor: [file('log.txt', { size: 7 })],
    remote: [file('log.txt', { size: 9, mtime: 1 })],
    held: ['log.txt: settling'],
    observed: [seen('log.txt', 9, 1, NOW)],
    recheckAt: NOW + QUIET,
  },
  {
    description: 'markers only: files wait for a marker, which releases its folder (and itself)',
    rules: rules({ markers: ['COMPLETE'] }),
    remote: [
      dir('c1'),
      file('c1/w.bin'),
      file('c1/COMPLETE'),
      dir('c2'),
      file('c2/w.bin'),
      file('c2/COMPLETE.partial'),
    ],
    held: ['c2/COMPLETE.partial: settling', 'c2/w.bin: settling'],
  },
  {
    description: 'a NAME.done marker releases only NAME; its siblings still wait',
    rules: rules({ quietMs: QUIET, markers: ['*.done'] }),
    remote: [file('a.pt', { size: 3 }), file('a.pt.done'), file('b.pt', { size: 4 })],
    held: ['b.pt: settling'],
    observed: [seen('b.pt', 4, 0, NOW)],
    recheckAt: NOW + QUIET,
  },
  {
    description: 'a NAME.done marker beside a folder releases the whole folder',
    rules: rules({ markers: ['*.done'] }),
    remote: [dir('ck'), file('ck/a'), dir('ck/sub'), file('ck/sub/b'), file('ck.done'), file('other')],
    held: ['other: settling'],
  },
  {
    description: 'gated paths: only files in matching folders wait; the rest are pulled at once',
    rules: rules({ quietMs: QUIET, gatedPaths: ['checkpoints'] }),
    remote: [dir('checkpoints'), file('checkpoints/c/w.bin'), file('notes.txt')],
    held: ['checkpoints/c/w.bin: settling'],
    observed: [seen('checkpoints/c/w.bin', 1, 0, NOW)],
    recheckAt: NOW + QUIET,
  },
  {
    description: 'keep newest 2: the older checkpoint folder is held as a whole, its files are not observed',
    rules: rules({ quietMs: QUIET, keepNewest: [{ glob: 'runs/checkpoint-*', count: 2 }] }),
    ancestor: [
      dir('runs'),
      dir('runs/checkpoint-1', 1),
      file('runs/checkpoint-1/w', { mtime: 1 }),
      dir('runs/checkpoint-2', 2),
      file('runs/checkpoint-2/w', { mtime: 2 }),
    ],
    remote: [
      dir('runs'),
      dir('runs/checkpoint-1', 1),
      file('runs/checkpoint-1/w', { mtime: 1 }),
      dir('runs/checkpoint-2', 2),
      file('runs/checkpoint-2/w', { mtime: 2 }),
      dir('runs/checkpoint-3', 3),
      file('runs/checkpoint-3/w', { mtime: 3 }),
    ],
    held: ['runs/checkpoint-1: older-checkpoint', 'runs/checkpoint-3/w: settling'],
    observed: [seen('runs/checkpoint-3/w', 1, 3, NOW)],
    recheckAt: NOW + QUIET,
  },
];

describe('gatePulls', () => {
  it.each(gateCases)('$description', (c) => {
    const verdict = gatePulls(
      {
        remote: tree(...c.remote),
        ancestor: tree(...(c.ancestor ?? [])),
        observations: new Map(c.observations),
        now: NOW,
      },
      c.rules,
    );
    expect([...verdict.held].map(([path, why]) => `${path}: ${why}`).sort()).toEqual(c.held);
    expect([...verdict.observations]).toEqual(c.observed ?? []);
    expect(verdict.recheckAt).toBe(c.recheckAt);
  });

  it('a file written in steps is released only after a quiet period with no step', () => {
    const r = rules({ quietMs: QUIET });
    let observations: ReadonlyMap<string, Observation> = new Map();
    const cycle = (size: number, now: number): boolean => {
      const verdict = gatePulls(
        { remote: tree(file('w', { size, mtime: size })), ancestor: new Map(), observations, now },
        r,
      );
      observations = verdict.observations;
      return verdict.held.has('w');
    };
    expect(cycle(1, NOW)).toBe(true);
    expect(cycle(2, NOW + QUIET)).toBe(true); // grew: the clock restarts
    expect(cycle(2, NOW + 2 * QUIET - 1)).toBe(true);
    expect(cycle(2, NOW + 2 * QUIET)).toBe(false);
  });
});

describe('olderThanNewest', () => {
  it('groups matches by folder and orders by the newest mtime inside, then by name (numeric)', () => {
    const remote = tree(
      dir('a'),
      dir('a/checkpoint-9', 50),
      file('a/checkpoint-9/w', { mtime: 5 }),
      dir('a/checkpoint-10', 1),
      file('a/checkpoint-10/w', { mtime: 90 }), // written last: newest, though the folder's own mtime is old
      dir('b'),
      file('b/checkpoint-1', { mtime: 7 }),
      file('b/checkpoint-2', { mtime: 7 }), // a tie: the later name wins
      file('b/checkpoint-3', { mtime: 3 }),
    );
    expect([...olderThanNewest(remote, [{ glob: 'checkpoint-*', count: 1 }])].sort()).toEqual([
      'a/checkpoint-9',
      'b/checkpoint-1',
      'b/checkpoint-3',
    ]);
  });

  it('holds nothing when there are no more than N', () => {
    const remote = tree(file('checkpoint-1'), file('checkpoint-2'));
    expect(olderThanNewest(remote, [{ glob: 'checkpoint-*', count: 3 }]).size).toBe(0);
  });
});

describe('releasedByMarkers', () => {
  it('a marker at the root releases everything', () => {
    expect([...releasedByMarkers(tree(file('COMPLETE'), file('x')), [compileGlob('COMPLETE')])].sort()).toEqual([
      '',
      'COMPLETE',
    ]);
  });
});

describe('outsideSelection', () => {
  const paths = ['data', 'data/a', 'data/a/x', 'data/b', 'data/b/y', 'code', 'code/m.py', 'README', 'scratch/t'];
  it.each([
    ['everything', [], [], []],
    ['exclude a folder', [], ['scratch'], ['scratch']],
    ['exclude with slashes as typed', [], ['/data/b/'], ['data/b']],
    ['include one folder: its parents stay, siblings go', ['data/a'], [], ['README', 'code', 'data/b', 'scratch']],
    ['include and exclude below it', ['data'], ['data/b'], ['README', 'code', 'data/b', 'scratch']],
    ['include the root', [''], [], []],
  ])('%s', (_name, include, exclude, expected) => {
    expect([...outsideSelection(paths, { include, exclude })].sort()).toEqual(expected);
  });

  it('refuses folders that are not clean relative paths', () => {
    expect(invalidSelectionReason({ include: ['a/../b'], exclude: [] })).toMatch(/selective sync folder "a\/\.\.\/b"/);
    expect(invalidSelectionReason({ include: ['data/'], exclude: ['/x'] })).toBeUndefined();
  });
});

describe('invalidCheckpointRulesReason', () => {
  it.each([
    [rules({ quietMs: -1 }), /quiet period/],
    [rules({ markers: ['a/COMPLETE'] }), /name pattern/],
    [rules({ keepNewest: [{ glob: 'c-*', count: 0 }] }), /at least 1/],
    [rules({ gatedPaths: ['a//b'] }), /empty segment/],
  ])('%#', (r, reason) => {
    expect(invalidCheckpointRulesReason(r)).toMatch(reason);
  });

  it('accepts sensible rules', () => {
    expect(
      invalidCheckpointRulesReason(rules({ quietMs: 1, markers: ['*.done'], keepNewest: [{ glob: 'c-*', count: 3 }] })),
    ).toBeUndefined();
  });
});
