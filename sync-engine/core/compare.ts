import type { Entry } from './entry.js';
import type { CompareMode } from './plan.js';

/**
 * How two entries at the same path differ:
 * - `equal`: nothing to do;
 * - `metadata`: same content, only the executable bit differs (a `metadata` action, never a copy);
 * - `content`: different content or a different kind (a copy, or a replacement).
 */
export type Difference = 'equal' | 'metadata' | 'content';

export interface CompareSettings {
  readonly compare: CompareMode;
  /** The coarser endpoint's mtime granularity in ms; mtimes closer than this are the same time. */
  readonly mtimePrecisionMs: number;
  /** Ignore executable bits (when an endpoint cannot store them, a difference there means nothing). */
  readonly ignoreExecutable?: boolean;
}

/** Whether two mtimes are the same time at the given precision (exact when the precision is not positive). */
export function sameMtime(a: number, b: number, precisionMs: number): boolean {
  return precisionMs > 0 ? Math.abs(a - b) < precisionMs : a === b;
}

/**
 * Compares two entries found at the same path.
 *
 * - A directory equals a directory (their mtimes are ignored); a file and a directory are never equal.
 * - Symlinks are equal iff their targets are.
 * - Files, by compare mode:
 *   - `size-mtime`: same size and mtimes within the precision;
 *   - `sha256`: same size and same hash, mtimes ignored. When either hash is missing, this comparison falls
 *     back to `size-mtime`. Equal hashes with different mtimes are `equal`: Tether does not align mtimes in this
 *     mode (a `touch` on one side moves nothing);
 *   - `none`: always `equal`, metadata included.
 *   When the content is the same and only the executable bit differs, the result is `metadata` (or `equal` with
 *   `ignoreExecutable`).
 */
export function compareEntries(a: Entry, b: Entry, settings: CompareSettings): Difference {
  if (a.kind !== b.kind) return 'content';
  switch (a.kind) {
    case 'dir':
      return 'equal';
    case 'symlink':
      return a.target === b.target ? 'equal' : 'content';
    case 'file':
      return compareFiles(a, b, settings);
  }
}

function compareFiles(a: Entry, b: Entry, settings: CompareSettings): Difference {
  if (settings.compare === 'none') return 'equal';
  if (a.size !== b.size) return 'content';
  if (settings.compare === 'sha256' && a.sha256 !== undefined && b.sha256 !== undefined) {
    if (a.sha256 !== b.sha256) return 'content';
  } else if (!sameMtime(a.mtimeMs, b.mtimeMs, settings.mtimePrecisionMs)) {
    return 'content';
  }
  return a.executable === b.executable || settings.ignoreExecutable === true ? 'equal' : 'metadata';
}

/** Whether two possibly absent entries hold the same thing (both absent counts as equal). */
export function sameEntry(a: Entry | undefined, b: Entry | undefined, settings: CompareSettings): boolean {
  if (a === undefined || b === undefined) return a === b;
  return compareEntries(a, b, settings) === 'equal';
}

/**
 * Whether a side's entry changed since the ancestor (creation, deletion, modification, metadata change or a change
 * of kind). This is the question "may this version be overwritten or deleted?", so it is never blind: under compare
 * mode `none`, where files present on both sides are equal, a change since the ancestor is still judged by size and
 * mtime, so a deletion on one side never silently removes an edited file on the other.
 */
export function changedSince(
  current: Entry | undefined,
  ancestor: Entry | undefined,
  settings: CompareSettings,
): boolean {
  if (current === undefined || ancestor === undefined) return current !== ancestor;
  const strict: CompareSettings = settings.compare === 'none' ? { ...settings, compare: 'size-mtime' } : settings;
  return compareEntries(current, ancestor, strict) !== 'equal';
}

/**
 * Whether the ancestor's record of a path already says what `entry` says, so recording `entry` would write
 * nothing new. Stricter than `compareEntries` (every compare mode tracks size, mtime, executable bit and a known
 * hash), except that directory mtimes are not tracked and mtimes within the precision count as the same.
 */
export function sameRecord(entry: Entry, recorded: Entry | undefined, mtimePrecisionMs: number): boolean {
  if (recorded === undefined || entry.kind !== recorded.kind) return false;
  switch (entry.kind) {
    case 'dir':
      return true;
    case 'symlink':
      return entry.target === recorded.target;
    case 'file':
      return (
        entry.size === recorded.size &&
        entry.executable === recorded.executable &&
        sameMtime(entry.mtimeMs, recorded.mtimeMs, mtimePrecisionMs) &&
        (entry.sha256 === undefined || entry.sha256 === recorded.sha256)
      );
  }
}
