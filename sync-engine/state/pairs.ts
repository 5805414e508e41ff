import { COMPARE_MODES, SYNC_MODES, type CompareMode, type SyncMode } from '../core/plan.js';
import { TetherError } from '../errors.js';
import { fromJson, toJson, type Db } from './sqlite.js';

/** What the user configures for a pair. No credentials: those are stored encrypted elsewhere. */
export interface PairConfig {
  /** 1–64 characters of `[A-Za-z0-9._-]`; the pair's handle in the CLI and UI. */
  readonly name: string;
  readonly localPath: string;
  readonly remoteUrl: string;
  readonly mode: SyncMode;
  readonly compare: CompareMode;
  /** Ignore rules (gitignore syntax). */
  readonly ignore: readonly string[];
  /** The delete guard as the user wrote it (e.g. `"50"` or `"10%"`); parsed by the controller. */
  readonly maxDelete?: string;
  /** Watch and sync continuously. */
  readonly live?: boolean;
  /** Endpoint- or UI-specific settings (JSON). */
  readonly options?: Readonly<Record<string, unknown>>;
}

/** Changes to a pair's configuration: absent fields are kept; `maxDelete: null` removes the guard. */
export interface PairConfigPatch {
  readonly localPath?: string;
  readonly remoteUrl?: string;
  readonly mode?: SyncMode;
  readonly compare?: CompareMode;
  readonly ignore?: readonly string[];
  readonly maxDelete?: string | null;
  readonly live?: boolean;
  readonly options?: Readonly<Record<string, unknown>>;
}

export type PairState = 'idle' | 'scanning' | 'syncing' | 'waiting' | 'paused' | 'halted';
export const PAIR_STATES: readonly PairState[] = ['idle', 'scanning', 'syncing', 'waiting', 'paused', 'halted'];

export interface PairRecord {
  readonly id: number;
  readonly name: string;
  readonly localPath: string;
  readonly remoteUrl: string;
  readonly mode: SyncMode;
  readonly compare: CompareMode;
  readonly ignore: readonly string[];
  readonly maxDelete?: string;
  readonly live: boolean;
  readonly options: Readonly<Record<string, unknown>>;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly state: PairState;
  /** Why the pair is in its state (e.g. the reason of a halt). */
  readonly stateMessage?: string;
  /** When the last sync finished (ms since the epoch). */
  readonly lastSyncAt?: number;
  /** The summary the controller recorded for the last sync (JSON). */
  readonly lastResult?: unknown;
}

const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Why `name` is not a valid pair name, or undefined when it is. */
export function invalidPairNameReason(name: string): string | undefined {
  if (NAME_PATTERN.test(name)) return undefined;
  if (name.length === 0) return 'a pair name cannot be empty';
  if (name.length > 64) return `pair name ${JSON.stringify(name.slice(0, 20))}… is longer than 64 characters`;
  return `pair name ${JSON.stringify(name)} may only contain letters, digits, ".", "_" and "-"`;
}

export function checkPairName(name: string): void {
  const reason = invalidPairNameReason(name);
  if (reason !== undefined) throw new TetherError('bad-argument', reason);
}

function checkText(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw new TetherError('bad-argument', `${field} must be a non-empty string without NUL bytes`);
  }
}

function checkMode(mode: SyncMode): void {
  if (!SYNC_MODES.includes(mode)) {
    throw new TetherError('bad-argument', `unknown sync mode ${JSON.stringify(mode)}; use ${SYNC_MODES.join(', ')}`);
  }
}

function checkCompare(compare: CompareMode): void {
  if (!COMPARE_MODES.includes(compare)) {
    throw new TetherError(
      'bad-argument',
      `unknown compare mode ${JSON.stringify(compare)}; use ${COMPARE_MODES.join(', ')}`,
    );
  }
}

