import { invalidPathReason, parentOf, type Entry, type Problem } from './entry.js';
import type { ReconcileInput, ReconcileOptions, Side, SyncMode } from './plan.js';
import { isEngineTemporary } from './temporaries.js';

/** The sides that can receive changes in a mode. */
export function receivingSides(mode: SyncMode): readonly Side[] {
  switch (mode) {
    case 'two-way':
      return ['local', 'remote'];
    case 'push':
    case 'mirror-push':
      return ['remote'];
    case 'pull':
    case 'mirror-pull':
      return ['local'];
  }
}

/** Whether `path` is one of `roots` or lies below one (`''` is the root of the tree: everything is below it). */
function atOrBelow(path: string, roots: ReadonlySet<string>): boolean {
  if (roots.size === 0) return false;
  if (roots.has('')) return true;
  for (let p = path; p !== ''; p = parentOf(p)) if (roots.has(p)) return true;
  return false;
}

function pinParents(pinned: Set<string>, path: string): void {
  for (let p = parentOf(path); p !== '' && !pinned.has(p); p = parentOf(p)) pinned.add(p);
}

/** Paths of `local` and `remote` that differ only in case, when a receiving side cannot hold both. */
function caseCollisions(input: ReconcileInput, options: ReconcileOptions, problems: Problem[]): Set<string> {
  const colliding = new Set<string>();
  const folding = receivingSides(options.mode).filter((side) => options.caseInsensitive?.[side] === true);
  const side = folding[0];
  if (side === undefined) return colliding;
  const seen = new Map<string, string>();
  for (const tree of [input.local, input.remote]) {
    for (const path of tree.keys()) {
      if (!isCleanPath(path)) continue;
      const key = path.toLowerCase();
      const other = seen.get(key);
      if (other === undefined) seen.set(key, path);
      else if (other !== path) {
        for (const [a, b] of [
          [path, other],
          [other, path],
        ] as const) {
          if (colliding.has(a)) continue;
          colliding.add(a);
          problems.push({
            path: a,
            message:
              `skipped: "${a}" and "${b}" differ only in case, and the ${folding.join(' and ')} side cannot hold ` +
              `both names; rename one of them`,
          });
        }
      }
    }
  }
  return colliding;
}

/**
 * The same verdict as `invalidPathReason(path) === undefined`, without allocating: this runs once per path of
 * every tree, 100,000s of times per sync.
 */
export function isCleanPath(path: string): boolean {
  return cleanDepth(path, false) > 0;
}

/**
 * In one pass over the characters: the depth of a clean relative path (see `invalidPathReason`), or 0 when it is not
 * clean, or (with `temporaries`) when one of its segments is an engine temporary.
 */
export function cleanDepth(path: string, temporaries: boolean): number {
  const n = path.length;
  if (n === 0) return 0;
  let depth = 1;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i === n ? 47 : path.charCodeAt(i);
    if (c === 0 || c === 92) return 0; // NUL, backslash
    if (c !== 47) continue;
    const length = i - start;
    if (length === 0) return 0; // leading slash, or an empty segment
    if (path.charCodeAt(start) === 46) {
      // "." and ".." segments; names of the engine's temporaries
      if (length === 1 || (length === 2 && path.charCodeAt(start + 1) === 46)) return 0;
      if (temporaries && path.startsWith('.tether-', start) && isEngineTemporary(path.slice(start, i))) return 0;
    }
    if (i < n) depth++;
    start = i + 1;
  }
  return depth;
}

/**
 * Which paths the planner may act on. A path is out of reach, and nothing at all happens to it on either side (its
 * ancestor record included), when:
 * - it is not a clean relative path (reported as a problem);
 * - it is, or lies below, one of the engine's temporary names;
 * - it is, or lies below, a directory that one side could not list: an unreadable folder is not a deletion;
 * - a side that receives changes folds case and the path differs from another only in case (reported).
 *
 * What is out of reach still exists on disk, so it pins its parent directories on its side: they are never deleted
 * or replaced, whatever happened to them elsewhere.
 */
export class Reach {
  readonly problems: Problem[] = [];
  /** Per side, directories that hold something out of reach. */
  readonly pinned: Readonly<Record<Side, Set<string>>> = { local: new Set(), remote: new Set() };
  private readonly roots: Set<string>;
  private readonly rejected = new Set<string>();

  constructor(input: ReconcileInput, options: ReconcileOptions) {
    this.roots = caseCollisions(input, options, this.problems);
    for (const side of ['local', 'remote'] as const) {
      for (const listed of input.unlisted?.[side] ?? []) {
        let dir = listed.replace(/\/+$/, '').replace(/^(\.\/)+/, '');
        if (dir === '.') dir = '';
        if (dir !== '' && !isCleanPath(dir)) {
          // Nothing below a folder that cannot be named can be told apart from the rest: nothing moves at all.
          this.problems.push({
            path: listed,
            message: `the ${side} side could not list a folder whose path is not valid (${invalidPathReason(dir) ?? ''}); nothing is synced until it is fixed`,
          });
          dir = '';
        }
        this.roots.add(dir);
        pinParents(this.pinned[side], dir);
      }
    }
  }

  /** Whether every path is in reach so far: no case collision, no unlisted folder, nothing rejected, no problem. */
  get unrestricted(): boolean {
    return this.roots.size === 0 && this.rejected.size === 0 && this.problems.length === 0;
  }

  /**
   * Whether the planner may act on `path`, for the first tree that lists it (`side` undefined for the ancestor): its
   * depth when it may, 0 when it is out of reach. A path out of reach pins its parents on the side that holds it;
   * see `pinIfOutOfReach` for the other trees.
   */
  depthIfInReach(path: string, side: Side | undefined): number {
    if (this.rejected.size === 0 || !this.rejected.has(path)) {
      const depth = cleanDepth(path, true);
      if (depth > 0 && !atOrBelow(path, this.roots)) return depth;
      this.rejected.add(path);
      const reason = invalidPathReason(path);
      if (reason !== undefined) this.problems.push({ path, message: `skipped: ${reason}` });
    }
    if (side !== undefined) pinParents(this.pinned[side], path);
    return 0;
  }

  /** For a path already judged through another tree: when it is out of reach, it pins its parents on `side`. */
  pinIfOutOfReach(path: string, side: Side): void {
    if (this.rejected.size > 0 && this.rejected.has(path)) pinParents(this.pinned[side], path);
  }
}

/** A directory entry for a path that must exist but that no tree describes (a parent missing from a scan). */
export function syntheticDir(path: string): Entry {
  return { path, kind: 'dir', size: 0, mtimeMs: 0, executable: false };
}
