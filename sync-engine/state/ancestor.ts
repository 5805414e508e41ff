import { invalidPathReason, type Entry, type EntryKind } from '../core/entry.js';
import type { NarrowScope } from '../core/narrowScope.js';
import { TetherError } from '../errors.js';
import { WriteBatcher, type BatchLimits } from './batcher.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './sqlite.js';

/**
 * The ancestor: for each pair, the entries both sides agreed on after the last sync. The planner compares each
 * side against it to tell "created here" from "deleted there".
 *
 * Why batched writes are safe. The controller records each applied action as it succeeds, through an
 * `AncestorWriter` that commits every few hundred operations or every 100 ms. A crash (kill -9, power loss) loses
 * at most the last uncommitted batch: actions that were applied to the trees but are not yet in the ancestor.
 * The next run scans both real trees and re-plans against the older ancestor, where each such path is in one of
 * these states:
 * - copied and now equal on both sides: the planner sees two equal entries and simply records them (`inSync`);
 * - deleted on both sides: the ancestor still lists the path and the planner forgets it (`forget`);
 * - the ancestor still holds the version before the copy: both sides now differ from it in the same way, which
 *   reconciles as equal, not as a conflict.
 * No committed row ever claims more than what was applied, because a row is written only after its action
 * succeeded. So losing the tail of the log costs a little re-work, never a wrong delete or a lost edit. Each
 * batch is one transaction, so the table is always a consistent prefix of the writes, never half a batch.
 */

const KIND_CODES: Readonly<Record<EntryKind, number>> = { file: 0, dir: 1, symlink: 2 };
const KINDS: readonly EntryKind[] = ['file', 'dir', 'symlink'];

/**
 * Loads the ancestor of a pair. Tuned for 100,000 entries, where building one array per row costs more than SQLite's
 * own work: each column comes as one plucked array (`pluck`) in primary-key order, kind and executable packed into
 * one integer, the rare hashes and link targets in a query of their own; one object per entry. The queries share
 * one read transaction, so they see the same rows in the same order.
 */
export function prepareAncestorLoader(db: Db): (pairId: number) => Map<string, Entry> {
  const column = <T>(expression: string): Statement<[number], T> =>
    db.prepare<[number], T>(`SELECT ${expression} FROM ancestor WHERE pair_id = ? ORDER BY path`).pluck(true);
  const paths = column<string>('path');
  const flags = column<number>('kind * 2 + executable');
  const sizes = column<number>('size');
  const mtimes = column<number>('mtime_ms');
  const extras = db
    .prepare<[number], [path: string, sha256: string | null, target: string | null]>(
      'SELECT path, sha256, target FROM ancestor WHERE pair_id = ? AND (sha256 IS NOT NULL OR target IS NOT NULL)',
    )
    .raw(true);
  const load = db.transaction((pairId: number): Map<string, Entry> => {
    const path = paths.all(pairId);
    const flag = flags.all(pairId);
    const size = sizes.all(pairId);
    const mtime = mtimes.all(pairId);
    if (flag.length !== path.length || size.length !== path.length || mtime.length !== path.length) {
      throw new TetherError('state-corrupt', 'the ancestor changed while it was being read; run the sync again');
    }
    const more = new Map<string, { sha256: string | null; target: string | null }>();
    for (const [p, sha256, target] of extras.all(pairId)) more.set(p, { sha256, target });
    const tree = new Map<string, Entry>();
    for (let i = 0; i < path.length; i++) {
      const p = path[i] as string;
      const f = flag[i] as number;
      const extra = more.size === 0 ? undefined : more.get(p);
      tree.set(p, entryOf(p, f, size[i] as number, mtime[i] as number, extra?.sha256 ?? null, extra?.target ?? null));
    }
    return tree;
  });
  return (pairId) => load(pairId);
}

/** A row as the narrowed loader selects it: the columns `entryOf` takes, in its order. */
type AncestorRow = Parameters<typeof entryOf>;

/**
 * Loads the part of a pair's ancestor in a narrowed scope (`core/narrowScope.ts`): each root and what lies below
 * it (a range of the primary key: `root/` up to `root0`, `0` being the character after `/`), and each parent.
 */
export function prepareNarrowAncestorLoader(db: Db): (pairId: number, scope: NarrowScope) => Map<string, Entry> {
  const columns = 'path, kind * 2 + executable, size, mtime_ms, sha256, target';
  const one = db
    .prepare<[number, string], AncestorRow>(`SELECT ${columns} FROM ancestor WHERE pair_id = ? AND path = ?`)
    .raw(true);
  const below = db
    .prepare<[number, string, string], AncestorRow>(
      `SELECT ${columns} FROM ancestor WHERE pair_id = ? AND path > ? AND path < ? ORDER BY path`,
    )
    .raw(true);
  const load = db.transaction((pairId: number, scope: NarrowScope): Map<string, Entry> => {
    const tree = new Map<string, Entry>();
    const add = (rows: AncestorRow[]): void => {
      for (const [path, flags, size, mtimeMs, sha256, target] of rows) {
        tree.set(path, entryOf(path, flags, size, mtimeMs, sha256, target));
      }
    };
    for (const path of scope.parents) add(one.all(pairId, path));
    for (const root of scope.roots) {
      add(one.all(pairId, root));
      add(below.all(pairId, `${root}/`, `${root}0`));
    }
    return tree;
  });
  return (pairId, scope) => load(pairId, scope);
}

