import { depthOf, invalidPathReason, parentOf, type Entry, type Tree } from '../entry.js';
import { otherSide, type Action, type Plan, type Side } from '../plan.js';

/**
 * An in-memory stand-in for two endpoints and the ancestor store, for planner tests. It applies a plan the way the
 * controller does (ancestor updates first, then renames, mkdirs, copies, metadata and deletes, phase by phase on
 * both sides) and enforces the endpoint contracts strictly, so a planner bug surfaces as a thrown error rather than a
 * silently odd tree:
 * - a rename needs the expected entry at its path, a free target name and an existing parent;
 * - a mkdir or copy needs its parent directory to exist; a copy needs `replaces` to describe exactly what is at its
 *   path (nothing, when absent) and its source to be readable, unchanged, on the other side;
 * - metadata and deletes re-check the expected entry; a directory is deleted only when empty.
 */
export interface MemoryState {
  readonly local: Tree;
  readonly remote: Tree;
  readonly ancestor: Tree;
}

export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
}

const PHASES: readonly Action['kind'][] = ['rename', 'mkdir', 'copy', 'metadata', 'delete'];

/** Whether two entries are the same version on disk (what endpoints re-check before touching an entry). */
export function sameVersion(a: Entry, b: Entry): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'dir') return true;
  if (a.kind === 'symlink') return a.target === b.target;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.executable === b.executable && a.sha256 === b.sha256;
}

function fail(side: Side, action: Action, why: string): never {
  throw new ContractViolation(`${side}: ${action.kind} ${action.path}: ${why}`);
}

function requireParent(tree: Map<string, Entry>, side: Side, action: Action, path: string): void {
  const parent = parentOf(path);
  if (parent !== '' && tree.get(parent)?.kind !== 'dir') fail(side, action, `parent ${parent} is not a directory`);
}

function requireExpected(tree: Map<string, Entry>, side: Side, action: Action, path: string, expected: Entry): void {
  const current = tree.get(path);
  if (current === undefined) fail(side, action, 'nothing there');
  if (!sameVersion(current, expected)) fail(side, action, 'not the expected entry');
}

/** Checks that a side's actions come phase by phase and deletes deepest first (applying checks parents first). */
export function checkOrder(actions: readonly Action[], side: Side): void {
  let phase = 0;
  let lastDepth = Infinity;
  for (const action of actions) {
    const index = PHASES.indexOf(action.kind);
    if (index < phase) fail(side, action, `out of order: ${action.kind} after ${PHASES[phase] ?? ''}`);
    phase = index;
    if (action.kind === 'delete') {
      const depth = depthOf(action.path);
      if (depth > lastDepth) fail(side, action, 'deletes must run deepest first');
      lastDepth = depth;
    }
  }
}

function moveSubtree(tree: Map<string, Entry>, from: string, to: string): void {
  const prefix = `${from}/`;
  const moved: Entry[] = [];
  for (const [path, entry] of tree) {
    if (path === from || path.startsWith(prefix)) moved.push(entry);
  }
  for (const entry of moved) tree.delete(entry.path);
  for (const entry of moved) {
    const path = to + entry.path.slice(from.length);
    tree.set(path, { ...entry, path });
  }
}

/** Applies `plan` to copies of the trees and returns the new state. Throws `ContractViolation` on a planner bug. */
export function applyPlanInMemory(state: MemoryState, plan: Plan): MemoryState {
  const trees: Record<Side, Map<string, Entry>> = { local: new Map(state.local), remote: new Map(state.remote) };
  const ancestor = new Map(state.ancestor);
  checkOrder(plan.local, 'local');
  checkOrder(plan.remote, 'remote');

  for (const entry of plan.inSync) ancestor.set(entry.path, entry);
  for (const path of plan.forget) ancestor.delete(path);

  for (const phase of PHASES) {
    // Copies in both directions run at the same time: they read the other side as it was before the copy phase.
    const before: Record<Side, ReadonlyMap<string, Entry>> = {
      local: new Map(trees.local),
      remote: new Map(trees.remote),
    };
    for (const side of ['local', 'remote'] as const) {
      const tree = trees[side];
      for (const action of plan[side]) {
        if (action.kind !== phase) continue;
        switch (action.kind) {
          case 'rename': {
            requireExpected(tree, side, action, action.path, action.expected);
            if (tree.has(action.to)) fail(side, action, `${action.to} already exists`);
            requireParent(tree, side, action, action.to);
            moveSubtree(tree, action.path, action.to);
            ancestor.delete(action.path);
            break;
          }
          case 'mkdir': {
            requireParent(tree, side, action, action.path);
            if (tree.has(action.path)) fail(side, action, 'something is already there');
            if (action.source.kind !== 'dir') fail(side, action, 'source is not a directory');
            tree.set(action.path, { ...action.source, path: action.path });
            ancestor.set(action.path, { ...action.source, path: action.path });
            break;
          }
          case 'copy': {
            requireParent(tree, side, action, action.path);
            const current = tree.get(action.path);
            if (current?.kind === 'dir') fail(side, action, 'a directory is in the way');
            if (
              action.replaces === undefined
                ? current !== undefined
                : current === undefined || !sameVersion(current, action.replaces)
            ) {
              fail(side, action, 'what is there is not what the plan expects to replace');
            }
            const readable = before[otherSide(side)].get(action.source.path);
            if (readable === undefined || !sameVersion(readable, action.source)) {
              fail(side, action, `source ${action.source.path} is not readable as planned on the other side`);
            }
            const written = { ...action.source, path: action.path };
            tree.set(action.path, written);
            ancestor.set(action.path, written);
            break;
          }
          case 'metadata': {
            requireExpected(tree, side, action, action.path, action.expected);
            const current = tree.get(action.path);
            if (current === undefined) break;
            tree.set(action.path, { ...current, executable: action.source.executable, mtimeMs: action.source.mtimeMs });
            ancestor.set(action.path, { ...action.source, path: action.path });
            break;
          }
          case 'delete': {
            requireExpected(tree, side, action, action.path, action.expected);
            if (action.expected.kind === 'dir') {
              const prefix = `${action.path}/`;
              for (const path of tree.keys()) if (path.startsWith(prefix)) fail(side, action, `not empty: ${path}`);
            }
            tree.delete(action.path);
            ancestor.delete(action.path);
            break;
          }
        }
      }
    }
  }
  checkWellFormed(trees.local, 'local');
  checkWellFormed(trees.remote, 'remote');
  return { local: trees.local, remote: trees.remote, ancestor };
}

/** Every entry's parent is a directory of the same tree (paths the planner skips as invalid aside). */
export function checkWellFormed(tree: Tree, name: string): void {
  for (const path of tree.keys()) {
    if (invalidPathReason(path) !== undefined) continue;
    const parent = parentOf(path);
    if (parent !== '' && tree.get(parent)?.kind !== 'dir') {
      throw new ContractViolation(`${name}: ${path} has no parent directory`);
    }
  }
}
