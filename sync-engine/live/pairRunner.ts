import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { StreamThrottle } from '../controller/applyPlan.js';
import type { SyncProgress } from '../controller/progress.js';
import type { SyncOptions, SyncSummary } from '../controller/syncPair.js';
import { EndpointCache } from '../controller/endpointCache.js';
import { syncPair } from '../controller/syncPair.js';
import type { Tree } from '../core/entry.js';
import { createIgnoreMatcher } from '../core/ignore.js';
import { MAX_NARROW_PATHS, narrowScopeOf, type NarrowScope } from '../core/narrowScope.js';
import { gatePulls, outsideSelection } from '../core/pullFilters.js';
import { receivingSides } from '../core/reconcileScope.js';
import { TetherError } from '../errors.js';
import type { PairRecord, PairState, StateStore } from '../state/store.js';
import { watchLocal, type LocalWatch } from './localWatcher.js';
import { liveSettingsOf, type LiveSettings } from './settings.js';
import type { LiveStatus } from './status.js';

export interface RetryTiming {
  /** The first retry after a failure waits this long; each further failure doubles it… */
  readonly initialMs: number;
  /** …up to this. */
  readonly maxMs: number;
}

export const DEFAULT_RETRY_TIMING: RetryTiming = { initialMs: 2_000, maxMs: 5 * 60_000 };

/** A timer fired this much later than asked: the machine slept (or was suspended); sync at once on waking. */
export const SLEPT_MS = 30_000;

export interface PairRunnerOptions {
  readonly store: StateStore;
  readonly name: string;
  /** Shared by every pair of the process (see `bandwidthThrottle`). */
  readonly throttle?: StreamThrottle;
  readonly retry?: RetryTiming;
  /** Watch the local folder for events (default true); without it, the pair syncs on its poll interval only. */
  readonly watchLocal?: boolean;
  /** Extra options for each sync: concurrency, host, what its lock says (default `live sync`). */
  readonly sync?: Pick<SyncOptions, 'concurrency' | 'host' | 'purpose'>;
  /** The wall clock for observations of settling files (tests inject a fake one). */
  readonly now?: () => number;
  /** Called with every status change (and progress while syncing). */
  readonly onStatus?: (status: LiveStatus) => void;
}

/** The delay before retry number `failures` (1-based). */
export function retryDelay(failures: number, timing: RetryTiming): number {
  return Math.min(timing.maxMs, timing.initialMs * 2 ** Math.max(0, failures - 1));
}

/** One line on why a sync could not run, for the waiting state. */
function waitingReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof TetherError && error.code === 'pair-locked')
    return `another sync of this pair is running: ${message}`;
  return message;
}

/**
 * Keeps one pair in sync: syncs when the local folder changes (batched events), when the poll interval or the
 * rescan interval comes round, when a settling remote file may have become stable, and when resumed. One sync at a
 * time; a trigger during a sync starts another right after it.
 *
 * Failures never end the loop: a safety halt stops syncing until the pair is resumed (or synced by hand); any
 * other error waits with exponential backoff and tries again. A sync that is cut (pause, lost connection) leaves
 * nothing half-applied: the ancestor moves forward per finished action, so the next sync re-plans from what is
 * really there and does not send finished files again.
 */
export class PairRunner {
  readonly name: string;
  readonly #options: PairRunnerOptions;
  readonly #store: StateStore;
  readonly #now: () => number;
  #status: LiveStatus = { state: 'idle', cycles: 0 };
  #stopped = false;
  #paused = false;
  #halted = false;
  #pending = true;
  #failures = 0;
  #retryAt = 0;
  #nextPollAt = 0;
  #nextRescanAt = 0;
  #wake: (() => void) | undefined;
  #cycle: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #watch: LocalWatch | undefined;
  /** The folder the watcher watches and the ignore rules it filters with (pair rules, `.tetherignore`). */
  #watched: string | undefined;
  #recheckAt: number | undefined;
  #held = 0;
  /** The next sync must list both whole trees (the first one, a poll, a retry, a resume, a manual trigger). */
  #fullDue = true;
  /** Local paths the watcher reported since the last sync began (what a narrowed sync looks at). */
  #changed = new Set<string>();
  /** The pair's settings at the last sync (a change makes the next sync full). */
  #lastConfig: string | undefined;
  /** The pair's endpoints, kept open between syncs. */
  readonly #endpoints = new EndpointCache();

