import { TetherError } from '../errors.js';
import { WriteBatcher, type BatchLimits } from './batcher.js';
import { pairExistence, type Db } from './sqlite.js';

export type ActivityLevel = 'info' | 'warn' | 'error';
export const ACTIVITY_LEVELS: readonly ActivityLevel[] = ['info', 'warn', 'error'];

/** One line of the activity log, as written. */
export interface ActivityInput {
  /** The pair it concerns; absent for events of the engine as a whole. */
  readonly pairId?: number;
  readonly level: ActivityLevel;
  /** What happened: 'upload', 'download', 'delete', 'conflict', 'problem', 'halt', 'sync', ... */
  readonly kind: string;
  readonly path?: string;
  readonly message: string;
  /** Bytes moved, for transfers. */
  readonly bytes?: number;
}

/** One line of the activity log, as read back. */
export interface ActivityRecord extends ActivityInput {
  /** Increasing with time; pass the smallest one seen as `beforeId` to page back. */
  readonly id: number;
  /** When it was logged (ms since the epoch). */
  readonly at: number;
  /** The pair's name, when the entry concerns a pair. */
  readonly pairName?: string;
}

export interface ActivityQuery {
  /** Only this pair's entries (default: every pair's and the engine's). */
  readonly pairId?: number;
  /** At most this many entries (default 100, at most 10,000). */
  readonly limit?: number;
  /** Only entries older than this id (paging). */
  readonly beforeId?: number;
  /** Only entries of this level or these levels. */
  readonly level?: ActivityLevel | readonly ActivityLevel[];
  readonly kind?: string;
}

export const DEFAULT_ACTIVITY_CAP = 100_000;
const MAX_LIMIT = 10_000;

interface Pending extends ActivityInput {
  readonly at: number;
}

type ActivityRow = [
  id: number,
  pairId: number | null,
  pairName: string | null,
  at: number,
  level: string,
  kind: string,
  path: string | null,
  message: string,
  bytes: number | null,
];

function recordOf(row: ActivityRow): ActivityRecord {
  const [id, pairId, pairName, at, level, kind, path, message, bytes] = row;
  return {
    id,
    at,
    level: level as ActivityLevel,
    kind,
    message,
    ...(pairId === null ? {} : { pairId }),
    ...(pairName === null ? {} : { pairName }),
    ...(path === null ? {} : { path }),
    ...(bytes === null ? {} : { bytes }),
  };
}

/**
 * The activity log: what each pair did, newest first, for the UI and `tether log`. Writes are batched (a crash
 * may lose the last 100 ms of log lines, never the sync's state). Each pair keeps its newest `cap` entries (and
 * so do engine-wide entries); older ones are pruned as new ones arrive.
 */
export class ActivityLog {
  readonly #db: Db;
  readonly #cap: number;
  readonly #batcher: WriteBatcher<number, Pending>;
  /** Entries written per pair (null: engine-wide) since its last pruning. */
  readonly #sincePrune = new Map<number | null, number>();
  #sequence = 0;

