import type { Side } from '../core/plan.js';
import { invalidPathReason } from '../core/entry.js';
import { TetherError } from '../errors.js';
import { WriteBatcher, type BatchLimits } from './batcher.js';
import { pairExistence, type Db } from './sqlite.js';

/** A cached hash and the file version it belongs to. */
export interface CachedHash {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

type Key = string;
interface PendingHash extends CachedHash {
  readonly pairId: number;
  readonly side: Side;
  readonly path: string;
}

function keyOf(pairId: number, side: Side, path: string): Key {
  return `${pairId}\0${side}\0${path}`;
}

function checkSide(side: Side): void {
  const value: string = side; // callers outside TypeScript may pass anything
  if (value !== 'local' && value !== 'remote') {
    throw new TetherError('bad-argument', `side must be "local" or "remote", not ${JSON.stringify(side)}`);
  }
}

/**
 * SHA-256 of files per pair and side, so strict compare mode hashes only files that changed. A cached hash is
 * valid only for the exact size and mtime it was computed at: any change of either makes it a miss. (A content
 * change that keeps both size and mtime is not detected, as with every size+mtime scheme; that is why the
 * cache is keyed on the mtime the endpoint reports at full precision.)
 *
 * Writes are batched like the ancestor's; a lost batch only means those files are hashed again.
 */
export class HashCache {
  readonly #db: Db;
  readonly #batcher: WriteBatcher<Key, PendingHash>;
  readonly #select;
  readonly #selectSide;

  constructor(db: Db, limits: BatchLimits) {
    this.#db = db;
    this.#select = db
      .prepare<[number, string, string], [number, number, string]>(
        'SELECT size, mtime_ms, sha256 FROM hash_cache WHERE pair_id = ? AND side = ? AND path = ?',
      )
      .raw(true);
    this.#selectSide = db
      .prepare<[number, string], [string, number, number, string]>(
        'SELECT path, size, mtime_ms, sha256 FROM hash_cache WHERE pair_id = ? AND side = ?',
      )
      .raw(true);
    const upsert = db.prepare(
      `INSERT INTO hash_cache (pair_id, side, path, size, mtime_ms, sha256)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (pair_id, side, path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
         sha256 = excluded.sha256`,
    );
    this.#batcher = new WriteBatcher(
      db,
      'the hash cache',
      (pending) => {
        // Rows of a pair removed meanwhile are skipped rather than failing the whole batch.
        const exists = pairExistence(db);
        for (const h of pending.values()) {
          if (exists(h.pairId)) upsert.run(h.pairId, h.side, h.path, h.size, h.mtimeMs, h.sha256);
        }
      },
      limits,
    );
  }

  /** The cached hash of `path` if it was computed for exactly this size and mtime. */
  get(pairId: number, side: Side, path: string, size: number, mtimeMs: number): string | undefined {
    const pending = this.#batcher.peek(keyOf(pairId, side, path));
    if (pending !== undefined) return pending.size === size && pending.mtimeMs === mtimeMs ? pending.sha256 : undefined;
    const row = this.#select.get(pairId, side, path);
    return row !== undefined && row[0] === size && row[1] === mtimeMs ? row[2] : undefined;
  }

  /** Queues a hash for the next batch. */
  put(pairId: number, side: Side, path: string, size: number, mtimeMs: number, sha256: string): void {
    checkSide(side);
    const reason = invalidPathReason(path);
    if (reason !== undefined)
      throw new TetherError('bad-argument', `cannot cache a hash for ${JSON.stringify(path)}: ${reason}`);
    if (!SHA256_PATTERN.test(sha256)) {
      throw new TetherError('bad-argument', `not a lower-case hex SHA-256 for ${path}: ${JSON.stringify(sha256)}`);
    }
    if (!Number.isSafeInteger(size) || size < 0 || !Number.isFinite(mtimeMs)) {
      throw new TetherError('bad-argument', `invalid size or mtime for ${path}: ${size}, ${mtimeMs}`);
    }
    this.#batcher.add(keyOf(pairId, side, path), { pairId, side, path, size, mtimeMs, sha256 });
  }

  /** Every cached hash of one side of a pair (pending ones included), for a scan to consult without queries. */
  load(pairId: number, side: Side): Map<string, CachedHash> {
    checkSide(side);
    this.flush();
    const cache = new Map<string, CachedHash>();
    for (const row of this.#selectSide.all(pairId, side)) {
      cache.set(row[0], { size: row[1], mtimeMs: row[2], sha256: row[3] });
    }
    return cache;
  }

  /** Drops cached hashes of paths not in `keep` (files that no longer exist). Returns how many were dropped. */
  retain(pairId: number, side: Side, keep: ReadonlySet<string>): number {
    checkSide(side);
    this.flush();
    const remove = this.#db.prepare('DELETE FROM hash_cache WHERE pair_id = ? AND side = ? AND path = ?');
    return this.#db
      .transaction(() => {
        let removed = 0;
        for (const row of this.#selectSide.all(pairId, side)) {
          if (!keep.has(row[0])) removed += remove.run(pairId, side, row[0]).changes;
        }
        return removed;
      })
      .immediate();
  }

  /** Forgets queued hashes of a pair (before its rows are deleted). */
  discardPair(pairId: number): void {
    const prefix = `${pairId}\0`;
    this.#batcher.discard((key) => key.startsWith(prefix));
  }

  flush(): void {
    this.#batcher.flush();
  }

  close(): void {
    this.#batcher.close();
  }
}
