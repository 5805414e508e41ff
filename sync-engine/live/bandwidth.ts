import { pipeline, Readable, Transform } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { StreamThrottle } from '../controller/applyPlan.js';

/** A clock and a sleep, injectable so tests run on fake time. */
export interface Timer {
  now(): number;
  /** Resolves after `ms`; rejects at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const REAL_TIMER: Timer = {
  now: () => performance.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal === undefined ? {} : { signal }),
};

/**
 * A token bucket shared by every stream it throttles: `rate` bytes per second on average, bursts of up to `burst`
 * bytes. Takes are served first come, first served; a take larger than the bucket runs into debt and the next take
 * waits it off, so the long-run rate holds whatever the chunk sizes.
 */
export class TokenBucket {
  readonly rate: number;
  readonly #burst: number;
  readonly #timer: Timer;
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(rate: number, options: { burst?: number; timer?: Timer } = {}) {
    if (!(rate > 0)) throw new RangeError('a bandwidth limit must be above 0 bytes per second');
    this.rate = rate;
    // Default burst: a quarter second of traffic, at least one 64 KiB chunk.
    this.#burst = options.burst ?? Math.max(64 * 1024, rate / 4);
    this.#timer = options.timer ?? REAL_TIMER;
    this.#tokens = this.#burst;
    this.#last = this.#timer.now();
  }

  /**
   * Resolves when `bytes` may pass. When `signal` aborts, rejects at once (whether still queued or waiting), so a
   * cancelled transfer does not hold its stream open for the rest of its wait; a take that was already charged
   * stays charged, and the next take waits that debt off, so the long-run rate still holds.
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#take(bytes, signal));
    this.#queue = turn.catch(() => undefined);
    if (signal === undefined) return turn;
    // Queued behind other takes: leave the queue at once, not when this take's turn comes.
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortReason(signal));
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      turn.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  async #take(bytes: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const now = this.#timer.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    this.#tokens -= bytes;
    if (this.#tokens < 0) await this.#timer.sleep((-this.#tokens / this.rate) * 1000, signal);
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** The largest slice that waits for tokens at once: keeps progress smooth at low rates. */
const SLICE = 64 * 1024;

/** A stream that passes `source` through at the bucket's pace. Destroying either end destroys the other. */
export function throttleStream(source: Readable, bucket: TokenBucket): Readable {
  // Destroying the stream (a cancelled or failed transfer) ends its wait for tokens at once.
  const closed = new AbortController();
  const gate = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      void (async () => {
        for (let offset = 0; offset < chunk.length; offset += SLICE) {
          const slice = chunk.subarray(offset, offset + SLICE);
          await bucket.take(slice.length, closed.signal);
          if (gate.destroyed) return;
          gate.push(slice);
        }
      })().then(
        () => callback(),
        (error: unknown) => (gate.destroyed ? undefined : callback(error as Error)),
      );
    },
  });
  gate.once('close', () => closed.abort());
  // pipeline forwards errors both ways and destroys the source if the consumer gives up.
  pipeline(source, gate, () => undefined);
  return gate;
}

/** Upload and download limits (bytes per second; undefined: unlimited), for every pair of a process together. */
export interface BandwidthLimits {
  readonly uploadBytesPerSecond?: number;
  readonly downloadBytesPerSecond?: number;
}

/** The throttle the controller applies to every transferred file, or undefined when nothing is limited. */
export function bandwidthThrottle(limits: BandwidthLimits, timer: Timer = REAL_TIMER): StreamThrottle | undefined {
  const upload =
    limits.uploadBytesPerSecond === undefined ? undefined : new TokenBucket(limits.uploadBytesPerSecond, { timer });
  const download =
    limits.downloadBytesPerSecond === undefined ? undefined : new TokenBucket(limits.downloadBytesPerSecond, { timer });
  if (upload === undefined && download === undefined) return undefined;
  return (direction, stream) => {
    const bucket = direction === 'upload' ? upload : download;
    return bucket === undefined ? stream : throttleStream(stream, bucket);
  };
}
