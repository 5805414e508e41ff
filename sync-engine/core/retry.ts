import { TetherError } from '../errors.js';

/**
 * When a transfer batch fails with a retryable error (a cut exec stream, a dropped connection), it is tried
 * again within the same sync, resuming what already arrived. Waits grow exponentially while attempts make no
 * progress and start over once one does, so a flaky link that cuts every few megabytes still finishes a big
 * file, and a link that is simply down gives up after a few quiet attempts.
 */
export interface RetryPolicy {
  /** First wait after a failed attempt. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Give up after this many attempts in a row that moved nothing forward. */
  readonly maxStalledAttempts: number;
  /** Give up after this many attempts in all, progress or not. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  maxStalledAttempts: 4,
  maxAttempts: 40,
};

/** Whether an error may go away by trying again (never cancellation, a full disk or a permission error). */
export function isRetryable(error: unknown): boolean {
  return error instanceof TetherError && error.retryable && error.code !== 'cancelled';
}

export interface RetryState {
  /** Failed attempts so far (1 after the first failure). */
  readonly attempts: number;
  /** Failed attempts in a row, the last one included, that moved nothing forward. */
  readonly stalled: number;
}

/** What to do after a failed attempt: wait and retry, or give up. Pure. */
export function nextRetry(
  policy: RetryPolicy,
  state: RetryState,
  error: unknown,
): { readonly retry: true; readonly delayMs: number } | { readonly retry: false } {
  if (!isRetryable(error)) return { retry: false };
  if (state.attempts >= policy.maxAttempts || state.stalled >= policy.maxStalledAttempts) return { retry: false };
  const delayMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, state.stalled - 1));
  return { retry: true, delayMs };
}

/** Waits `ms`, or rejects as cancelled as soon as `signal` aborts. */
export function backoff(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new TetherError('cancelled', 'sync cancelled'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new TetherError('cancelled', 'sync cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
