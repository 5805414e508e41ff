import type { SyncProgress } from '../controller/progress.js';
import type { PairRecord, PairState, StateStore } from '../state/store.js';

/** What a live pair is doing, as `tether status --json` and the app show it. */
export interface LiveStatus {
  readonly state: PairState;
  /** Why it waits, is paused or halted; or a note on the last sync (problems, files held back). */
  readonly reason?: string;
  /** While scanning or syncing. */
  readonly progress?: SyncProgress;
  /** While waiting: when the next attempt starts (ms since the epoch). */
  readonly nextAttemptAt?: number;
  /** Remote files the last sync held back (still settling, or older checkpoints). */
  readonly held?: number;
  readonly lastSyncAt?: number;
  readonly cycles: number;
}

/** A watcher that has not reported for this long is taken for dead (it reports at least every few seconds). */
export const WATCHER_STALE_MS = 30_000;

export interface PairStatusView {
  readonly name: string;
  readonly state: PairState;
  readonly reason?: string;
  readonly paused: boolean;
  readonly lastSyncAt?: number;
  /** The process watching this pair, if one is (alive and reporting). */
  readonly watcher?: { readonly pid: number; readonly host: string; readonly updatedAt: number };
  readonly live?: LiveStatus;
}

/**
 * The status of pairs as any process sees it: the pair's state, whether it is paused, and the watcher's latest
 * report when a watcher is alive. A pause requested while no watcher runs shows as `paused` too.
 */
export function pairStatuses(store: StateStore, pairs: readonly PairRecord[], now = Date.now()): PairStatusView[] {
  const paused = store.live.pausedPairIds();
  return pairs.map((pair) => {
    const watcher = store.live.watcher(pair.id);
    const alive = watcher !== undefined && now - watcher.updatedAt < WATCHER_STALE_MS;
    const live = alive ? (watcher.detail as LiveStatus) : undefined;
    const isPaused = paused.has(pair.id);
    const state: PairState = live?.state ?? (isPaused ? 'paused' : pair.state);
    const reason = live?.reason ?? (isPaused ? 'paused by the user' : pair.stateMessage);
    return {
      name: pair.name,
      state,
      ...(reason === undefined ? {} : { reason }),
      paused: isPaused,
      ...(pair.lastSyncAt === undefined ? {} : { lastSyncAt: pair.lastSyncAt }),
      ...(alive ? { watcher: { pid: watcher.pid, host: watcher.host, updatedAt: watcher.updatedAt } } : {}),
      ...(live === undefined ? {} : { live }),
    };
  });
}