function entryOf(
  path: string,
  flags: number,
  size: number,
  mtimeMs: number,
  sha256: string | null,
  target: string | null,
): Entry {
  const kind = KINDS[flags >> 1] ?? 'file';
  const executable = (flags & 1) === 1;
  // One literal per shape (no spreads): optional fields are absent, never undefined.
  if (sha256 === null) {
    return target === null
      ? { path, kind, size, mtimeMs, executable }
      : { path, kind, size, mtimeMs, executable, target };
  }
  return target === null
    ? { path, kind, size, mtimeMs, executable, sha256 }
    : { path, kind, size, mtimeMs, executable, sha256, target };
}

/** Checks an entry before it is stored: a malformed ancestor would mislead every later plan. */
export function checkEntry(entry: Entry): void {
  const reason = invalidPathReason(entry.path);
  if (reason !== undefined) {
    throw new TetherError(
      'bad-argument',
      `refusing to record ${JSON.stringify(entry.path)} in the ancestor: ${reason}`,
    );
  }
  if (!(entry.kind in KIND_CODES)) {
    throw new TetherError('bad-argument', `unknown entry kind ${JSON.stringify(entry.kind)} for ${entry.path}`);
  }
  if (!Number.isSafeInteger(entry.size) || entry.size < 0 || !Number.isFinite(entry.mtimeMs)) {
    throw new TetherError('bad-argument', `invalid size or mtime for ${entry.path}: ${entry.size}, ${entry.mtimeMs}`);
  }
}

/**
 * Records ancestor changes of one pair as actions are applied: `put` after a copy, mkdir or metadata update
 * succeeded (with the entry as it now is on both sides), `delete` after a delete succeeded or for a forgotten
 * path. Writes are batched (see the note at the top of this file); call `flush()` at the end of a sync, and
 * `close()` (or the store's `close()`) before exiting.
 */
export class AncestorWriter {
  readonly pairId: number;
  readonly #batcher: WriteBatcher<string, Entry | null>;
  readonly #track: (writer: AncestorWriter, pending: boolean) => void;

  /**
   * `track` tells the store when this writer has uncommitted operations (so `store.close()` can commit them)
   * and when it has none (so a finished writer is not kept alive).
   */
  constructor(db: Db, pairId: number, limits: BatchLimits, track: (writer: AncestorWriter, pending: boolean) => void) {
    this.pairId = pairId;
    this.#track = track;
    const upsert = db.prepare(
      `INSERT INTO ancestor (pair_id, path, kind, size, mtime_ms, executable, sha256, target)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (pair_id, path) DO UPDATE SET kind = excluded.kind, size = excluded.size,
         mtime_ms = excluded.mtime_ms, executable = excluded.executable, sha256 = excluded.sha256,
         target = excluded.target`,
    );
    const remove = db.prepare('DELETE FROM ancestor WHERE pair_id = ? AND path = ?');
    const pairExists = db.prepare<[number], number>('SELECT 1 FROM pairs WHERE id = ?').pluck(true);
    const apply = (pending: ReadonlyMap<string, Entry | null>): void => {
      // Once the pair is removed (its rows cascaded away), late writes are dropped rather than failing the batch.
      if (pairExists.get(pairId) === undefined) return;
      for (const [path, entry] of pending) {
        if (entry === null) {
          remove.run(pairId, path);
          continue;
        }
        const { kind, size, mtimeMs, executable, sha256, target } = entry;
        upsert.run(pairId, path, KIND_CODES[kind], size, mtimeMs, executable ? 1 : 0, sha256 ?? null, target ?? null);
      }
    };
    this.#batcher = new WriteBatcher(db, `the ancestor of pair ${pairId}`, apply, limits, () => track(this, false));
  }

  /** Operations not yet committed. */
  get pendingOps(): number {
    return this.#batcher.pendingOps;
  }

  /** Records `entry` as agreed by both sides (after the action that made it so succeeded). */
  put(entry: Entry): void {
    checkEntry(entry);
    this.#add(entry.path, entry);
  }

  /** Forgets `path` (after it was deleted on both sides, or the planner found it gone from both). */
  delete(path: string): void {
    this.#add(path, null);
  }

  /** Commits every pending operation. */
  flush(): void {
    this.#batcher.flush();
  }

  /** Flushes and refuses further operations. Safe to call twice. */
  close(): void {
    try {
      this.#batcher.close();
    } finally {
      this.#track(this, false);
    }
  }

  #add(path: string, entry: Entry | null): void {
    if (this.#batcher.pendingOps === 0) this.#track(this, true);
    this.#batcher.add(path, entry);
  }
}
