import type { Side } from '../core/plan.js';
import type { Endpoint } from '../endpoints/endpoint.js';

/** How long kept endpoints wait for the next sync before they are closed. */
export const DEFAULT_KEEP_OPEN_MS = 60_000;

/**
 * Keeps a pair's opened endpoints from one live sync to the next, so that the sync after a local change does not
 * open them again (for a PVC: finding the helper pod and proving it alive, an exec; for a local folder, starting
 * its threads). The next sync gets them back only when it is for the same folders and options; they are closed
 * instead when a sync fails (the next one opens afresh), when an endpoint must not stay open
 * (`Endpoint.keepOpen`), after `keepOpenMs` without a sync, and on `close()`.
 */
export class EndpointCache {
  readonly #keepOpenMs: number;
  #held: { readonly key: string; readonly endpoints: Record<Side, Endpoint> } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #warming: Promise<void> = Promise.resolve();

  constructor(keepOpenMs = DEFAULT_KEEP_OPEN_MS) {
    this.#keepOpenMs = keepOpenMs;
  }

  /**
   * The endpoints kept for `key` (`reused`), or newly opened ones (kept endpoints for another key are closed
   * first).
   */
  async take(
    key: string,
    open: () => Promise<Record<Side, Endpoint>>,
  ): Promise<{ readonly endpoints: Record<Side, Endpoint>; readonly reused: boolean }> {
    this.#stopTimer();
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) {
      if (held.key === key) return { endpoints: held.endpoints, reused: true };
      await closeBoth(held.endpoints);
    }
    return { endpoints: await open(), reused: false };
  }

  /** Gives back what `take` returned, after a sync that succeeded (`ok`) or not. */
  async give(key: string, endpoints: Record<Side, Endpoint>, ok: boolean): Promise<void> {
    const keep = ok && endpoints.local.keepOpen !== false && endpoints.remote.keepOpen !== false;
    if (!keep || this.#held !== undefined) {
      await closeBoth(endpoints);
      return;
    }
    this.#held = { key, endpoints };
    this.#warming = Promise.all([endpoints.local.keepWarm?.(), endpoints.remote.keepWarm?.()]).then(() => undefined);
    // Closing fails only when an endpoint cannot release what it holds; it tried, and nobody waits for it here.
    this.#timer = setTimeout(() => void this.close().catch(() => undefined), this.#keepOpenMs);
    this.#timer.unref();
  }

  /** Resolves once what the kept endpoints started for the next sync (`Endpoint.keepWarm`) is ready (tests). */
  whenWarm(): Promise<void> {
    return this.#warming;
  }

  /** Whether endpoints are kept now. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** Closes what is kept (safe to call at any time; a later `take` opens afresh). */
  async close(): Promise<void> {
    this.#stopTimer();
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) await closeBoth(held.endpoints);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Closes both endpoints, the second even when the first fails; the first failure is thrown. */
export async function closeBoth(endpoints: Record<Side, Endpoint>): Promise<void> {
  const results = await Promise.allSettled([endpoints.local.close(), endpoints.remote.close()]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
