/** What a long sync reports while it runs: files and bytes done and total, rate, ETA. */
export interface SyncProgress {
  readonly phase: 'scanning' | 'hashing' | 'planning' | 'transferring' | 'finishing';
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Bytes per second, smoothed over the last few seconds. */
  readonly bytesPerSecond: number;
  /** Seconds left at the current rate, when it can be estimated. */
  readonly etaSeconds?: number;
  /** Entries seen so far while scanning (both sides). */
  readonly scanned?: number;
}

/**
 * Tracks transfer progress and smooths the rate with an exponential moving average, so a progress bar does not
 * jump with every chunk. `now` is injectable for tests.
 */
export class ProgressTracker {
  private filesDone = 0;
  private bytesDone = 0;
  private rate = 0;
  private lastSampleAt: number;
  private bytesAtLastSample = 0;
  private phase: SyncProgress['phase'] = 'scanning';
  private scanned = 0;

  constructor(
    private filesTotal = 0,
    private bytesTotal = 0,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastSampleAt = now();
  }

  setPhase(phase: SyncProgress['phase']): void {
    this.phase = phase;
  }

  setScanned(count: number): void {
    this.scanned = count;
  }

  setTotals(files: number, bytes: number): void {
    this.filesTotal = files;
    this.bytesTotal = bytes;
  }

  addBytes(bytes: number): void {
    this.bytesDone += bytes;
  }

  fileDone(): void {
    this.filesDone += 1;
  }

  snapshot(): SyncProgress {
    const now = this.now();
    const elapsed = (now - this.lastSampleAt) / 1000;
    if (elapsed >= 0.25) {
      const instant = (this.bytesDone - this.bytesAtLastSample) / elapsed;
      // Weight recent samples more, but keep ~3 s of memory.
      const alpha = Math.min(1, elapsed / 3);
      this.rate = this.rate === 0 ? instant : this.rate + alpha * (instant - this.rate);
      this.lastSampleAt = now;
      this.bytesAtLastSample = this.bytesDone;
    }
    const remaining = Math.max(0, this.bytesTotal - this.bytesDone);
    const base = {
      phase: this.phase,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      bytesPerSecond: Math.round(this.rate),
      scanned: this.scanned,
    };
    return this.rate > 0 ? { ...base, etaSeconds: Math.ceil(remaining / this.rate) } : base;
  }
}

/** `1.5 GiB`, `12 KiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `1h02m`, `3m05s`, `42s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
