import { changedSince, compareEntries, sameEntry, sameRecord, type CompareSettings } from './compare.js';
import { conflictName } from './conflictName.js';
import { parentOf, type Entry, type Problem } from './entry.js';
import { otherSide, type Conflict, type Plan, type ReconcileInput, type ReconcileOptions, type Side } from './plan.js';
import { BELOW, planActions, recordOf, type Slot } from './reconcileActions.js';
import { Reach, syntheticDir } from './reconcileScope.js';

/**
 * The planner: a three-way merge of the ancestor (what both sides agreed on at the last sync) with both sides'
 * current trees, in the manner of Mutagen's `reconcile.go`. Pure and synchronous; linear passes over the paths
 * grouped by depth:
 *
 * 1. reach: paths out of reach (invalid, engine temporaries, below unlisted folders, case collisions) are left out
 *    and pin their parent directories (`reconcileScope.ts`);
 * 2. decide, path by path, what each side must hold afterwards (`final`), by mode;
 * 3. settle the structure, deepest paths first: a path with anything below it must end up a directory on that side
 *    (a deletion gives way, a file conflicts or gives way) and, in one-way modes, nothing is created below a
 *    target's kept file;
 * 4. turn the difference between what each side holds and what it must hold into ordered actions, and record in
 *    the ancestor what both sides already agree on (`reconcileActions.ts`).
 */

const WHERE: Readonly<Record<Side, string>> = { local: 'locally', remote: 'on the remote' };

interface Context {
  readonly options: ReconcileOptions;
  readonly settings: CompareSettings;
  readonly problems: Problem[];
  readonly conflicts: Conflict[];
  readonly taken: (path: string) => boolean;
  readonly claim: (path: string) => void;
}

function setBoth(slot: Slot, entry: Entry | undefined): void {
  slot.final.local = entry;
  slot.final.remote = entry;
}

function kindName(entry: Entry): string {
  return entry.kind === 'dir' ? 'folder' : entry.kind;
}

/** The `loser`'s version moves to a conflict name on both sides; the other side's version keeps the name. */
function addConflict(slot: Slot, loser: Side, context: Context): void {
  const entry = slot[loser];
  if (entry === undefined) return;
  const to = conflictName(slot.path, context.options.host, context.options.now, context.taken);
  context.claim(to);
  slot.conflict = { loser, to, entry };
  context.conflicts.push({ path: slot.path, local: slot.local, remote: slot.remote, conflictPath: to });
}

/** Two-way: each side's changes since the last sync go to the other side. */
function decideTwoWay(slot: Slot, context: Context): void {
  const { ancestor, local, remote } = slot;
  const { settings } = context;
  // Invariant: at least one of ancestor, local and remote exists (the path came from one of the trees, or is the
  // parent of one). Each side's `final` starts as what that side holds now.

  // Both sides hold the same thing (or both hold nothing): there is nothing to move. The ancestor catches up with
  // them when the actions are planned.
  if (sameEntry(local, remote, settings)) return;

  // The sides disagree, so at least one of them exists. Ask each whether it changed since the last sync.
  const localChanged = changedSince(local, ancestor, settings);
  const remoteChanged = changedSince(remote, ancestor, settings);

  // Exactly one side changed: the classic three-way merge. Its version (or its deletion) wins on both sides; the
  // other side's entry is as the last sync left it, so replacing it loses nothing.
  if (localChanged !== remoteChanged) {
    setBoth(slot, localChanged ? local : remote);
    return;
  }

  // Neither changed, yet they differ: each is within the mtime precision of the ancestor but not of the other.
  // Nobody edited anything here, so nothing moves.
  if (!localChanged) return;

  // Both changed. When one side's change is a deletion, the other side's version is new content the deleting side
  // never saw: modification beats deletion, the version is kept and restored where it was deleted.
  if (local === undefined || remote === undefined) {
    const deleter: Side = local === undefined ? 'local' : 'remote';
    setBoth(slot, local ?? remote);
    context.problems.push({
      path: slot.path,
      message:
        `deleted ${WHERE[deleter]} but changed ${WHERE[otherSide(deleter)]} since the last sync: ` +
        `the changed version is kept and restored ${WHERE[deleter]}`,
    });
    return;
  }

  // Both changed into different things. A directory against a file: the directory keeps the name on both sides
  // and the file (from whichever side) is kept under a conflict name on both sides. (Two directories are equal.)
  if (local.kind === 'dir' || remote.kind === 'dir') {
    const loser: Side = local.kind === 'dir' ? 'remote' : 'local';
    setBoth(slot, slot[otherSide(loser)]);
    addConflict(slot, loser, context);
    return;
  }

  // Both changed into files with the same content and different executable bits: two copies would help nobody;
  // the local bit wins, and the user is told.
  if (compareEntries(local, remote, settings) === 'metadata') {
    setBoth(slot, local);
    context.problems.push({
      path: slot.path,
      message: 'the executable bit was changed on both sides since the last sync: the local setting is kept',
    });
    return;
  }

  // Both changed the content: a conflict, and both versions are kept. The local version keeps the name on both
  // sides; the remote's version is kept under a conflict name on both sides.
  setBoth(slot, local);
  addConflict(slot, 'remote', context);
}