  constructor(options: PairRunnerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  get status(): LiveStatus {
    return this.#status;
  }

  /** Starts the loop (and the local watcher). Resolves once the watcher is ready. */
  async start(): Promise<void> {
    if (this.#loop !== undefined) return;
    const pair = this.#store.requirePair(this.name);
    await this.#startWatching(pair, liveSettingsOf(pair.options));
    this.#loop = this.#run();
  }

  /** Asks for a full sync as soon as possible (after the current one, if any). */
  trigger(): void {
    this.#fullDue = true;
    this.#pending = true;
    this.#wake?.();
  }

  /**
   * The watcher's batch: a sync soon, narrowed to the changed paths when nothing else asks for a full one
   * (`paths` undefined: too many, or unknown).
   */
  #localChanged(paths: ReadonlySet<string> | undefined): void {
    if (paths === undefined || this.#fullDue) this.#fullDue = true;
    else for (const path of paths) this.#changed.add(path);
    // A full sync is due anyway (or as cheap): the paths are not kept, however long the wait.
    if (this.#fullDue || this.#changed.size > MAX_NARROW_PATHS) {
      this.#fullDue = true;
      this.#changed.clear();
    }
    this.#pending = true;
    this.#wake?.();
  }

  /** Pauses (cutting a running sync at once) or resumes. */
  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (paused) {
      this.#cycle?.abort();
      // A paused pair holds nothing open (a helper pod, threads); the sync that was cut closed its own.
      void this.#endpoints.close().catch(() => undefined);
    } else {
      this.#halted = false;
      this.#failures = 0;
      this.#retryAt = 0;
      this.#pending = true;
      this.#fullDue = true;
    }
    this.#wake?.();
  }

  /** Leaves a halt (the pair was synced by hand or resumed): the next sync checks the safety rules again. */
  clearHalt(): void {
    if (!this.#halted) return;
    this.#halted = false;
    this.#pending = true;
    this.#fullDue = true;
    this.#wake?.();
  }

  get halted(): boolean {
    return this.#halted;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cycle?.abort();
    this.#wake?.();
    await this.#loop;
    await this.#endpoints.close().catch(() => undefined);
    await this.#watch?.close();
    this.#watch = undefined;
  }

  /**
   * Starts the watcher, or starts it again when the folder or its ignore rules changed since it started: it does
   * not even look into an ignored folder, so a folder no longer ignored would stay unwatched until then.
   */
  async #startWatching(pair: PairRecord, settings: LiveSettings): Promise<void> {
    if (this.#options.watchLocal === false) return;
    let tetherignore: string | undefined;
    try {
      tetherignore = readFileSync(join(pair.localPath, '.tetherignore'), 'utf8');
    } catch {
      // No .tetherignore (or unreadable: the sync itself reports that).
    }
    const watched = JSON.stringify([pair.localPath, pair.ignore, tetherignore ?? null]);
    if (this.#watched === watched) return;
    // Events were missed while no watcher (or another folder's) ran, or were dropped by the old rules.
    this.#fullDue = true;
    await this.#watch?.close();
    this.#watched = watched;
    this.#watch = watchLocal(pair.localPath, {
      debounceMs: settings.debounceMs,
      maxBatchWaitMs: settings.maxBatchWaitMs,
      ignore: createIgnoreMatcher(pair.ignore, tetherignore),
      onBatch: (_events, paths) => this.#localChanged(paths),
      // The rescan interval still catches changes; the status says why events are missing.
      onError: (error) => this.#report({ ...this.#status, reason: `not watching local changes: ${error.message}` }),
    });
    await this.#watch.ready;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (this.#paused) {
        this.#report({ state: 'paused', reason: 'paused by the user', cycles: this.#status.cycles });
        await this.#sleep(Infinity);
        continue;
      }
      if (this.#halted) {
        await this.#sleep(Infinity);
        continue;
      }
      const now = this.#now();
      const due = this.#pending
        ? now
        : Math.min(this.#nextPollAt, this.#nextRescanAt, this.#recheckAt ?? Infinity, this.#retryAt || Infinity);
      if (this.#failures > 0 && this.#retryAt > now) {
        await this.#sleep(this.#retryAt - now);
        continue;
      }
      if (due > now) {
        await this.#sleep(due - now);
        continue;
      }
      await this.#syncOnce();
    }
  }

