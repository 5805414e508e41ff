import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Entry } from '../core/entry.js';
import type { PairConfig } from './pairs.js';
import { StateStore, type StateStoreOptions } from './store.js';

/** Test helpers: real SQLite files in a temporary folder, removed by `cleanup`. */
export interface TempState {
  readonly dir: string;
  readonly file: string;
  /** Opens (another) store on the file; every store opened here is closed by `cleanup`. */
  open(options?: StateStoreOptions): StateStore;
  /** A plain second connection, to see what is committed (not what a store holds in memory). */
  raw(): Database.Database;
  cleanup(): void;
}

export function tempState(): TempState {
  const dir = mkdtempSync(join(tmpdir(), 'tether-state-'));
  const file = join(dir, 'home', 'state.db');
  const stores: StateStore[] = [];
  const raws: Database.Database[] = [];
  return {
    dir,
    file,
    open(options = {}) {
      const store = StateStore.open(file, options);
      stores.push(store);
      return store;
    },
    raw() {
      const db = new Database(file);
      raws.push(db);
      return db;
    },
    cleanup() {
      for (const store of stores) {
        try {
          store.close();
        } catch {
          // A test may have broken the store on purpose; the folder goes anyway.
        }
      }
      for (const db of raws) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function pairConfig(name: string, overrides: Partial<PairConfig> = {}): PairConfig {
  return {
    name,
    localPath: `/home/me/${name}`,
    remoteUrl: `pvc://ml/${name}`,
    mode: 'two-way',
    compare: 'size-mtime',
    ignore: ['*.tmp', 'node_modules/'],
    ...overrides,
  };
}

/** Rows of a table for one pair, counted through a plain connection. */
export function countRows(db: Database.Database, table: string, pairId: number): number {
  const allowed = ['ancestor', 'hash_cache', 'transfer_journal', 'activity', 'pair_locks'];
  if (!allowed.includes(table)) throw new Error(`unknown table ${table}`);
  return db.prepare<[number], number>(`SELECT count(*) FROM ${table} WHERE pair_id = ?`).pluck(true).get(pairId) ?? 0;
}

/**
 * The i-th of many ancestor entries, in the order a scan lists them (folder by folder), with every field varied:
 * executable bits, fractional mtimes, hashes on some files, symlinks with targets.
 */
export function numberedEntry(i: number): Entry {
  const folder = `dir${String(Math.floor(i / 1000)).padStart(3, '0')}/sub ${Math.floor(i / 100) % 10}`;
  const base = { path: `${folder}/file-${i}.dat`, size: i * 7, mtimeMs: 1_600_000_000_000 + i * 1.5 };
  if (i % 5 === 0) return { ...base, kind: 'file', executable: false, sha256: i.toString(16).padStart(64, '0') };
  if (i % 11 === 0) return { ...base, kind: 'symlink', size: 0, executable: false, target: `t/${i}` };
  return { ...base, kind: 'file', executable: i % 3 === 0 };
}
