import { MessageChannel } from 'node:worker_threads';
import type { Entry, Problem } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';
import { messageOf } from './fsUtil.js';
import { scanCancelled } from './scanProblems.js';
import { INFO_STRIDE, KIND_DIR, KIND_EXECUTABLE } from './scanProtocol.js';
import type { ScanAnswer, ScanBatch, ScanWorkerData, ScanWorkerMessage } from './scanProtocol.js';
import { startWorker } from './workerScript.js';

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
 */
export async function scanTree(root: string, displayName: string, options: ScanOptions = {}): Promise<ScanResult> {
  const { signal, onProgress } = options;
  if (signal?.aborted === true) throw scanCancelled(displayName);
  // A matcher that carries its rules is applied in the worker; only a bare function needs the main thread.
  const rules = options.ignore?.rules;
  const ignore = rules === undefined ? options.ignore : undefined;
  const channel = new MessageChannel();
  const wake = new SharedArrayBuffer(4);
  const wakeCounter = new Int32Array(wake);
  const data: ScanWorkerData = { root, decide: ignore !== undefined, rules, answers: channel.port2, wake };
  const worker = startWorker('scanWorker', { workerData: data, transferList: [channel.port2] });

  const entries: Entry[] = [];
  const tree = new Map<string, Entry>();
  const problems: Problem[] = [];
  const temporaries: string[] = [];
  const unlisted: string[] = [];
  let lastProgress = 0;

  const absorb = (batch: ScanBatch): void => {
    const paths = batch.count === 0 ? [] : batch.paths.split('\0');
    const info = batch.info;
    const descend: string[] = [];
    for (let i = 0; i < batch.count; i++) {
      const path = paths[i] ?? '';
      const kind = info[i * INFO_STRIDE];
      const isDir = kind === KIND_DIR;
      if (ignore?.(path, isDir) === true) continue;
      const mtimeMs = info[i * INFO_STRIDE + 2] ?? 0;
      if (isDir) {
        const entry: Entry = { path, kind: 'dir', size: 0, mtimeMs, executable: false };
        entries.push(entry);
        tree.set(path, entry);
        descend.push(path);
      } else {
        const entry: Entry = {
          path,
          kind: 'file',
          size: info[i * INFO_STRIDE + 1] ?? 0,
          mtimeMs,
          executable: kind === KIND_EXECUTABLE,
        };
        entries.push(entry);
        tree.set(path, entry);
      }
    }
    for (const p of batch.problems) {
      if (p.ignorable && ignore?.(p.path, false) === true) continue;
      problems.push({ path: p.path, message: p.message });
    }
    unlisted.push(...batch.unlisted);
    temporaries.push(...batch.temporaries);
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
