import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isConflictCopyOf } from './conflictName.js';
import type { Entry, Tree } from './entry.js';
import { otherSide, type CompareMode, type ReconcileOptions, type Side, type SyncMode } from './plan.js';
import { reconcile, reconcileFully } from './reconcile.js';
import { describeSide, isEmptyPlan } from './testing/fixtures.js';
import {
  applyEdits,
  atOrBelow,
  editArbitrary,
  changedInModel,
  differences,
  emptyWorld,
  hiddenFolder,
  historyArbitrary,
  related,
  sync,
  type World,
} from './testing/simulator.js';

// Property-based tests: random histories of edits on both sides (creating, editing, touching, chmod-ing and deleting
// files, creating and deleting folders, turning files into folders and back), each round followed by a sync through
// the real planner and the contract-checking in-memory applier. The invariants are stated before each check.

const RUNS = 250;

function optionsFor(mode: SyncMode, compare: CompareMode): ReconcileOptions {
  return { mode, compare, mtimePrecisionMs: 1_000, host: 'laptop', now: Date.UTC(2026, 10, 23, 10, 15, 0) };
}

/** Versions of files written by the user since the last sync: content the ancestor does not record at that path. */
function newVersions(world: World): { side: Side; entry: Entry }[] {
  const versions: { side: Side; entry: Entry }[] = [];
  for (const side of ['local', 'remote'] as const) {
    for (const entry of world[side].values()) {
      if (entry.kind !== 'file') continue;
      const recorded = world.ancestor.get(entry.path);
      if (recorded?.kind === 'file' && recorded.size === entry.size) continue;
      versions.push({ side, entry });
    }
  }
  return versions;
}

/** Where a version survived: at its own path or at a conflict copy of it, holding the same content. */
function survivesIn(tree: Tree, version: Entry): boolean {
  for (const entry of tree.values()) {
    if (entry.kind !== 'file' || entry.size !== version.size) continue;
    if (entry.path === version.path || isConflictCopyOf(entry.path, version.path)) return true;
  }
  return false;
}

describe('reconcile: two-way properties', () => {
  it.each(['size-mtime', 'sha256', 'none'] as const)(
    'random histories converge without losing edits (%s)',
    (compare) => {
      const options = optionsFor('two-way', compare);
      fc.assert(
        fc.property(historyArbitrary, (history) => {
          let world = emptyWorld();
          for (const edits of history) {
            world = applyEdits(world, edits);
            const { after } = sync(world, options);

            // After a sync both sides hold the same tree: same paths and kinds, and (except under `none`, where files
            // present on both sides are equal by definition) the same content and executable bits.
            expect(differences(after.local, after.remote, compare)).toEqual([]);

            // No user-written version is lost. Every file version on either side at sync time whose content differs
            // from what the ancestor recorded at that path (a creation or an edit since the last sync) is still
            // there after the sync, at its path or at a conflict copy of that path: on both sides, or under `none`
            // (where edits do not move) on at least one. Content equal to the ancestor's may go: the other side's
            // deletion or edit of an unchanged file wins, which is the point of syncing.
            for (const { entry } of newVersions(world)) {
              const kept =
                compare === 'none'
                  ? survivesIn(after.local, entry) || survivesIn(after.remote, entry)
                  : survivesIn(after.local, entry) && survivesIn(after.remote, entry);
              expect(kept, `version ${entry.size} of ${entry.path}`).toBe(true);
            }

            // The ancestor now records exactly the common tree (as the local side holds it).
            expect(differences(after.ancestor, after.local, compare === 'none' ? 'size-mtime' : compare)).toEqual([]);

            // Idempotence: planning again right away finds nothing to do, not even bookkeeping.
            const again = reconcile(after, options);
            expect(isEmptyPlan(again), JSON.stringify(again)).toBe(true);
            world = after;
          }
        }),
        { numRuns: RUNS },
      );
    },
  );
});

