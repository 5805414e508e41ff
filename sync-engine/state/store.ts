import type { Entry } from '../core/entry.js';
import type { NarrowScope } from '../core/narrowScope.js';
import type { Side } from '../core/plan.js';
import { TetherError } from '../errors.js';
import {
  ActivityLog,
  DEFAULT_ACTIVITY_CAP,
  type ActivityInput,
  type ActivityQuery,
  type ActivityRecord,
} from './activity.js';
import { AncestorWriter, prepareAncestorLoader, prepareNarrowAncestorLoader } from './ancestor.js';
import { DEFAULT_BATCH_LIMITS, type BatchLimits } from './batcher.js';
import { HashCache, type CachedHash } from './hashCache.js';
import { TransferJournal, type JournalRecord } from './journal.js';
import { LiveState } from './live.js';
import { migrate } from './migrations.js';
import { PairLocks, type LockOwner, type PairLockInfo, type PairLockOptions, type ReleaseLock } from './pairLock.js';
import { PairTable, type PairConfig, type PairConfigPatch, type PairRecord, type PairState } from './pairs.js';
import { openDatabase, stateError, type Db } from './sqlite.js';

export type { ActivityInput, ActivityLevel, ActivityQuery, ActivityRecord } from './activity.js';
export type { BatchLimits } from './batcher.js';
export type { CachedHash } from './hashCache.js';
export type { JournalRecord } from './journal.js';
export type { LiveState, WatcherRecord } from './live.js';
export { SCHEMA_VERSION } from './migrations.js';
export type { LockOwner, PairLockInfo, ReleaseLock } from './pairLock.js';
export { invalidPairNameReason, PAIR_STATES } from './pairs.js';
export type { PairConfig, PairConfigPatch, PairRecord, PairState } from './pairs.js';
export { AncestorWriter } from './ancestor.js';

export interface StateStoreOptions {
  /** When batched writes (ancestor, hash cache, activity) are committed. Default: 500 operations or 100 ms. */
  readonly batch?: BatchLimits;
  /** Activity entries kept per pair. Default 100,000. */
  readonly activityCap?: number;
  /** Process liveness and host name used to detect stale pair locks (tests replace them). */
  readonly locks?: PairLockOptions;
  /** The clock (ms since the epoch). */
  readonly now?: () => number;
}

/**
 * Tether's state: the pairs, each pair's ancestor, hash cache, transfer journal and activity log, and the pair
 * locks, in one SQLite file (normally `$TETHER_HOME/state.db`; the caller chooses). Several processes may open
 * the same file; writes wait for each other (busy timeout) and a pair is synced by one process at a time
 * (`acquirePairLock`).
 *
 * Every method is synchronous except `waitForPairLock`, and throws `TetherError`s whose messages name what failed
 * and what to do. Nothing secret is stored here: credentials live encrypted elsewhere.
 */
export class StateStore {
  /** The database file, or `:memory:`. */
  readonly file: string;
  readonly #db: Db;
  readonly #now: () => number;
  readonly #batch: BatchLimits;
  readonly #pairs: PairTable;
  readonly #loadAncestor: (pairId: number) => Map<string, Entry>;
  readonly #loadNarrowAncestor: (pairId: number, scope: NarrowScope) => Map<string, Entry>;
  readonly #hashes: HashCache;
  readonly #journal: TransferJournal;
  readonly #activity: ActivityLog;
  readonly #locks: PairLocks;
  /** Ancestor writers with uncommitted operations. */
  readonly #writers = new Set<AncestorWriter>();
  readonly #heldLocks = new Set<ReleaseLock>();
  /** Live sync: pauses, settling remote files, watchers (see `LiveState`). */
  readonly live: LiveState;

  /** Opens (creating and migrating as needed) the store at `file`. */
  static open(file: string, options: StateStoreOptions = {}): StateStore {
    const db = openDatabase(file);
    try {
      migrate(db);
      return new StateStore(file, db, options);
    } catch (error) {
      db.close();
      throw stateError(error, 'prepare the state database', file);
    }
  }

  private constructor(file: string, db: Db, options: StateStoreOptions) {
    this.file = file;
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#batch = options.batch ?? DEFAULT_BATCH_LIMITS;
    this.#pairs = new PairTable(db);
    this.#loadAncestor = prepareAncestorLoader(db);
    this.#loadNarrowAncestor = prepareNarrowAncestorLoader(db);
    this.#hashes = new HashCache(db, this.#batch);
    this.#journal = new TransferJournal(db);
    this.#activity = new ActivityLog(db, this.#batch, options.activityCap ?? DEFAULT_ACTIVITY_CAP);
    this.#locks = new PairLocks(db, options.locks, this.#now);
    this.live = new LiveState(db, file);
  }

  // ---- Pairs ----

  /** Adds a pair (state `idle`). Throws `pair-exists` if the name is taken, `bad-argument` for invalid fields. */
  addPair(config: PairConfig): PairRecord {
    return this.#guard(`add pair "${config.name}"`, () => this.#pairs.add(config, this.#now()));
  }

