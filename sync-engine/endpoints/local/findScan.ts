import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as delay } from 'node:timers/promises';
import type { Entry, Problem } from '../../core/entry.js';
import { hasUserRules } from '../../core/ignore.js';
import { PARTIAL_PREFIX, STAGING_PREFIX } from '../../core/temporaries.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';
import { BACKSLASH_PROBLEM, scanCancelled, symlinkProblem } from './scanProblems.js';

/** Progress is reported at most this often. */
const PROGRESS_INTERVAL_MS = 100;

/**
 * Entries below ignored folders that the fast scan may walk past before it gives up and leaves the tree to the
 * worker scan, which does not descend into ignored folders at all.
 */
export const MAX_SKIPPED_BELOW_IGNORED = 20_000;

/**
 * One record per entry: type letter, size, mtime as `seconds.fraction`, permission bits in octal, path below the
 * root. Engine temporaries are printed as `T path` and not descended into. Records end with NUL, the one byte no
 * name can hold; the path is the record's last field, so spaces and newlines in it need no escaping.
 */
function findArgs(root: string): string[] {
  const temporary = (prefix: string): string[] => ['-name', `${prefix}*`, '-prune', '-printf', 'T %P\\0'];
  return [
    '-H',
    root,
    '-mindepth',
    '1',
    '(',
    ...temporary(PARTIAL_PREFIX),
    ')',
    '-o',
    '(',
    ...temporary(STAGING_PREFIX),
    ')',
    '-o',
    '-printf',
    '%y %s %T@ %m %P\\0',
  ];
}

/** Why the fast scan stepped aside; the worker scan then does the job (and reports whatever this was). */
class NotPlain extends Error {}

/**
 * The fast path of the local scan on Linux: GNU `find` walks the tree in C (about three times cheaper per entry
 * than `lstat` from JavaScript, and in a process of its own, so two scans use both cores without a worker's
 * start-up) and this parses its records into the same `ScanResult` as `scanTree`, under the same rules. find writes
 * into an unlinked spool file that is read as it grows, so find never waits for the main thread.
 *
 * It answers only for trees it can represent exactly, and returns `undefined` otherwise, leaving the tree to
 * `scanTree`, which knows how to report each case: no GNU find (`-printf` unknown), any warning from find (an
 * unreadable folder, an entry gone mid-walk), a name that is not valid UTF-8, a socket, FIFO or device, an mtime
 * before 1970, or a walk that spends more than `MAX_SKIPPED_BELOW_IGNORED` entries inside ignored folders.
 * Cancellation kills find and throws `TetherError('cancelled')`.
 */
export async function findScan(
  root: string,
  displayName: string,
  options: ScanOptions = {},
): Promise<ScanResult | undefined> {
  const { signal, onProgress } = options;
  // Temporaries are passed over by find itself: a matcher with no other rules need not be asked.
  const ignore = options.ignore !== undefined && hasUserRules(options.ignore) ? options.ignore : undefined;
  if (signal?.aborted === true) throw scanCancelled(displayName);
  // Only GNU find has -printf; elsewhere (macOS, the BSDs) find would only fail.
  if (process.platform !== 'linux') return undefined;
  const entries: Entry[] = [];
  const tree = new Map<string, Entry>();
  const problems: Problem[] = [];
  const temporaries: string[] = [];
  /** The folder (with its trailing slash) whose subtree is being passed over: ignored or unsyncable. */
  let skipping: string | undefined;
  let skipped = 0;
  let lastProgress = 0;

  const take = (record: string, start: number, end: number): void => {
    const temporary = record.startsWith('T ', start);
    const sizeEnd = temporary ? 0 : record.indexOf(' ', start + 2);
    const timeEnd = temporary ? 0 : record.indexOf(' ', sizeEnd + 1);
    const modeEnd = temporary ? start + 1 : record.indexOf(' ', timeEnd + 1);
    if (record[start + 1] !== ' ' || sizeEnd < 0 || timeEnd < 0 || modeEnd < 0 || modeEnd >= end)
      throw new NotPlain('a record find printed oddly');
    const path = record.slice(modeEnd + 1, end);
    if (path === '') throw new NotPlain('a record without a path');
    if (skipping !== undefined) {
      if (path.startsWith(skipping)) {
        if (++skipped > MAX_SKIPPED_BELOW_IGNORED) throw new NotPlain('too much walked below ignored folders');
        return;
      }
      skipping = undefined;
    }
    if (temporary) {
      temporaries.push(path);
      return;
    }
    const type = record[start];
    const isDir = type === 'd';
    // The same checks in the same order as the worker scan, so both report the same problems.
    if (path.indexOf('\\', path.lastIndexOf('/') + 1) >= 0) {
      if (ignore?.(path, false) !== true) {
        problems.push({ path, message: BACKSLASH_PROBLEM });
      }
      if (isDir) skipping = `${path}/`;
      return;
    }
    if (ignore?.(path, isDir) === true) {
      if (isDir) skipping = `${path}/`;
      return;
    }
    if (type === 'f' || isDir) {
      const mtimeMs = mtimeOf(record, sizeEnd + 1, timeEnd);
      const entry: Entry = isDir
        ? { path, kind: 'dir', size: 0, mtimeMs, executable: false }
        : {
            path,
            kind: 'file',
            size: digitsAt(record, start + 2, sizeEnd, 10),
            mtimeMs,
            executable: (digitsAt(record, timeEnd + 1, modeEnd, 8) & 0o100) !== 0,
          };
      entries.push(entry);
      tree.set(path, entry);
    } else if (type === 'l') {
      problems.push({ path, message: symlinkProblem(path, `${root}/${path}`) });
    } else {
      throw new NotPlain(`an entry of type ${type ?? '?'}`);
    }
    if (onProgress === undefined || (entries.length & 1023) !== 0) return;
    const now = performance.now();
    if (now - lastProgress >= PROGRESS_INTERVAL_MS) {
      lastProgress = now;
      onProgress(entries.length);
    }
  };

  const decoder = new StringDecoder('utf8');
  let rest = '';
  const absorb = (text: string): void => {
    // U+FFFD stands in for bytes that are not UTF-8: such names are the worker scan's to report.
    if (text.includes('\uFFFD')) throw new NotPlain('a name that is not valid UTF-8');
    let start = 0;
    let end = text.indexOf('\0');
    if (end >= 0 && rest !== '') {
      const record = rest + text.slice(0, end);
      take(record, 0, record.length);
      rest = '';
      start = end + 1;
      end = text.indexOf('\0', start);
    }
    for (; end >= 0; end = text.indexOf('\0', start)) {
      take(text, start, end);
      start = end + 1;
    }
    rest += text.slice(start);
  };

  const spool = await openSpool();
  if (spool === undefined) return undefined;
  let plain: boolean;
  try {
    plain = await runFind(root, spool, (chunk) => absorb(decoder.write(chunk)), signal, displayName);
    if (plain) absorb(decoder.end());
  } catch (error) {
    if (!(error instanceof NotPlain)) throw error;
    plain = false;
  } finally {
    await spool.close();
  }
  if (!plain || rest !== '') return undefined;
  onProgress?.(entries.length);
  return { entries, problems, temporaries, unlisted: [], tree };
}

