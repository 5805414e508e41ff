import { describe, expect, it } from 'vitest';
import { ProgressTracker, formatBytes, formatDuration } from './progress.js';

describe('ProgressTracker', () => {
  it('reports files, bytes, a smoothed rate and an ETA', () => {
    let now = 0;
    const tracker = new ProgressTracker(4, 4000, () => now);
    tracker.setPhase('transferring');
    expect(tracker.snapshot()).toMatchObject({ bytesPerSecond: 0, filesDone: 0 });
    expect(tracker.snapshot().etaSeconds).toBeUndefined();

    now = 1000;
    tracker.addBytes(1000);
    tracker.fileDone();
    const first = tracker.snapshot();
    expect(first).toMatchObject({ phase: 'transferring', filesDone: 1, filesTotal: 4, bytesDone: 1000 });
    expect(first.bytesPerSecond).toBe(1000);
    expect(first.etaSeconds).toBe(3);

    now = 2000;
    tracker.addBytes(2000);
    const second = tracker.snapshot();
    // Smoothed: between the old rate (1000/s) and the new instant rate (2000/s).
    expect(second.bytesPerSecond).toBeGreaterThan(1000);
    expect(second.bytesPerSecond).toBeLessThan(2000);
  });
});

describe('formatting', () => {
  it.each([
    [512, '512 B'],
    [2048, '2.0 KiB'],
    [1536 * 1024 * 1024, '1.5 GiB'],
    [200 * 1024 * 1024, '200 MiB'],
  ])('formatBytes(%d) = %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));

  it.each([
    [42, '42s'],
    [185, '3m05s'],
    [3720, '1h02m'],
  ])('formatDuration(%d) = %s', (seconds, text) => expect(formatDuration(seconds)).toBe(text));
});
