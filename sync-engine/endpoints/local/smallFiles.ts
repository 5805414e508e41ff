import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  futimesSync,
  openSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import type { Hash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import type { Entry } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import {
  differenceFrom,
  entryOfStats,
  errnoOf,
  lstatSyncOrUndefined,
  messageOf,
  modeFor,
  mtimeSeconds,
  noSpaceError,
} from './fsUtil.js';

/**
 * Small files (`SMALL_FILE_BYTES`), read and written whole with synchronous calls. Each is a short local
 * syscall (a few µs), where an asynchronous one costs a thread-pool round trip and a promise (tens of µs, and
 * as much again in CPU); a small file needs about a dozen of them. The price is that the thread waits for
 * each call: for batches of small files the writes (and, between two local folders, the reads too) therefore
 * run on the writer thread (smallWriter.ts), not on the event loop; a handful of files is written here. The
 * rules are those of the streaming path: no link is followed, no FIFO can hang an open, and the target is
 * re-checked just before the rename.
 */

/** A file's content as a byte stream. */
export function bufferStream(content: Buffer): Readable {
  return new Readable({
    read(): void {
      if (content.length > 0) this.push(content);
      this.push(null);
    },
  });
}

export type Received =
  | { readonly outcome: 'complete'; readonly content: Buffer }
  | { readonly outcome: 'failed'; readonly error: unknown }
  | { readonly outcome: 'too-long' }
  | { readonly outcome: 'cancelled' };

/**
 * Receives a whole small file from `source`: at most `limit` bytes, hashed and counted (`onBytes`) as they
 * arrive. Plain 'data'/'end' listeners, not `stream.pipeline`: for a 4 KiB file a three-stage pipeline costs
 * some twenty times the CPU. The source is destroyed when the transfer is cut short.
 */
export function receiveSmall(
  source: Readable,
  limit: number,
  hash: Hash | undefined,
  onBytes: ((bytes: number) => void) | undefined,
  signal: AbortSignal | undefined,
): Promise<Received> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const settle = (result: Received): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (result.outcome !== 'complete') source.destroy();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        settle({ outcome: 'too-long' });
        return;
      }
      chunks.push(chunk);
      hash?.update(chunk);
      onBytes?.(chunk.length);
    };
    const onEnd = (): void => settle({ outcome: 'complete', content: Buffer.concat(chunks) });
    const onError = (error: unknown): void => settle({ outcome: 'failed', error });
    const onClose = (): void => settle({ outcome: 'failed', error: new Error('the source closed before the end') });
    const onAbort = (): void => settle({ outcome: 'cancelled' });
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onError);
    source.once('close', onClose);
  });
}

export type SmallRead = { readonly content: Buffer } | { readonly problem: string };

