import fc from 'fast-check';
import { depthOf, type Entry, type Tree } from '../entry.js';
import type { CompareMode, Plan, ReconcileOptions, Side } from '../plan.js';
import { reconcile } from '../reconcile.js';
import { applyPlanInMemory, type MemoryState } from './memoryApply.js';

/**
 * A pure in-memory world for property tests: two trees and the ancestor, edited by random user histories and
 * synced by the real planner through `applyPlanInMemory`.
 *
 * A file's content is an id: every write creates a new id, used as its size (so content and size agree) and in its
 * hash (`c<id>`). Every write and touch moves a global clock by a second, so two different writes never share an
 * mtime and every compare mode sees exactly the changes it should.
 */
export interface World extends MemoryState {
  readonly clock: number;
  readonly nextContent: number;
}

export type EditKind = 'write' | 'mkdir' | 'delete' | 'retype' | 'chmod' | 'touch';

/** One user action on one side. `pick` and `name` are resolved against the tree when the edit is applied. */
export interface Edit {
  readonly side: Side;
  readonly kind: EditKind;
  readonly pick: number;
  readonly name: string;
}

const NAMES = ['a', 'b', 'c.txt'] as const;
const MAX_DEPTH = 3;
const TICK = 1_000;

export const editArbitrary: fc.Arbitrary<Edit> = fc.record({
  side: fc.constantFrom<Side>('local', 'remote'),
  kind: fc.constantFrom<EditKind>('write', 'write', 'write', 'mkdir', 'delete', 'delete', 'retype', 'chmod', 'touch'),
  pick: fc.nat(1_000),
  name: fc.constantFrom(...NAMES),
});

/** A history: rounds of edits on both sides, each followed by a sync. */
export const historyArbitrary: fc.Arbitrary<Edit[][]> = fc.array(fc.array(editArbitrary, { maxLength: 8 }), {
  minLength: 1,
  maxLength: 4,
});

export function emptyWorld(): World {
  return { local: new Map(), remote: new Map(), ancestor: new Map(), clock: 1_700_000_000_000, nextContent: 1 };
}

