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

/** No ETA before the transfer has run this long… */
export const ETA_MIN_ELAPSED_MS = 2_000;
/** …nor before this many bytes (or 1% of the total, when that is less) have moved. */
export const ETA_MIN_BYTES = 1024 * 1024;
/** Until then the ETA uses the average rate since the transfer started; after, the smoothed recent rate. */
export const ETA_AVERAGE_UNTIL_MS = 10_000;

/**
 * Tracks transfer progress and smooths the rate with an exponential moving average, so a progress bar does not
 * jump with every chunk. `now` is injectable for tests.
 *
 * The ETA is withheld early in a transfer: the first chunks land in buffers (or wait for a pod to start), so a
 * rate from the first fraction of a second promised seconds for hours of work, or the reverse. It appears once
 * the transfer ran for `ETA_MIN_ELAPSED_MS` and moved enough bytes, first from the average since the transfer
 * started, then from the smoothed rate.
 */
export class ProgressTracker {
  private filesDone = 0;
  private bytesDone = 0;
  private rate = 0;
  private lastSampleAt: number;
  private bytesAtLastSample = 0;
  private phase: SyncProgress['phase'] = 'scanning';
  private scanned = 0;
  private transferStartedAt: number;
  private bytesAtTransferStart = 0;

  constructor(
    private filesTotal = 0,
    private bytesTotal = 0,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastSampleAt = now();
    this.transferStartedAt = this.lastSampleAt;
  }

  setPhase(phase: SyncProgress['phase']): void {
    if (phase === 'transferring' && this.phase !== 'transferring') {
      // The rate is measured from here: scanning and planning moved no bytes and must not dilute it.
      const now = this.now();
      this.transferStartedAt = now;
      this.bytesAtTransferStart = this.bytesDone;
      this.lastSampleAt = now;
      this.bytesAtLastSample = this.bytesDone;
      this.rate = 0;
    }
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
    const eta = this.#etaSeconds(now, remaining);
    return eta === undefined ? base : { ...base, etaSeconds: eta };
  }

  #etaSeconds(now: number, remaining: number): number | undefined {
    const elapsed = now - this.transferStartedAt;
    const moved = this.bytesDone - this.bytesAtTransferStart;
    // Invariant: no ETA until the transfer ran long enough and moved enough to say anything.
    if (elapsed < ETA_MIN_ELAPSED_MS || moved < Math.min(ETA_MIN_BYTES, this.bytesTotal * 0.01) || moved <= 0)
      return undefined;
    if (remaining === 0) return 0;
    // Early on, the average since the start is steadier than a smoothed rate seeded by the first burst.
    const rate = elapsed < ETA_AVERAGE_UNTIL_MS || this.rate <= 0 ? (moved * 1000) / elapsed : this.rate;
    return Math.ceil(remaining / rate);
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
