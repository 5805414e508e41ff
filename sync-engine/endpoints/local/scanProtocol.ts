import type { MessagePort } from 'node:worker_threads';
import type { IgnoreRules } from '../../core/ignore.js';
import type { NarrowScope } from '../../core/narrowScope.js';

/**
 * Messages between the scan driver (`scan.ts`, main thread) and the scan worker (`scanWorker.ts`).
 *
 * The worker lists folders with synchronous `readdir` + `lstat` and sends entries in batches. Paths travel
 * NUL-joined in one string (a path never contains NUL) and numbers in one transferred Float64Array, so a
 * batch of thousands of entries costs two allocations, not thousands.
 *
 * When the caller's ignore matcher carries its rules (`IgnoreMatcher.rules`), the worker builds the same matcher and
 * applies it itself, descending without asking. When the caller has only a main-thread function, the worker does not descend into a folder
 * until the main thread has answered for it: every batch reports how many folders it holds, and the answer
 * (sent on `answers`, with `wake` bumped so a waiting worker wakes up) lists the ones to descend into. The
 * worker keeps listing other folders while answers are in flight.
 */
export interface ScanWorkerData {
  readonly root: string;
  /** Whether to wait for the main thread's answer before descending into a folder. */
  readonly decide: boolean;
  /** Ignore rules the worker applies itself (then `decide` is false and the main thread applies none). */
  readonly rules: IgnoreRules | undefined;
  /** Where the main thread's answers come (needed only when deciding). */
  readonly answers?: MessagePort;
  /** Int32Array over this: [0] is bumped (and notified) after every answer (needed only when deciding). */
  readonly wake?: SharedArrayBuffer;
  /** A narrowed scan (`ScanOptions.within`): start from these paths instead of the root. */
  readonly within?: NarrowScope;
}

/** Entry kinds in a batch's `info` array. */
export const KIND_FILE = 0;
export const KIND_EXECUTABLE = 1;
export const KIND_DIR = 2;

/** Numbers per entry in `info`: kind, size, integer-ms mtime. */
export const INFO_STRIDE = 3;

export interface ScanBatchProblem {
  readonly path: string;
  readonly message: string;
  /** Whether the problem is about the path as an entry (skipped link, bad name): ignore rules apply to it. */
  readonly ignorable: boolean;
}

export interface ScanBatch {
  readonly type: 'batch';
  readonly count: number;
  /** `count` relative paths joined with NUL. */
  readonly paths: string;
  /** `count * INFO_STRIDE` numbers. */
  readonly info: Float64Array;
  /** Folders in this batch (those the main thread must answer for when deciding). */
  readonly dirs: number;
  readonly problems: ScanBatchProblem[];
  readonly unlisted: string[];
  readonly temporaries: string[];
}

export interface ScanFatal {
  readonly type: 'fatal';
  readonly message: string;
  readonly code: string | undefined;
}

export interface ScanDone {
  readonly type: 'done';
}

export type ScanWorkerMessage = ScanBatch | ScanFatal | ScanDone;

export interface ScanAnswer {
  /** How many of the worker's pending folders this answers. */
  readonly answered: number;
  /** The folders to descend into, NUL-joined ('' for none). */
  readonly descend: string;
}
