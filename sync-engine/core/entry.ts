/**
 * The entry model shared by every endpoint and by the planner.
 *
 * Paths are relative to the pair's root, use `/` as separator, never start with `/`, never contain
 * `.` or `..` segments or empty segments. They are compared as exact strings: two names that differ
 * only in Unicode normalization or case are two entries (endpoints that fold them report collisions
 * as problems, see `safety.ts`).
 */
export type EntryKind = 'file' | 'dir' | 'symlink';

export interface Entry {
  readonly path: string;
  readonly kind: EntryKind;
  /** Bytes for files; 0 for directories and symlinks. */
  readonly size: number;
  /** Modification time in milliseconds since the epoch (may carry a fraction). */
  readonly mtimeMs: number;
  /** The owner-executable bit of a file; false for directories and symlinks. */
  readonly executable: boolean;
  /** Lower-case hex SHA-256 of the content, when known (strict compare mode, or remote metadata). */
  readonly sha256?: string;
  /** A symlink's target as stored; never followed by the engine. */
  readonly target?: string;
}

/** A scanned tree: path → entry. Directories are entries too; the root itself is not. */
export type Tree = ReadonlyMap<string, Entry>;

/** A per-path, non-fatal problem, shown to the user; never aborts a whole sync. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

export function treeOf(entries: Iterable<Entry>): Map<string, Entry> {
  const tree = new Map<string, Entry>();
  for (const entry of entries) tree.set(entry.path, entry);
  return tree;
}

/** The parent of a relative path, or '' for a top-level entry. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The last segment of a relative path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Path depth: 1 for a top-level entry. */
export function depthOf(path: string): number {
  let depth = 1;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) depth++;
  return depth;
}

/**
 * Checks that a path that came from outside (a remote listing, a tar entry, a user) is a clean relative
 * path. Returns a reason when it is not, so the caller can record a problem; the engine never acts on such
 * a path.
 */
export function invalidPathReason(path: string): string | undefined {
  // One pass over the characters for the common, clean case: this runs for every entry of every scan.
  let segmentStart = 0;
  let clean = path.length > 0;
  for (let i = 0; clean && i <= path.length; i++) {
    const c = i === path.length ? 47 : path.charCodeAt(i);
    if (c === 0 || c === 92) clean = false;
    else if (c === 47) {
      const length = i - segmentStart;
      if (length === 0) clean = false;
      else if (length <= 2 && path.charCodeAt(segmentStart) === 46 && (length === 1 || path.charCodeAt(i - 1) === 46))
        clean = false;
      segmentStart = i + 1;
    }
  }
  if (clean) return undefined;
  if (path.length === 0) return 'empty path';
  if (path.includes('\0')) return 'path contains a NUL byte';
  if (path.startsWith('/')) return 'absolute path';
  if (path.includes('\\')) return 'path contains a backslash';
  for (const segment of path.split('/')) {
    if (segment === '') return 'path has an empty segment';
    if (segment === '.' || segment === '..') return `path has a "${segment}" segment`;
  }
  return undefined;
}
