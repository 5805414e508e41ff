import type { Observation } from '../core/pullFilters.js';
import { fromJson, stateError, toJson, type Db } from './sqlite.js';

/** The process serving a pair's live sync, and what it last reported (any JSON value: see `live/status.ts`). */
export interface WatcherRecord {
  readonly pid: number;
  readonly host: string;
  readonly detail: unknown;
  /** When it last reported (ms since the epoch): a stale report means the watcher died without cleaning up. */
  readonly updatedAt: number;
}

/**
 * Live-sync state shared between processes (migration 2): pauses, observations of remote files still settling,
 * and the watcher of each pair with its latest status. `tether pause` in one process writes a pause row; the
 * watcher in another polls `pausedPairIds()` (one indexed read) and stops at once. Every write commits at once.
 */
export class LiveState {
  readonly #db: Db;
  readonly #file: string;
  readonly #pause;
  readonly #resume;
  readonly #paused;
  readonly #loadObservations;
  readonly #clearObservations;
  readonly #putObservation;
  readonly #putWatcher;
  readonly #clearWatcher;
  readonly #watcher;

  constructor(db: Db, file: string) {
    this.#db = db;
    this.#file = file;
    this.#pause = db.prepare<[number, number]>('INSERT OR IGNORE INTO live_pauses (pair_id, paused_at) VALUES (?, ?)');
    this.#resume = db.prepare<[number]>('DELETE FROM live_pauses WHERE pair_id = ?');
    this.#paused = db.prepare<[], number>('SELECT pair_id FROM live_pauses').pluck(true);
    this.#loadObservations = db
      .prepare<[number], [string, number, number, number]>(
        'SELECT path, size, mtime_ms, since FROM live_observations WHERE pair_id = ?',
      )
      .raw(true);
    this.#clearObservations = db.prepare<[number]>('DELETE FROM live_observations WHERE pair_id = ?');
    this.#putObservation = db.prepare<[number, string, number, number, number]>(
      'INSERT INTO live_observations (pair_id, path, size, mtime_ms, since) VALUES (?, ?, ?, ?, ?)',
    );
    this.#putWatcher = db.prepare<[number, number, string, string, number]>(
      `INSERT INTO live_watchers (pair_id, pid, host, detail_json, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (pair_id) DO UPDATE SET pid = excluded.pid, host = excluded.host,
         detail_json = excluded.detail_json, updated_at = excluded.updated_at`,
    );
    this.#clearWatcher = db.prepare<[number, number, string]>(
      'DELETE FROM live_watchers WHERE pair_id = ? AND pid = ? AND host = ?',
    );
    this.#watcher = db
      .prepare<[number], [number, string, string, number]>(
        'SELECT pid, host, detail_json, updated_at FROM live_watchers WHERE pair_id = ?',
      )
      .raw(true);
  }

  /** Pauses the pairs' live sync (already paused pairs keep their pause time). */
  pause(pairIds: readonly number[], now: number): void {
    this.#run('pause live sync', () => {
      this.#db.transaction(() => {
        for (const id of pairIds) this.#pause.run(id, now);
      })();
    });
  }

  resume(pairIds: readonly number[]): void {
    this.#run('resume live sync', () => {
      this.#db.transaction(() => {
        for (const id of pairIds) this.#resume.run(id);
      })();
    });
  }

  pausedPairIds(): Set<number> {
    return this.#run('read paused pairs', () => new Set(this.#paused.all()));
  }

  /** Remote files of a pair seen but not yet released, by path. */
  loadObservations(pairId: number): Map<string, Observation> {
    return this.#run(`read the settling files of pair ${pairId}`, () => {
      const observations = new Map<string, Observation>();
      for (const [path, size, mtimeMs, since] of this.#loadObservations.all(pairId)) {
        observations.set(path, { size, mtimeMs, since });
      }
      return observations;
    });
  }

  /** Replaces the pair's observations (one transaction). */
  replaceObservations(pairId: number, observations: ReadonlyMap<string, Observation>): void {
    this.#run(`record the settling files of pair ${pairId}`, () => {
      this.#db.transaction(() => {
        this.#clearObservations.run(pairId);
        for (const [path, o] of observations) this.#putObservation.run(pairId, path, o.size, o.mtimeMs, o.since);
      })();
    });
  }

  /** Records (replaces) the watcher of a pair and its latest status. */
  reportWatcher(pairId: number, watcher: { pid: number; host: string; detail: unknown }, now: number): void {
    this.#run(`record the watcher of pair ${pairId}`, () =>
      this.#putWatcher.run(pairId, watcher.pid, watcher.host, toJson(watcher.detail, 'the watcher status'), now),
    );
  }

  /** Removes the watcher row if it is still this process's. */
  clearWatcher(pairId: number, watcher: { pid: number; host: string }): void {
    this.#run(`clear the watcher of pair ${pairId}`, () => this.#clearWatcher.run(pairId, watcher.pid, watcher.host));
  }

  watcher(pairId: number): WatcherRecord | undefined {
    return this.#run(`read the watcher of pair ${pairId}`, () => {
      const row = this.#watcher.get(pairId);
      if (row === undefined) return undefined;
      const [pid, host, detailJson, updatedAt] = row;
      return { pid, host, detail: fromJson(detailJson, `the watcher status of pair ${pairId}`), updatedAt };
    });
  }

  #run<T>(action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw stateError(error, action, this.#file);
    }
  }
}
