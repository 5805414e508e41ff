import type { StateStore } from '../state/store.js';
import { TetherError } from '../errors.js';
import { bandwidthThrottle, type BandwidthLimits } from './bandwidth.js';
import { PairRunner, SLEPT_MS, THIS_PROCESS, type PairRunnerOptions, type RetryTiming } from './pairRunner.js';
import type { LiveStatus } from './status.js';

export interface LiveServiceOptions {
  readonly store: StateStore;
  /** For every pair of the process together. */
  readonly bandwidth?: BandwidthLimits;
  /** How often pauses, resumes and manual un-halts by other processes are picked up (default 500 ms). */
  readonly controlIntervalMs?: number;
  readonly retry?: RetryTiming;
  readonly watchLocal?: boolean;
  readonly sync?: PairRunnerOptions['sync'];
  /** The wall clock (tests inject a fake one: settling files, and detecting that the machine slept). */
  readonly now?: () => number;
  readonly onStatus?: (name: string, status: LiveStatus) => void;
}

/** The watcher's status row is refreshed at least this often, so other processes can tell it is alive. */
const HEARTBEAT_MS = 5_000;

/**
 * Runs live sync for a set of pairs in this process (what `tether watch` and the desktop app run): one
 * `PairRunner` per pair, one bandwidth limit per direction for all of them, and a control loop that reads pauses
 * from the state store, so `tether pause` in another process takes effect within `controlIntervalMs`.
 */
export class LiveService {
  readonly #options: LiveServiceOptions;
  readonly #store: StateStore;
  readonly #runners = new Map<string, PairRunner>();
  readonly #throttle;
  readonly #reportedAt = new Map<string, number>();
  #control: NodeJS.Timeout | undefined;
  #lastTickAt: number | undefined;

  constructor(options: LiveServiceOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#throttle = bandwidthThrottle(options.bandwidth ?? {});
  }

  /** Starts watching the named pairs (throws `unknown-pair` before starting any when one does not exist). */
  async start(names: readonly string[]): Promise<void> {
    for (const name of names) this.#store.requirePair(name);
    if (names.length === 0) throw new TetherError('bad-argument', 'no pairs to watch');
    for (const name of names) {
      if (this.#runners.has(name)) continue;
      const runner = new PairRunner({
        store: this.#store,
        name,
        ...(this.#throttle === undefined ? {} : { throttle: this.#throttle }),
        ...(this.#options.retry === undefined ? {} : { retry: this.#options.retry }),
        ...(this.#options.watchLocal === undefined ? {} : { watchLocal: this.#options.watchLocal }),
        ...(this.#options.sync === undefined ? {} : { sync: this.#options.sync }),
        ...(this.#options.now === undefined ? {} : { now: this.#options.now }),
        onStatus: (status) => this.#onStatus(name, status),
      });
      this.#runners.set(name, runner);
    }
    this.#readControls();
    await Promise.all([...this.#runners.values()].map((runner) => runner.start()));
    this.#control ??= setInterval(() => this.#tick(), this.#options.controlIntervalMs ?? 500);
  }

  runner(name: string): PairRunner | undefined {
    return this.#runners.get(name);
  }

  statuses(): Map<string, LiveStatus> {
    return new Map([...this.#runners].map(([name, runner]) => [name, runner.status]));
  }

  async stop(): Promise<void> {
    if (this.#control !== undefined) clearInterval(this.#control);
    this.#control = undefined;
    await Promise.all([...this.#runners.values()].map((runner) => runner.stop()));
    for (const [name, runner] of this.#runners) {
      const pair = this.#store.getPair(name);
      if (pair === undefined) continue;
      this.#store.live.clearWatcher(pair.id, THIS_PROCESS);
      // Nobody retries once the watcher is gone: "waiting" would promise a retry that will not come.
      if (runner.status.state === 'waiting') {
        this.#store.setPairState(
          name,
          'idle',
          `not watched any more; the last attempt failed: ${runner.status.reason ?? ''}`,
        );
      }
    }
    this.#runners.clear();
  }

  #tick(): void {
    // The wall clock jumped well past one control interval: the machine slept. Sync every pair now (a timer that
    // counts monotonic time would otherwise wait out its whole interval after waking).
    const wall = (this.#options.now ?? Date.now)();
    const last = this.#lastTickAt;
    this.#lastTickAt = wall;
    if (last !== undefined && wall - last > (this.#options.controlIntervalMs ?? 500) + SLEPT_MS) {
      for (const runner of this.#runners.values()) runner.trigger();
    }
    try {
      this.#readControls();
      const now = Date.now();
      for (const [name, runner] of this.#runners) {
        if (now - (this.#reportedAt.get(name) ?? 0) >= HEARTBEAT_MS) this.#onStatus(name, runner.status);
      }
    } catch (error) {
      // The state store is busy or gone for a moment: the next tick tries again; the runners go on meanwhile.
      for (const [name, runner] of this.#runners) {
        this.#options.onStatus?.(name, {
          ...runner.status,
          reason: `cannot read pause requests: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
  }

  /** Applies pauses and resumes written by any process, and lifts halts cleared by a manual sync or `resume`. */
  #readControls(): void {
    const paused = this.#store.live.pausedPairIds();
    for (const [name, runner] of this.#runners) {
      const pair = this.#store.getPair(name);
      if (pair === undefined) continue;
      runner.setPaused(paused.has(pair.id));
      if (runner.halted && pair.state !== 'halted') runner.clearHalt();
    }
  }

  #onStatus(name: string, status: LiveStatus): void {
    this.#reportedAt.set(name, Date.now());
    try {
      const pair = this.#store.getPair(name);
      if (pair !== undefined) this.#store.live.reportWatcher(pair.id, { ...THIS_PROCESS, detail: status }, Date.now());
    } catch {
      // Status rows are best effort: a busy store must not stop a sync.
    }
    this.#options.onStatus?.(name, status);
  }
}

/** Pauses or resumes pairs (all pairs when `names` is undefined) from any process. Returns the names touched. */
export function setPaused(store: StateStore, names: readonly string[] | undefined, paused: boolean): string[] {
  const pairs = names === undefined ? store.listPairs() : names.map((name) => store.requirePair(name));
  const ids = pairs.map((p) => p.id);
  if (paused) store.live.pause(ids, Date.now());
  else {
    store.live.resume(ids);
    // Resuming also lifts a halt: the next sync checks the safety rules again, and halts again if they still fail.
    for (const pair of pairs)
      if (pair.state === 'halted' || pair.state === 'paused') store.setPairState(pair.name, 'idle');
  }
  if (paused) for (const pair of pairs) store.setPairState(pair.name, 'paused', 'paused by the user');
  return pairs.map((p) => p.name);
}