function checkPatch(patch: PairConfigPatch): void {
  if (patch.localPath !== undefined) checkText(patch.localPath, 'localPath');
  if (patch.remoteUrl !== undefined) checkText(patch.remoteUrl, 'remoteUrl');
  if (patch.mode !== undefined) checkMode(patch.mode);
  if (patch.compare !== undefined) checkCompare(patch.compare);
  if (
    patch.ignore !== undefined &&
    !(Array.isArray(patch.ignore) && patch.ignore.every((r) => typeof r === 'string'))
  ) {
    throw new TetherError('bad-argument', 'ignore must be a list of strings');
  }
  if (patch.maxDelete !== undefined && patch.maxDelete !== null) checkText(patch.maxDelete, 'maxDelete');
  if (patch.live !== undefined && typeof patch.live !== 'boolean') {
    throw new TetherError('bad-argument', 'live must be true or false');
  }
  if (patch.options !== undefined && (typeof patch.options !== 'object' || Array.isArray(patch.options))) {
    throw new TetherError('bad-argument', 'options must be an object');
  }
}

export function checkPairState(state: PairState): void {
  if (!PAIR_STATES.includes(state)) {
    throw new TetherError('bad-argument', `unknown pair state ${JSON.stringify(state)}; use ${PAIR_STATES.join(', ')}`);
  }
}

type PairRow = [
  id: number,
  name: string,
  localPath: string,
  remoteUrl: string,
  mode: string,
  compare: string,
  ignoreJson: string,
  maxDelete: string | null,
  live: number,
  optionsJson: string,
  createdAt: number,
  state: string,
  stateMessage: string | null,
  lastSyncAt: number | null,
  lastResultJson: string | null,
];

const COLUMNS =
  'id, name, local_path, remote_url, mode, compare, ignore_json, max_delete, live, options_json, created_at, ' +
  'state, state_message, last_sync_at, last_result_json';

function recordOf(row: PairRow): PairRecord {
  const [
    id,
    name,
    localPath,
    remoteUrl,
    mode,
    compare,
    ignoreJson,
    maxDelete,
    live,
    optionsJson,
    createdAt,
    ...status
  ] = row;
  const [state, stateMessage, lastSyncAt, lastResultJson] = status;
  const what = `configuration of pair "${name}"`;
  return {
    id,
    name,
    localPath,
    remoteUrl,
    mode: mode as SyncMode,
    compare: compare as CompareMode,
    ignore: fromJson(ignoreJson, what) as string[],
    ...(maxDelete === null ? {} : { maxDelete }),
    live: live === 1,
    options: fromJson(optionsJson, what) as Record<string, unknown>,
    createdAt,
    state: state as PairState,
    ...(stateMessage === null ? {} : { stateMessage }),
    ...(lastSyncAt === null ? {} : { lastSyncAt }),
    ...(lastResultJson === null ? {} : { lastResult: fromJson(lastResultJson, `last result of pair "${name}"`) }),
  };
}

export function unknownPair(name: string): TetherError {
  return new TetherError('unknown-pair', `there is no pair named "${name}"; see \`tether pair list\` for the pairs`);
}

/** The `pairs` table. Every method validates its arguments and throws `TetherError`s. */
export class PairTable {
  readonly #db: Db;
  readonly #byName;
  readonly #byId;
  readonly #all;

  constructor(db: Db) {
    this.#db = db;
    this.#byName = db.prepare<[string], PairRow>(`SELECT ${COLUMNS} FROM pairs WHERE name = ?`).raw(true);
    this.#byId = db.prepare<[number], PairRow>(`SELECT ${COLUMNS} FROM pairs WHERE id = ?`).raw(true);
    this.#all = db.prepare<[], PairRow>(`SELECT ${COLUMNS} FROM pairs ORDER BY name`).raw(true);
  }

  add(config: PairConfig, now: number): PairRecord {
    checkPairName(config.name);
    checkText(config.localPath, 'localPath');
    checkText(config.remoteUrl, 'remoteUrl');
    checkMode(config.mode);
    checkCompare(config.compare);
    checkPatch(config);
    return this.#db
      .transaction(() => {
        if (this.#byName.get(config.name) !== undefined) {
          throw new TetherError(
            'pair-exists',
            `a pair named "${config.name}" already exists; choose another name or remove it first`,
          );
        }
        const result = this.#db
          .prepare(
            `INSERT INTO pairs (name, local_path, remote_url, mode, compare, ignore_json, max_delete, live,
               options_json, created_at, state)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'idle')`,
          )
          .run(
            config.name,
            config.localPath,
            config.remoteUrl,
            config.mode,
            config.compare,
            toJson(config.ignore, 'ignore'),
            config.maxDelete ?? null,
            config.live === true ? 1 : 0,
            toJson(config.options ?? {}, 'options'),
            now,
          );
        return this.requireById(Number(result.lastInsertRowid));
      })
      .immediate();
  }

