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

  it('no limits: no throttle at all', () => {
    expect(bandwidthThrottle({})).toBeUndefined();
  });
});
