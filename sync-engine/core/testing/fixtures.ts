import type { Entry, Tree } from '../entry.js';
import type { Action, Plan } from '../plan.js';

/** Test fixtures: small builders for entries and trees, and a compact text form of plans. */

/** An mtime far from zero, in ms, so that "earlier" and "later" fixtures stay positive. */
export const T0 = 1_700_000_000_000;

export interface FileSpec {
  readonly size?: number;
  /** Milliseconds after `T0`. */
  readonly mtime?: number;
  readonly sha?: string;
  readonly exec?: boolean;
}

export function file(path: string, spec: FileSpec = {}): Entry {
  return {
    path,
    kind: 'file',
    size: spec.size ?? 1,
    mtimeMs: T0 + (spec.mtime ?? 0),
    executable: spec.exec ?? false,
    ...(spec.sha === undefined ? {} : { sha256: spec.sha }),
  };
}

export function dir(path: string, mtime = 0): Entry {
  return { path, kind: 'dir', size: 0, mtimeMs: T0 + mtime, executable: false };
}

export function symlink(path: string, target: string): Entry {
  return { path, kind: 'symlink', size: 0, mtimeMs: T0, executable: false, target };
}

export function tree(...entries: readonly Entry[]): Map<string, Entry> {
  return new Map(entries.map((entry) => [entry.path, entry]));
}

/** `copy a.txt`, `mkdir d`, `delete d/x`, `rename a → b`, `metadata x`: one line per action. */
export function describeAction(action: Action): string {
  return action.kind === 'rename' ? `rename ${action.path} → ${action.to}` : `${action.kind} ${action.path}`;
}

export function describeSide(plan: Plan, side: 'local' | 'remote'): string[] {
  return plan[side].map(describeAction);
}

/** Whether a plan does nothing at all: no actions, conflicts, problems or ancestor updates. */
export function isEmptyPlan(plan: Plan): boolean {
  return (
    plan.local.length === 0 &&
    plan.remote.length === 0 &&
    plan.conflicts.length === 0 &&
    plan.problems.length === 0 &&
    plan.inSync.length === 0 &&
    plan.forget.length === 0
  );
}

/** Paths of a tree, sorted, directories marked with a trailing `/`. */
export function listing(t: Tree): string[] {
  return [...t.values()].map((e) => (e.kind === 'dir' ? `${e.path}/` : e.path)).sort();
}