/** push/pull (one-way-safe) and mirror-push/mirror-pull: changes go from `source` to the other side only. */
function decideOneWay(slot: Slot, source: Side, mirror: boolean, context: Context): void {
  const target = otherSide(source);
  const { ancestor } = slot;
  const { settings, options } = context;
  const sourceEntry = slot[source];
  const targetEntry = slot[target];
  // Invariant: the source never changes (its `final` stays what it holds); only the target's `final` is decided.

  // Both sides hold the same thing: nothing moves.
  if (sameEntry(sourceEntry, targetEntry, settings)) return;

  // Mirror: the target becomes what the source is, whatever happened to it.
  if (mirror) {
    slot.final[target] = sourceEntry;
    return;
  }

  const sourceChanged = changedSince(sourceEntry, ancestor, settings);
  const targetChanged = changedSince(targetEntry, ancestor, settings);

  // Neither changed, yet they differ (mtimes within the precision of the ancestor but not of each other): nobody
  // edited anything here, so nothing moves.
  if (!sourceChanged && !targetChanged) return;

  // The target is as the last sync left it, or its only change is a deletion: the source's version (or deletion)
  // goes there. That overwrites or deletes nothing new on the target (a deletion there loses no content, so the
  // source's version is restored, as Mutagen's one-way-safe mode does).
  if (!targetChanged || targetEntry === undefined) {
    slot.final[target] = sourceEntry;
    return;
  }

  // The target holds content of its own since the last sync: it is never overwritten or deleted, and nothing comes
  // back to the source. The ancestor keeps its old record, so this stays the case until one side changes again.
  // Silent when the source did not touch this path; reported when the source's change cannot be delivered.
  if (!sourceChanged) return;
  const mode = options.mode;
  context.problems.push({
    path: slot.path,
    message:
      sourceEntry === undefined
        ? `deleted ${WHERE[source]} but changed ${WHERE[target]} since the last sync: ${mode} never deletes ` +
          `changes made ${WHERE[target]}, so that version stays`
        : `changed on both sides since the last sync: ${mode} never overwrites changes made ${WHERE[target]}, so ` +
          `this change is not copied; delete or revert the ${target} version to let it through, or use mirror-${mode}`,
  });
}

/**
 * Two-way: something will exist below this path on at least one side (or is out of reach there), so the path must
 * end up a directory on both sides.
 */
