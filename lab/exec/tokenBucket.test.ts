import { describe, expect, it } from 'vitest';

import { TokenBucket, burstFor } from './tokenBucket.js';

describe('TokenBucket', () => {
  it('lets a burst through, then paces at the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 100, () => now);
    expect(bucket.take(100)).toBe(0);
    expect(bucket.take(100)).toBe(100); // 100 bytes at 1000 B/s
    now = 100;
    expect(bucket.take(50)).toBe(50);
  });

  it('refills while idle, up to the burst only', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 100, () => now);
    bucket.take(100);
    now = 10_000;
    expect(bucket.take(100)).toBe(0);
    expect(bucket.take(1)).toBeCloseTo(1);
  });

  it('grants frames larger than the burst, with a longer wait', () => {
    const now = 0;
    const bucket = new TokenBucket(1000, 10, () => now);
    expect(bucket.take(1010)).toBe(1000);
  });

  it('averages to the rate over many frames', () => {
    let now = 0;
    const bucket = new TokenBucket(20_000_000, burstFor(20_000_000), () => now);
    for (let i = 0; i < 1000; i += 1) now += bucket.take(65_536);
    // 65.5 MB at 20 MB/s: about 3.3 s, less the initial burst.
    expect(now / 1000).toBeGreaterThan(3.2);
    expect(now / 1000).toBeLessThan(3.3);
  });

  it('refuses a zero rate', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
  });
});
