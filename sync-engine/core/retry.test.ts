import { describe, expect, it } from 'vitest';
import { TetherError } from '../errors.js';
import { backoff, DEFAULT_RETRY, isRetryable, nextRetry } from './retry.js';
import type { RetryPolicy } from './retry.js';

const policy: RetryPolicy = { baseDelayMs: 100, maxDelayMs: 1000, maxStalledAttempts: 3, maxAttempts: 10 };
const cut = new TetherError('remote-unreachable', 'the stream was cut', { retryable: true });

describe('nextRetry', () => {
  const cases: {
    description: string;
    attempts: number;
    stalled: number;
    error: unknown;
    expected: ReturnType<typeof nextRetry>;
  }[] = [
    {
      description: 'a cut after progress waits the base delay',
      attempts: 1,
      stalled: 0,
      error: cut,
      expected: { retry: true, delayMs: 100 },
    },
    {
      description: 'the first quiet attempt waits the base delay',
      attempts: 1,
      stalled: 1,
      error: cut,
      expected: { retry: true, delayMs: 100 },
    },
    {
      description: 'quiet attempts double the wait',
      attempts: 3,
      stalled: 2,
      error: cut,
      expected: { retry: true, delayMs: 200 },
    },
    {
      description: 'progress starts the waits over',
      attempts: 7,
      stalled: 0,
      error: cut,
      expected: { retry: true, delayMs: 100 },
    },
    { description: 'too many quiet attempts give up', attempts: 3, stalled: 3, error: cut, expected: { retry: false } },
    {
      description: 'too many attempts in all give up',
      attempts: 10,
      stalled: 0,
      error: cut,
      expected: { retry: false },
    },
    {
      description: 'a full volume is not retried',
      attempts: 1,
      stalled: 1,
      error: new TetherError('no-space', 'full'),
      expected: { retry: false },
    },
    {
      description: 'cancellation is not retried even when marked retryable',
      attempts: 1,
      stalled: 1,
      error: new TetherError('cancelled', 'stop', { retryable: true }),
      expected: { retry: false },
    },
    {
      description: 'a plain Error is not retried',
      attempts: 1,
      stalled: 1,
      error: new Error('bug'),
      expected: { retry: false },
    },
  ];
  for (const c of cases)
    it(c.description, () => {
      expect(nextRetry(policy, { attempts: c.attempts, stalled: c.stalled }, c.error)).toEqual(c.expected);
    });

  it('caps the wait at maxDelayMs', () => {
    expect(
      nextRetry({ ...policy, maxStalledAttempts: 50, maxAttempts: 50 }, { attempts: 20, stalled: 20 }, cut),
    ).toEqual({ retry: true, delayMs: 1000 });
  });

  it('the default policy keeps trying while a flaky link makes progress', () => {
    for (let attempts = 1; attempts < DEFAULT_RETRY.maxAttempts; attempts++)
      expect(nextRetry(DEFAULT_RETRY, { attempts, stalled: 0 }, cut).retry).toBe(true);
    expect(isRetryable(cut)).toBe(true);
  });
});

describe('backoff', () => {
  it('rejects as cancelled as soon as the signal aborts', async () => {
    const abort = new AbortController();
    const waiting = backoff(60_000, abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('resolves after the wait', async () => {
    await expect(backoff(1, new AbortController().signal)).resolves.toBeUndefined();
  });
});
