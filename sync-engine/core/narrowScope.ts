import { invalidPathReason, parentOf, type Entry, type Problem, type Tree } from './entry.js';
import type { Plan } from './plan.js';

/**
 * A narrowed sync: live sync knows from the watcher which local paths changed, so it need not list both whole
 * trees to act on them. It lists only those paths, what lies below them and their parent folders, on both sides,
 * and plans from the same slice of the ancestor. Everything else keeps its state until the next full sync (the
 * poll interval, a rescan, a resume), which is what a sync without events does anyway.
 *
 * Within its slice the planner sees exactly what a full sync would see, so its plan for those paths is the full
 * sync's. Only plans that add or update are applied narrowed, though: a deletion, a rename or a conflict is
 * re-planned from full scans, where every safety rule (an emptied root, the delete limit) sees the whole pair.
 */
export interface NarrowScope {
  /** The changed paths, none below another. */
  readonly roots: readonly string[];
  /** Every folder above a root (the tree's root excluded), each once. */
  readonly parents: readonly string[];
}

/** More changed paths than this in one batch: a full sync is as cheap and simpler. */
export const MAX_NARROW_PATHS = 256;

/**
 * The scope for a set of changed paths, or undefined when a full sync is needed instead: the tree's root itself
 * changed, too many paths, or a path the engine would not accept as it is (invalid, or not in NFC form, which a
 * full scan pairs with its other spellings across the two sides and a narrowed one would not).
 */
export function narrowScopeOf(paths: Iterable<string>): NarrowScope | undefined {
  const unique = new Set<string>();
  for (const path of paths) {
    if (path === '' || invalidPathReason(path) !== undefined || path.normalize('NFC') !== path) return undefined;
    unique.add(path);
    if (unique.size > MAX_NARROW_PATHS) return undefined;
  }
  if (unique.size === 0) return undefined;
  const roots = [...unique].filter((path) => {
    for (let p = parentOf(path); p !== ''; p = parentOf(p)) if (unique.has(p)) return false;
    return true;
  });
  roots.sort();
  const parents = new Set<string>();
  for (const root of roots) for (let p = parentOf(root); p !== '' && !parents.has(p); p = parentOf(p)) parents.add(p);
  return { roots, parents: [...parents].sort() };
}

/** Whether `path` is in the scope: a root, below one, or a parent folder of one. */
export function inNarrowScope(path: string, scope: NarrowScope, roots = new Set(scope.roots)): boolean {
  for (let p = path; p !== ''; p = parentOf(p)) if (roots.has(p)) return true;
  return scope.parents.includes(path);
}

/**
 * The part of `tree` in the scope, as a full scan would list it (a new map; `tree` is left as it is): an entry
 * whose parent folder is not a folder in the tree is left out, as a full scan would never reach it (a narrowed
 * scan looks up each path by name, and a name can pass through a link or a file that became something else).
 */
export function narrowTree(tree: Tree, scope: NarrowScope): Map<string, Entry> {
  const roots = new Set(scope.roots);
  const parents = new Set(scope.parents);
  const inScope: Entry[] = [];
  for (const [path, entry] of tree) {
    if (parents.has(path) || inNarrowScope(path, { roots: scope.roots, parents: [] }, roots)) inScope.push(entry);
  }
  // In path order a folder comes before everything below it.
  inScope.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const narrowed = new Map<string, Entry>();
  for (const entry of inScope) {
    const parent = parentOf(entry.path);
    if (parent === '' || narrowed.get(parent)?.kind === 'dir') narrowed.set(entry.path, entry);
  }
  return narrowed;
}

/** A scan's findings besides its entries (`ScanResult` without the I/O types). */
export interface ScanFindings {
  readonly problems: readonly Problem[];
  readonly temporaries: readonly string[];
  readonly unlisted: readonly string[];
}

/**
 * A scan's problems, temporaries and unlisted folders in the scope, as a full scan would report them: only those
 * whose folder is in `narrowed` (from `narrowTree`) or at the top. A temporary reached through a link is never
 * reported, so never removed.
 */
export function narrowFindings(findings: ScanFindings, scope: NarrowScope, narrowed: Tree): ScanFindings {
  const roots = new Set(scope.roots);
  const keep = (path: string): boolean => {
    if (!inNarrowScope(path, scope, roots)) return false;
    const parent = parentOf(path);
    return parent === '' || narrowed.get(parent)?.kind === 'dir';
  };
  return {
    problems: findings.problems.filter((problem) => keep(problem.path)),
    temporaries: findings.temporaries.filter(keep),
    unlisted: findings.unlisted.filter(keep),
  };
}

/**
 * One side's listing narrowed to the scope as a full scan would have it (`narrowTree`, then `narrowFindings`):
 * what the controller plans from, and what the scan tests compare.
 */
export function narrowListing(
  tree: Tree,
  findings: ScanFindings,
  scope: NarrowScope,
): { readonly tree: Map<string, Entry>; readonly findings: ScanFindings } {
  const narrowed = narrowTree(tree, scope);
  return { tree: narrowed, findings: narrowFindings(findings, scope, narrowed) };
}

/**
 * Why a narrowed plan must be re-planned from full scans, or undefined when it only adds and updates (mkdirs,
 * copies, metadata) and has no conflict.
 */
export function whyNotNarrow(plan: Plan): string | undefined {
  if (plan.conflicts.length > 0) return 'a conflict';
  for (const side of ['local', 'remote'] as const) {
    for (const action of plan[side]) {
      if (action.kind === 'delete') return 'a deletion';
      if (action.kind === 'rename') return 'a rename';
    }
  }
  return undefined;
}