/** How often the spool is read again while find is still writing to it. */
const SPOOL_POLL_MS = 10;

/**
 * An unlinked temporary file for find's output. find writes to it at full speed whatever the main thread is doing
 * (a pipe would stop find after 64 KiB while, say, the controller loads the ancestor), and a crash leaves nothing
 * behind. `undefined` when no such file can be made: the worker scan then does the job.
 */
async function openSpool(): Promise<FileHandle | undefined> {
  const path = join(tmpdir(), `tether-find-${process.pid}-${randomBytes(6).toString('hex')}`);
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx+', 0o600);
  } catch {
    return undefined;
  }
  try {
    await unlink(path);
    return handle;
  } catch {
    await handle.close();
    return undefined;
  }
}

/**
 * Runs find with its output in `spool`, handing each new piece of it to `onChunk` as it arrives (the spool is read
 * again every few milliseconds while find runs). Resolves true when find finished cleanly: exit code 0, nothing on
 * stderr. Throws what `onChunk` throws, or `cancelled`; find is stopped and waited for either way.
 */
async function runFind(
  root: string,
  spool: FileHandle,
  onChunk: (chunk: Buffer) => void,
  signal: AbortSignal | undefined,
  displayName: string,
): Promise<boolean> {
  let child: ChildProcess;
  try {
    child = spawn('find', findArgs(root), {
      stdio: ['ignore', spool.fd, 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
  } catch {
    return false;
  }
  let warned = false;
  child.stderr?.on('data', () => {
    warned = true;
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on('error', () => {
      exitCode = -1;
      resolve();
    });
    child.on('close', (code) => {
      exitCode = code;
      resolve();
    });
  });
  const buffer = Buffer.allocUnsafe(1 << 20);
  let position = 0;
  try {
    for (;;) {
      if (signal?.aborted === true) throw scanCancelled(displayName);
      // Whether find had finished before this read: if so, this read sees all it wrote.
      const finished = exitCode !== undefined;
      const { bytesRead } = await spool.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        onChunk(buffer.subarray(0, bytesRead));
      } else if (finished) {
        return exitCode === 0 && !warned;
      } else {
        await Promise.race([exited, delay(SPOOL_POLL_MS)]);
      }
    }
  } finally {
    if (exitCode === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/**
 * The mtime field (`seconds.fraction`, GNU find's `%T@`) as integer milliseconds, computed as Node computes
 * `Stats.mtimeMs` and then truncated as the worker scan does, so both scans give the same number to the last
 * millisecond (`seconds * 1e3 + nanoseconds / 1e6` rounds in floating point; an exact integer sum would not).
 */
function mtimeOf(record: string, start: number, end: number): number {
  const dot = record.indexOf('.', start);
  if (dot < 0 || dot > end) throw new NotPlain('an mtime find printed oddly');
  const seconds = digitsAt(record, start, dot, 10);
  const digits = Math.min(end - dot - 1, 9);
  const nanoseconds = digitsAt(record, dot + 1, dot + 1 + digits, 10) * 10 ** (9 - digits);
  return Math.trunc(seconds * 1e3 + nanoseconds / 1e6);
}

/** The number written in `record[start, end)` in base 8 or 10; only digits (no sign, at least one). */
function digitsAt(record: string, start: number, end: number, base: 8 | 10): number {
  if (end <= start || end - start > 15) throw new NotPlain('a number find printed oddly');
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = record.charCodeAt(i) - 48;
    if (digit < 0 || digit >= base) throw new NotPlain('a number find printed oddly');
    value = value * base + digit;
  }
  return value;
}
