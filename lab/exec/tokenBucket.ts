/**
 * A token bucket for one direction of one session: `rate` bytes per second, bursts of up to `burst` bytes.
 * `take(n)` always grants (the bucket may go into debt) and says how long to wait before sending, so a frame
 * larger than the burst is still sent, just later. Time comes from `now` (milliseconds) so tests can drive it.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError('a token bucket needs a positive rate and burst');
    this.tokens = burst;
    this.last = now();
  }

  /** Takes `bytes` tokens; returns the milliseconds to wait before the bytes may go out (0 when within budget). */
  take(bytes: number): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate;
  }
}

/** The burst for a rate: a tenth of a second's worth, between 1 byte and 256 KiB. */
export function burstFor(rate: number): number {
  return Math.max(1, Math.min(rate / 10, 256 * 1024));
}
