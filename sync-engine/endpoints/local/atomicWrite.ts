import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { chmod, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Entry } from '../../core/entry.js';
import { baseName } from '../../core/entry.js';
import { partialPathFor } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { IncomingFile, WriteHooks, WriteRequest } from '../endpoint.js';
import {
  entryOfStats,
  errnoOf,
  lstatOrUndefined,
  messageOf,
  modeFor,
  noSpaceError,
  setMtime,
  SMALL_FILE_BYTES,
} from './fsUtil.js';
import { FileSink } from './fileSink.js';
import type { RootedPaths } from './paths.js';
import {
  commitSmallFileSync,
  interrupted,
  PARTIAL_CREATE_FLAGS,
  receiveSmall,
  settleCommit,
  targetChanged,
  unreadable,
} from './smallFiles.js';
import type { CommitOutcome, SmallCommit, SmallCopy } from './smallFiles.js';
import type { SmallFileWriter, WriterOutcome } from './smallWriter.js';
import { LocalReads, openLocalFile } from './readFiles.js';

export interface WriteTarget {
  readonly paths: RootedPaths;
  readonly displayName: string;
  /** Puts small files in place on a second thread; without it they are committed on this one. */
  readonly smallWriter?: SmallFileWriter;
}

/** Fewer small files than this are committed on this thread: not worth waking the writer thread. */
const WRITER_MIN_FILES = 64;
/** Bounds on commits handed to the writer thread and not yet confirmed (the bytes are held until then). */
const WRITER_MAX_FILES = 256;
const WRITER_MAX_BYTES = 16 * 1024 * 1024;

type Outcome = { readonly ok: true; readonly written: Entry } | { readonly ok: false; readonly message: string };

const fail = (message: string): Outcome => ({ ok: false, message });

/** Bytes already in the partial file of exactly this version of `path` (0 when there is none). */
export async function partialOffsetOf(paths: RootedPaths, path: string, entry: Entry): Promise<number> {
  const resolved = await paths.resolve(partialPathFor(path, entry));
  if (!resolved.ok) return 0;
  const stats = await lstatOrUndefined(resolved.abs);
  if (stats === undefined || !stats.isFile() || stats.size > entry.size) return 0;
  return stats.size;
}

/** Counts, hashes and bounds the bytes on their way to disk. */
class Meter extends Transform {
  received = 0;
  overflow = false;

  constructor(
    private readonly limit: number,
    private readonly hash: Hash | undefined,
    private readonly onBytes: ((bytes: number) => void) | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.limit) {
      this.overflow = true;
      callback(new Error(`the source sent more than the ${this.limit} bytes expected`));
      return;
    }
    this.hash?.update(chunk);
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }
}

