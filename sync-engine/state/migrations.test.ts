import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError } from '../errors.js';
import { migrate, MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
import { openDatabase } from './sqlite.js';
import { StateStore } from './store.js';
import { pairConfig, tempState, type TempState } from './testSupport.js';

let state: TempState;
beforeEach(() => {
  state = tempState();
});
afterEach(() => state.cleanup());

function userVersion(db: ReturnType<TempState['raw']>): number {
  return db.pragma('user_version', { simple: true }) as number;
}

describe('opening and migrating', () => {
  it('creates the file, its folder and the latest schema, with WAL and foreign keys', () => {
    const store = state.open();
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    const raw = state.raw();
    expect(userVersion(raw)).toBe(SCHEMA_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(
      expect.arrayContaining(['activity', 'ancestor', 'hash_cache', 'pair_locks', 'pairs', 'transfer_journal']),
    );
    expect(store.listPairs()).toEqual([]);
  });

  it('sets foreign_keys and busy_timeout on every connection it opens', () => {
    const db = openDatabase(state.file);
    try {
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    } finally {
      db.close();
    }
  });

  it('reopens an up-to-date file without changes and keeps its data', () => {
    const first = state.open();
    first.addPair(pairConfig('photos'));
    first.close();
    const db = openDatabase(state.file);
    try {
      expect(migrate(db)).toBe(SCHEMA_VERSION);
      expect(userVersion(db)).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
    const again = state.open();
    expect(again.listPairs().map((p) => p.name)).toEqual(['photos']);
  });

  it('refuses a database written by a newer version, without touching it', () => {
    state.open().close();
    const raw = state.raw();
    raw.pragma(`user_version = ${SCHEMA_VERSION + 3}`);
    let error: unknown;
    try {
      StateStore.open(state.file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).code).toBe('state-corrupt');
    expect((error as TetherError).message).toBe(
      `the state database ${state.file} has schema version ${SCHEMA_VERSION + 3}, written by a newer Tether; ` +
        `this version understands up to ${SCHEMA_VERSION}. Upgrade Tether, or set TETHER_HOME to another folder ` +
        'to keep both',
    );
    expect(userVersion(raw)).toBe(SCHEMA_VERSION + 3);
  });

  it('rolls back a failing migration entirely and keeps the previous version', () => {
    const failing: Migration = (db) => {
      db.exec('CREATE TABLE half_done (x INTEGER)');
      throw new Error('migration 2 broke');
    };
    const db = openDatabase(state.file);
    try {
      expect(() => migrate(db, [MIGRATIONS[0]!, failing])).toThrow('migration 2 broke');
      expect(userVersion(db)).toBe(1);
      const halfDone = db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'").pluck().get();
      expect(halfDone).toBe(0);
      // The next attempt starts from version 1: migration 1 is not applied twice.
      expect(migrate(db, [MIGRATIONS[0]!])).toBe(1);
    } finally {
      db.close();
    }
  });

  it('reports a file that is not a database as a corrupt state, naming the file', () => {
    const file = join(state.dir, 'garbage.db');
    writeFileSync(file, 'this is not sqlite'.repeat(100));
    expect(() => StateStore.open(file)).toThrow(
      expect.objectContaining({ code: 'state-corrupt', message: expect.stringContaining(file) as unknown }),
    );
  });

  it('works in memory too', () => {
    const store = StateStore.open(':memory:');
    try {
      expect(store.addPair(pairConfig('mem')).name).toBe('mem');
    } finally {
      store.close();
    }
  });

  it('is unusable after close, with a clear error, and close is idempotent', () => {
    const store = state.open();
    store.close();
    store.close();
    expect(() => store.listPairs()).toThrow('unable to list pairs: the state store is closed');
  });
});
