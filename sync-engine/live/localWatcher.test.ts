import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_NARROW_PATHS } from '../core/narrowScope.js';
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

  it('names the changed paths of each batch; too many, or an event without a path, names none', () => {
    const batches: (string[] | undefined)[] = [];
    const batcher = new ChangeBatcher({ debounceMs: 100, maxBatchWaitMs: 1000 }, (_n, paths) =>
      batches.push(paths === undefined ? undefined : [...paths].sort()),
    );
    batcher.add('a/x');
    batcher.add('b');
    batcher.add('a/x');
    vi.advanceTimersByTime(100);
    for (let i = 0; i <= MAX_NARROW_PATHS; i++) batcher.add(`f${i}`);
    vi.advanceTimersByTime(100);
    batcher.add('c');
    vi.advanceTimersByTime(100);
    batcher.add('d');
    batcher.add();
    vi.advanceTimersByTime(100);
    expect(batches).toEqual([['a/x', 'b'], undefined, ['c'], undefined]);
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