async function hashPrefix(abs: string, bytes: number, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(abs, { start: 0, end: bytes - 1, highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
  }
}

/** What becomes of the bytes of an interrupted transfer: large files keep them for a resume. */
function afterwards(kept: boolean, bytes: number): string {
  return kept && bytes > 0
    ? `the ${bytes} bytes received are kept and the next sync resumes from there`
    : 'the next sync sends it again';
}

/** Read through a function: TypeScript would otherwise keep a narrowing across the awaits in between. */
function erroredOf(stream: Readable): Error | null {
  return stream.errored;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function cancelled(displayName: string): TetherError {
  return new TetherError('cancelled', `writing to ${displayName} cancelled`);
}

/**
 * Writes files atomically (see `Endpoint.writeFiles`): each file's content goes to its partial file
 * (`partialPathFor`) beside the target, appending when resuming; once complete it is checked (size, and
 * SHA-256 when asked), given its mode and mtime, and renamed into place if, and only if, the target is still
 * what the scan saw (`replaces`). Failures of one file are problems; cancellation, a full disk, a read-only
 * filesystem and a broken source iteration reject.
 */
export async function writeLocalFiles(
  target: WriteTarget,
  requests: readonly WriteRequest[],
  incoming: AsyncIterable<IncomingFile>,
  hooks: WriteHooks = {},
): Promise<void> {
  const verified = new Set<string>();
  let laterBytes = requests.reduce((sum, r) => sum + Math.max(0, r.entry.size - r.offset), 0);
  const report = (request: WriteRequest, outcome: Outcome): void => {
    if (outcome.ok) hooks.onFileDone?.(request, outcome.written);
    else hooks.onProblem?.({ path: request.path, message: outcome.message });
  };
  const writer = requests.filter(isSmall).length >= WRITER_MIN_FILES ? target.smallWriter : undefined;
  // From another local folder, small files are copied on the writer thread, source to target, never streamed.
  const direct = writer !== undefined && incoming instanceof LocalReads ? incoming : undefined;
  const iterator = direct === undefined ? incoming[Symbol.asyncIterator]() : undefined;
  const sourceVerified = new Set<string>();
  const handedOff = new HandedOff();
  // The first file, in request order, that met a full disk or a read-only filesystem on the thread: several
  // out at once can, and the error must name the first with the bytes still needed from it on.
  let fatal: { index: number; job: SmallCommit | SmallCopy; outcome: CommitOutcome; later: number } | undefined;
  const handOff = async (
    index: number,
    request: WriteRequest,
    job: SmallCommit | SmallCopy,
    bytes: number,
    work: Promise<WriterOutcome>,
    later: number,
  ): Promise<void> => {
    const handled = work.then(({ outcome, bytes: read }) => {
      if (read > 0) hooks.onBytes?.(read);
      if ('fatal' in outcome) {
        if (fatal === undefined || index < fatal.index) fatal = { index, job, outcome, later };
      } else report(request, outcome);
    });
    await handedOff.add(handled, bytes);
  };
  try {
    for (const [index, request] of requests.entries()) {
      handedOff.throwIfFailed();
      if (fatal !== undefined) break;
      if (isAborted(hooks.signal)) throw cancelled(target.displayName);
      laterBytes -= Math.max(0, request.entry.size - request.offset);
      let file: IncomingFile;
      if (direct === undefined)
        file = await nextFrom(iterator as AsyncIterator<IncomingFile>, index, requests, request);
      else {
        // The source's own request: under another name when a conflict copy is written.
        const source = direct.requests[index];
        if (source === undefined || source.offset !== request.offset) {
          throw new TetherError('internal', `files requested out of order: ${request.path} has no matching read`);
        }
        if (isSmall(request) && request.verifySha256 === undefined) {
          const copy = await directCopy(target, direct.paths, source.path, request, verified, sourceVerified);
          if ('ok' in copy) report(request, copy);
          else await handOff(index, request, copy, 0, (writer as SmallFileWriter).copy(copy), laterBytes);
          continue;
        }
        file = { ...source, stream: await openLocalFile(direct.paths, source, sourceVerified) };
      }
      let outcome: Outcome | SmallCommit;
      try {
        outcome = await writeOne(target, request, file.stream, hooks, verified, laterBytes, writer !== undefined);
      } catch (error) {
        file.stream.destroy();
        throw error;
      }
      if (!('ok' in outcome)) {
        // A small file received whole: the writer thread puts it in place while the next one is read.
        const bytes = outcome.content.length; // read now: handing the content over detaches it
        await handOff(index, request, outcome, bytes, (writer as SmallFileWriter).commit(outcome), laterBytes);
        continue;
      }
      if (!outcome.ok) file.stream.destroy();
      report(request, outcome);
    }
  } finally {
    // The source first: it may hold an exec or a file open until told that nothing more will be read.
    try {
      await iterator?.return?.();
    } finally {
      await handedOff.settled();
    }
  }
  handedOff.throwIfFailed();
  if (fatal !== undefined) await settleCommit(target.displayName, fatal.job, fatal.outcome, fatal.later);
}

/** The next file from the source, which must be the one requested. */
async function nextFrom(
  iterator: AsyncIterator<IncomingFile>,
  index: number,
  requests: readonly WriteRequest[],
  request: WriteRequest,
): Promise<IncomingFile> {
  const next = await iterator.next();
  if (next.done === true) {
    throw new TetherError(
      'transfer-failed',
      `the source stopped after ${index} of ${requests.length} files; ${request.path} and the rest were not received`,
      { retryable: true },
    );
  }
  const file = next.value;
  if (file.path !== request.path || file.offset !== request.offset) {
    file.stream.destroy();
    throw new TetherError(
      'internal',
      `files arrived out of order: expected ${request.path} from byte ${request.offset}, got ${file.path} from byte ${file.offset}`,
    );
  }
  return file;
}

/** A small file to copy from a local source on the writer thread, or why it cannot be. */
async function directCopy(
  target: WriteTarget,
  sourcePaths: RootedPaths,
  sourcePath: string,
  request: WriteRequest,
  verified: Set<string>,
  sourceVerified: Set<string>,
): Promise<Outcome | SmallCopy> {
  const { path, entry, replaces } = request;
  const source = await sourcePaths.resolve(sourcePath, sourceVerified);
  if (!source.ok) return unreadable(sourcePath, source.missing ? 'it vanished since the scan' : source.reason);
  const resolved = await target.paths.resolve(path, verified);
  if (!resolved.ok) return fail(`not written: ${resolved.reason}`);
  const targetAbs = resolved.abs;
  return {
    path,
    entry,
    ...(replaces === undefined ? {} : { replaces }),
    sourcePath,
    sourceAbs: source.abs,
    partialAbs: join(dirname(targetAbs), baseName(partialPathFor(path, entry))),
    targetAbs,
  };
}

/**
 * Work handed to the writer thread and not yet confirmed: at most `WRITER_MAX_FILES` files or
 * `WRITER_MAX_BYTES` bytes are out at a time. Each piece handles its own outcome; if that handling throws (a
 * report that failed to record), the first such error is kept to be thrown, and the rest still run.
 */
class HandedOff {
  readonly #pending = new Set<Promise<void>>();
  #bytes = 0;
  #failed = false;
  #failure: unknown;

  /** Hands off one piece of work; waits while too much is out. */
  async add(work: Promise<void>, bytes: number): Promise<void> {
    this.#bytes += bytes;
    const tracked: Promise<void> = work
      .catch((error: unknown) => {
        if (this.#failed) return;
        this.#failed = true;
        this.#failure = error;
      })
      .finally(() => {
        this.#pending.delete(tracked);
        this.#bytes -= bytes;
      });
    this.#pending.add(tracked);
    while (this.#pending.size >= WRITER_MAX_FILES || this.#bytes > WRITER_MAX_BYTES) {
      await Promise.race(this.#pending);
    }
  }

  throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }

  /** Waits for everything out, so each file is reported (also when the transfer stops early). Never rejects. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}

/** Received whole and written in one go: a file of at most `SMALL_FILE_BYTES`, from its start (never resumed). */
function isSmall(request: WriteRequest): boolean {
  return request.offset === 0 && request.entry.kind === 'file' && request.entry.size <= SMALL_FILE_BYTES;
}

async function writeOne(
  target: WriteTarget,
  request: WriteRequest,
  source: Readable,
  hooks: WriteHooks,
  verified: Set<string>,
  laterBytes: number,
  handOff: boolean,
): Promise<Outcome | SmallCommit> {
  const { path, entry, offset } = request;
  if (entry.kind !== 'file') return fail(`not written: the source is a ${entry.kind}, not a file`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > entry.size) {
    return fail(`not written: resume offset ${offset} is outside the file (0 to ${entry.size} bytes)`);
  }
  const early = erroredOf(source);
  const small = isSmall(request);
  if (early !== null) return fail(`transfer interrupted (${early.message}); ${afterwards(!small, offset)}`);
  const resolved = await target.paths.resolve(path, verified);
  if (!resolved.ok) return fail(`not written: ${resolved.reason}`);
  const targetAbs = resolved.abs;
  const partialAbs = join(dirname(targetAbs), baseName(partialPathFor(path, entry)));
  if (small) {
    const received = await receiveWhole(target, request, source, hooks, partialAbs, targetAbs);
    if ('ok' in received || handOff) return received;
    return settleCommit(target.displayName, received, commitSmallFileSync(received), laterBytes);
  }

  if (offset > 0) {
    const partial = await lstatOrUndefined(partialAbs);
    const have = partial?.isFile() === true ? partial.size : 0;
    if (have !== offset) {
      return fail(
        `not written: cannot resume at byte ${offset}, the partial file holds ${have} bytes; the next sync resumes from what it holds`,
      );
    }
  }
  const hash = request.verifySha256 === undefined ? undefined : createHash('sha256');
  if (hash !== undefined && offset > 0) {
    try {
      await hashPrefix(partialAbs, offset, hash);
    } catch (error) {
      return fail(`not written: cannot read the partial file to verify it: ${messageOf(error)}`);
    }
  }

  const meter = new Meter(entry.size - offset, hash, hooks.onBytes);
  const fatalWriteError = async (error: unknown): Promise<TetherError | undefined> => {
    const code = errnoOf(error);
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      // What is really on disk, not what passed the meter (some of that was still buffered).
      const onDisk = (await lstatOrUndefined(partialAbs).catch(() => undefined))?.size ?? offset;
      const needed = entry.size - onDisk + laterBytes;
      return noSpaceError(target.displayName, dirname(targetAbs), path, needed, error);
    }
    if (code === 'EROFS') {
      return new TetherError('read-only', `${target.displayName} is read-only: cannot write ${path}`, { cause: error });
    }
    return undefined;
  };
  // The partial file is private (0600) until it is complete.
  const flags = offset > 0 ? constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK : PARTIAL_CREATE_FLAGS;
  let handle: FileHandle;
  try {
    handle = await open(partialAbs, flags, 0o600);
  } catch (error) {
    const fatal = await fatalWriteError(error);
    if (fatal !== undefined) throw fatal;
    return fail(`not written: cannot create its partial file: ${messageOf(error)}`);
  }
  const out = new FileSink(handle, offset);
  // Whichever stream fails first is where the failure came from; pipeline then destroys the others with the
  // same error, so their later 'error' events say nothing about the cause.
  let origin: 'source' | 'meter' | 'sink' | undefined;
  let originError: unknown;
  const noteOrigin =
    (which: 'source' | 'meter' | 'sink') =>
    (error: unknown): void => {
      if (origin !== undefined) return;
      origin = which;
      originError = error;
    };
  source.once('error', noteOrigin('source'));
  meter.once('error', noteOrigin('meter'));
  out.once('error', noteOrigin('sink'));
  try {
    await pipeline(source, meter, out, hooks.signal === undefined ? {} : { signal: hooks.signal });
  } catch (error) {
    // What the partial file holds is final only once the sink has closed it.
    await out.whenClosed();
    if (isAborted(hooks.signal)) throw cancelled(target.displayName);
    if (origin === 'sink') {
      const fatal = await fatalWriteError(originError);
      if (fatal !== undefined) throw fatal;
      return fail(`not written: ${messageOf(originError)}`);
    }
    if (origin === 'meter' && meter.overflow) {
      await unlink(partialAbs).catch(() => undefined);
      return fail(
        `not written: the source sent more than the ${entry.size} bytes the file has; it changed while it was sent`,
      );
    }
    const why = messageOf(originError ?? error);
    return fail(`transfer interrupted (${why}); ${afterwards(true, out.bytesWritten)}`);
  }

  const total = offset + meter.received;
  if (total !== entry.size) {
    const next = afterwards(true, total);
    return fail(`transfer incomplete: received ${total} of ${entry.size} bytes; ${next}`);
  }
  if (hash !== undefined) {
    const actual = hash.digest('hex');
    if (actual !== request.verifySha256) {
      await unlink(partialAbs).catch(() => undefined);
      return fail(`not written: the content received has SHA-256 ${actual}, not the expected ${request.verifySha256}`);
    }
  }
  return finish(request, partialAbs, targetAbs);
}

/** A small file, received whole into memory and checked: what to commit (see smallFiles.ts), or why not. */
async function receiveWhole(
  target: WriteTarget,
  request: WriteRequest,
  source: Readable,
  hooks: WriteHooks,
  partialAbs: string,
  targetAbs: string,
): Promise<Outcome | SmallCommit> {
  const { entry } = request;
  const hash = request.verifySha256 === undefined ? undefined : createHash('sha256');
  const received = await receiveSmall(source, entry.size, hash, hooks.onBytes, hooks.signal);
  if (received.outcome === 'cancelled') throw cancelled(target.displayName);
  if (received.outcome === 'too-long') {
    return fail(
      `not written: the source sent more than the ${entry.size} bytes the file has; it changed while it was sent`,
    );
  }
  if (received.outcome === 'failed') return interrupted(messageOf(received.error));
  if (received.content.length !== entry.size) {
    return fail(
      `transfer incomplete: received ${received.content.length} of ${entry.size} bytes; the next sync sends it again`,
    );
  }
  if (hash !== undefined) {
    const actual = hash.digest('hex');
    if (actual !== request.verifySha256) {
      return fail(`not written: the content received has SHA-256 ${actual}, not the expected ${request.verifySha256}`);
    }
  }
  const { path, replaces } = request;
  return {
    path,
    entry,
    ...(replaces === undefined ? {} : { replaces }),
    partialAbs,
    targetAbs,
    content: received.content,
  };
}

/** Mode, mtime, a last look at the target, then the rename into place. */
async function finish(request: WriteRequest, partialAbs: string, targetAbs: string): Promise<Outcome> {
  const { path, entry, replaces } = request;
  const refused = (why: string): Outcome =>
    fail(`not overwritten: it changed here since the scan (${why}); sync again to reconcile`);
  try {
    const current = await lstatOrUndefined(targetAbs);
    const before = targetChanged(current, replaces);
    if (before !== undefined) return refused(before);
    await chmod(partialAbs, modeFor(entry.executable, current?.isFile() === true ? current.mode : undefined));
    await setMtime(partialAbs, entry.mtimeMs);
    const written = await lstatOrUndefined(partialAbs);
    const writtenEntry = written === undefined ? undefined : entryOfStats(path, written);
    if (writtenEntry === undefined) return fail('not written: the partial file vanished before it could be renamed');
    // The last look, as close to the rename as it can be: a concurrent edit is never overwritten.
    const last = targetChanged(await lstatOrUndefined(targetAbs), replaces);
    if (last !== undefined) return refused(last);
    await rename(partialAbs, targetAbs);
    return { ok: true, written: writtenEntry };
  } catch (error) {
    return fail(`not written: ${messageOf(error)}`);
  }
}
