/**
 * Runs a controller's sync pass whenever something changed, never two at once: a trigger during a pass
 * schedules exactly one more pass after it. Also runs on a period, as controllers resync.
 */
export class SyncLoop {
  private readonly job: () => Promise<void>;
  private readonly onError: (error: unknown) => void;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(job: () => Promise<void>, onError: (error: unknown) => void, periodMs?: number) {
    this.job = job;
    this.onError = onError;
    if (periodMs !== undefined) {
      this.timer = setInterval(() => this.trigger(), periodMs);
      this.timer.unref();
    }
  }

  /** Asks for a pass soon (coalescing bursts of store events into one). */
  trigger(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        await this.job();
      } catch (error) {
        this.onError(error);
      }
    })().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.start();
      }
    });
  }

  /** Resolves when no pass is running or pending. */
  async idle(): Promise<void> {
    while (this.running !== undefined || this.scheduled || this.again) {
      await (this.running ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }
}
