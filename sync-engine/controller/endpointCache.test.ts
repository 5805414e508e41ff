import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Side } from '../core/plan.js';
import type { Endpoint } from '../endpoints/endpoint.js';
import { EndpointCache } from './endpointCache.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A pair of endpoints that only counts its closes (the cache never calls anything else). */
function pairOf(keepOpen?: boolean): { endpoints: Record<Side, Endpoint>; closes: () => number } {
  let closes = 0;
  const one = (): Endpoint =>
    ({
      ...(keepOpen === undefined ? {} : { keepOpen }),
      close: () => {
        closes++;
        return Promise.resolve();
      },
    }) as unknown as Endpoint;
  return { endpoints: { local: one(), remote: one() }, closes: () => closes };
}

describe('EndpointCache', () => {
  it('gives the same endpoints back for the same key after a sync that succeeded, without opening', async () => {
    const cache = new EndpointCache(60_000);
    const first = pairOf();
    const open = vi.fn(() => Promise.resolve(first.endpoints));
    const taken = await cache.take('k', open);
    expect(taken).toEqual({ endpoints: first.endpoints, reused: false });
    await cache.give('k', taken.endpoints, true);
    expect(first.closes()).toBe(0);
    const again = await cache.take('k', open);
    expect(again.reused).toBe(true);
    expect(again.endpoints).toBe(first.endpoints);
    expect(open).toHaveBeenCalledTimes(1);
  });

  it('closes them after a failed sync, for another key, when they must not stay open, and on close()', async () => {
    const cache = new EndpointCache(60_000);
    const failed = pairOf();
    await cache.give('k', failed.endpoints, false);
    expect(failed.closes()).toBe(2);
    expect(cache.holding).toBe(false);

    const rwo = pairOf(false);
    await cache.give('k', rwo.endpoints, true);
    expect(rwo.closes()).toBe(2);

    const kept = pairOf();
    await cache.give('k', kept.endpoints, true);
    const other = pairOf();
    const taken = await cache.take('other', () => Promise.resolve(other.endpoints));
    expect(kept.closes()).toBe(2);
    expect(taken).toEqual({ endpoints: other.endpoints, reused: false });

    await cache.give('other', other.endpoints, true);
    await cache.close();
    expect(other.closes()).toBe(2);
    expect(cache.holding).toBe(false);
  });

  it('closes what it keeps once no sync took it for the idle time', async () => {
    const cache = new EndpointCache(60_000);
    const kept = pairOf();
    await cache.give('k', kept.endpoints, true);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(kept.closes()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(kept.closes()).toBe(2);
    expect(cache.holding).toBe(false);
    // Taken in time, the clock starts again at the next give.
    const second = pairOf();
    await cache.give('k', second.endpoints, true);
    await vi.advanceTimersByTimeAsync(30_000);
    await cache.take('k', () => Promise.reject(new Error('not opened')));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(second.closes()).toBe(0);
  });
});