function join(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

function removeSubtree(tree: Map<string, Entry>, path: string): void {
  const prefix = `${path}/`;
  for (const key of [...tree.keys()]) if (key === path || key.startsWith(prefix)) tree.delete(key);
}

function sortedPaths(tree: Tree, keep: (entry: Entry) => boolean): string[] {
  return [...tree.values()]
    .filter(keep)
    .map((e) => e.path)
    .sort();
}

/** Applies a round of edits to a world (a new world; the input is not modified). */
export function applyEdits(world: World, edits: readonly Edit[]): World {
  const trees: Record<Side, Map<string, Entry>> = { local: new Map(world.local), remote: new Map(world.remote) };
  let clock = world.clock;
  let nextContent = world.nextContent;
  const newFile = (path: string, executable: boolean): Entry => {
    const id = nextContent++;
    clock += TICK;
    return { path, kind: 'file', size: id, mtimeMs: clock, executable, sha256: `c${id}` };
  };
  const newDir = (path: string): Entry => {
    clock += TICK;
    return { path, kind: 'dir', size: 0, mtimeMs: clock, executable: false };
  };

  for (const edit of edits) {
    const tree = trees[edit.side];
    const dirs = ['', ...sortedPaths(tree, (e) => e.kind === 'dir' && depthOf(e.path) < MAX_DEPTH)];
    const all = sortedPaths(tree, () => true);
    const files = sortedPaths(tree, (e) => e.kind === 'file');
    const pickFrom = (list: readonly string[]): string | undefined => list[edit.pick % Math.max(1, list.length)];
    switch (edit.kind) {
      case 'write': {
        const path = join(pickFrom(dirs) ?? '', edit.name);
        const existing = tree.get(path);
        if (existing?.kind === 'dir') break;
        tree.set(path, newFile(path, existing?.executable ?? false));
        break;
      }
      case 'mkdir': {
        const path = join(pickFrom(dirs) ?? '', edit.name);
        if (!tree.has(path)) tree.set(path, newDir(path));
        break;
      }
      case 'delete': {
        const path = pickFrom(all);
        if (path !== undefined) removeSubtree(tree, path);
        break;
      }
      case 'retype': {
        const path = pickFrom(all);
        const entry = path === undefined ? undefined : tree.get(path);
        if (path === undefined || entry === undefined) break;
        removeSubtree(tree, path);
        if (entry.kind === 'dir') {
          tree.set(path, newFile(path, false));
        } else {
          tree.set(path, newDir(path));
          if (depthOf(path) < MAX_DEPTH) tree.set(join(path, edit.name), newFile(join(path, edit.name), false));
        }
        break;
      }
      case 'chmod': {
        const path = pickFrom(files);
        const entry = path === undefined ? undefined : tree.get(path);
        if (path !== undefined && entry !== undefined) tree.set(path, { ...entry, executable: !entry.executable });
        break;
      }
      case 'touch': {
        const path = pickFrom(files);
        const entry = path === undefined ? undefined : tree.get(path);
        clock += TICK;
        if (path !== undefined && entry !== undefined) tree.set(path, { ...entry, mtimeMs: clock });
        break;
      }
    }
  }
  return { local: trees.local, remote: trees.remote, ancestor: world.ancestor, clock, nextContent };
}

/** A folder one side cannot list during a sync: the scan shows the folder, nothing below it. */
export interface Hidden {
  readonly side: Side;
  readonly dir: string;
}

/** Picks a folder of `side` to hide, or nothing when the side has no folder. */
export function hiddenFolder(world: World, side: Side, pick: number): Hidden | undefined {
  const dirs = sortedPaths(world[side], (e) => e.kind === 'dir');
  const dir = dirs[pick % Math.max(1, dirs.length)];
  return dir === undefined ? undefined : { side, dir };
}

/** Whether `path` is `dir` or lies below it. */
export function atOrBelow(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/**
 * Plans and applies one sync; returns the plan and the world afterwards. With `hidden`, that side's scan does not
 * see below the folder (reported as unlisted), while the plan is applied to the real trees, so a planner that
 * touched what it could not see would trip the applier's checks.
 */
export function sync(world: World, options: ReconcileOptions, hidden?: Hidden): { plan: Plan; after: World } {
  const scanned = (side: Side): Tree => {
    if (hidden?.side !== side) return world[side];
    const prefix = `${hidden.dir}/`;
    return new Map([...world[side]].filter(([path]) => !path.startsWith(prefix)));
  };
  const unlisted = {
    local: hidden?.side === 'local' ? [hidden.dir] : [],
    remote: hidden?.side === 'remote' ? [hidden.dir] : [],
  };
  const plan = reconcile(
    { ancestor: world.ancestor, local: scanned('local'), remote: scanned('remote'), unlisted },
    options,
  );
  const applied = applyPlanInMemory(world, plan);
  return { plan, after: { ...world, ...applied } };
}

/**
 * The simulator's own notion of "this side changed since the last sync", written independently of `compare.ts`:
 * presence, kind, content id and executable bit always count; an mtime-only change (a touch) counts except under
 * `sha256`, where equal hashes are equal content.
 */
export function changedInModel(entry: Entry | undefined, ancestor: Entry | undefined, compare: CompareMode): boolean {
  if (entry === undefined || ancestor === undefined) return entry !== ancestor;
  if (entry.kind !== ancestor.kind) return true;
  if (entry.kind === 'dir') return false;
  if (entry.size !== ancestor.size || entry.executable !== ancestor.executable) return true;
  return compare !== 'sha256' && entry.mtimeMs !== ancestor.mtimeMs;
}

/** Same content as the mode judges it: kind, and for files the content id and executable bit (not under `none`). */
export function sameInModel(a: Entry | undefined, b: Entry | undefined, compare: CompareMode): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'file' || compare === 'none') return true;
  return a.size === b.size && a.executable === b.executable;
}

/** Paths where two trees differ, as the mode judges content (empty when they are the same tree). */
export function differences(a: Tree, b: Tree, compare: CompareMode): string[] {
  const paths = new Set([...a.keys(), ...b.keys()]);
  return [...paths].filter((path) => !sameInModel(a.get(path), b.get(path), compare)).sort();
}

/** Whether `path` is `other`, lies below it, or holds it. */
export function related(path: string, other: string): boolean {
  return path === other || path.startsWith(`${other}/`) || other.startsWith(`${path}/`);
}