/** Reads `entry.size - offset` bytes from `offset`, checking the file is the version `entry` describes. */
export function readSmallFile(abs: string, entry: Entry, offset: number): SmallRead {
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { problem: 'it vanished since the scan' };
    if (code === 'ELOOP') return { problem: 'it is now a symbolic link' };
    return { problem: messageOf(error) };
  }
  try {
    const before = differenceFrom(fstatSync(fd), entry);
    if (before !== undefined) return { problem: `it changed since the scan (${before})` };
    const content = Buffer.allocUnsafe(entry.size - offset);
    let got = 0;
    while (got < content.length) {
      const read = readSync(fd, content, got, content.length - got, offset + got);
      if (read === 0) break;
      got += read;
    }
    const after = differenceFrom(fstatSync(fd), entry) ?? (got === content.length ? undefined : 'it got shorter');
    if (after !== undefined) return { problem: `it changed while it was read (${after})` };
    return { content };
  } catch (error) {
    return { problem: messageOf(error) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Flags that create (or truncate) a partial file. O_NOFOLLOW: a link planted at its name is refused;
 * O_NONBLOCK: so is a FIFO, instead of hanging (no effect on regular files).
 */
export const PARTIAL_CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Why what is at the target no longer matches what the scan saw there (`replaces`), if it does not. */
export function targetChanged(current: Stats | undefined, replaces: Entry | undefined): string | undefined {
  if (replaces === undefined) return current === undefined ? undefined : 'something was created at this path';
  return differenceFrom(current, replaces);
}

export type Committed =
  { readonly ok: true; readonly written: Entry } | { readonly ok: false; readonly message: string };

/** One complete small file to put in place: plain data, so it can be handed to the writer thread. */
export interface SmallCommit {
  readonly path: string;
  readonly entry: Entry;
  /** What the scan saw at the target (absent: nothing was there). */
  readonly replaces?: Entry;
  readonly partialAbs: string;
  readonly targetAbs: string;
  readonly content: Uint8Array;
}

/** What `commitSmallFileSync` did; `fatal` (a full disk, a read-only filesystem) stops the whole transfer. */
export type CommitOutcome =
  | Committed
  | {
      readonly ok: false;
      readonly fatal: 'no-space' | 'read-only';
      /** Bytes of the file already written when it failed. */
      readonly written: number;
      readonly code: string;
      readonly message: string;
    };

/**
 * Writes a complete small file: partial file (created private, never through a link or into a FIFO), mode,
 * mtime, a last look at the target against `replaces`, rename. Synchronous and self-contained, so the
 * writer thread (smallWriter.ts) runs exactly this.
 */
export function commitSmallFileSync(job: SmallCommit): CommitOutcome {
  const { path, entry, replaces, partialAbs, targetAbs, content } = job;
  const refused = (why: string): Committed => ({
    ok: false,
    message: `not overwritten: it changed here since the scan (${why}); sync again to reconcile`,
  });
  let written = 0;
  const fatal = (error: unknown): CommitOutcome | undefined => {
    const code = errnoOf(error);
    const message = messageOf(error);
    if (code === 'ENOSPC' || code === 'EDQUOT') return { ok: false, fatal: 'no-space', written, code, message };
    if (code === 'EROFS') return { ok: false, fatal: 'read-only', written, code, message };
    return undefined;
  };
  try {
    const current = lstatSyncOrUndefined(targetAbs);
    const before = targetChanged(current, replaces);
    if (before !== undefined) return refused(before);
    let fd: number;
    try {
      fd = openSync(partialAbs, PARTIAL_CREATE_FLAGS, 0o600);
    } catch (error) {
      return fatal(error) ?? { ok: false, message: `not written: cannot create its partial file: ${messageOf(error)}` };
    }
    let stats: Stats;
    try {
      while (written < content.length) written += writeSync(fd, content, written, content.length - written);
      fchmodSync(fd, modeFor(entry.executable, current?.isFile() === true ? current.mode : undefined));
      const seconds = mtimeSeconds(entry.mtimeMs);
      futimesSync(fd, seconds, seconds);
      stats = fstatSync(fd);
    } finally {
      closeSync(fd);
    }
    const writtenEntry = entryOfStats(path, stats);
    if (writtenEntry === undefined) return { ok: false, message: 'not written: its partial file is not a file' };
    // The last look, as close to the rename as it can be: a concurrent edit is never overwritten.
    const last = targetChanged(lstatSyncOrUndefined(targetAbs), replaces);
    if (last !== undefined) return refused(last);
    renameSync(partialAbs, targetAbs);
    return { ok: true, written: writtenEntry };
  } catch (error) {
    return fatal(error) ?? { ok: false, message: `not written: ${messageOf(error)}` };
  }
}

/** A small file to copy from another local folder: read and committed in one go on the writer thread. */
export interface SmallCopy extends Omit<SmallCommit, 'content'> {
  /** Where it is read, as the source names it (a conflict copy is written under another name). */
  readonly sourcePath: string;
  readonly sourceAbs: string;
}

/** The outcome of a small file whose transfer broke off (nothing of it is kept). */
export function interrupted(why: string): Committed {
  return { ok: false, message: `transfer interrupted (${why}); the next sync sends it again` };
}

/** The outcome of a file whose source could not be read, in the words of a local source's failing stream. */
export function unreadable(path: string, why: string): Committed {
  return interrupted(`cannot read ${path}: ${why}`);
}

/**
 * Copies a small file from `sourceAbs` (checked against `entry`, as `readSmallFile` does) with
 * `commitSmallFileSync`. `bytes` is what was read.
 */
export function copySmallFileSync(copy: SmallCopy): { readonly outcome: CommitOutcome; readonly bytes: number } {
  const read = readSmallFile(copy.sourceAbs, copy.entry, 0);
  if (!('content' in read)) return { outcome: unreadable(copy.sourcePath, read.problem), bytes: 0 };
  const { sourcePath: _path, sourceAbs: _abs, ...commit } = copy;
  return { outcome: commitSmallFileSync({ ...commit, content: read.content }), bytes: read.content.length };
}

/**
 * A commit's outcome for the transfer: a fatal one becomes the `TetherError` that stops it (with the bytes
 * still needed, this file's rest and `laterBytes` for the files after it).
 */
export async function settleCommit(
  displayName: string,
  job: Pick<SmallCommit, 'path' | 'entry' | 'targetAbs'>,
  outcome: CommitOutcome,
  laterBytes: number,
): Promise<Committed> {
  if (!('fatal' in outcome)) return outcome;
  const cause = Object.assign(new Error(outcome.message), { code: outcome.code });
  if (outcome.fatal === 'read-only') {
    throw new TetherError('read-only', `${displayName} is read-only: cannot write ${job.path}`, { cause });
  }
  const needed = job.entry.size - outcome.written + laterBytes;
  throw await noSpaceError(displayName, dirname(job.targetAbs), job.path, needed, cause);
}