  getPair(name: string): PairRecord | undefined {
    return this.#guard(`read pair "${name}"`, () => this.#pairs.get(name));
  }

  getPairById(id: number): PairRecord | undefined {
    return this.#guard(`read pair ${id}`, () => this.#pairs.getById(id));
  }

  /** Like `getPair`, but throws `unknown-pair` (for commands that name a pair). */
  requirePair(name: string): PairRecord {
    return this.#guard(`read pair "${name}"`, () => this.#pairs.require(name));
  }

  /** All pairs, by name. */
  listPairs(): PairRecord[] {
    return this.#guard('list pairs', () => this.#pairs.list());
  }

  /** Removes a pair and everything recorded for it. Returns false if there was no such pair. */
  removePair(name: string): boolean {
    return this.#guard(`remove pair "${name}"`, () => {
      const pair = this.#pairs.get(name);
      if (pair === undefined) return false;
      this.#hashes.discardPair(pair.id);
      return this.#pairs.remove(name);
    });
  }

  /**
   * Changes a pair's configuration. Moving the local folder or the remote clears the ancestor, journal and that
   * side's hash cache, so the next sync starts like a first one (see `PairTable.update`).
   */
  updatePairConfig(name: string, patch: PairConfigPatch): PairRecord {
    return this.#guard(`update pair "${name}"`, () => {
      this.#hashes.flush();
      for (const writer of this.#writers) writer.flush();
      return this.#pairs.update(name, patch);
    });
  }

  setPairState(name: string, state: PairState, message?: string): void {
    this.#guard(`set the state of pair "${name}"`, () => this.#pairs.setState(name, state, message));
  }

  /** Records the end of a sync: `lastSyncAt` (now) and the controller's summary (any JSON value). */
  recordSyncResult(name: string, summary: unknown): void {
    this.#guard(`record the sync result of pair "${name}"`, () =>
      this.#pairs.recordSyncResult(name, summary, this.#now()),
    );
  }

  // ---- Ancestor ----

  /** The last-synced entries of a pair, by path (empty before the first sync). */
  loadAncestor(pairId: number): Map<string, Entry> {
    return this.#guard(`load the ancestor of pair ${pairId}`, () => {
      for (const writer of this.#writers) if (writer.pairId === pairId) writer.flush();
      return this.#loadAncestor(pairId);
    });
  }

  /** The last-synced entries of a pair within a narrowed scope (see `core/narrowScope.ts`), by path. */
  loadAncestorWithin(pairId: number, scope: NarrowScope): Map<string, Entry> {
    return this.#guard(`load the ancestor of pair ${pairId}`, () => {
      for (const writer of this.#writers) if (writer.pairId === pairId) writer.flush();
      return this.#loadNarrowAncestor(pairId, scope);
    });
  }

  /** A batched writer of ancestor changes for one pair (see `AncestorWriter`). */
  ancestorWriter(pairId: number): AncestorWriter {
    return this.#guard(`write the ancestor of pair ${pairId}`, () => {
      this.#pairs.requireById(pairId);
      return new AncestorWriter(this.#db, pairId, this.#batch, (writer, pending) => {
        if (pending) this.#writers.add(writer);
        else this.#writers.delete(writer);
      });
    });
  }

  // ---- Hash cache ----

  /** The cached SHA-256 of a file, if it was computed at exactly this size and mtime. */
  getCachedHash(pairId: number, side: Side, path: string, size: number, mtimeMs: number): string | undefined {
    return this.#guard(`read the hash cache of pair ${pairId}`, () =>
      this.#hashes.get(pairId, side, path, size, mtimeMs),
    );
  }

  /** Records a file's SHA-256 for its current size and mtime (batched). */
  putCachedHash(pairId: number, side: Side, path: string, size: number, mtimeMs: number, sha256: string): void {
    this.#guard(`write the hash cache of pair ${pairId}`, () =>
      this.#hashes.put(pairId, side, path, size, mtimeMs, sha256),
    );
  }

  /** `putCachedHash` for many files at once. */
  putCachedHashes(pairId: number, side: Side, hashes: Iterable<CachedHash & { readonly path: string }>): void {
    this.#guard(`write the hash cache of pair ${pairId}`, () => {
      for (const h of hashes) this.#hashes.put(pairId, side, h.path, h.size, h.mtimeMs, h.sha256);
    });
  }

  /** Every cached hash of one side of a pair, by path. Check size and mtime before using one. */
  loadHashCache(pairId: number, side: Side): Map<string, CachedHash> {
    return this.#guard(`load the hash cache of pair ${pairId}`, () => this.#hashes.load(pairId, side));
  }

  /** Drops cached hashes of paths not in `existing`. Returns how many were dropped. */
  pruneHashCache(pairId: number, side: Side, existing: ReadonlySet<string>): number {
    return this.#guard(`prune the hash cache of pair ${pairId}`, () => this.#hashes.retain(pairId, side, existing));
  }

  // ---- Transfer journal ----

  /** Records (replaces) an in-flight transfer's resume state; committed at once. */
  journalPut(pairId: number, key: string, value: unknown): void {
    this.#guard(`write the transfer journal of pair ${pairId}`, () =>
      this.#journal.put(pairId, key, value, this.#now()),
    );
  }

  journalGet(pairId: number, key: string): unknown {
    return this.#guard(`read the transfer journal of pair ${pairId}`, () => this.#journal.get(pairId, key));
  }

  journalDelete(pairId: number, key: string): boolean {
    return this.#guard(`write the transfer journal of pair ${pairId}`, () => this.#journal.delete(pairId, key));
  }

  journalList(pairId: number): JournalRecord[] {
    return this.#guard(`read the transfer journal of pair ${pairId}`, () => this.#journal.list(pairId));
  }

  // ---- Activity ----

  /** Appends to the activity log (batched; readers through `listActivity` see it at once). */
  logActivity(entry: ActivityInput): void {
    this.#guard('write the activity log', () => this.#activity.log(entry, this.#now()));
  }

  /** Activity entries, newest first. */
  listActivity(query: ActivityQuery = {}): ActivityRecord[] {
    return this.#guard('read the activity log', () => this.#activity.list(query));
  }

  /** Prunes every pair's log to the cap now (it is otherwise pruned as entries arrive). Returns rows deleted. */
  pruneActivity(): number {
    return this.#guard('prune the activity log', () => this.#activity.prune());
  }

  // ---- Pair locks ----

  /**
   * Takes the pair's sync lock, or throws `pair-locked` naming the holder. Pass `owner.host = os.hostname()`,
   * so that a lock left by a crashed process can be recognised as stale and taken over. Returns the release
   * function; `close()` releases locks still held.
   */
  acquirePairLock(name: string, owner: LockOwner): ReleaseLock {
    return this.#guard(`lock pair "${name}"`, () => this.#track(name, this.#locks.acquire(name, owner)));
  }

  /** Like `acquirePairLock`, retrying while the pair is busy, for at most `timeoutMs`. */
  async waitForPairLock(name: string, owner: LockOwner, timeoutMs: number, signal?: AbortSignal): Promise<ReleaseLock> {
    try {
      return this.#track(name, await this.#locks.wait(name, owner, timeoutMs, signal));
    } catch (error) {
      if (signal?.aborted === true) throw new TetherError('cancelled', `stopped waiting for pair "${name}"`);
      throw stateError(error, `lock pair "${name}"`, this.file);
    }
  }

  /** Who holds the pair's lock now, if anyone (for status displays). */
  pairLockHolder(name: string): (PairLockInfo & { readonly stale: boolean }) | undefined {
    return this.#guard(`read the lock of pair "${name}"`, () => {
      const holder = this.#locks.holder(this.#pairs.require(name).id);
      return holder === undefined ? undefined : { ...holder, stale: this.#locks.isStale(holder) };
    });
  }

  // ---- Lifecycle ----

  /** Commits every pending batched write (ancestor writers, hash cache, activity). */
  flush(): void {
    this.#guard('save pending changes', () => {
      for (const writer of this.#writers) writer.flush();
      this.#hashes.flush();
      this.#activity.flush();
    });
  }

  /** Flushes, releases the locks this store holds, and closes the file. Safe to call twice. */
  close(): void {
    if (!this.#db.open) return;
    let failure: unknown;
    const attempt = (step: () => void): void => {
      try {
        step();
      } catch (error) {
        failure ??= error;
      }
    };
    for (const writer of [...this.#writers]) attempt(() => writer.close());
    attempt(() => this.#hashes.close());
    attempt(() => this.#activity.close());
    for (const release of [...this.#heldLocks]) attempt(release);
    this.#db.close();
    if (failure !== undefined) throw stateError(failure, 'save pending changes before closing', this.file);
  }

  #track(name: string, lock: { release: ReleaseLock; tookOverFrom?: PairLockInfo }): ReleaseLock {
    const stale = lock.tookOverFrom;
    if (stale !== undefined) {
      this.#activity.log(
        {
          pairId: stale.pairId,
          level: 'warn',
          kind: 'lock',
          message: `took over the lock of pair "${name}" left by pid ${stale.pid} (${stale.purpose}), which is no longer running`,
        },
        this.#now(),
      );
    }
    const release: ReleaseLock = () => {
      // Released already (twice called, or by close()): nothing to do.
      if (!this.#heldLocks.delete(release)) return;
      this.#guard(`unlock pair "${name}"`, lock.release);
    };
    this.#heldLocks.add(release);
    return release;
  }

  #guard<T>(action: string, work: () => T): T {
    if (!this.#db.open) throw new TetherError('internal', `unable to ${action}: the state store is closed`);
    try {
      return work();
    } catch (error) {
      throw stateError(error, action, this.file);
    }
  }
}

/** Opens the state store at `file` (see `StateStore.open`). */
export function openStateStore(file: string, options: StateStoreOptions = {}): StateStore {
  return StateStore.open(file, options);
}
