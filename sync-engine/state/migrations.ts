import { TetherError } from '../errors.js';
import type { Db } from './sqlite.js';

/**
 * The schema, as a list of migrations. Migration `i` (0-based) takes the database from version `i` to `i + 1`;
 * the version is SQLite's `PRAGMA user_version` (0 for a new file). Each migration runs in its own
 * `BEGIN IMMEDIATE` transaction together with the version bump, so a failure leaves the previous version intact,
 * and two processes opening a new file at once apply each migration exactly once.
 *
 * Never edit a released migration: append a new one.
 */
export type Migration = (db: Db) => void;

export const MIGRATIONS: readonly Migration[] = [
  // 1: pairs, ancestor, hash cache, transfer journal, activity log, pair locks.
  (db) => {
    db.exec(`
      -- AUTOINCREMENT: an id is never reused, so late writes for a removed pair can never land in a new one.
      CREATE TABLE pairs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        local_path TEXT NOT NULL,
        remote_url TEXT NOT NULL,
        mode TEXT NOT NULL,
        compare TEXT NOT NULL,
        ignore_json TEXT NOT NULL,
        max_delete TEXT,
        live INTEGER NOT NULL CHECK (live IN (0, 1)),
        options_json TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        state_message TEXT,
        last_sync_at INTEGER,
        last_result_json TEXT
      ) STRICT;

      -- The last-synced entries of each pair. kind: 0 file, 1 dir, 2 symlink (integers load faster than text).
      CREATE TABLE ancestor (
        pair_id INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        kind INTEGER NOT NULL CHECK (kind IN (0, 1, 2)),
        size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        executable INTEGER NOT NULL CHECK (executable IN (0, 1)),
        sha256 TEXT,
        target TEXT,
        PRIMARY KEY (pair_id, path)
      ) STRICT, WITHOUT ROWID;

      -- SHA-256 of files, valid only while the file keeps the same size and mtime.
      CREATE TABLE hash_cache (
        pair_id INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        side TEXT NOT NULL CHECK (side IN ('local', 'remote')),
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (pair_id, side, path)
      ) STRICT, WITHOUT ROWID;

      -- In-flight transfers (multipart upload ids and parts, partial downloads), for resume across restarts.
      CREATE TABLE transfer_journal (
        pair_id INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value_json TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (pair_id, key)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE activity (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        pair_id INTEGER REFERENCES pairs (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
        kind TEXT NOT NULL,
        path TEXT,
        message TEXT NOT NULL,
        bytes INTEGER
      ) STRICT;
      CREATE INDEX activity_by_pair ON activity (pair_id, id);

      -- At most one sync per pair: the row exists while a process holds the pair.
      CREATE TABLE pair_locks (
        pair_id INTEGER PRIMARY KEY REFERENCES pairs (id) ON DELETE CASCADE,
        token TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        purpose TEXT NOT NULL,
        acquired_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
  // 2: live sync: pauses (set by any process, obeyed by the watcher), remote files still settling, watcher status.
  (db) => {
    db.exec(`
      -- A row pauses the pair's live sync; \`tether pause\` writes it, the watcher polls it.
      CREATE TABLE live_pauses (
        pair_id INTEGER PRIMARY KEY REFERENCES pairs (id) ON DELETE CASCADE,
        paused_at INTEGER NOT NULL
      ) STRICT;

      -- Remote files not yet pulled because they may still be written: when each size+mtime was first seen.
      CREATE TABLE live_observations (
        pair_id INTEGER NOT NULL REFERENCES pairs (id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (pair_id, path)
      ) STRICT, WITHOUT ROWID;

      -- The watcher serving a pair (its process) and what it is doing, for \`tether status\` in other processes.
      CREATE TABLE live_watchers (
        pair_id INTEGER PRIMARY KEY REFERENCES pairs (id) ON DELETE CASCADE,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        detail_json TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

function userVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings the database to the latest version. Returns the version found before migrating. A database written by
 * a newer Tether (a version above the known migrations) is refused: this version would misread it.
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number {
  const found = userVersion(db);
  refuseNewer(db, found, migrations.length);
  migrations.forEach((migration, index) => {
    const target = index + 1;
    db.transaction(() => {
      // Re-read inside the write lock: another process may have applied this migration meanwhile.
      const current = userVersion(db);
      refuseNewer(db, current, migrations.length);
      if (current >= target) return;
      migration(db);
      db.pragma(`user_version = ${target}`);
    }).immediate();
  });
  return found;
}

function refuseNewer(db: Db, version: number, known: number): void {
  if (version > known) {
    throw new TetherError(
      'state-corrupt',
      `the state database ${db.name} has schema version ${version}, written by a newer Tether; this version ` +
        `understands up to ${known}. Upgrade Tether, or set TETHER_HOME to another folder to keep both`,
    );
  }
}
