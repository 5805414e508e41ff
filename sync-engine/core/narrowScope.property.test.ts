import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parentOf, type Entry, type Tree } from './entry.js';
import { narrowScopeOf, narrowTree, whyNotNarrow, type NarrowScope } from './narrowScope.js';
import type { Action, CompareMode, Plan, ReconcileOptions, SyncMode } from './plan.js';
import { reconcile } from './reconcile.js';
import { sameVersion } from './testing/memoryApply.js';
import { applyEdits, editArbitrary, emptyWorld, historyArbitrary, sync, type World } from './testing/simulator.js';

// Live sync's narrowed sync (narrowScope.ts), checked against the full planner on random histories: after some
// synced rounds, one more round of edits on both sides; the watcher reports every local path that changed.

const RUNS = 300;

function optionsFor(mode: SyncMode, compare: CompareMode): ReconcileOptions {
  return { mode, compare, mtimePrecisionMs: 1_000, host: 'laptop', now: Date.UTC(2026, 11, 7, 10, 15, 0) };
}

/** What a watcher reports: every local path whose entry differs from the last sync's in any way. */
function reported(world: World): string[] {
  const paths = new Set([...world.local.keys(), ...world.ancestor.keys()]);
  return [...paths].filter((path) => {
    const now = world.local.get(path);
    const before = world.ancestor.get(path);
    if (now === undefined || before === undefined) return now !== before;
    return now.kind !== before.kind || (now.kind !== 'dir' && !sameVersion(now, before));
  });
}

/** The ancestor's slice as the state store loads it (`loadAncestorWithin`): roots, below them, and parents. */
function slice(tree: Tree, scope: NarrowScope): Tree {
  return new Map(
    [...tree].filter(
      ([path]) => scope.parents.includes(path) || scope.roots.some((r) => path === r || path.startsWith(`${r}/`)),
    ),
  );
}

/** The narrowed plan as the controller makes it; `remote` is what it takes the remote to be. */
function narrowed(world: World, scope: NarrowScope, remote: Tree): Plan {
  const ancestor = slice(world.ancestor, scope);
  return reconcile(
    {
      ancestor,
      local: narrowTree(world.local, scope),
      remote: remote === world.ancestor ? new Map(ancestor) : narrowTree(remote, scope),
    },
    options,
  );
}

/** Whether the remote refuses nothing of `action` (what its endpoint checks before writing). */
function acceptedByRemote(action: Action, remote: Tree, plan: Plan): boolean {
  const there = remote.get(action.path);
  const parent = parentOf(action.path);
  const parentReady =
    parent === '' ||
    remote.get(parent)?.kind === 'dir' ||
    plan.remote.some((a) => a.kind === 'mkdir' && a.path === parent && acceptedByRemote(a, remote, plan));
  if (!parentReady) return false;
  switch (action.kind) {
    case 'mkdir':
      return there === undefined || there.kind === 'dir';
    case 'copy':
      return action.replaces === undefined
        ? there === undefined
        : there !== undefined && sameVersion(there, action.replaces);
    case 'metadata':
      return there !== undefined && sameVersion(there, action.expected);
    default:
      return false;
  }
}

let options = optionsFor('two-way', 'size-mtime');

/** A world with a synced history behind it and one round of edits not yet synced. */
const worldArbitrary = fc
  .tuple(historyArbitrary, fc.array(editArbitrary, { minLength: 1, maxLength: 8 }))
  .map(([history, last]) => {
    let world = emptyWorld();
    for (const edits of history) world = sync(applyEdits(world, edits), options).after;
    return applyEdits(world, last);
  });

describe.each([
  ['two-way', 'size-mtime'],
  ['two-way', 'none'],
  ['push', 'size-mtime'],
  ['mirror-push', 'size-mtime'],
  ['pull', 'size-mtime'],
] as const)('a narrowed plan (%s, %s)', (mode, compare) => {
  it('listing both sides in the scope: a plan that only adds and updates does what the full plan does there', () => {
    options = optionsFor(mode, compare);
    let checked = 0;
    fc.assert(
      fc.property(worldArbitrary, (world) => {
        const scope = narrowScopeOf(reported(world));
        if (scope === undefined) return;
        const plan = narrowed(world, scope, world.remote);
        if (whyNotNarrow(plan) !== undefined) return;
        const full = reconcile(world, options);
        if (plan.local.length + plan.remote.length > 0) checked++;
        for (const side of ['local', 'remote'] as const) {
          for (const action of plan[side])
            expect(full[side], `${side} ${action.kind} ${action.path}`).toContainEqual(action);
        }
        expect(full.problems.filter((p) => plan.problems.some((q) => q.path === p.path))).toEqual(plan.problems);
        // What it records in the ancestor, the full plan records too.
        for (const entry of plan.inSync) expect(full.inSync, `in sync ${entry.path}`).toContainEqual(entry);
        for (const path of plan.forget) expect(full.forget, `forget ${path}`).toContain(path);
      }),
      { numRuns: RUNS },
    );
    // Not vacuous: many runs made a narrowed plan that does something (about a third, in pull mode a tenth).
    expect(checked).toBeGreaterThan(RUNS / 20);
  });

  it('taking the remote as last synced: every write the remote accepts is one the full plan makes', () => {
    options = optionsFor(mode, compare);
    let checked = 0;
    fc.assert(
      fc.property(worldArbitrary, (world) => {
        const scope = narrowScopeOf(reported(world));
        if (scope === undefined) return;
        const plan = narrowed(world, scope, world.ancestor);
        // Such a plan is used only when it writes nothing locally and neither deletes, renames nor conflicts.
        if (plan.local.length > 0 || whyNotNarrow(plan) !== undefined) return;
        const full = reconcile(world, options);
        for (const action of plan.remote) {
          if (!acceptedByRemote(action, world.remote, plan)) continue;
          // A folder that is already there: the mkdir changes nothing.
          if (action.kind === 'mkdir' && world.remote.get(action.path)?.kind === 'dir') continue;
          expect(full.remote, `remote ${action.kind} ${action.path}`).toContainEqual(action);
          checked++;
        }
      }),
      { numRuns: RUNS },
    );
    if (mode !== 'pull') expect(checked).toBeGreaterThan(RUNS / 20);
  });
});

describe('a narrowed plan taking the remote as last synced', () => {
  it('is the listed plan whenever the remote is in fact as last synced in the scope (when it is used at all)', () => {
    options = optionsFor('two-way', 'size-mtime');
    fc.assert(
      fc.property(worldArbitrary, (world) => {
        const scope = narrowScopeOf(reported(world));
        if (scope === undefined) return;
        const remoteInScope = narrowTree(world.remote, scope);
        const ancestorInScope = narrowTree(world.ancestor, scope);
        const unchanged =
          remoteInScope.size === ancestorInScope.size &&
          [...remoteInScope].every(([path, entry]: [string, Entry]) => {
            const before = ancestorInScope.get(path);
            return before !== undefined && sameVersion(entry, before);
          });
        if (!unchanged) return;
        const assumed = narrowed(world, scope, world.ancestor);
        if (assumed.local.length > 0 || whyNotNarrow(assumed) !== undefined) return;
        expect(assumed).toEqual(narrowed(world, scope, world.remote));
      }),
      { numRuns: RUNS },
    );
  });
});
