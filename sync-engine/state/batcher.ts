import { TetherError } from '../errors.js';
import { stateError, type Db } from './sqlite.js';

export interface BatchLimits {
  /** Flush once this many operations are pending. */
  readonly maxOps: number;
  /** Flush once the oldest pending operation is this old (checked on each operation and by a timer). */
  readonly maxDelayMs: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxOps: 500, maxDelayMs: 100 };

/**
 * Collects write operations and applies them to SQLite in one `BEGIN IMMEDIATE` transaction per batch: one
 * commit per few hundred rows instead of one per row, while bounding how much an interrupted process can lose.
 *
 * Operations are keyed; a later operation on the same key replaces the pending one (for keyed tables the last
 * write wins anyway, and operations on different keys commute). A batch is flushed when it reaches `maxOps`,
 * when its oldest operation is older than `maxDelayMs` (checked on `add`, and by an unref'd timer so an idle
 * process still commits), on `flush()`, and on `close()`.
 *
 * A failed timer flush cannot throw to anyone; the error is kept and thrown by the next `add`/`flush`, and the
 * failed batch is dropped (its rows are all re-derivable: see the callers).
 */
export class WriteBatcher<K, V> {
  readonly #db: Db;
  readonly #what: string;
  readonly #apply: (pending: ReadonlyMap<K, V>) => void;
  readonly #limits: BatchLimits;
  readonly #onFlushed: (() => void) | undefined;
  #pending = new Map<K, V>();
  #ops = 0;
  #oldest = 0;
  #timer: NodeJS.Timeout | undefined;
  #failure: TetherError | undefined;
  #closed = false;

  /**
   * `apply` writes every pending operation; it runs inside the batch's transaction. `what` names the data for
   * error messages ("the ancestor of pair 3"); `onFlushed` is called after each committed batch.
   */
  constructor(
    db: Db,
    what: string,
    apply: (pending: ReadonlyMap<K, V>) => void,
    limits: BatchLimits = DEFAULT_BATCH_LIMITS,
    onFlushed?: () => void,
  ) {
    this.#onFlushed = onFlushed;
    this.#db = db;
    this.#what = what;
    this.#apply = apply;
    this.#limits = limits;
  }

  /** Operations waiting for the next flush. */
  get pendingOps(): number {
    return this.#ops;
  }

  /** The pending operation for `key`, if any (reads must look here before the database). */
  peek(key: K): V | undefined {
    return this.#pending.get(key);
  }

  add(key: K, value: V): void {
    this.#throwFailure();
    if (this.#closed) throw new TetherError('internal', `unable to save ${this.#what}: its writer is closed`);
    if (this.#ops === 0) this.#oldest = Date.now();
    this.#pending.set(key, value);
    this.#ops++;
    if (this.#ops >= this.#limits.maxOps || Date.now() - this.#oldest >= this.#limits.maxDelayMs) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flushFromTimer(), this.#limits.maxDelayMs);
      this.#timer.unref();
    }
  }

  /** Commits every pending operation now. */
  flush(): void {
    this.#throwFailure();
    this.#clearTimer();
    if (this.#ops === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#ops = 0;
    try {
      this.#db.transaction(() => this.#apply(batch)).immediate();
    } catch (error) {
      throw stateError(error, `save ${this.#what}`, this.#db.name);
    }
    this.#onFlushed?.();
  }

  /** Flushes, then refuses further operations. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    try {
      this.flush();
    } finally {
      this.#closed = true;
      this.#clearTimer();
    }
  }

  /** Forgets pending operations without writing them (used when their rows are deleted anyway). */
  discard(filter: (key: K) => boolean): void {
    for (const key of [...this.#pending.keys()]) if (filter(key)) this.#pending.delete(key);
    if (this.#pending.size === 0) {
      this.#ops = 0;
      this.#clearTimer();
    }
  }

  #flushFromTimer(): void {
    this.#timer = undefined;
    if (!this.#db.open) return;
    try {
      this.flush();
    } catch (error) {
      this.#failure = stateError(error, `save ${this.#what}`, this.#db.name);
    }
  }

  #throwFailure(): void {
    if (this.#failure === undefined) return;
    const failure = this.#failure;
    this.#failure = undefined;
    throw failure;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
