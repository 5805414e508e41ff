import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TetherError, type TetherErrorCode } from '../errors.js';

export type Db = Database.Database;

/** How long a statement waits for another process's write transaction before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the SQLite file at `file` (or `:memory:`) with the settings every connection of the store uses:
 * - WAL: readers never block the writer and a crash never leaves a half-written page visible;
 * - `synchronous = NORMAL`: in WAL mode a committed transaction survives a process crash; only a power loss can
 *   drop the last commits, which is safe here because every run re-plans from the real trees;
 * - `busy_timeout`: two processes (CLI and desktop app) share the file and wait for each other's writes;
 * - `foreign_keys`: removing a pair cascades to everything recorded for it.
 * - a 16 MiB page cache, so a large ancestor loads from memory on later syncs.
 *
 * The parent directory is created (mode 0700: the store describes the user's folders) when missing.
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') {
    if (file.length === 0 || file.includes('\0')) {
      throw new TetherError('bad-argument', `invalid state database path ${JSON.stringify(file)}`);
    }
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw stateError(error, `create the folder of the state database ${file}`, file);
    }
  }
  let db: Db | undefined;
  try {
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (file !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // 16 MiB of page cache (default 2 MiB): the ancestor of 100,000 entries is about 7 MiB.
    db.pragma('cache_size = -16384');
    return db;
  } catch (error) {
    db?.close();
    throw stateError(error, 'open the state database', file);
  }
}

const SQLITE_CODES: readonly (readonly [prefix: string, code: TetherErrorCode, hint: string])[] = [
  ['SQLITE_CONSTRAINT_FOREIGNKEY', 'unknown-pair', 'the pair does not exist (was it removed?)'],
  ['SQLITE_NOTADB', 'state-corrupt', 'the file is not a Tether state database; move it aside to start afresh'],
  ['SQLITE_CORRUPT', 'state-corrupt', 'the file is damaged; move it aside to start afresh (pairs must be added again)'],
  ['SQLITE_FULL', 'no-space', 'free some disk space and try again'],
  ['SQLITE_READONLY', 'read-only', 'check that the file and its folder are writable'],
  ['SQLITE_PERM', 'permission-denied', 'check the permissions of the file and its folder'],
  ['SQLITE_CANTOPEN', 'permission-denied', 'check that the folder exists and is writable'],
  ['SQLITE_BUSY', 'internal', 'another Tether process kept the database busy; try again'],
  ['SQLITE_LOCKED', 'internal', 'another Tether process kept the database busy; try again'],
];

const NODE_CODES: Readonly<Record<string, TetherErrorCode>> = {
  EACCES: 'permission-denied',
  EPERM: 'permission-denied',
  EROFS: 'read-only',
  ENOSPC: 'no-space',
};

/**
 * Turns a SQLite or file-system failure into a `TetherError` whose message says what could not be done and what
 * to do. `TetherError`s pass through unchanged.
 */
export function stateError(error: unknown, action: string, file: string): TetherError {
  if (error instanceof TetherError) return error;
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  const where = file === ':memory:' ? 'the in-memory state database' : file;
  for (const [prefix, tetherCode, hint] of SQLITE_CODES) {
    if (code.startsWith(prefix)) {
      return new TetherError(tetherCode, `unable to ${action} (${where}): ${detail}; ${hint}`, {
        cause: error,
        retryable: prefix === 'SQLITE_BUSY' || prefix === 'SQLITE_LOCKED',
      });
    }
  }
  const nodeCode = NODE_CODES[code];
  if (nodeCode !== undefined) {
    return new TetherError(nodeCode, `unable to ${action} (${where}): ${detail}`, { cause: error });
  }
  return new TetherError('internal', `unable to ${action} (${where}): ${detail}`, { cause: error });
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return '';
}

/** JSON text of a value that must survive a round trip, or a `bad-argument` error naming what it is for. */
export function toJson(value: unknown, what: string): string {
  // JSON.stringify is typed as returning a string, but returns undefined for these at the top level.
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    throw new TetherError('bad-argument', `${what} is not JSON-serializable (${typeof value})`);
  }
  try {
    return JSON.stringify(value);
  } catch (error) {
    throw new TetherError('bad-argument', `${what} is not JSON-serializable: ${String(error)}`, { cause: error });
  }
}

/** Parses JSON stored by `toJson`; a damaged value is reported as a corrupt state rather than a crash. */
export function fromJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TetherError('state-corrupt', `the stored ${what} is not valid JSON; remove and re-add the pair`, {
      cause: error,
    });
  }
}

/** A memoised "does pair `id` exist?" for one batch, so rows of a pair removed meanwhile can be skipped. */
export function pairExistence(db: Db): (pairId: number) => boolean {
  const known = new Map<number, boolean>();
  const select = db.prepare<[number], number>('SELECT 1 FROM pairs WHERE id = ?').pluck(true);
  return (pairId) => {
    let exists = known.get(pairId);
    if (exists === undefined) {
      exists = select.get(pairId) !== undefined;
      known.set(pairId, exists);
    }
    return exists;
  };
}
