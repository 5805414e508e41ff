import { TetherError } from '../errors.js';
import { fromJson, toJson, type Db } from './sqlite.js';

export interface JournalRecord {
  readonly key: string;
  readonly value: unknown;
  /** When the value was last written (ms since the epoch). */
  readonly updatedAt: number;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 4096) {
    throw new TetherError('bad-argument', 'a transfer journal key must be a string of 1 to 4096 characters');
  }
}

/**
 * The transfer journal: what an endpoint needs to resume an interrupted transfer after a restart (an S3
 * multipart upload id and its finished parts, a partial download's version). Keys are chosen by endpoints;
 * values are JSON. Every write commits at once (no batching): a part recorded here is a part that need not be
 * sent again, and a transfer that finishes deletes its key.
 */
export class TransferJournal {
  readonly #put;
  readonly #get;
  readonly #delete;
  readonly #list;

  constructor(db: Db) {
    this.#put = db.prepare<[number, string, string, number]>(
      `INSERT INTO transfer_journal (pair_id, key, value_json, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (pair_id, key) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at`,
    );
    this.#get = db
      .prepare<[number, string], string>('SELECT value_json FROM transfer_journal WHERE pair_id = ? AND key = ?')
      .pluck(true);
    this.#delete = db.prepare<[number, string]>('DELETE FROM transfer_journal WHERE pair_id = ? AND key = ?');
    this.#list = db
      .prepare<[number], [string, string, number]>(
        'SELECT key, value_json, updated_at FROM transfer_journal WHERE pair_id = ? ORDER BY key',
      )
      .raw(true);
  }

  put(pairId: number, key: string, value: unknown, now: number): void {
    checkKey(key);
    this.#put.run(pairId, key, toJson(value, `the journal value of ${JSON.stringify(key)}`), now);
  }

  get(pairId: number, key: string): unknown {
    const text = this.#get.get(pairId, key);
    return text === undefined ? undefined : fromJson(text, `journal value ${JSON.stringify(key)}`);
  }

  /** Returns whether the key existed. */
  delete(pairId: number, key: string): boolean {
    return this.#delete.run(pairId, key).changes > 0;
  }

  /** Every entry of a pair, by key. */
  list(pairId: number): JournalRecord[] {
    return this.#list.all(pairId).map(([key, valueJson, updatedAt]) => ({
      key,
      value: fromJson(valueJson, `journal value ${JSON.stringify(key)}`),
      updatedAt,
    }));
  }
}
