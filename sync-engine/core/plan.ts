import type { Entry, Problem, Tree } from './entry.js';

/** How a pair moves changes. */
export type SyncMode = 'two-way' | 'push' | 'pull' | 'mirror-push' | 'mirror-pull';
export const SYNC_MODES: readonly SyncMode[] = ['two-way', 'push', 'pull', 'mirror-push', 'mirror-pull'];

/**
 * How two files are judged equal, as the platform names the options:
 * - `size-mtime` (default): same size and mtimes equal within the coarser endpoint's precision;
 * - `sha256` (strict): same content hash (hashes cached against size+mtime by the state store);
 * - `none`: a file present on both sides is equal; only new and deleted files move.
 */
export type CompareMode = 'size-mtime' | 'sha256' | 'none';
export const COMPARE_MODES: readonly CompareMode[] = ['size-mtime', 'sha256', 'none'];

export type Side = 'local' | 'remote';

export function otherSide(side: Side): Side {
  return side === 'local' ? 'remote' : 'local';
}

/** One step applied to one side. `source` is the entry read from the other side (for copies). */
export type Action =
  /** Copy the other side's entry at `path` onto this side (create or replace a file, or a symlink when enabled). */
  | { readonly kind: 'copy'; readonly path: string; readonly source: Entry; readonly replaces?: Entry }
  /** Create a directory. */
  | { readonly kind: 'mkdir'; readonly path: string; readonly source: Entry }
  /** Delete what is at `path`; `expected` is what the scan saw there (re-checked before deleting). */
  | { readonly kind: 'delete'; readonly path: string; readonly expected: Entry }
  /**
   * Rename this side's file out of the way: the losing side of a conflict, or an unchanged entry that the other
   * side replaced with one of another kind (moved aside, then deleted; for a directory this renames the directory).
   */
  | { readonly kind: 'rename'; readonly path: string; readonly to: string; readonly expected: Entry }
  /** Only metadata differs (executable bit, or mtime under compare mode `none`/`sha256`): update it. */
  | { readonly kind: 'metadata'; readonly path: string; readonly source: Entry; readonly expected: Entry };

/** Both sides changed the same path since the last sync. */
export interface Conflict {
  readonly path: string;
  readonly local: Entry | undefined;
  readonly remote: Entry | undefined;
  /**
   * Where the remote's version is kept (present on both sides after the sync). In a file-versus-directory conflict
   * the directory keeps the name and this is where the file (from either side) is kept.
   */
  readonly conflictPath: string;
}

/**
 * The planner's output. Actions for each side are ordered so they can be applied in order:
 * renames, then mkdirs (parents first), then copies, then metadata, then deletes (children first).
 */
export interface Plan {
  readonly local: Action[];
  readonly remote: Action[];
  readonly conflicts: Conflict[];
  readonly problems: Problem[];
  /**
   * Entries now known to be equal on both sides with no action needed: the ancestor records them.
   * (The controller also records each applied action's result.)
   */
  readonly inSync: Entry[];
  /** Ancestor paths that no longer exist on either side: the ancestor forgets them. */
  readonly forget: string[];
}

/** What the planner reconciles: the state both sides agreed on at the last sync, and both sides' scans now. */
export interface ReconcileInput {
  readonly ancestor: Tree;
  readonly local: Tree;
  readonly remote: Tree;
  /** Directories each side could not list (`ScanResult.unlisted`): nothing at or below them is acted on. */
  readonly unlisted?: { readonly local: readonly string[]; readonly remote: readonly string[] };
}

export interface ReconcileOptions {
  readonly mode: SyncMode;
  readonly compare: CompareMode;
  /** The coarsest mtime precision of the two endpoints, in milliseconds (e.g. 1000 for BusyBox `stat`). */
  readonly mtimePrecisionMs: number;
  /** Host name used in conflict file names. */
  readonly host: string;
  /** The time used in conflict file names (ms since epoch). */
  readonly now: number;
  /**
   * Sides whose file system folds case (`EndpointCapabilities.caseSensitive === false`). Paths that differ only in
   * case cannot both exist there: when such a side receives changes, they are skipped with a problem.
   */
  readonly caseInsensitive?: { readonly local?: boolean; readonly remote?: boolean };
  /**
   * Set when either endpoint cannot store the executable bit (`EndpointCapabilities.executableBit === false`):
   * differences in it are then ignored, so the side that cannot keep it never clears it on the other side.
   */
  readonly ignoreExecutable?: boolean;
}