function settleTwoWay(slot: Slot, context: Context): void {
  const final = slot.final.local;
  if (final?.kind === 'dir' && slot.final.remote?.kind === 'dir') return;
  const dirSide = slot.local?.kind === 'dir' ? 'local' : slot.remote?.kind === 'dir' ? 'remote' : undefined;
  const dir = (dirSide === undefined ? undefined : slot[dirSide]) ?? syntheticDir(slot.path);

  // The folder was deleted on one side, but what lies below it on the other side must stay (changed since the last
  // sync, or out of reach): the delete gives way and the folder is restored where it was deleted.
  if (final === undefined) {
    setBoth(slot, dir);
    if (dirSide !== undefined && slot[otherSide(dirSide)] === undefined && slot.ancestor !== undefined) {
      const deleter = otherSide(dirSide);
      context.problems.push({
        path: slot.path,
        message:
          `deleted ${WHERE[deleter]}, but the ${dirSide} folder holds entries that changed since the last sync or ` +
          `cannot be synced: the folder is kept and restored ${WHERE[deleter]}`,
      });
    }
    return;
  }

  // One side turned the folder into a file while the other changed what is inside: both changed, a conflict. The
  // directory keeps the name, the file moves to a conflict name on both sides.
  if (final.kind !== 'dir') {
    const loser: Side = slot.local !== undefined && final === slot.local ? 'local' : 'remote';
    setBoth(slot, dir);
    addConflict(slot, loser, context);
  }
}

/**
 * One-way: something will exist below this path on the target (a change of the target's own, an entry out of
 * reach, or the source's entries), so the path must end up a directory there if it can.
 */
function settleOneWay(slot: Slot, target: Side, context: Context): void {
  const final = slot.final[target];
  const current = slot[target];
  if (final?.kind === 'dir') return;
  const source = otherSide(target);
  const blocked = `the ${target} folder holds entries that changed there since the last sync or cannot be synced`;

  // The folder would be deleted, but what lies below it on the target must stay: the folder stays too.
  if (final === undefined) {
    const sourceDir = slot[source]?.kind === 'dir' ? slot[source] : undefined;
    slot.final[target] = current?.kind === 'dir' ? current : (sourceDir ?? syntheticDir(slot.path));
    if (current?.kind === 'dir' && slot.ancestor !== undefined) {
      context.problems.push({ path: slot.path, message: `not deleted ${WHERE[target]}: ${blocked}` });
    }
    return;
  }

  // The target keeps a file of its own here (a change the source may not overwrite): the source's entries below
  // cannot be created (they are cleared top-down), and the user is told.
  if (final === current) {
    context.problems.push({
      path: slot.path,
      message:
        `the ${target} holds a ${kindName(final)} here, changed there since the last sync: ${context.options.mode} ` +
        `does not replace it, so the ${source} folder's entries are not copied`,
    });
    return;
  }

  // The source's file would replace the target's folder, which holds entries that must stay: the folder stays.
  if (current?.kind === 'dir') {
    slot.final[target] = current;
    context.problems.push({
      path: slot.path,
      message: `not replaced ${WHERE[target]} by the ${source} ${kindName(final)}: ${blocked}`,
    });
  }
}

function newSlot(
  path: string,
  depth: number,
  ancestor: Entry | undefined,
  local: Entry | undefined,
  remote: Entry | undefined,
): Slot {
  return {
    path,
    ancestor,
    local,
    remote,
    parent: undefined,
    depth,
    final: { local, remote },
    below: 0,
    conflict: undefined,
  };
}

/** Whether `candidate` is the slot of `slot`'s parent directory (checked without slicing the path). */
function isParentSlot(candidate: Slot, slot: Slot): boolean {
  return (
    candidate.depth === slot.depth - 1 &&
    slot.path.startsWith(candidate.path) &&
    slot.path.charCodeAt(candidate.path.length) === 47 // '/'
  );
}

/**
 * One slot per path in reach, linked to its parent's slot and grouped by depth (top level first). Parents that no
 * tree lists (an incomplete scan) still get a slot, so the structure is settled everywhere.
 *
 * Built for 100,000s of paths, where map lookups dominate the cost: no sort (a sync that changes nothing never
 * orders its paths), each path is looked up once per tree, and most parents are found without a lookup.
 */
