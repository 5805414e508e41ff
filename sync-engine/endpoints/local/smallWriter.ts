import type { Worker } from 'node:worker_threads';
import { TetherError } from '../../errors.js';
import { messageOf } from './fsUtil.js';
import type { CommitOutcome, SmallCommit, SmallCopy } from './smallFiles.js';
import { startWorker } from './workerScript.js';

/** Work for the writer thread: a file received whole to commit, or a local file to copy. */
export type WriterRequest =
  { readonly id: number; readonly commit: SmallCommit } | { readonly id: number; readonly copy: SmallCopy };

/** Its outcome, as sent back, with the bytes read for a copy (0 for a commit). */
export interface WriterResult {
  readonly id: number;
  readonly outcome: CommitOutcome;
  readonly bytes: number;
}

export type WriterOutcome = Omit<WriterResult, 'id'>;

/** Commits gathered into one message: a message costs about as much as a commit's own work. */
const JOBS_PER_MESSAGE = 64;

const handled = { commits: 0, copies: 0 };

/** Files the writer threads of this process have committed and copied (diagnostics, tests). */
export function smallWriterCounts(): { readonly commits: number; readonly copies: number } {
  return { ...handled };
}

interface Waiter {
  readonly resolve: (outcome: WriterOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Puts small files in place on a thread of its own, created on first use and stopped by `close()`.
 *
 * A small file costs about a dozen short syscalls. Done on the main thread, the ones that write (create,
 * write, mode, mtime, the last look at the target, rename) take turns with reading the next file and with the
 * engine's bookkeeping; here they run beside them, and a slow disk or share no longer holds up the event loop.
 * Between two local folders the thread reads each file too (`copySmallFileSync`), so the main thread only
 * plans and records. Either way it runs the same synchronous code, with the same checks, as the main thread
 * would.
 */
export class SmallFileWriter {
  #worker: Worker | undefined;
  #queued: WriterRequest[] = [];
  #flushScheduled = false;
  readonly #waiting = new Map<number, Waiter>();
  #nextId = 0;
  #failure: Error | undefined;
  /** Called once nothing is waiting for the thread any more. */
  #drained: (() => void)[] = [];

  constructor(private readonly displayName: string) {}

  /** Commits a file received whole (`commitSmallFileSync`). Rejects only if the thread itself fails. */
  commit(job: SmallCommit): Promise<WriterOutcome> {
    handled.commits++;
    return this.#send((id) => ({ id, commit: { ...job, content: owned(job.content) } }));
  }

  /** Copies a small local file (`copySmallFileSync`). Rejects only if the thread itself fails. */
  copy(job: SmallCopy): Promise<WriterOutcome> {
    handled.copies++;
    return this.#send((id) => ({ id, copy: job }));
  }

  /** Stops the thread once the work sent to it is done. */
  async close(): Promise<void> {
    this.#flush();
    if (this.#waiting.size > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #send(request: (id: number) => WriterRequest): Promise<WriterOutcome> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const promise = new Promise<WriterOutcome>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    this.#queued.push(request(id));
    this.#worker?.ref();
    if (this.#queued.length >= JOBS_PER_MESSAGE) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return promise;
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#queued.length === 0) return;
    const jobs = this.#queued;
    this.#queued = [];
    const transfer = jobs.flatMap((job) => ('commit' in job ? [job.commit.content.buffer as ArrayBuffer] : []));
    try {
      this.#started().postMessage(jobs, transfer);
    } catch (error) {
      this.#fail(error);
    }
  }

  #started(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = startWorker('smallWriterWorker', {});
    worker.on('message', (results: readonly WriterResult[]) => {
      for (const { id, outcome, bytes } of results) {
        const waiter = this.#waiting.get(id);
        this.#waiting.delete(id);
        waiter?.resolve({ outcome, bytes });
      }
      this.#notifyIfDrained();
    });
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#fail(new Error(`it exited with code ${code}`));
    });
    this.#worker = worker;
    return worker;
  }

  #fail(cause: unknown): void {
    this.#failure ??= new TetherError(
      'internal',
      `the thread writing small files to ${this.displayName} failed (${messageOf(cause)}); the files it had ` +
        'not confirmed are looked at again by the next sync',
      { cause },
    );
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const waiter of waiting) waiter.reject(this.#failure);
    this.#notifyIfDrained();
  }

  #notifyIfDrained(): void {
    if (this.#waiting.size > 0) return;
    // Held only while work is out: an idle thread of an endpoint nobody closed does not keep the process alive.
    this.#worker?.unref();
    const drained = this.#drained;
    this.#drained = [];
    for (const resolve of drained) resolve();
  }
}

/** A copy of `bytes` that owns its whole buffer, so it can be transferred (not cloned) to the thread. */
function owned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes;
  }
  return new Uint8Array(bytes);
}