  get(name: string): PairRecord | undefined {
    const row = this.#byName.get(name);
    return row === undefined ? undefined : recordOf(row);
  }

  getById(id: number): PairRecord | undefined {
    const row = this.#byId.get(id);
    return row === undefined ? undefined : recordOf(row);
  }

  require(name: string): PairRecord {
    const pair = this.get(name);
    if (pair === undefined) throw unknownPair(name);
    return pair;
  }

  requireById(id: number): PairRecord {
    const pair = this.getById(id);
    if (pair === undefined) throw new TetherError('unknown-pair', `there is no pair with id ${id}`);
    return pair;
  }

  list(): PairRecord[] {
    return this.#all.all().map(recordOf);
  }

  /** Deletes the pair and, by cascade, its ancestor, hash cache, journal, activity and lock. */
  remove(name: string): boolean {
    return this.#db.prepare('DELETE FROM pairs WHERE name = ?').run(name).changes > 0;
  }

  /**
   * Applies `patch`. When the local path or the remote URL changes, what was recorded about the old trees no
   * longer describes the pair: the ancestor (else the next sync would read every file missing from the new
   * location as deleted there, and delete it on the other side), the journal and the hash cache of that side
   * are cleared, so the next sync starts like a first one.
   */
  update(name: string, patch: PairConfigPatch): PairRecord {
    checkPatch(patch);
    return this.#db
      .transaction(() => {
        const before = this.require(name);
        const localMoved = patch.localPath !== undefined && patch.localPath !== before.localPath;
        const remoteMoved = patch.remoteUrl !== undefined && patch.remoteUrl !== before.remoteUrl;
        const maxDelete = patch.maxDelete === undefined ? (before.maxDelete ?? null) : patch.maxDelete;
        this.#db
          .prepare(
            `UPDATE pairs SET local_path = ?, remote_url = ?, mode = ?, compare = ?, ignore_json = ?,
               max_delete = ?, live = ?, options_json = ? WHERE id = ?`,
          )
          .run(
            patch.localPath ?? before.localPath,
            patch.remoteUrl ?? before.remoteUrl,
            patch.mode ?? before.mode,
            patch.compare ?? before.compare,
            toJson(patch.ignore ?? before.ignore, 'ignore'),
            maxDelete,
            (patch.live ?? before.live) ? 1 : 0,
            toJson(patch.options ?? before.options, 'options'),
            before.id,
          );
        if (localMoved || remoteMoved) {
          this.#db.prepare('DELETE FROM ancestor WHERE pair_id = ?').run(before.id);
          this.#db.prepare('DELETE FROM transfer_journal WHERE pair_id = ?').run(before.id);
          const sides = [...(localMoved ? ['local'] : []), ...(remoteMoved ? ['remote'] : [])];
          const clear = this.#db.prepare('DELETE FROM hash_cache WHERE pair_id = ? AND side = ?');
          for (const side of sides) clear.run(before.id, side);
        }
        return this.requireById(before.id);
      })
      .immediate();
  }

  setState(name: string, state: PairState, message?: string): void {
    checkPairState(state);
    const changes = this.#db
      .prepare('UPDATE pairs SET state = ?, state_message = ? WHERE name = ?')
      .run(state, message ?? null, name).changes;
    if (changes === 0) throw unknownPair(name);
  }

  recordSyncResult(name: string, summary: unknown, at: number): void {
    const json = toJson(summary, 'the sync summary');
    const changes = this.#db
      .prepare('UPDATE pairs SET last_sync_at = ?, last_result_json = ? WHERE name = ?')
      .run(at, json, name).changes;
    if (changes === 0) throw unknownPair(name);
  }
}