  constructor(db: Db, limits: BatchLimits, cap = DEFAULT_ACTIVITY_CAP) {
    if (!Number.isSafeInteger(cap) || cap < 1) throw new TetherError('bad-argument', `invalid activity cap ${cap}`);
    this.#db = db;
    this.#cap = cap;
    const insert = db.prepare(
      `INSERT INTO activity (pair_id, at, level, kind, path, message, bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#batcher = new WriteBatcher(
      db,
      'the activity log',
      (pending) => {
        // Entries of a pair removed meanwhile are dropped rather than failing the batch.
        const exists = pairExistence(db);
        for (const e of pending.values()) {
          if (e.pairId !== undefined && !exists(e.pairId)) continue;
          insert.run(e.pairId ?? null, e.at, e.level, e.kind, e.path ?? null, e.message, e.bytes ?? null);
          const key = e.pairId ?? null;
          this.#sincePrune.set(key, (this.#sincePrune.get(key) ?? 0) + 1);
        }
        this.#pruneDue();
      },
      limits,
    );
  }

  log(entry: ActivityInput, now: number): void {
    if (!ACTIVITY_LEVELS.includes(entry.level)) {
      throw new TetherError('bad-argument', `unknown activity level ${JSON.stringify(entry.level)}`);
    }
    if (typeof entry.kind !== 'string' || entry.kind.length === 0 || typeof entry.message !== 'string') {
      throw new TetherError('bad-argument', 'an activity entry needs a kind and a message');
    }
    if (entry.bytes !== undefined && !(Number.isSafeInteger(entry.bytes) && entry.bytes >= 0)) {
      throw new TetherError('bad-argument', `invalid byte count ${entry.bytes} in an activity entry`);
    }
    this.#batcher.add(this.#sequence++, { ...entry, at: now });
  }

  /** Newest first. Pending entries are flushed first, so a reader sees everything logged so far. */
  list(query: ActivityQuery = {}): ActivityRecord[] {
    this.flush();
    const limit = query.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new TetherError('bad-argument', `activity limit must be between 1 and ${MAX_LIMIT}, not ${limit}`);
    }
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.pairId !== undefined) {
      where.push('a.pair_id = ?');
      params.push(query.pairId);
    }
    if (query.beforeId !== undefined) {
      where.push('a.id < ?');
      params.push(query.beforeId);
    }
    if (query.level !== undefined) {
      const levels: readonly ActivityLevel[] = typeof query.level === 'string' ? [query.level] : query.level;
      for (const level of levels) {
        if (!ACTIVITY_LEVELS.includes(level)) throw new TetherError('bad-argument', `unknown activity level ${level}`);
      }
      // Placeholders only: the values are bound, never spliced into the SQL text.
      where.push(`a.level IN (${levels.map(() => '?').join(', ') || 'NULL'})`);
      params.push(...levels);
    }
    if (query.kind !== undefined) {
      where.push('a.kind = ?');
      params.push(query.kind);
    }
    params.push(limit);
    const sql =
      'SELECT a.id, a.pair_id, p.name, a.at, a.level, a.kind, a.path, a.message, a.bytes ' +
      'FROM activity a LEFT JOIN pairs p ON p.id = a.pair_id ' +
      (where.length > 0 ? `WHERE ${where.join(' AND ')} ` : '') +
      'ORDER BY a.id DESC LIMIT ?';
    return this.#db
      .prepare<(string | number)[], ActivityRow>(sql)
      .raw(true)
      .all(...params)
      .map(recordOf);
  }

  /** Prunes every pair's log to the cap now (normally done as entries arrive). Returns rows deleted. */
  prune(): number {
    this.flush();
    const keys = this.#db.prepare<[], number | null>('SELECT DISTINCT pair_id FROM activity').pluck(true).all();
    return this.#db
      .transaction(() => {
        let removed = 0;
        for (const key of keys) removed += this.#pruneOne(key);
        return removed;
      })
      .immediate();
  }

  flush(): void {
    this.#batcher.flush();
  }

  close(): void {
    this.#batcher.close();
  }

  /**
   * Prunes a pair once it has had `cap / 100` (at least 1) new entries since its last pruning, so the cost
   * (one index seek past `cap` rows) is paid rarely and the table exceeds the cap by at most 1% per pair.
   */
  #pruneDue(): void {
    const every = Math.max(1, Math.floor(this.#cap / 100));
    for (const [key, count] of this.#sincePrune) {
      if (count < every) continue;
      this.#pruneOne(key);
      this.#sincePrune.set(key, 0);
    }
  }

  #pruneOne(pairId: number | null): number {
    // The id of the oldest entry to keep; everything of this pair below it goes.
    const oldestKept = this.#db
      .prepare<[number | null, number], number>(
        'SELECT id FROM activity WHERE pair_id IS ? ORDER BY id DESC LIMIT 1 OFFSET ?',
      )
      .pluck(true)
      .get(pairId, this.#cap - 1);
    if (oldestKept === undefined) return 0;
    return this.#db.prepare('DELETE FROM activity WHERE pair_id IS ? AND id < ?').run(pairId, oldestKept).changes;
  }
}
