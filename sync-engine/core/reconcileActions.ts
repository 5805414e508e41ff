import { compareEntries, sameEntry, sameRecord, type CompareSettings } from './compare.js';
import { depthOf, parentOf, type Entry } from './entry.js';
import type { Action, Side } from './plan.js';
import { fingerprint } from './temporaries.js';

/** Bits of `Slot.below`. */
export const BELOW: Readonly<Record<Side, number>> = { local: 1, remote: 2 };

/** A version that moves to a conflict name: renamed there on the loser's side, copied there on the other side. */
export interface ConflictMove {
  readonly loser: Side;
  readonly to: string;
  readonly entry: Entry;
}

/** One path under reconciliation: what the ancestor and each side hold now, and what each side will hold. */
export interface Slot {
  readonly path: string;
  readonly ancestor: Entry | undefined;
  readonly local: Entry | undefined;
  readonly remote: Entry | undefined;
  /** The slot of the parent directory (undefined at the top level). */
  parent: Slot | undefined;
  readonly depth: number;
  /** What each side holds at this path once the plan is applied (starts as what it holds now). */
  readonly final: Record<Side, Entry | undefined>;
  /**
   * Bits of `BELOW`: on which sides something will exist below this path once the plan is applied (or is out of
   * reach there).
   */
  below: number;
  conflict: ConflictMove | undefined;
}

type DeleteAction = Extract<Action, { kind: 'delete' }>;

interface SideActions {
  readonly renames: Action[];
  readonly mkdirs: Action[];
  readonly copies: Action[];
  readonly metadata: Action[];
  readonly deletes: DeleteAction[];
  /** Directories of this side moved aside to be replaced by a file: original path → aside path. */
  readonly asides: Map<string, string>;
}

export interface ActionContext {
  readonly settings: CompareSettings;
  /** Whether a path is in use in either tree or was already handed out (conflict and aside names). */
  readonly taken: (path: string) => boolean;
  readonly claim: (path: string) => void;
}

export interface PlannedActions {
  readonly local: Action[];
  readonly remote: Action[];
  readonly inSync: Entry[];
  readonly forget: string[];
}

/** Prefix of the name an entry is moved to before the other side's entry of another kind replaces it. */
export const ASIDE_PREFIX = '.tether-replaced-';

function newSideActions(): SideActions {
  return { renames: [], mkdirs: [], copies: [], metadata: [], deletes: [], asides: new Map() };
}

function at(entry: Entry, path: string): Entry {
  return entry.path === path ? entry : { ...entry, path };
}

/**
 * A free name beside `path` for this side's entry while it is replaced by one of another kind. It is deliberately
 * not an engine temporary: scans list it, so if its removal fails (a folder holding ignored files) it stays visible
 * and is never cleaned up behind the user's back.
 */
function asideName(path: string, entry: Entry, context: ActionContext): string {
  const parent = parentOf(path);
  const base = `${ASIDE_PREFIX}${fingerprint(`${path}\0${entry.kind}\0${entry.mtimeMs}`).slice(0, 12)}`;
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    const candidate = parent === '' ? name : `${parent}/${name}`;
    if (!context.taken(candidate)) {
      context.claim(candidate);
      return candidate;
    }
  }
}

/** Where a path of this side is when the plan deletes it: below a directory moved aside, the path moved too. */
function relocated(path: string, asides: ReadonlyMap<string, string>): string {
  if (asides.size === 0) return path;
  for (let p = parentOf(path); p !== ''; p = parentOf(p)) {
    const aside = asides.get(p);
    if (aside !== undefined) return aside + path.slice(p.length);
  }
  return path;
}

function create(actions: SideActions, path: string, entry: Entry): void {
  if (entry.kind === 'dir') actions.mkdirs.push({ kind: 'mkdir', path, source: at(entry, path) });
  else actions.copies.push({ kind: 'copy', path, source: at(entry, path) });
}

/**
 * Appends the actions that take one side from what it holds at `slot.path` to what it must hold. Returns what was
 * done at the path itself: `deleted` when a delete at this very path will record itself in the ancestor.
 */
