import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { TetherError } from '../errors.js';
import { unknownPair } from './pairs.js';
import type { Db } from './sqlite.js';

/** Who holds (or wants) a pair. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** What the holder is doing, for the message others see (e.g. "tether sync", "desktop live sync"). */
  readonly purpose: string;
}

export interface PairLockInfo extends LockOwner {
  readonly pairId: number;
  /** When the lock was taken (ms since the epoch). */
  readonly acquiredAt: number;
}

/** Releases a pair lock. Safe to call twice; does nothing once another process has taken the lock over. */
export type ReleaseLock = () => void;

export interface AcquiredLock {
  readonly release: ReleaseLock;
  /** The dead holder whose stale lock was taken over, if any. */
  readonly tookOverFrom?: PairLockInfo;
}

export interface PairLockOptions {
  /** Whether a process of this host is running (default: `process.kill(pid, 0)`; ESRCH means gone). */
  readonly isAlive?: (pid: number) => boolean;
  /** This machine's name, for deciding whether a holder's pid can be checked (default: `os.hostname()`). */
  readonly host?: string;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else. Only ESRCH proves it is gone.
    return !(error instanceof Error && 'code' in error && error.code === 'ESRCH');
  }
}

export function checkOwner(owner: LockOwner): void {
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0) {
    throw new TetherError('bad-argument', `a lock owner needs a positive pid, not ${String(owner.pid)}`);
  }
  if (typeof owner.host !== 'string' || owner.host.length === 0 || owner.host.length > 255) {
    throw new TetherError('bad-argument', 'a lock owner needs a host name of 1 to 255 characters');
  }
  if (typeof owner.purpose !== 'string' || owner.purpose.length === 0 || owner.purpose.length > 200) {
    throw new TetherError('bad-argument', 'a lock owner needs a purpose of 1 to 200 characters');
  }
}

function clock(at: number, now: number): string {
  const date = new Date(at);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  if (date.toDateString() === new Date(now).toDateString()) return time;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

/** The message of a refused lock: who holds the pair, since when, and what to do. */
export function lockedMessage(pairName: string, holder: PairLockInfo, localHost: string, now: number): string {
  const where = holder.host === localHost ? '' : ` on ${holder.host}`;
  return (
    `pair "${pairName}" is being synced by pid ${holder.pid}${where} (${holder.purpose}), ` +
    `started ${clock(holder.acquiredAt, now)}; wait for it to finish or stop it`
  );
}

type LockRow = [pairId: number, token: string, pid: number, host: string, purpose: string, acquiredAt: number];

/**
 * At most one sync per pair, across processes. The lock is a row in `pair_locks`, taken in a `BEGIN IMMEDIATE`
 * transaction: SQLite lets one writer in at a time, so of two processes racing for a free pair exactly one
 * inserts the row and the other then sees it.
 *
 * A lock whose holder ran on this host and whose pid no longer exists (the process crashed or was killed) is
 * stale and is taken over. A holder on another host (a state folder on a shared drive) cannot be checked and
 * is never taken over. Known limit: if the dead holder's pid has been reused by an unrelated process, the
 * lock looks alive until that process exits; the message names the pid so the user can check.
 */
export class PairLocks {
  readonly #db: Db;
  readonly #isAlive: (pid: number) => boolean;
  readonly #host: string;
  readonly #now: () => number;
  readonly #select;
  readonly #pairId;

  /** `now` is the clock recorded in locks and messages; waiting always uses real time. */
  constructor(db: Db, options: PairLockOptions = {}, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
    this.#isAlive = options.isAlive ?? isProcessAlive;
    this.#host = options.host ?? hostname();
    this.#select = db
      .prepare<[number], LockRow>(
        'SELECT pair_id, token, pid, host, purpose, acquired_at FROM pair_locks WHERE pair_id = ?',
      )
      .raw(true);
    this.#pairId = db.prepare<[string], number>('SELECT id FROM pairs WHERE name = ?').pluck(true);
  }

  /** Takes the lock of pair `pairName` or throws `TetherError('pair-locked')` naming the holder. */
  acquire(pairName: string, owner: LockOwner): AcquiredLock {
    checkOwner(owner);
    const now = this.#now();
    const token = randomUUID();
    const tookOverFrom = this.#db
      .transaction((): PairLockInfo | undefined => {
        const pairId = this.#pairId.get(pairName);
        if (pairId === undefined) throw unknownPair(pairName);
        const holder = this.#holder(pairId);
        if (holder !== undefined && !this.isStale(holder)) {
          throw new TetherError('pair-locked', lockedMessage(pairName, holder, this.#host, now), { retryable: true });
        }
        this.#db
          .prepare(
            `INSERT OR REPLACE INTO pair_locks (pair_id, token, pid, host, purpose, acquired_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
          )
          .run(pairId, token, owner.pid, owner.host, owner.purpose, now);
        return holder;
      })
      .immediate();
    let released = false;
    const release: ReleaseLock = () => {
      if (released || !this.#db.open) return;
      released = true;
      // The token guards against deleting a lock another process took over after this one was judged stale.
      this.#db.prepare('DELETE FROM pair_locks WHERE token = ?').run(token);
    };
    return tookOverFrom === undefined ? { release } : { release, tookOverFrom };
  }

  /**
   * Like `acquire`, but while the pair is locked by a live process, retries with a growing pause (25 ms up to
   * 500 ms) until `timeoutMs` has passed; then throws the last `pair-locked` error.
   */
  async wait(pairName: string, owner: LockOwner, timeoutMs: number, signal?: AbortSignal): Promise<AcquiredLock> {
    const deadline = Date.now() + timeoutMs;
    let pause = 25;
    for (;;) {
      signal?.throwIfAborted();
      try {
        return this.acquire(pairName, owner);
      } catch (error) {
        if (!(error instanceof TetherError && error.code === 'pair-locked')) throw error;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new TetherError('pair-locked', `${error.message} (still locked after waiting ${timeoutMs} ms)`, {
            cause: error,
            retryable: true,
          });
        }
        await sleep(Math.min(pause, left), undefined, signal === undefined ? {} : { signal });
        pause = Math.min(pause * 2, 500);
      }
    }
  }

  /** Who holds the pair now (stale holders included), or undefined. */
  holder(pairId: number): PairLockInfo | undefined {
    return this.#holder(pairId);
  }

  /** Whether a holder can be proved gone: same host and no such process. */
  isStale(holder: LockOwner): boolean {
    return holder.host === this.#host && !this.#isAlive(holder.pid);
  }

  #holder(pairId: number): PairLockInfo | undefined {
    const row = this.#select.get(pairId);
    if (row === undefined) return undefined;
    const [id, , pid, host, purpose, acquiredAt] = row;
    return { pairId: id, pid, host, purpose, acquiredAt };
  }
}