  /** Waits for a trigger, a pause or resume, or `ms`. A timer that fires very late means the machine slept. */
  async #sleep(ms: number): Promise<void> {
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
      this.#wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
    if (Number.isFinite(ms) && Date.now() - started > ms + SLEPT_MS) {
      this.#pending = true;
      this.#fullDue = true;
    }
  }

  async #syncOnce(): Promise<void> {
    this.#pending = false;
    const cycles = this.#status.cycles + 1;
    const abort = new AbortController();
    this.#cycle = abort;
    let pair: PairRecord;
    let settings: LiveSettings;
    try {
      pair = this.#store.requirePair(this.name);
      settings = liveSettingsOf(pair.options);
      await this.#startWatching(pair, settings);
    } catch (error) {
      this.#halt(`cannot run: ${waitingReason(error)}`, cycles);
      return;
    }
    // Paused or stopped while the watcher was being set up: the loop takes it from here.
    if (this.#interrupted()) return;
    const started = this.#now();
    const narrow = this.#takeNarrowScope(pair, settings, started);
    if (narrow === undefined) {
      this.#nextPollAt = started + settings.pollIntervalMs;
      this.#nextRescanAt = started + settings.rescanIntervalMs;
      this.#recheckAt = undefined;
    }
    let lastProgressAt = 0;
    try {
      const summary = await syncPair(this.#store, this.name, {
        purpose: 'live sync',
        ...this.#options.sync,
        ...(narrow === undefined ? {} : { narrow }),
        endpointCache: this.#endpoints,
        signal: abort.signal,
        ...(this.#options.throttle === undefined ? {} : { throttle: this.#options.throttle }),
        outOfReach: (trees) => this.#outOfReach(pair, settings, trees),
        onProgress: (progress: SyncProgress) => {
          // Progress is reported at most once a second (the final snapshot always).
          const now = Date.now();
          if (now - lastProgressAt < 1000 && progress.phase !== 'finishing') return;
          lastProgressAt = now;
          const state: PairState =
            progress.phase === 'scanning' || progress.phase === 'hashing' ? 'scanning' : 'syncing';
          this.#report({ state, progress, cycles });
        },
      });
      this.#failures = 0;
      this.#retryAt = 0;
      // A narrowed sync that had to look at everything after all counts as this period's poll and rescan.
      if (narrow !== undefined && summary.narrowed === false) {
        this.#nextPollAt = started + settings.pollIntervalMs;
        this.#nextRescanAt = started + settings.rescanIntervalMs;
      }
      // What did not go through (an unreadable file, a refused write) is looked at again by the next sync: all
      // of it, as before narrowed syncs.
      if (summary.failed > 0) this.#fullDue = true;
      this.#report(this.#idleStatus(summary, cycles));
    } catch (error) {
      // What the watcher reported for this sync is not known to be synced: the next sync looks at everything.
      this.#fullDue = true;
      if (this.#interrupted()) {
        this.#status = { ...this.#status, cycles };
        return;
      }
      if (error instanceof TetherError && (error.code === 'safety-halt' || error.code === 'unknown-pair')) {
        this.#halt(error.message, cycles);
        return;
      }
      this.#failures++;
      const delay = retryDelay(this.#failures, this.#options.retry ?? DEFAULT_RETRY_TIMING);
      this.#retryAt = this.#now() + delay;
      this.#report({
        state: 'waiting',
        reason: `${waitingReason(error)}; retrying in ${(delay / 1000).toFixed(delay < 10_000 ? 1 : 0)} s (attempt ${this.#failures + 1})`,
        nextAttemptAt: Date.now() + delay,
        cycles,
      });
    } finally {
      this.#cycle = undefined;
      // A sync cut by a pause can still finish and keep its endpoints: a paused or stopped pair holds none.
      if (this.#interrupted()) await this.#endpoints.close().catch(() => undefined);
    }
  }

  /**
   * The scope of the next sync, taking the watcher's paths: undefined for a full sync (one is due, or the pair
   * holds remote files back, which needs every remote file's observations).
   */
  #takeNarrowScope(pair: PairRecord, settings: LiveSettings, now: number): NarrowScope | undefined {
    const changed = this.#changed;
    this.#changed = new Set();
    // The pair's settings changed (mode, ignore rules, selection, folders): everything is looked at again. So it is
    // when `.tetherignore` changed, which decides what else is synced.
    const config = JSON.stringify([pair.localPath, pair.remoteUrl, pair.mode, pair.compare, pair.ignore, pair.options]);
    if (config !== this.#lastConfig || changed.has('.tetherignore')) this.#fullDue = true;
    this.#lastConfig = config;
    const timerDue =
      now >= this.#nextPollAt || now >= this.#nextRescanAt || (this.#recheckAt !== undefined && now >= this.#recheckAt);
    const { quietMs, markers, keepNewest } = settings.checkpoints;
    const gating =
      receivingSides(pair.mode).includes('local') && (quietMs > 0 || markers.length > 0 || keepNewest.length > 0);
    const full = this.#fullDue || timerDue || gating;
    this.#fullDue = false;
    return full ? undefined : narrowScopeOf(changed);
  }

  /** Paused or stopped (read through a method: both change while a sync awaits). */
  #interrupted(): boolean {
    return this.#paused || this.#stopped;
  }

  #halt(reason: string, cycles: number): void {
    this.#halted = true;
    this.#report({ state: 'halted', reason, cycles });
  }

  #idleStatus(summary: SyncSummary, cycles: number): LiveStatus {
    const notes: string[] = [];
    if (this.#held > 0) notes.push(`${this.#held} remote item(s) held back (settling or older checkpoints)`);
    if (summary.conflicts > 0) notes.push(`${summary.conflicts} conflict(s) kept as copies`);
    if (summary.problems.length > 0) notes.push(`${summary.problems.length} problem(s) at the last sync`);
    return {
      state: 'idle',
      ...(notes.length === 0 ? {} : { reason: notes.join('; ') }),
      ...(this.#held === 0 ? {} : { held: this.#held }),
      lastSyncAt: Date.now(),
      cycles,
    };
  }

  /** The pull filters and the selection, applied to one sync's scanned trees. */
  #outOfReach(
    pair: PairRecord,
    settings: LiveSettings,
    trees: { readonly local: Tree; readonly remote: Tree; readonly ancestor: Tree },
  ): string[] {
    const out: string[] = [];
    this.#held = 0;
    if (receivingSides(pair.mode).includes('local')) {
      const before = this.#store.live.loadObservations(pair.id);
      const verdict = gatePulls(
        { remote: trees.remote, ancestor: trees.ancestor, observations: before, now: this.#now() },
        settings.checkpoints,
      );
      if (before.size > 0 || verdict.observations.size > 0) {
        this.#store.live.replaceObservations(pair.id, verdict.observations);
      }
      this.#recheckAt = verdict.recheckAt;
      this.#held = verdict.held.size;
      out.push(...verdict.held.keys());
    }
    const { include, exclude } = settings.selection;
    if (include.length > 0 || exclude.length > 0) {
      const paths = new Set([...trees.local.keys(), ...trees.remote.keys(), ...trees.ancestor.keys()]);
      out.push(...outsideSelection(paths, settings.selection));
    }
    return out;
  }

  #report(status: LiveStatus): void {
    const changed = status.state !== this.#status.state || status.reason !== this.#status.reason;
    this.#status = status;
    if (changed && status.state !== 'scanning' && status.state !== 'syncing') {
      try {
        this.#store.setPairState(this.name, status.state, status.reason);
      } catch {
        // The pair was removed while watching: the next sync halts with unknown-pair.
      }
    }
    this.#options.onStatus?.(status);
  }
}

/** Identifies this process in the watcher table. */
export const THIS_PROCESS = { pid: process.pid, host: hostname() } as const;