describe.each([
  ['push', 'local'],
  ['pull', 'remote'],
] as const)('reconcile: %s properties', (mode, source) => {
  const target = otherSide(source);
  it.each(['size-mtime', 'sha256'] as const)('the source is never modified; target changes survive (%s)', (compare) => {
    const options = optionsFor(mode, compare);
    fc.assert(
      fc.property(historyArbitrary, (history) => {
        let world = emptyWorld();
        for (const edits of history) {
          world = applyEdits(world, edits);
          const { plan, after } = sync(world, options);

          // The source side is never touched.
          expect(describeSide(plan, source)).toEqual([]);
          expect(after[source]).toEqual(world[source]);

          // Target-only changes survive: every entry the target created or modified since the last sync is still
          // there, as it was. (A deletion on the target may be undone from the source: restoring loses nothing.)
          const kept = [...world[target].values()].filter((entry) =>
            changedInModel(entry, world.ancestor.get(entry.path), compare),
          );
          for (const entry of kept) expect(after[target].get(entry.path), entry.path).toEqual(entry);

          // Everywhere else the target now mirrors the source: outside the paths that hold, lie below or lie above
          // a kept target change, the target holds what the source holds.
          const free = (path: string): boolean => !kept.some((k) => related(path, k.path));
          const mismatched = differences(after[target], after[source], compare).filter(free);
          expect(mismatched).toEqual([]);

          // Idempotence: planning again moves nothing and records nothing (divergences left on purpose may be
          // reported again).
          const again = reconcile(after, options);
          expect([...describeSide(again, 'local'), ...describeSide(again, 'remote')]).toEqual([]);
          expect([again.inSync, again.forget, again.conflicts]).toEqual([[], [], []]);
          world = after;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe.each([
  ['mirror-push', 'local'],
  ['mirror-pull', 'remote'],
] as const)('reconcile: %s properties', (mode, source) => {
  const target = otherSide(source);
  it.each(['size-mtime', 'sha256', 'none'] as const)('the target becomes the source (%s)', (compare) => {
    const options = optionsFor(mode, compare);
    fc.assert(
      fc.property(historyArbitrary, (history) => {
        let world = emptyWorld();
        for (const edits of history) {
          world = applyEdits(world, edits);
          const { after } = sync(world, options);
          // The source is untouched and the target is identical to it (as the compare mode judges content).
          expect(after[source]).toEqual(world[source]);
          expect(differences(after[target], after[source], compare)).toEqual([]);
          expect(isEmptyPlan(reconcile(after, options))).toBe(true);
          world = after;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('reconcile: a folder one side cannot list', () => {
  const hideArbitrary = fc.record({ side: fc.constantFrom<Side>('local', 'remote'), pick: fc.nat(1_000) });

  it.each(['two-way', 'push', 'pull', 'mirror-push', 'mirror-pull'] as const)(
    'is never read as a deletion, and nothing at or below it moves (%s)',
    (mode) => {
      const options = optionsFor(mode, 'size-mtime');
      fc.assert(
        fc.property(historyArbitrary, fc.array(hideArbitrary, { minLength: 4, maxLength: 4 }), (history, hides) => {
          let world = emptyWorld();
          history.forEach((edits, round) => {
            world = applyEdits(world, edits);
            const choice = hides[round % hides.length];
            const hidden = choice === undefined ? undefined : hiddenFolder(world, choice.side, choice.pick);
            const { after } = sync(world, options, hidden);
            if (hidden !== undefined) {
              // Nothing at or below the folder changes on either side, and the ancestor keeps what it knew there.
              const below = (tree: Tree): Entry[] => [...tree.values()].filter((e) => atOrBelow(e.path, hidden.dir));
              for (const side of ['local', 'remote'] as const) expect(below(after[side])).toEqual(below(world[side]));
              expect(below(after.ancestor)).toEqual(below(world.ancestor));
              // Two-way: everywhere else both sides now agree, and planning again (the folder still unlisted) finds
              // nothing to do.
              if (mode === 'two-way') {
                const elsewhere = differences(after.local, after.remote, 'size-mtime').filter(
                  (path) => !atOrBelow(path, hidden.dir),
                );
                expect(elsewhere).toEqual([]);
                const again = sync(after, options, hidden).plan;
                expect(isEmptyPlan(again), JSON.stringify(again)).toBe(true);
              }
            }
            world = after;
          });
        }),
        { numRuns: 150 },
      );
    },
  );
});

describe('reconcile: the order of the trees does not matter', () => {
  it('plans the same whatever order the trees list their entries in', () => {
    const options = optionsFor('two-way', 'size-mtime');
    const shuffled = (tree: Tree, seed: number): Tree => {
      const entries = [...tree.values()];
      // A deterministic shuffle: rotate, then reverse every other run of entries.
      const rotated = [
        ...entries.slice(seed % Math.max(1, entries.length)),
        ...entries.slice(0, seed % Math.max(1, entries.length)),
      ];
      return new Map((seed % 2 === 0 ? rotated.reverse() : rotated).map((e) => [e.path, e]));
    };
    const normalised = (plan: ReturnType<typeof reconcile>): unknown => ({
      ...plan,
      inSync: [...plan.inSync].sort((a, b) => (a.path < b.path ? -1 : 1)),
      forget: [...plan.forget].sort(),
    });
    fc.assert(
      fc.property(historyArbitrary, fc.nat(1_000), (history, seed) => {
        let world = emptyWorld();
        for (const edits of history) {
          world = applyEdits(world, edits);
          const plan = reconcile(world, options);
          const other = reconcile(
            {
              ancestor: shuffled(world.ancestor, seed),
              local: shuffled(world.local, seed + 1),
              remote: shuffled(world.remote, seed + 2),
            },
            options,
          );
          expect(normalised(other)).toEqual(normalised(plan));
          world = sync(world, options).after;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('reconcile: the shortcut for unchanged trees', () => {
  // `reconcile` skips planning when both sides equal each other and the ancestor. Whatever the trees, it must plan
  // exactly what the full planner plans: synced worlds, then nothing or a few edits, hashes dropped on one side and
  // mtimes moved within the precision (equal for the planner, but not identical objects).
  const nudge = fc.record({
    dropHashes: fc.constantFrom<Side | undefined>(undefined, 'local', 'remote'),
    jitterMs: fc.constantFrom(0, 1, 999),
  });
  it.each(['two-way', 'push', 'pull', 'mirror-push', 'mirror-pull'] as const)(
    'plans what the full planner plans (%s)',
    (mode) => {
      fc.assert(
        fc.property(
          historyArbitrary,
          fc.array(editArbitrary, { maxLength: 2 }),
          fc.constantFrom<CompareMode>('size-mtime', 'sha256', 'none'),
          nudge,
          (history, lastEdits, compare, { dropHashes, jitterMs }) => {
            const options = optionsFor(mode, compare);
            let world = emptyWorld();
            for (const edits of history) world = sync(applyEdits(world, edits), options).after;
            world = applyEdits(world, lastEdits);
            const adjust = (side: Side): Tree =>
              new Map(
                [...world[side]].map(([path, entry]) => {
                  const { sha256, ...rest } = entry;
                  const kept = dropHashes === side || sha256 === undefined ? rest : { ...rest, sha256 };
                  return [path, side === 'remote' ? { ...kept, mtimeMs: kept.mtimeMs + jitterMs } : kept];
                }),
              );
            const input = { ancestor: world.ancestor, local: adjust('local'), remote: adjust('remote') };
            expect(reconcile(input, options)).toEqual(reconcileFully(input, options));
          },
        ),
        { numRuns: RUNS },
      );
    },
  );
});