function buildSlots(input: ReconcileInput, reach: Reach): Slot[][] {
  const { ancestor, local, remote } = input;
  const levels: Slot[][] = [];
  const dirs = new Map<string, Slot>();
  const unlinked: Slot[] = [];
  let last: Slot | undefined;
  const add = (slot: Slot): Slot => {
    while (levels.length < slot.depth) levels.push([]);
    levels[slot.depth - 1]?.push(slot);
    if (slot.ancestor?.kind === 'dir' || slot.local?.kind === 'dir' || slot.remote?.kind === 'dir') {
      dirs.set(slot.path, slot);
    }
    if (slot.depth > 1) {
      // Trees list a folder's entries together, mostly right after the folder itself: the parent is usually the
      // previous slot or the previous slot's parent.
      const sibling = last?.parent;
      if (last !== undefined && isParentSlot(last, slot)) slot.parent = last;
      else if (sibling !== undefined && isParentSlot(sibling, slot)) slot.parent = sibling;
      else unlinked.push(slot);
    }
    last = slot;
    return slot;
  };

  // Each path once, from the first tree that lists it. A side's own pass looks only for the paths the earlier
  // passes did not meet, and stops once it has them all (when there are none, the usual case, it does not run).
  let localSeen = 0;
  let remoteSeen = 0;
  for (const [path, entry] of ancestor) {
    const l = local.get(path);
    const r = remote.get(path);
    if (l !== undefined) localSeen++;
    if (r !== undefined) remoteSeen++;
    const depth = reach.depthIfInReach(path, undefined);
    if (depth > 0) add(newSlot(path, depth, entry, l, r));
    else {
      if (l !== undefined) reach.pinIfOutOfReach(path, 'local');
      if (r !== undefined) reach.pinIfOutOfReach(path, 'remote');
    }
  }
  let missing = local.size - localSeen;
  if (missing > 0) {
    for (const [path, entry] of local) {
      if (missing === 0) break;
      if (ancestor.has(path)) continue;
      missing--;
      const r = remote.get(path);
      if (r !== undefined) remoteSeen++;
      const depth = reach.depthIfInReach(path, 'local');
      if (depth > 0) add(newSlot(path, depth, undefined, entry, r));
      else if (r !== undefined) reach.pinIfOutOfReach(path, 'remote');
    }
  }
  missing = remote.size - remoteSeen;
  if (missing > 0) {
    for (const [path, entry] of remote) {
      if (missing === 0) break;
      if (ancestor.has(path) || local.has(path)) continue;
      missing--;
      const depth = reach.depthIfInReach(path, 'remote');
      if (depth > 0) add(newSlot(path, depth, undefined, undefined, entry));
    }
  }

  // The other parents by name. A parent that no tree lists as a directory is found among all slots (a file in one
  // tree, with entries below it in another: inconsistent trees) or created; `unlinked` grows as parents are added.
  let byPath: Map<string, Slot> | undefined;
  for (let i = 0; i < unlinked.length; i++) {
    const slot = unlinked[i];
    if (slot === undefined) continue;
    const parentPath = parentOf(slot.path);
    let parent = dirs.get(parentPath);
    if (parent === undefined) {
      byPath ??= new Map(levels.flat().map((s) => [s.path, s]));
      parent = byPath.get(parentPath) ?? add(newSlot(parentPath, slot.depth - 1, undefined, undefined, undefined));
      byPath.set(parentPath, parent);
      dirs.set(parentPath, parent);
    }
    slot.parent = parent;
  }
  return levels;
}

const SOURCES = {
  'two-way': undefined,
  push: 'local',
  'mirror-push': 'local',
  pull: 'remote',
  'mirror-pull': 'remote',
} as const;

/**
 * Plans one sync of a pair. See `Plan` for the shape of the result and the order of each side's actions;
 * applying every action and then the ancestor updates (`inSync`, `forget`, and each applied action's result) makes
 * the ancestor equal to what both sides hold in common. Never throws; per-path trouble becomes `problems`.
 */
export function reconcile(input: ReconcileInput, options: ReconcileOptions): Plan {
  const settings = settingsOf(options);
  const reach = new Reach(input, options);
  if (reach.unrestricted && nothingChanged(input, settings)) {
    return { local: [], remote: [], conflicts: [], problems: [], inSync: [], forget: [] };
  }
  return planWithin(input, options, settings, reach);
}

