import type { Readable } from 'node:stream';
import type { Entry, Problem } from '../core/entry.js';
import type { IgnoreMatcher } from '../core/ignore.js';
import type { NarrowScope } from '../core/narrowScope.js';

/** What an endpoint can and cannot represent; the planner and controller adapt to it. */
export interface EndpointCapabilities {
  /** Granularity of the mtimes it reports and stores, in ms (1 for local disks, 1000 for BusyBox `stat -c %Y`). */
  readonly mtimePrecisionMs: number;
  /** False where `A` and `a` are the same file (macOS, Windows defaults). */
  readonly caseSensitive: boolean;
  /** Whether it stores the executable bit. */
  readonly executableBit: boolean;
  /** Whether `hash` runs where the data lives (no download), e.g. sha256sum in a pod or stored metadata. */
  readonly remoteHash: boolean;
  /** Whether an interrupted write continues from what already arrived (`partialOffset`). */
  readonly resumableWrites: boolean;
  /**
   * Most small files one `readFiles`/`writeFiles` call may carry, where each call has a fixed cost worth
   * spreading (an exec in a pod costs processes there). The engine's default (512) when absent or smaller.
   */
  readonly batchFiles?: number;
  /**
   * Whether each write looks at its target when it commits and refuses one that is not what the request expects
   * (`WriteRequest.replaces`, nothing when absent), using no knowledge from an earlier scan. Live sync may then
   * send a change without listing this side first (see `firstPass` in controller/syncPair.ts). S3 does not:
   * its conditional writes need the ETags its last listing saw.
   */
  readonly checksTargetOnWrite?: boolean;
}

export interface ScanOptions {
  readonly signal?: AbortSignal;
  /** Called with the running count of entries seen, for progress on long scans. */
  readonly onProgress?: (entries: number) => void;
  /**
   * Paths for which this returns true are not listed (and, for directories, not descended into).
   * The engine's own temporary files are never listed whatever this says; they come back in `temporaries`.
   * A matcher that carries its `rules` may be rebuilt and applied elsewhere (the local scan's worker thread).
   */
  readonly ignore?: IgnoreMatcher;
  /**
   * List only these paths, what lies below them and their parent folders (live sync's narrowed sync, see
   * `core/narrowScope.ts`). A root that does not exist is simply absent. An endpoint that cannot narrow its
   * listing may list everything: the controller keeps only the scope either way.
   */
  readonly within?: NarrowScope;
}

export interface ScanResult {
  /** Every entry below the root (directories included, the root itself excluded). */
  readonly entries: Entry[];
  /** Entries that could not be represented (symlinks by default, unreadable files, invalid names). */
  readonly problems: Problem[];
  /** The engine's own temporary/partial files found in the tree (relative paths), for cleanup. */
  readonly temporaries: string[];
  /**
   * Directories whose contents could not be listed (permission denied, vanished mid-scan). Nothing below them
   * is known, so the planner takes no action there: an unreadable folder is never read as "all deleted".
   */
  readonly unlisted: string[];
  /**
   * The same entries keyed by path, when the endpoint built it while scanning (the local scan does, while it
   * waits for its worker): the controller then need not build it afterwards.
   */
  readonly tree?: ReadonlyMap<string, Entry>;
}

export interface HashResult {
  readonly hashes: Map<string, string>;
  readonly problems: Problem[];
  /** Bytes and files downloaded only to be hashed (e.g. S3 objects uploaded without `x-amz-meta-sha256`). */
  readonly downloaded?: { readonly bytes: number; readonly files: number };
}

/** What an endpoint can still take, as measured where the data lives (e.g. `df` in a pod that mounts the volume). */
export interface SpaceReport {
  /** Bytes that can still be written (df's "Available", which already leaves out the root reserve). */
  readonly freeBytes: number;
  /** Size of the volume and bytes used on it, when known. */
  readonly totalBytes?: number;
  readonly usedBytes?: number;
  /** Bytes a quota on the data itself still allows (e.g. a prefix quota), when one applies. */
  readonly quotaRemainingBytes?: number;
  /** What was measured, for messages: "the volume of pvc://group-vision/vision-datasets". */
  readonly where: string;
}

/** One file to be written on this endpoint, whose content comes from the other endpoint. */
export interface WriteRequest {
  readonly path: string;
  /** The source's entry: size, mtime, executable bit (and sha256 when known) are what the result must have. */
  readonly entry: Entry;
  /**
   * What the scan saw at `path` on this endpoint (undefined: nothing). If something else is there when the file
   * is about to be renamed into place, the write is refused as a problem, so a concurrent edit is never lost.
   */
  readonly replaces?: Entry;
  /** Bytes of a partial file already in place (from `partialOffset`); the incoming stream starts there. */
  readonly offset: number;
  /** When set, the written content must hash to this or the write fails (strict mode). */
  readonly verifySha256?: string;
}

/** A file's content as it arrives from the source endpoint. */
export interface IncomingFile {
  readonly path: string;
  readonly entry: Entry;
  /** Where in the file this stream starts. */
  readonly offset: number;
  /** Exactly `entry.size - offset` bytes, unless the source fails. */
  readonly stream: Readable;
}

/**
 * A content stream that can also fill the caller's buffers directly (a local file's): `readInto` resolves to
 * the bytes it put at the start of `target`, and to 0 at the end, once the source is known to be whole.
 */
export interface DirectRead {
  readInto(target: Buffer): Promise<number>;
}

