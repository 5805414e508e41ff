import { baseName, invalidPathReason, parentOf, type Entry, type Tree } from './entry.js';
import { compileGlob, invalidGlobReason, type Glob } from './glob.js';

/**
 * Filters on what a live pair pulls, as pure functions: checkpoint-aware pulls (stability, markers), "keep newest
 * N", and selective sync. Each returns paths to leave *out of reach* for one sync: the planner then does nothing at
 * or below them, on either side, and keeps their ancestor records (`ReconcileInput.unlisted`). So a filter can only
 * ever hold a change back: it never deletes anything, here or on the remote.
 */

/** "Pull only the newest `count` entries matching `glob`" (e.g. `checkpoints/checkpoint-*`, 3). */
export interface KeepNewestRule {
  readonly glob: string;
  readonly count: number;
}

export interface CheckpointRules {
  /**
   * A new or changed remote file is pulled once it kept the same size and mtime for this long (0: no quiet
   * period). Measured by this process's observations, never by the remote's clock.
   */
  readonly quietMs: number;
  /** Marker names (globs on the last segment: `*.done`, `COMPLETE`); see `releasedByMarkers`. */
  readonly markers: readonly string[];
  /** Where the quiet period and markers apply (globs; a file is gated when it or a folder above it matches). Empty: everywhere. */
  readonly gatedPaths: readonly string[];
  readonly keepNewest: readonly KeepNewestRule[];
}

export const NO_CHECKPOINT_RULES: CheckpointRules = { quietMs: 0, markers: [], gatedPaths: [], keepNewest: [] };

/** When a file was first seen with its current size and mtime (ms on this process's clock). */
export interface Observation {
  readonly size: number;
  readonly mtimeMs: number;
  readonly since: number;
}

export type HoldReason = 'settling' | 'older-checkpoint';

export interface PullGateInput {
  readonly remote: Tree;
  readonly ancestor: Tree;
  /** What earlier cycles observed of files not yet released (from the state store). */
  readonly observations: ReadonlyMap<string, Observation>;
  readonly now: number;
}

export interface PullGateVerdict {
  /** Paths out of reach this cycle, with why. */
  readonly held: ReadonlyMap<string, HoldReason>;
  /** The observations to keep (replaces the previous set): gated files that differ from the ancestor. */
  readonly observations: ReadonlyMap<string, Observation>;
  /** When the earliest settling file will have been quiet long enough, if any: the next poll need not wait longer. */
  readonly recheckAt?: number;
}

/** Why the rules cannot be used, or undefined when they can. */
export function invalidCheckpointRulesReason(rules: CheckpointRules): string | undefined {
  if (!Number.isFinite(rules.quietMs) || rules.quietMs < 0) return 'the quiet period must be 0 or more milliseconds';
  for (const pattern of [...rules.markers, ...rules.gatedPaths, ...rules.keepNewest.map((r) => r.glob)]) {
    const reason = invalidGlobReason(pattern);
    if (reason !== undefined) return reason;
  }
  for (const marker of rules.markers) {
    if (marker.includes('/')) return `marker ${JSON.stringify(marker)} must be a name pattern, without "/"`;
  }
  for (const rule of rules.keepNewest) {
    if (!Number.isInteger(rule.count) || rule.count < 1) {
      return `keep-newest count for ${JSON.stringify(rule.glob)} must be a whole number of at least 1`;
    }
  }
  return undefined;
}

/** Whether `path` is one of `roots` or below one. */
function atOrBelow(path: string, roots: ReadonlySet<string>): boolean {
  if (roots.size === 0) return false;
  if (roots.has('')) return true;
  for (let p = path; p !== ''; p = parentOf(p)) if (roots.has(p)) return true;
  return false;
}

function sameVersion(entry: Entry, other: Entry | undefined): boolean {
  return (
    other !== undefined && other.kind === entry.kind && other.size === entry.size && other.mtimeMs === entry.mtimeMs
  );
}

/** The newest mtime at or below each path of `tree` (a folder is as new as the newest thing in it). */
function newestBelow(tree: Tree): Map<string, number> {
  const newest = new Map<string, number>();
  for (const entry of tree.values()) {
    for (let p = entry.path; ; p = parentOf(p)) {
      newest.set(p, Math.max(newest.get(p) ?? -Infinity, entry.mtimeMs));
      if (p === '') break;
    }
  }
  return newest;
}

/**
 * "Keep newest N": the remote entries matching a rule's glob, grouped by folder, newest first (by the newest mtime at
 * or below each; ties by name, later names first, so `checkpoint-10` after `checkpoint-9` wins a tie only by name
 * order); every match after the first `count` of its folder is held. Nothing is deleted anywhere: an older checkpoint
 * already pulled stays on the laptop, and stays on the remote.
 */
export function olderThanNewest(remote: Tree, rules: readonly KeepNewestRule[]): Set<string> {
  const held = new Set<string>();
  if (rules.length === 0) return held;
  const newest = newestBelow(remote);
  for (const rule of rules) {
    const glob = compileGlob(rule.glob);
    const groups = new Map<string, string[]>();
    for (const path of remote.keys()) {
      if (!glob.matches(path)) continue;
      const group = groups.get(parentOf(path));
      if (group === undefined) groups.set(parentOf(path), [path]);
      else group.push(path);
    }
    for (const paths of groups.values()) {
      paths.sort((a, b) => {
        const byTime = (newest.get(b) ?? 0) - (newest.get(a) ?? 0);
        return byTime !== 0 ? byTime : b.localeCompare(a, 'en', { numeric: true });
      });
      for (const path of paths.slice(rule.count)) held.add(path);
    }
  }
  return held;
}