/** `reconcile` without its shortcut for unchanged trees: what that shortcut is checked against. */
export function reconcileFully(input: ReconcileInput, options: ReconcileOptions): Plan {
  return planWithin(input, options, settingsOf(options), new Reach(input, options));
}

function settingsOf(options: ReconcileOptions): CompareSettings {
  return {
    compare: options.compare,
    mtimePrecisionMs: options.mtimePrecisionMs,
    ignoreExecutable: options.ignoreExecutable === true,
  };
}

/**
 * The common case of a re-sync, checked in one pass before any planning: both sides list exactly the ancestor's
 * paths, each side equals the other and what the ancestor records. The full planner would then find nothing to do
 * and nothing to record, so there is no plan to make. (Every path is then one the ancestor holds, and the ancestor
 * only ever holds valid paths: the store checks each entry before recording it.)
 */
function nothingChanged(input: ReconcileInput, settings: CompareSettings): boolean {
  const { ancestor, local, remote } = input;
  if (local.size !== ancestor.size || remote.size !== ancestor.size) return false;
  if ((input.unlisted?.local.length ?? 0) > 0 || (input.unlisted?.remote.length ?? 0) > 0) return false;
  for (const [path, l] of local) {
    const r = remote.get(path);
    if (r === undefined || compareEntries(l, r, settings) !== 'equal') return false;
    if (!sameRecord(recordOf(l, r, settings), ancestor.get(path), settings.mtimePrecisionMs)) return false;
  }
  return true;
}

function planWithin(input: ReconcileInput, options: ReconcileOptions, settings: CompareSettings, reach: Reach): Plan {
  const claimed = new Set<string>();
  const context: Context = {
    options,
    settings,
    problems: reach.problems,
    conflicts: [],
    taken: (path) => input.local.has(path) || input.remote.has(path) || claimed.has(path),
    claim: (path) => claimed.add(path),
  };
  const levels = buildSlots(input, reach);

  // Decide what each side must hold, path by path.
  const source = SOURCES[options.mode];
  const mirror = options.mode === 'mirror-push' || options.mode === 'mirror-pull';
  for (const level of levels) {
    for (const slot of level) {
      if (source === undefined) decideTwoWay(slot, context);
      else decideOneWay(slot, source, mirror, context);
    }
  }

  // Settle the structure, deepest first. `below` says whether something will exist under a path on a side once the
  // plan is applied; directories holding entries out of reach start out marked.
  const target = source === undefined ? undefined : otherSide(source);
  const pinned = reach.pinned.local.size > 0 || reach.pinned.remote.size > 0;
  for (let depth = levels.length - 1; depth >= 0; depth--) {
    for (const slot of levels[depth] ?? []) {
      if (pinned && reach.pinned.local.has(slot.path)) slot.below |= BELOW.local;
      if (pinned && reach.pinned.remote.has(slot.path)) slot.below |= BELOW.remote;
      if (target === undefined) {
        if (slot.below !== 0) settleTwoWay(slot, context);
      } else if ((slot.below & BELOW[target]) !== 0) {
        settleOneWay(slot, target, context);
      }
      const { parent } = slot;
      if (parent === undefined) continue;
      if (slot.final.local !== undefined) parent.below |= BELOW.local;
      if (slot.final.remote !== undefined) parent.below |= BELOW.remote;
    }
  }

  // One-way: below a file the target keeps, nothing of the source's can be created. (Two-way needs no such pass:
  // after settling, every parent of something that will exist is a directory on both sides.)
  if (target !== undefined) {
    for (const level of levels) {
      for (const slot of level) {
        if (slot.parent !== undefined && slot.parent.final[target]?.kind !== 'dir') slot.final[target] = undefined;
      }
    }
  }

  const planned = planActions(levels, { settings, taken: context.taken, claim: context.claim });
  // Problems and conflicts in path order (a stable sort keeps several problems of one path in the order found).
  const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return { ...planned, conflicts: context.conflicts.sort(byPath), problems: context.problems.sort(byPath) };
}