/** Whether `stream` can be read with `readInto`: it offers it, and nothing has read the stream yet. */
export function canReadDirectly(stream: Readable): stream is Readable & DirectRead {
  return (
    typeof (stream as Partial<DirectRead>).readInto === 'function' &&
    stream.readableFlowing === null &&
    stream.readableLength === 0 &&
    !stream.destroyed
  );
}

export interface WriteHooks {
  readonly signal?: AbortSignal;
  /** Bytes of content written so far (called often, with increments). */
  readonly onBytes?: (bytes: number) => void;
  /** A file is in place under its final name with the source's mtime and mode. */
  readonly onFileDone?: (request: WriteRequest, written: Entry) => void;
  /** A file could not be written; the rest of the batch continues. */
  readonly onProblem?: (problem: Problem) => void;
}

export interface ReadOptions {
  readonly signal?: AbortSignal;
}

/**
 * One side of a pair: the local folder, a file:// share, a PVC reached through exec streams, an S3 prefix.
 *
 * Contracts every implementation keeps:
 * - Paths are relative to the endpoint's root and validated (`invalidPathReason`) before any use; nothing
 *   outside the root is ever read, written or followed.
 * - A listing that fails is an error (`TetherError` with code `listing-failed` or more precise), never an
 *   empty result.
 * - Writes are atomic per file: content goes to a temporary name beside the target and is renamed into place
 *   only once complete and checked. A reader never sees a half-written file under its final name.
 * - Deletes and metadata updates re-check what is there against the expected entry and refuse (as a
 *   problem) when the file changed since the scan, so a concurrent edit is never lost.
 */
export interface Endpoint {
  /** The remote URL or local path as the user wrote it, for messages. */
  readonly displayName: string;
  readonly capabilities: EndpointCapabilities;

  /** Lists the whole tree under the root. Throws when the root cannot be listed. */
  scan(options?: ScanOptions): Promise<ScanResult>;

  /**
   * SHA-256 of the given files, computed where the data lives. Files that vanished become problems.
   * `downloaded` is what had to travel to this process to hash (objects without a stored hash), when any did.
   */
  hash(entries: readonly Entry[], options?: ReadOptions): Promise<HashResult>;

  /**
   * Streams the requested files in order. Each yielded stream must be consumed (or destroyed) before the next
   * is produced. A file that vanished or changed since the scan is still yielded, with a stream that errors
   * (message naming the file); the writer reports it as a problem and goes on with the next file. Connection
   * loss fails the whole iteration.
   */
  readFiles(
    requests: readonly { path: string; entry: Entry; offset: number }[],
    options?: ReadOptions,
  ): AsyncIterable<IncomingFile>;

  /**
   * Writes `requests` from `incoming`, which yields the same files in the same order. Resolves when every
   * file is either done (`onFileDone`) or reported (`onProblem`); rejects only on a fatal error
   * (cancellation, lost connection, no space left), leaving no partial file under a final name.
   */
  writeFiles(
    requests: readonly WriteRequest[],
    incoming: AsyncIterable<IncomingFile>,
    hooks?: WriteHooks,
  ): Promise<void>;

  /** Bytes already present from an interrupted write of exactly this version of the file (0 when none). */
  partialOffset(path: string, entry: Entry): Promise<number>;

  /** Creates directories (parents are listed before children), setting their mtimes where it can. */
  mkdirs(entries: readonly Entry[]): Promise<Problem[]>;

  /**
   * Removes entries, children before parents; `expected` is what the scan saw. A file that changed since
   * then, or a directory that is not empty, is left in place and reported.
   */
  remove(expected: readonly Entry[]): Promise<{ removed: string[]; problems: Problem[] }>;

  /** Renames a file within the root (used for conflict copies); fails if `to` exists. */
  rename(from: string, to: string, expected: Entry): Promise<void>;

  /** Sets mtime and executable bit of files that are otherwise equal. */
  setMetadata(items: readonly { path: string; entry: Entry; expected: Entry }[]): Promise<Problem[]>;

  /**
   * Optional: the free space where this endpoint writes, so a sync that cannot fit is refused before any byte
   * moves. Undefined (or no method) when it cannot be known; throws only when asking failed.
   */
  freeSpace?(options?: ReadOptions): Promise<SpaceReport | undefined>;

  /**
   * Optional: the direct children of one folder (`''` for the root), without listing anything below them, for
   * browsing a large remote one folder at a time. The same rules as `scan` for what is listed: `path` is
   * validated (`invalidPathReason`) and never reached through a symbolic link; files and folders only, with
   * the same sizes, mtimes and executable bits `scan` would report; engine temporaries, links, special files
   * and names `scan` would refuse are left out. A folder that does not exist (or is not a folder) throws
   * `not-found`; a listing that fails throws (`listing-failed` or more precise), never an empty result.
   */
  listFolder?(path: string, options?: ReadOptions): Promise<Entry[]>;

  /** Deletes engine temporaries (as reported by `scan`) that no transfer will resume. */
  removeTemporaries(paths: readonly string[]): Promise<void>;

  /** Releases connections, helper pods, worker threads. Safe to call twice. */
  close(): Promise<void>;

  /**
   * Whether live sync may keep this endpoint open from one sync to the next (default true; see
   * `controller/endpointCache.ts`). False where what it holds must not outlive a sync, such as a helper pod on a
   * ReadWriteOnce claim, which keeps the volume from the user's own pods.
   */
  readonly keepOpen?: boolean;

  /**
   * Called when live sync keeps this endpoint open for the next sync: a chance to make the next small change
   * cheaper (a PVC starts a command session in its pod, so that a change costs no exec). Resolves once that is
   * ready or failed; never rejects. What it starts ends at `close`.
   */
  keepWarm?(): Promise<void>;
}