function actOnSide(
  slot: Slot,
  side: Side,
  actions: SideActions,
  context: ActionContext,
): 'none' | 'acted' | 'deleted' | 'moved-aside' {
  const { path } = slot;
  const target = slot.final[side];
  let current = slot[side];
  let outcome: 'none' | 'acted' = 'none';

  // A conflict: the losing version moves to the conflict name on its own side first, leaving the name free; the
  // other side receives a copy of it under the conflict name.
  const move = slot.conflict;
  if (move !== undefined && current !== undefined && move.loser === side) {
    actions.renames.push({ kind: 'rename', path, to: move.to, expected: current });
    current = undefined;
    outcome = 'acted';
  } else if (move !== undefined && move.loser !== side) {
    actions.copies.push({ kind: 'copy', path: move.to, source: at(move.entry, move.to) });
  }

  // Nothing must remain: delete what is there (where it is, if a parent directory was moved aside).
  if (target === undefined) {
    if (current === undefined) return outcome;
    const where = relocated(path, actions.asides);
    actions.deletes.push({ kind: 'delete', path: where, expected: at(current, where) });
    return where === path ? 'deleted' : 'moved-aside';
  }

  // Nothing there yet: create it (its parents exist by then: they are final directories, created parents first).
  if (current === undefined) {
    create(actions, path, target);
    return 'acted';
  }

  const difference = compareEntries(current, target, context.settings);
  if (difference === 'equal') return outcome;

  // Two files (or symlinks): a metadata update when only the executable bit differs, else a copy over it.
  if (current.kind !== 'dir' && target.kind !== 'dir') {
    if (difference === 'metadata') {
      actions.metadata.push({ kind: 'metadata', path, source: at(target, path), expected: current });
    } else {
      actions.copies.push({ kind: 'copy', path, source: at(target, path), replaces: current });
    }
    return 'acted';
  }

  // A directory replaces a file or the other way round. The phases run renames first and deletes last, so the old
  // entry moves aside under a free name (freeing the path for the new one) and is deleted from there at the end;
  // entries below a directory moved aside are deleted at their new place (see `relocated`).
  const aside = asideName(path, current, context);
  actions.renames.push({ kind: 'rename', path, to: aside, expected: current });
  actions.deletes.push({ kind: 'delete', path: aside, expected: at(current, aside) });
  if (current.kind === 'dir') actions.asides.set(path, aside);
  create(actions, path, target);
  return 'acted';
}

/** The entry the ancestor records for a path both sides agree on: the local entry, with a hash the remote knows. */
export function recordOf(local: Entry, remote: Entry, settings: CompareSettings): Entry {
  if (settings.compare !== 'sha256' || local.sha256 !== undefined || remote.sha256 === undefined) return local;
  return { ...local, sha256: remote.sha256 };
}

function byPath(a: Action, b: Action): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** Renames, mkdirs (parents first), copies and metadata in path order; then deletes, deepest first. */
function ordered(actions: SideActions): Action[] {
  const deletes = actions.deletes
    .map((action) => ({ action, depth: depthOf(action.path) }))
    .sort((a, b) => b.depth - a.depth || byPath(a.action, b.action))
    .map(({ action }) => action);
  return [
    ...actions.renames.sort(byPath),
    ...actions.mkdirs.sort(byPath),
    ...actions.copies.sort(byPath),
    ...actions.metadata.sort(byPath),
    ...deletes,
  ];
}

/**
 * Turns the settled slots into each side's actions and the ancestor's bookkeeping. `levels` holds the slots by depth
 * (top level first), so a directory moved aside is known before the entries below it are deleted.
 *
 * Each side's list runs: renames, mkdirs (parents first), copies, metadata, deletes (deepest first).
 */
export function planActions(levels: readonly (readonly Slot[])[], context: ActionContext): PlannedActions {
  const local = newSideActions();
  const remote = newSideActions();
  const inSync: Entry[] = [];
  const forget: string[] = [];
  for (const level of levels) {
    for (const slot of level) {
      const { path } = slot;
      const l = actOnSide(slot, 'local', local, context);
      const r = actOnSide(slot, 'remote', remote, context);
      const finalLocal = slot.final.local;
      const finalRemote = slot.final.remote;

      // Gone from both sides once applied. A delete at this path records itself when it succeeds (and if it fails,
      // the ancestor still explains what is left). Otherwise nothing remains under this name: forget it now. (For an
      // entry below a folder moved aside, should the move fail, the entry is met again next time as new on its side
      // and is copied back or conflicts: never lost.)
      if (finalLocal === undefined && finalRemote === undefined) {
        if (slot.ancestor !== undefined && l !== 'deleted' && r !== 'deleted') forget.push(path);
        continue;
      }
      // Both sides agree and nothing is done here: record the agreement unless the ancestor already says so. (Each
      // applied action records its own result.) Paths left different on purpose keep their ancestor record.
      if (l === 'none' && r === 'none' && slot.local !== undefined && slot.remote !== undefined) {
        if (!sameEntry(finalLocal, finalRemote, context.settings)) continue;
        const record = recordOf(slot.local, slot.remote, context.settings);
        if (!sameRecord(record, slot.ancestor, context.settings.mtimePrecisionMs)) inSync.push(record);
      }
    }
  }
  return { local: ordered(local), remote: ordered(remote), inSync, forget };
}
