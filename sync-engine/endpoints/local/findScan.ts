import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Entry, Problem } from '../../core/entry.js';
import { hasUserRules } from '../../core/ignore.js';
import { PARTIAL_PREFIX, STAGING_PREFIX } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';

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
 * start-up) and this parses its records into the same `ScanResult` as `scanTree`, under the same rules.
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
  if (signal?.aborted === true) throw cancelled(displayName);
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
        problems.push({ path, message: 'skipped: the name contains a backslash, which Tether cannot sync; rename it' });
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
      const target = linkTarget(`${root}/${path}`);
      problems.push({ path, message: `symlink skipped: ${path} -> ${target} (links are never followed)` });
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

  const plain = await new Promise<boolean>((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('find', findArgs(root), {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      });
    } catch {
      resolve(false);
      return;
    }
    let settled = false;
    let warned = false;
    const finish = (outcome: boolean | Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = (): void => finish(cancelled(displayName));
    signal?.addEventListener('abort', onAbort, { once: true });
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
    child.stdout?.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        absorb(decoder.write(chunk));
      } catch (error) {
        finish(error instanceof NotPlain ? false : (error as Error));
      }
    });
    child.stderr?.on('data', () => {
      warned = true;
    });
    child.on('error', () => finish(false));
    child.on('close', (code) => {
      if (settled) return;
      try {
        absorb(decoder.end());
      } catch (error) {
        finish(error instanceof NotPlain ? false : (error as Error));
        return;
      }
      finish(code === 0 && !warned && rest === '');
    });
  });
  if (!plain) return undefined;
  onProgress?.(entries.length);
  return { entries, problems, temporaries, unlisted: [], tree };
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

function linkTarget(abs: string): string {
  try {
    return readlinkSync(abs);
  } catch {
    return '(unreadable target)';
  }
}

function cancelled(displayName: string): TetherError {
  return new TetherError('cancelled', `scan of ${displayName} cancelled`);
}
