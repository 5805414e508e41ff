import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { Entry, Problem } from '../core/entry.js';
import type { Action, CompareMode, Plan, Side } from '../core/plan.js';
import { otherSide } from '../core/plan.js';
import { partialPathFor } from '../core/temporaries.js';
import type { Endpoint, IncomingFile, WriteRequest } from '../endpoints/endpoint.js';
import { TetherError } from '../errors.js';
import type { ProgressTracker } from './progress.js';
import type { RetryPolicy } from '../core/retry.js';
import { backoff, DEFAULT_RETRY, isRetryable, nextRetry } from '../core/retry.js';

/** Files at least this big travel alone, resume from a partial file, and report progress as they go. */
export const LARGE_FILE_BYTES = 8 * 1024 * 1024;
/** A batch of small files is cut at this many files or bytes (or more files, see `batchFilesFor`). */
const BATCH_FILES = 512;
const BATCH_BYTES = 64 * 1024 * 1024;

/** Where applied actions are recorded: the ancestor moves forward one action at a time. */
export interface AncestorSink {
  put(entry: Entry): void;
  delete(path: string): void;
}

export type ActivityKind = 'upload' | 'download' | 'delete' | 'mkdir' | 'rename' | 'metadata' | 'problem';

export interface ActivityEvent {
  readonly side: Side;
  readonly kind: ActivityKind;
  readonly path: string;
  readonly bytes?: number;
  readonly message?: string;
}

export interface ApplyContext {
  readonly endpoints: Readonly<Record<Side, Endpoint>>;
  readonly compare: CompareMode;
  readonly ancestor: AncestorSink;
  readonly concurrency: number;
  readonly progress: ProgressTracker;
  readonly signal: AbortSignal;
  readonly onActivity: (event: ActivityEvent) => void;
  /**
   * A file with a known hash was written on `side`. The hash cache must learn it at once: the written file keeps
   * the source's size and mtime, so a cached hash of the version it replaced would otherwise still look valid.
   */
  readonly onHashKnown?: (side: Side, entry: Entry & { readonly sha256: string }) => void;
  /** Wraps every transferred file's stream (live sync's bandwidth limits). */
  readonly throttle?: StreamThrottle;
  /** How a batch cut by a retryable error (a dropped stream) is tried again; default `DEFAULT_RETRY`. */
  readonly retry?: RetryPolicy;
}

export interface ApplyResult {
  uploaded: number;
  downloaded: number;
  deletedLocal: number;
  deletedRemote: number;
  bytes: number;
  /** Actions that could not be applied (each also in `problems`); they are retried at the next sync. */
  failed: number;
  readonly problems: Problem[];
  /** Partial files to keep per side, because a transfer into them failed and will resume next time. */
  readonly keepPartials: Record<Side, Set<string>>;
}

type CopyAction = Extract<Action, { kind: 'copy' }>;

/** Wraps the content stream of each file as it travels (e.g. a bandwidth limit); must pass every byte through. */
export type StreamThrottle = (direction: 'upload' | 'download', stream: Readable) => Readable;

async function* throttled(
  files: AsyncIterable<IncomingFile>,
  throttle: StreamThrottle,
  direction: 'upload' | 'download',
): AsyncIterable<IncomingFile> {
  for await (const file of files) yield { ...file, stream: throttle(direction, file.stream) };
}

/** Totals of what a plan will transfer, for progress. */
export function transferTotals(plan: Plan): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const action of [...plan.local, ...plan.remote]) {
    if (action.kind === 'copy') {
      files++;
      bytes += action.source.size;
    }
  }
  return { files, bytes };
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new TetherError('cancelled', 'sync cancelled');
}

/**
 * Files per batch of small files: BATCH_FILES, or, where an endpoint asks for larger batches (`batchFiles`), as
 * many as spread the files over the concurrent slots, up to what it asks for.
 */
export function batchFilesFor(count: number, concurrency: number, endpoints: readonly Endpoint[]): number {
  const asked = Math.max(BATCH_FILES, ...endpoints.map((e) => e.capabilities.batchFiles ?? BATCH_FILES));
  return Math.min(asked, Math.max(BATCH_FILES, Math.ceil(count / Math.max(1, concurrency))));
}

