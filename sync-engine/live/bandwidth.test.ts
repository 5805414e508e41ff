import { getEventListeners } from 'node:events';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { bandwidthThrottle, throttleStream, TokenBucket, type Timer } from './bandwidth.js';

/** Virtual time: sleeping advances the clock at once, and every sleep is recorded. */
function fakeTimer(): Timer & { sleeps: number[]; at: number } {
  const timer = {
    at: 0,
    sleeps: [] as number[],
    now: () => timer.at,
    sleep: (ms: number) => {
      timer.sleeps.push(Math.round(ms));
      timer.at += ms;
      return Promise.resolve();
    },
  };
  return timer;
}

/** Virtual time whose sleeps end only when told to (or when their signal aborts). */
function manualTimer(): Timer & { waits: { ms: number; end: () => void; aborted: boolean }[] } {
  let at = 0;
  const timer = {
    waits: [] as { ms: number; end: () => void; aborted: boolean }[],
    now: () => at,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          wait.aborted = true;
          reject(new Error('sleep aborted'));
        };
        const end = (): void => {
          signal?.removeEventListener('abort', onAbort);
          at += ms;
          resolve();
        };
        const wait = { ms: Math.round(ms), end, aborted: false };
        timer.waits.push(wait);
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
  return timer;
}

describe('TokenBucket', () => {
  it('lets a burst through, then paces takes at the rate', async () => {
    const timer = fakeTimer();
    const bucket = new TokenBucket(1000, { burst: 1000, timer });
    await bucket.take(1000);
    expect(timer.sleeps).toEqual([]);
    await bucket.take(500);
    await bucket.take(250);
    expect(timer.sleeps).toEqual([500, 250]);
  });

  it('refills while idle, up to the burst only', async () => {
    const timer = fakeTimer();
    const bucket = new TokenBucket(1000, { burst: 1000, timer });
    await bucket.take(1000);
    timer.at += 10_000; // idle for 10 s: the bucket holds 1000, not 10,000
    await bucket.take(1000);
    await bucket.take(1000);
    expect(timer.sleeps).toEqual([1000]);
  });

  it('a take bigger than the burst runs into debt that the next take waits off', async () => {
    const timer = fakeTimer();
    const bucket = new TokenBucket(1000, { burst: 100, timer });
    await bucket.take(2100);
    expect(timer.sleeps).toEqual([2000]);
  });

  it('serves concurrent takes first come, first served', async () => {
    const timer = fakeTimer();
    const bucket = new TokenBucket(1000, { burst: 0.001, timer });
    const order: string[] = [];
    await Promise.all(['a', 'b', 'c'].map((name) => bucket.take(100).then(() => order.push(name))));
    expect(order).toEqual(['a', 'b', 'c']);
    expect(Math.round(timer.at)).toBe(300);
  });
});

describe('throttleStream', () => {
  const content = 'x'.repeat(300 * 1024);

  it('passes every byte, in order, taking bytes / rate of (virtual) time', async () => {
    const timer = fakeTimer();
    const bucket = new TokenBucket(100 * 1024, { burst: 64 * 1024, timer });
    const out = await text(throttleStream(Readable.from([Buffer.from(content)]), bucket));
    expect(out).toBe(content);
    // 300 KiB at 100 KiB/s, the first 64 KiB free: 2.36 s.
    expect(timer.at).toBeCloseTo(((300 - 64) / 100) * 1000, 0);
  });

  it('one limit is shared by every stream of a direction; the other direction is not slowed', async () => {
    const timer = fakeTimer();
    const throttle = bandwidthThrottle({ uploadBytesPerSecond: 100 * 1024 }, timer)!;
    const streams = [0, 1].map((i) => throttle('upload', Readable.from([Buffer.from(content.slice(i))])));
    await Promise.all(streams.map((s) => text(s)));
    expect(timer.at).toBeGreaterThanOrEqual(((600 - 1 - 64) / 100) * 1000 - 1);
    const before = timer.at;
    const download = throttle('download', Readable.from([Buffer.from(content)]));
    expect(await text(download)).toBe(content);
    expect(timer.at).toBe(before);
  });

  it('an error of the source reaches the reader; destroying the reader destroys the source', async () => {
    const bucket = new TokenBucket(1024 * 1024);
    const failing = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(text(throttleStream(failing, bucket))).rejects.toThrow('connection reset');
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
      },
    });
    const out = throttleStream(endless, bucket);
    out.destroy();
    await new Promise((resolve) => endless.once('close', resolve));
    expect(endless.destroyed).toBe(true);
  });

  it('a cancelled take stops waiting at once, queued or sleeping, and leaves no listener behind', async () => {
    const timer = manualTimer();
    const bucket = new TokenBucket(1000, { burst: 1000, timer });
    await bucket.take(1000);
    const first = bucket.take(2000); // sleeps 2 s
    const queued = new AbortController();
    const second = bucket.take(100, queued.signal); // queued behind the first
    queued.abort(new Error('pair paused'));
    await expect(second).rejects.toThrow('pair paused');
    expect(timer.waits.map((w) => w.ms)).toEqual([2000]);
    timer.waits[0]?.end();
    await first;

    const sleeping = new AbortController();
    const third = bucket.take(500, sleeping.signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(timer.waits.map((w) => w.ms)).toEqual([2000, 500]);
    sleeping.abort();
    await expect(third).rejects.toThrow();
    expect(timer.waits[1]?.aborted).toBe(true);

    const done = new AbortController();
    const fourth = bucket.take(0, done.signal);
    await new Promise((resolve) => setImmediate(resolve));
    timer.waits.at(-1)?.end();
    await fourth;
    expect(getEventListeners(done.signal, 'abort')).toHaveLength(0);
  });

  it('destroying a throttled stream ends its wait for tokens', async () => {
    const timer = manualTimer();
    const bucket = new TokenBucket(1000, { burst: 1000, timer });
    const source = new Readable({ read() {} });
    source.push(Buffer.alloc(1000));
    source.push(Buffer.alloc(5000));
    const out = throttleStream(source, bucket);
    out.resume();
    while (timer.waits.length === 0) await new Promise((resolve) => setImmediate(resolve));
    out.destroy();
    await new Promise((resolve) => source.once('close', resolve));
    expect(timer.waits[0]?.aborted).toBe(true);
  });

  it('no limits: no throttle at all', () => {
    expect(bandwidthThrottle({})).toBeUndefined();
  });
});
