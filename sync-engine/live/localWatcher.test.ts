import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChangeBatcher } from './localWatcher.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('ChangeBatcher', () => {
  it('a burst of events makes one batch, once the events stop for the debounce period', () => {
    const batches: number[] = [];
    const batcher = new ChangeBatcher({ debounceMs: 500, maxBatchWaitMs: 5000 }, (n) => batches.push(n));
    for (let i = 0; i < 10_000; i++) {
      batcher.add();
      if (i % 100 === 0) vi.advanceTimersByTime(10); // 10,000 events over a second
    }
    vi.advanceTimersByTime(499);
    expect(batches).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(batches).toEqual([10_000]);
  });

  it('a steady trickle still ends a batch every maxBatchWaitMs', () => {
    const batches: number[] = [];
    const batcher = new ChangeBatcher({ debounceMs: 500, maxBatchWaitMs: 2000 }, (n) => batches.push(n));
    for (let t = 0; t < 5000; t += 100) {
      batcher.add();
      vi.advanceTimersByTime(100);
    }
    expect(batches).toEqual([20, 20]);
  });

  it('close drops what is pending', () => {
    const batches: number[] = [];
    const batcher = new ChangeBatcher({ debounceMs: 100, maxBatchWaitMs: 1000 }, (n) => batches.push(n));
    batcher.add();
    batcher.close();
    vi.advanceTimersByTime(1000);
    expect(batches).toEqual([]);
  });
});
