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

    now = 2000;
    tracker.addBytes(2000);
    const second = tracker.snapshot();
    // Smoothed: between the old rate (1000/s) and the new instant rate (2000/s).
    expect(second.bytesPerSecond).toBeGreaterThan(1000);
    expect(second.bytesPerSecond).toBeLessThan(2000);
  });
});

describe('the ETA early in a transfer', () => {
  const MiB = 1024 * 1024;
  // Each case: a transfer of `total` bytes after `scanMs` of scanning; `steps` are [ms since the transfer
  // started, bytes done then]; `eta` is what the last snapshot says.
  const cases: {
    description: string;
    total: number;
    scanMs: number;
    steps: [number, number][];
    eta: number | undefined;
  }[] = [
    {
      description: 'a first burst into buffers gives no ETA (it would promise 1 s for a 100 MiB transfer)',
      total: 100 * MiB,
      scanMs: 0,
      steps: [[300, 30 * MiB]],
      eta: undefined,
    },
    {
      description: 'none before 2 s of transfer, however many bytes moved',
      total: 100 * MiB,
      scanMs: 0,
      steps: [
        [500, 2 * MiB],
        [1900, 8 * MiB],
      ],
      eta: undefined,
    },
    {
      description: 'none while too few bytes moved (a pod still starting)',
      total: 100 * MiB,
      scanMs: 0,
      steps: [[5000, 100 * 1024]],
      eta: undefined,
    },
    {
      description: 'after 2 s, from the average since the start: a burst then a steady 1 MiB/s',
      total: 100 * MiB,
      scanMs: 0,
      steps: [
        [250, 8 * MiB],
        [1000, 9 * MiB],
        [2000, 10 * MiB],
        [4000, 12 * MiB],
      ],
      // 12 MiB in 4 s = 3 MiB/s; 88 MiB left.
      eta: Math.ceil(88 / 3),
    },
    {
      description: 'scanning time before the transfer does not slow the estimate',
      total: 40 * MiB,
      scanMs: 60_000,
      steps: [
        [1000, 4 * MiB],
        [2000, 8 * MiB],
      ],
      // 4 MiB/s over the transfer alone; 32 MiB left.
      eta: 8,
    },
    {
      description: 'a small transfer needs only 1% of its bytes moved',
      total: 10 * 1024,
      scanMs: 0,
      steps: [
        [1000, 1024],
        [2000, 2048],
      ],
      eta: 8,
    },
    {
      description: 'done is 0 s left',
      total: 4 * MiB,
      scanMs: 0,
      steps: [[2500, 4 * MiB]],
      eta: 0,
    },
  ];

  it.each(cases)('$description', ({ total, scanMs, steps, eta }) => {
    let now = 0;
    const tracker = new ProgressTracker(0, 0, () => now);
    tracker.setPhase('scanning');
    now = scanMs;
    tracker.snapshot();
    tracker.setPhase('transferring');
    tracker.setTotals(10, total);
    let done = 0;
    let last = tracker.snapshot();
    for (const [at, bytes] of steps) {
      now = scanMs + at;
      tracker.addBytes(bytes - done);
      done = bytes;
      last = tracker.snapshot();
    }
    expect(last.etaSeconds).toBe(eta);
  });

  it('after 10 s, the smoothed recent rate follows a slowdown the average would hide', () => {
    let now = 0;
    const tracker = new ProgressTracker(10, 1000 * MiB, () => now);
    tracker.setPhase('transferring');
    // 10 MiB/s for 10 s, then 1 MiB/s for 20 s (snapshots every 200 ms, as the controller takes them).
    for (let t = 200; t <= 30_000; t += 200) {
      now = t;
      tracker.addBytes(t <= 10_000 ? 2 * MiB : 0.2 * MiB);
      tracker.snapshot();
    }
    const left = 1000 - 100 - 20;
    const eta = tracker.snapshot().etaSeconds ?? 0;
    // The average (120 MiB in 30 s = 4 MiB/s) would say 220 s; the recent rate (~1 MiB/s) says ~880 s.
    expect(eta).toBeGreaterThan(left / 1.2);
    expect(eta).toBeLessThan(left / 0.9);
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
