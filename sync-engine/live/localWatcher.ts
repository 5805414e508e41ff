import { relative, sep } from 'node:path';
import { watch } from 'chokidar';
import type { IgnoreMatcher } from '../core/ignore.js';
import { MAX_NARROW_PATHS } from '../core/narrowScope.js';
import { isEngineTemporary } from '../core/temporaries.js';

/**
 * A batch of events: how many, and the paths they named (relative to the root, `/`-separated), or undefined when
 * more than `MAX_NARROW_PATHS` changed (a full sync is then as cheap) or an event named no path.
 */
export type BatchListener = (events: number, paths: ReadonlySet<string> | undefined) => void;

export interface BatchTiming {
  /** A batch ends when no event came for this long… */
  readonly debounceMs: number;
  /** …or this long after its first event, whichever comes first. */
  readonly maxBatchWaitMs: number;
}

/**
 * Gathers change events into batches: 10,000 files created within a second make one batch (one sync), and a
 * steady trickle of events still ends a batch every `maxBatchWaitMs`. Uses the global timers (fake in tests).
 */
export class ChangeBatcher {
  readonly #timing: BatchTiming;
  readonly #onBatch: BatchListener;
  #events = 0;
  #firstAt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The batch's changed paths; undefined once they are too many to narrow a sync to, or one is unknown. */
  #paths: Set<string> | undefined = new Set();

  constructor(timing: BatchTiming, onBatch: BatchListener) {
    this.#timing = timing;
    this.#onBatch = onBatch;
  }

  /** One event; `path` is what changed, relative to the root (unknown when left out). */
  add(path?: string): void {
    const now = Date.now();
    if (this.#events === 0) this.#firstAt = now;
    this.#events++;
    if (path === undefined || this.#paths?.add(path).size === MAX_NARROW_PATHS + 1) this.#paths = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const due = Math.min(now + this.#timing.debounceMs, this.#firstAt + this.#timing.maxBatchWaitMs);
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, due - now));
  }

  #flush(): void {
    const events = this.#events;
    const paths = this.#paths;
    this.#events = 0;
    this.#paths = new Set();
    this.#timer = undefined;
    if (events > 0) this.#onBatch(events, paths);
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#events = 0;
    this.#paths = new Set();
  }
}

export interface LocalWatch {
  /** Resolves once the watcher watches the whole tree (events from then on are seen). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface LocalWatchOptions extends BatchTiming {
  /** The pair's ignore rules: changes there start no sync. */
  readonly ignore?: IgnoreMatcher;
  readonly onBatch: BatchListener;
  /** The watcher failed (e.g. the inotify limit): the pair still syncs on its rescan interval. */
  readonly onError: (error: Error) => void;
}

/** Whether a path relative to the root is (or lies below) one of the engine's temporaries. */
function underTemporary(path: string): boolean {
  return path.split('/').some((segment) => isEngineTemporary(segment));
}

/**
 * Watches the local folder with chokidar. Events for the engine's own temporaries (partial downloads) and for
 * ignored paths are dropped; the rest are batched (see `ChangeBatcher`). Events caused by the sync's own writes
 * end in one more sync that finds nothing to do.
 */
export function watchLocal(root: string, options: LocalWatchOptions): LocalWatch {
  const batcher = new ChangeBatcher(options, options.onBatch);
  const relativeOf = (absolute: string): string => relative(root, absolute).split(sep).join('/');
  const watcher = watch(root, {
    ignoreInitial: true,
    ignored: (absolute, stats) => {
      const path = relativeOf(absolute);
      if (path === '' || path.startsWith('..')) return false;
      if (underTemporary(path)) return true;
      return options.ignore?.(path, stats?.isDirectory() ?? false) ?? false;
    },
  });
  watcher.on('all', (_event, absolute) => batcher.add(relativeOf(absolute)));
  watcher.on('error', (error) => options.onError(error instanceof Error ? error : new Error(String(error))));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      batcher.close();
      await watcher.close();
    },
  };
}
