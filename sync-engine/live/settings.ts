import {
  invalidCheckpointRulesReason,
  invalidSelectionReason,
  type CheckpointRules,
  type KeepNewestRule,
  type Selection,
} from '../core/pullFilters.js';
import { TetherError } from '../errors.js';

/**
 * A pair's live-sync settings, stored in the pair's options under `live` (`tether live NAME …` writes them, the
 * desktop app will too). Every field is optional in storage; `liveSettingsOf` fills in the defaults.
 */
export interface LiveSettings {
  /** How often the remote is listed when nothing else triggers a sync. */
  readonly pollIntervalMs: number;
  /** A full sync this often even when no event came (catches what events missed). */
  readonly rescanIntervalMs: number;
  /** Local events are gathered until none came for this long… */
  readonly debounceMs: number;
  /** …or for at most this long after the first one, so a steady stream of events still syncs. */
  readonly maxBatchWaitMs: number;
  readonly checkpoints: CheckpointRules;
  readonly selection: Selection;
}

export const DEFAULT_LIVE_SETTINGS: LiveSettings = {
  pollIntervalMs: 30_000,
  rescanIntervalMs: 10 * 60_000,
  debounceMs: 500,
  maxBatchWaitMs: 5_000,
  checkpoints: { quietMs: 0, markers: [], gatedPaths: [], keepNewest: [] },
  selection: { include: [], exclude: [] },
};

/** What is stored: the same fields, each optional. */
export type StoredLiveSettings = {
  readonly [K in keyof Omit<LiveSettings, 'checkpoints' | 'selection'>]?: number;
} & {
  readonly checkpoints?: Partial<CheckpointRules>;
  readonly selection?: Partial<Selection>;
};

function bad(what: string): TetherError {
  return new TetherError('bad-argument', `live settings: ${what}; fix them with \`tether live NAME …\``);
}

function duration(value: unknown, field: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw bad(`${field} must be a number of milliseconds of at least ${min}`);
  }
  return value;
}

function strings(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw bad(`${field} must be a list of strings`);
  return value;
}

function keepNewest(value: unknown): KeepNewestRule[] | undefined {
  if (value === undefined) return undefined;
  const ok =
    Array.isArray(value) &&
    value.every(
      (v: unknown) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as KeepNewestRule).glob === 'string' &&
        typeof (v as KeepNewestRule).count === 'number',
    );
  if (!ok) throw bad('checkpoints.keepNewest must be a list of { glob, count }');
  return (value as KeepNewestRule[]).map((r) => ({ glob: r.glob, count: r.count }));
}

/** The live settings of a pair from its options (defaults filled in); throws `bad-argument` naming what is wrong. */
export function liveSettingsOf(options: Readonly<Record<string, unknown>>): LiveSettings {
  const raw = options['live'];
  if (raw === undefined) return DEFAULT_LIVE_SETTINGS;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('they must be an object');
  const stored = raw as Record<string, unknown>;
  const d = DEFAULT_LIVE_SETTINGS;
  const cp = (stored['checkpoints'] ?? {}) as Record<string, unknown>;
  const sel = (stored['selection'] ?? {}) as Record<string, unknown>;
  if (typeof cp !== 'object' || typeof sel !== 'object') throw bad('checkpoints and selection must be objects');
  const settings: LiveSettings = {
    pollIntervalMs: duration(stored['pollIntervalMs'], 'pollIntervalMs', 100) ?? d.pollIntervalMs,
    rescanIntervalMs: duration(stored['rescanIntervalMs'], 'rescanIntervalMs', 1000) ?? d.rescanIntervalMs,
    debounceMs: duration(stored['debounceMs'], 'debounceMs', 0) ?? d.debounceMs,
    maxBatchWaitMs: duration(stored['maxBatchWaitMs'], 'maxBatchWaitMs', 0) ?? d.maxBatchWaitMs,
    checkpoints: {
      quietMs: duration(cp['quietMs'], 'checkpoints.quietMs', 0) ?? 0,
      markers: strings(cp['markers'], 'checkpoints.markers') ?? [],
      gatedPaths: strings(cp['gatedPaths'], 'checkpoints.gatedPaths') ?? [],
      keepNewest: keepNewest(cp['keepNewest']) ?? [],
    },
    selection: {
      include: strings(sel['include'], 'selection.include') ?? [],
      exclude: strings(sel['exclude'], 'selection.exclude') ?? [],
    },
  };
  const reason = invalidCheckpointRulesReason(settings.checkpoints) ?? invalidSelectionReason(settings.selection);
  if (reason !== undefined) throw bad(reason);
  return settings;
}

/** Parses a rate such as `10MiB/s`, `500k`, `2M`, `1.5 MB/s` into bytes per second (k/M/G are powers of 1024). */
export function parseRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?(?:\/s)?\s*$/i.exec(text);
  const unit = match?.[2]?.toLowerCase() ?? '';
  const value = Number(match?.[1]);
  const rate = Math.floor(value * 1024 ** ['', 'k', 'm', 'g', 't'].indexOf(unit));
  if (match === null || !Number.isFinite(rate) || rate < 1024) {
    throw new TetherError(
      'bad-argument',
      `bandwidth limit ${JSON.stringify(text)} is not a rate of at least 1 KiB/s; write e.g. 500k, 10MiB/s or 1G`,
    );
  }
  return rate;
}