/**
 * Paths released by marker files. A marker named `NAME.<ext>` beside an entry `NAME` releases that entry (and all
 * below it, for a folder): `model.pt.done` releases `model.pt`. Any other marker releases the folder it is in, and
 * everything below: `checkpoint-300/COMPLETE` releases `checkpoint-300/`. Markers release themselves.
 */
export function releasedByMarkers(remote: Tree, markers: readonly Glob[]): Set<string> {
  const released = new Set<string>();
  if (markers.length === 0) return released;
  for (const entry of remote.values()) {
    if (entry.kind !== 'file') continue;
    const name = baseName(entry.path);
    if (!markers.some((m) => m.matches(name))) continue;
    released.add(entry.path);
    const dot = name.lastIndexOf('.');
    const folder = parentOf(entry.path);
    const sibling = dot > 0 ? (folder === '' ? name.slice(0, dot) : `${folder}/${name.slice(0, dot)}`) : undefined;
    if (sibling !== undefined && remote.has(sibling)) released.add(sibling);
    else released.add(folder);
  }
  return released;
}

/**
 * Which remote changes may be pulled this cycle. Invariants:
 * - only files that differ from the ancestor are ever gated: what was synced before is never held back;
 * - a gated file is released by a marker at once, or once its size and mtime stayed the same across `quietMs` of
 *   observations (the first sighting starts the clock, whatever the remote's mtime says, so clock skew cannot
 *   release a file early);
 * - with no quiet period and no markers nothing is gated; with markers only, a gated file waits for its marker.
 */
export function gatePulls(input: PullGateInput, rules: CheckpointRules): PullGateVerdict {
  const held = new Map<string, HoldReason>();
  for (const path of olderThanNewest(input.remote, rules.keepNewest)) held.set(path, 'older-checkpoint');
  const observations = new Map<string, Observation>();
  const gating = rules.quietMs > 0 || rules.markers.length > 0;
  if (!gating) return { held, observations };

  const markers = rules.markers.map(compileGlob);
  const gated = rules.gatedPaths.map(compileGlob);
  const released = releasedByMarkers(input.remote, markers);
  const olderRoots = new Set(held.keys());
  let recheckAt: number | undefined;
  for (const entry of input.remote.values()) {
    // Only files that changed since the last sync, in a gated place, outside what is held already.
    if (entry.kind !== 'file' || sameVersion(entry, input.ancestor.get(entry.path))) continue;
    if (gated.length > 0 && !isGated(entry.path, gated)) continue;
    if (atOrBelow(entry.path, olderRoots) || atOrBelow(entry.path, released)) continue;
    if (rules.quietMs > 0) {
      const seen = input.observations.get(entry.path);
      const since =
        seen !== undefined && seen.size === entry.size && seen.mtimeMs === entry.mtimeMs ? seen.since : input.now;
      // Observed until it is pulled (then it equals the ancestor): a sync that fails after releasing it does not
      // restart its quiet period.
      observations.set(entry.path, { size: entry.size, mtimeMs: entry.mtimeMs, since });
      if (input.now - since >= rules.quietMs) continue;
      recheckAt = Math.min(recheckAt ?? Infinity, since + rules.quietMs);
    }
    held.set(entry.path, 'settling');
  }
  return recheckAt === undefined ? { held, observations } : { held, observations, recheckAt };
}

function isGated(path: string, globs: readonly Glob[]): boolean {
  for (let p = path; p !== ''; p = parentOf(p)) if (globs.some((g) => g.matches(p))) return true;
  return false;
}

/** Folders to sync (empty: all) and folders to leave out, on top of the ignore rules. Clean relative paths. */
export interface Selection {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export const EVERYTHING: Selection = { include: [], exclude: [] };

function trimFolder(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Why the selection cannot be used, or undefined when it can. */
export function invalidSelectionReason(selection: Selection): string | undefined {
  for (const folder of [...selection.include, ...selection.exclude]) {
    const reason = invalidPathReason(trimFolder(folder));
    if (reason !== undefined) return `selective sync folder ${JSON.stringify(folder)}: ${reason}`;
  }
  return undefined;
}

/**
 * The topmost paths outside the selection, among `paths` (every path of the local, remote and ancestor trees).
 * A path is selected when it is at or below an included folder (or nothing is included), or above one (its parents
 * must exist), and not at or below an excluded folder. Leaving them out of reach, rather than ignoring them, keeps
 * their ancestor records: narrowing the selection never reads as "deleted", and widening it again resumes cleanly.
 */
export function outsideSelection(paths: Iterable<string>, selection: Selection): Set<string> {
  const include = new Set(selection.include.map(trimFolder));
  const exclude = new Set(selection.exclude.map(trimFolder));
  const roots = new Set<string>(exclude);
  if (include.size === 0 || include.has('')) return roots;
  const aboveIncluded = new Set<string>();
  for (const folder of include) for (let p = parentOf(folder); p !== ''; p = parentOf(p)) aboveIncluded.add(p);
  for (const path of paths) {
    if (atOrBelow(path, include)) continue;
    // The topmost segment prefix that is neither included nor above an included folder.
    let end = path.indexOf('/');
    for (;;) {
      const prefix = end < 0 ? path : path.slice(0, end);
      if (!aboveIncluded.has(prefix)) {
        if (!atOrBelow(prefix, include)) roots.add(prefix);
        break;
      }
      if (end < 0) break;
      end = path.indexOf('/', end + 1);
    }
  }
  return roots;
}
