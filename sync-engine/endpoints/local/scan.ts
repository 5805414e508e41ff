import { lstatSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import type { Entry, Problem } from '../../core/entry.js';
import type { IgnoreMatcher } from '../../core/ignore.js';
import type { NarrowScope } from '../../core/narrowScope.js';
import { TetherError } from '../../errors.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';
import { messageOf } from './fsUtil.js';
import { scanCancelled } from './scanProblems.js';
import { Scanner } from './scanner.js';
import { INFO_STRIDE, KIND_DIR, KIND_EXECUTABLE } from './scanProtocol.js';
import type { ScanAnswer, ScanBatch, ScanWorkerData, ScanWorkerMessage } from './scanProtocol.js';
import { startWorker } from './workerScript.js';

interface Found {
  readonly entries: Entry[];
  readonly tree: Map<string, Entry>;
  readonly problems: Problem[];
  readonly temporaries: string[];
  readonly unlisted: string[];
}

/** Adds a batch's findings to `found`, leaving out what `ignore` says; returns the folders added. */
function addBatch(batch: ScanBatch, found: Found, ignore: IgnoreMatcher | undefined): string[] {
  const paths = batch.count === 0 ? [] : batch.paths.split('\0');
  const info = batch.info;
  const dirs: string[] = [];
  for (let i = 0; i < batch.count; i++) {
    const path = paths[i] ?? '';
    const kind = info[i * INFO_STRIDE];
    const isDir = kind === KIND_DIR;
    if (ignore?.(path, isDir) === true) continue;
    const mtimeMs = info[i * INFO_STRIDE + 2] ?? 0;
    const entry: Entry = isDir
      ? { path, kind: 'dir', size: 0, mtimeMs, executable: false }
      : { path, kind: 'file', size: info[i * INFO_STRIDE + 1] ?? 0, mtimeMs, executable: kind === KIND_EXECUTABLE };
    found.entries.push(entry);
    found.tree.set(path, entry);
    if (isDir) dirs.push(path);
  }
  for (const p of batch.problems) {
    if (p.ignorable && ignore?.(p.path, false) === true) continue;
    found.problems.push({ path: p.path, message: p.message });
  }
  found.unlisted.push(...batch.unlisted);
  found.temporaries.push(...batch.temporaries);
  return dirs;
}

/** Whether any of the paths is a folder (then a narrowed scan lists below it, on the worker thread). */
function anyFolder(root: string, paths: readonly string[]): boolean {
  return paths.some((path) => {
    try {
      return lstatSync(`${root}/${path}`, { throwIfNoEntry: false })?.isDirectory() === true;
    } catch {
      return true; // Let the scanner report why it cannot be examined.
    }
  });
}

/**
 * A narrowed scan of paths none of which is a folder: a few `lstat`s, done on this thread (starting the worker
 * would take longer than the whole scan).
 */
function scanHere(root: string, within: NarrowScope, ignore: IgnoreMatcher | undefined): ScanResult {
  const found: Found = { entries: [], tree: new Map(), problems: [], temporaries: [], unlisted: [] };
  let fatal: string | undefined;
  new Scanner(
    { root, decide: false, rules: undefined, within },
    (message) => {
      if (message.type === 'batch') addBatch(message, found, undefined);
      else if (message.type === 'fatal') fatal = message.message;
    },
    ignore,
  ).run();
  if (fatal !== undefined) throw new TetherError('listing-failed', `unable to list ${root}: ${fatal}`);
  return found;
}

/** Progress is reported at most this often. */
const PROGRESS_INTERVAL_MS = 100;

/**
 * Scans the tree under `root` (an absolute, symlink-free path) in a worker thread.
 *
 * - Files carry size, integer-ms mtime (`Math.trunc(mtimeMs)`) and the owner-executable bit; folders size 0.
 * - `ignore` is applied to every entry; ignored folders are not descended into.
 * - Engine temporaries go to `temporaries` (whatever `ignore` says), never to `entries`.
 * - Symbolic links are never followed: each is skipped with a problem ("symlink skipped: …"). So are sockets,
 *   FIFOs, devices, names that are not valid UTF-8 and names with a backslash.
 * - A folder that cannot be listed (permission denied, vanished mid-scan) goes to `unlisted`, with a problem.
 *   So does an entry that cannot be examined (`lstat` fails for a reason other than "it is gone").
 * - The root itself failing to list is fatal: `TetherError('listing-failed')`.
 * - With `within`, only the scope's parents (not listed), its roots and what lies below them.
 */
export async function scanTree(root: string, displayName: string, options: ScanOptions = {}): Promise<ScanResult> {
  const { signal, onProgress } = options;
  if (signal?.aborted === true) throw scanCancelled(displayName);
  if (options.within !== undefined && !anyFolder(root, options.within.roots)) {
    return scanHere(root, options.within, options.ignore);
  }
  // A matcher that carries its rules is applied in the worker; only a bare function needs the main thread.
  const rules = options.ignore?.rules;
  const ignore = rules === undefined ? options.ignore : undefined;
  const channel = new MessageChannel();
  const wake = new SharedArrayBuffer(4);
  const wakeCounter = new Int32Array(wake);
  const within = options.within;
  const data: ScanWorkerData = {
    root,
    decide: ignore !== undefined,
    rules,
    answers: channel.port2,
    wake,
    ...(within === undefined ? {} : { within }),
  };
  // A narrowed scan lists its roots, never the folders above them.
  const notListed = new Set(within?.parents ?? []);
  const worker = startWorker('scanWorker', { workerData: data, transferList: [channel.port2] });

  const entries: Entry[] = [];
  const tree = new Map<string, Entry>();
  const problems: Problem[] = [];
  const temporaries: string[] = [];
  const unlisted: string[] = [];
  let lastProgress = 0;

  const found: Found = { entries, tree, problems, temporaries, unlisted };
  const absorb = (batch: ScanBatch): void => {
    const descend = addBatch(batch, found, ignore).filter((dir) => !notListed.has(dir));
    if (ignore !== undefined && batch.dirs > 0) {
      const answer: ScanAnswer = { answered: batch.dirs, descend: descend.join('\0') };
      channel.port1.postMessage(answer);
      Atomics.add(wakeCounter, 0, 1);
      Atomics.notify(wakeCounter, 0);
    }
    const now = performance.now();
    if (onProgress !== undefined && now - lastProgress >= PROGRESS_INTERVAL_MS) {
      lastProgress = now;
      onProgress(entries.length);
    }
  };

  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error instanceof Error ? error : new Error(messageOf(error)));
      };
      const onAbort = (): void => finish(scanCancelled(displayName));
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (message: ScanWorkerMessage) => {
        if (settled) return;
        switch (message.type) {
          case 'batch':
            try {
              absorb(message);
            } catch (error) {
              finish(error);
            }
            return;
          case 'fatal':
            finish(
              new TetherError(
                'listing-failed',
                `unable to list ${displayName}: ${message.message}; check that the folder exists and that you may read it`,
              ),
            );
            return;
          case 'done':
            finish();
            return;
        }
      });
      worker.on('error', (error) =>
        finish(
          new TetherError('listing-failed', `unable to list ${displayName}: ${messageOf(error)}`, { cause: error }),
        ),
      );
      worker.on('exit', (code) =>
        finish(
          new TetherError('listing-failed', `unable to list ${displayName}: the scan stopped (exit code ${code})`),
        ),
      );
    });
  } finally {
    channel.port1.close();
    await worker.terminate();
  }
  onProgress?.(entries.length);
  return { entries, problems, temporaries, unlisted, tree };
}