/** Cuts copies into batches: each large file alone, small files grouped by count (`maxFiles`) and bytes. */
function batchesOf(copies: readonly CopyAction[], maxFiles: number): CopyAction[][] {
  const batches: CopyAction[][] = [];
  let current: CopyAction[] = [];
  let currentBytes = 0;
  for (const copy of copies) {
    if (copy.source.size >= LARGE_FILE_BYTES) {
      batches.push([copy]);
      continue;
    }
    if (current.length >= maxFiles || currentBytes + copy.source.size > BATCH_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(copy);
    currentBytes += copy.source.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Applies a plan to both endpoints, in the order that keeps every intermediate state safe:
 * conflict renames, then directories (parents first), then file copies in both directions with bounded
 * concurrency, then metadata, then deletions (children first). Every applied action moves the ancestor
 * forward at once, so a crash at any point leaves a state the next run re-plans from correctly.
 */
export async function applyPlan(plan: Plan, context: ApplyContext): Promise<ApplyResult> {
  const { endpoints, ancestor, signal } = context;
  const result: ApplyResult = {
    uploaded: 0,
    downloaded: 0,
    deletedLocal: 0,
    deletedRemote: 0,
    bytes: 0,
    failed: 0,
    problems: [...plan.problems],
    keepPartials: { local: new Set(), remote: new Set() },
  };
  const problem = (side: Side, p: Problem): void => {
    result.failed++;
    result.problems.push(p);
    context.onActivity({ side, kind: 'problem', path: p.path, message: p.message });
  };

  for (const entry of plan.inSync) ancestor.put(entry);
  for (const path of plan.forget) ancestor.delete(path);

  const sides: Side[] = ['local', 'remote'];

  // Renames first: a conflict's losing version moves aside before anything is written at its name.
  for (const side of sides) {
    for (const action of plan[side]) {
      if (action.kind !== 'rename') continue;
      throwIfAborted(signal);
      try {
        await endpoints[side].rename(action.path, action.to, action.expected);
        ancestor.delete(action.path);
        context.onActivity({ side, kind: 'rename', path: action.path, message: `kept as ${action.to}` });
      } catch (error) {
        problem(side, {
          path: action.path,
          message: `could not set the conflicting version aside: ${messageOf(error)}`,
        });
      }
    }
  }

  // Directories, parents first (the planner orders them).
  for (const side of sides) {
    const dirs = plan[side].flatMap((a) => (a.kind === 'mkdir' ? [a.source] : []));
    if (dirs.length === 0) continue;
    throwIfAborted(signal);
    const problems = await endpoints[side].mkdirs(dirs);
    const failed = new Set(problems.map((p) => p.path));
    for (const p of problems) problem(side, p);
    for (const dir of dirs) {
      if (failed.has(dir.path)) continue;
      ancestor.put(dir);
      context.onActivity({ side, kind: 'mkdir', path: dir.path });
    }
  }

  // File copies, both directions at once, bounded by the concurrency setting.
  const limit = pLimit(Math.max(1, context.concurrency));
  const jobs: Promise<void>[] = [];
  for (const side of sides) {
    const copies = plan[side].filter((a): a is CopyAction => a.kind === 'copy');
    const small = copies.reduce((n, copy) => n + (copy.source.size < LARGE_FILE_BYTES ? 1 : 0), 0);
    const maxFiles = batchFilesFor(small, context.concurrency, [endpoints.local, endpoints.remote]);
    for (const batch of batchesOf(copies, maxFiles)) {
      jobs.push(limit(() => copyBatch(side, batch, context, result, problem)));
    }
  }
  const settled = await Promise.allSettled(jobs);
  const fatal = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (fatal !== undefined) throw fatal.reason;
  throwIfAborted(signal);

  // Metadata-only updates.
  for (const side of sides) {
    const items = plan[side].flatMap((a) =>
      a.kind === 'metadata' ? [{ path: a.path, entry: a.source, expected: a.expected }] : [],
    );
    if (items.length === 0) continue;
    const problems = await endpoints[side].setMetadata(items);
    const failed = new Set(problems.map((p) => p.path));
    for (const p of problems) problem(side, p);
    for (const item of items) {
      if (failed.has(item.path)) continue;
      ancestor.put(item.entry);
      context.onActivity({ side, kind: 'metadata', path: item.path });
    }
  }

  // Deletions last, children first: nothing is removed before everything that had to be saved is saved.
  for (const side of sides) {
    const expected = plan[side].flatMap((a) => (a.kind === 'delete' ? [a.expected] : []));
    if (expected.length === 0) continue;
    throwIfAborted(signal);
    const { removed, problems } = await endpoints[side].remove(expected);
    for (const p of problems) problem(side, p);
    const kinds = new Map(expected.map((e) => [e.path, e.kind]));
    for (const path of removed) {
      ancestor.delete(path);
      if (kinds.get(path) !== 'dir') {
        if (side === 'local') result.deletedLocal++;
        else result.deletedRemote++;
      }
      context.onActivity({ side, kind: 'delete', path });
    }
  }
  return result;
}

/** Resume offsets of the large files among `copies` that `destination` holds partial files of. */
async function offsetsOf(destination: Endpoint, copies: readonly CopyAction[]): Promise<Map<string, number>> {
  const offsets = new Map<string, number>();
  if (!destination.capabilities.resumableWrites) return offsets;
  for (const action of copies) {
    if (action.source.size < LARGE_FILE_BYTES) continue;
    const offset = await destination.partialOffset(action.path, action.source);
    if (offset > 0 && offset <= action.source.size) offsets.set(action.path, offset);
  }
  return offsets;
}

/**
 * Copies one batch. A retryable failure (a cut stream) is retried with backoff within this sync: the files
 * not yet done go again, large ones from what their partial files already hold (see retry.ts). Problems
 * reported by an attempt that is then retried are dropped, since the retry reports its own.
 */
async function copyBatch(
  target: Side,
  batch: readonly CopyAction[],
  context: ApplyContext,
  result: ApplyResult,
  problem: (side: Side, p: Problem) => void,
): Promise<void> {
  throwIfAborted(context.signal);
  const destination = context.endpoints[target];
  const done = new Set<string>();
  let offsets = await offsetsOf(destination, batch);
  for (const offset of offsets.values()) context.progress.addBytes(offset);
  let attempts = 0;
  let stalled = 0;
  for (;;) {
    const pending = batch.filter((action) => !done.has(action.path));
    const held: Problem[] = [];
    const doneBefore = done.size;
    try {
      await copyAttempt(target, pending, offsets, context, result, held, done);
      for (const p of held) problem(target, p);
      return;
    } catch (error) {
      attempts++;
      let progressed = done.size > doneBefore;
      let next = offsets;
      if (isRetryable(error) && !context.signal.aborted) {
        const left = batch.filter((action) => !done.has(action.path));
        next = await offsetsOf(destination, left).catch(() => offsets);
        progressed ||= [...next].some(([path, offset]) => offset > (offsets.get(path) ?? 0));
      }
      stalled = progressed ? 0 : stalled + 1;
      const decision = nextRetry(context.retry ?? DEFAULT_RETRY, { attempts, stalled }, error);
      if (!decision.retry || context.signal.aborted) {
        for (const p of held) problem(target, p);
        throw error;
      }
      offsets = next;
      await backoff(decision.delayMs, context.signal);
    }
  }
}

async function copyAttempt(
  target: Side,
  batch: readonly CopyAction[],
  offsets: ReadonlyMap<string, number>,
  context: ApplyContext,
  result: ApplyResult,
  problems: Problem[],
  done: Set<string>,
): Promise<void> {
  const { signal, progress } = context;
  throwIfAborted(signal);
  const source = context.endpoints[otherSide(target)];
  const destination = context.endpoints[target];
  const requests: WriteRequest[] = [];
  for (const action of batch) {
    const offset = offsets.get(action.path) ?? 0;
    const sha = context.compare === 'sha256' ? action.source.sha256 : undefined;
    requests.push({
      path: action.path,
      entry: action.source,
      offset,
      ...(action.replaces === undefined ? {} : { replaces: action.replaces }),
      ...(sha === undefined ? {} : { verifySha256: sha }),
    });
  }
  const read = source.readFiles(
    requests.map((r) => ({ path: r.entry.path, entry: r.entry, offset: r.offset })),
    { signal },
  );
  const incoming =
    context.throttle === undefined
      ? read
      : throttled(read, context.throttle, target === 'remote' ? 'upload' : 'download');
  try {
    await destination.writeFiles(requests, incoming, {
      signal,
      onBytes: (bytes) => {
        progress.addBytes(bytes);
        result.bytes += bytes;
      },
      onFileDone: (request, written) => {
        done.add(request.path);
        progress.fileDone();
        // Record the version both sides now hold: the source's, with the hash if it was known.
        const sha256 = request.entry.sha256 ?? written.sha256;
        const recorded: Entry =
          sha256 === undefined ? { ...written, path: request.path } : { ...written, path: request.path, sha256 };
        context.ancestor.put(recorded);
        if (recorded.sha256 !== undefined) context.onHashKnown?.(target, { ...recorded, sha256: recorded.sha256 });
        if (target === 'remote') result.uploaded++;
        else result.downloaded++;
        context.onActivity({
          side: target,
          kind: target === 'remote' ? 'upload' : 'download',
          path: request.path,
          bytes: request.entry.size,
        });
      },
      onProblem: (p) => {
        problems.push(p);
      },
    });
  } finally {
    for (const request of requests) {
      if (!done.has(request.path)) result.keepPartials[target].add(partialPathFor(request.path, request.entry));
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
