/**
 * A hash pool worker (run by Piscina): streams one file through SHA-256 with a fixed 1 MiB buffer, so memory
 * does not grow with file size, and checks that the file is still the version the scan saw.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Stats } from 'node:fs';

export interface HashTask {
  readonly abs: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export type HashOutcome = { readonly sha256: string } | { readonly problem: string };

const buffer = Buffer.allocUnsafe(1024 * 1024);

function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function changed(stats: Stats, task: HashTask): string | undefined {
  if (!stats.isFile()) return 'it is no longer a regular file';
  if (stats.size !== task.size) return `its size is now ${stats.size} bytes, not ${task.size}`;
  if (Math.trunc(stats.mtimeMs) !== task.mtimeMs) return 'it was modified';
  return undefined;
}

export default function hashFile(task: HashTask): HashOutcome {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the worker (no effect on regular files).
    fd = openSync(task.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return { problem: 'could not hash: the file vanished since the scan' };
    if (code === 'ELOOP') return { problem: 'could not hash: the file is now a symbolic link' };
    return { problem: `could not hash: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const before = changed(fstatSync(fd), task);
    if (before !== undefined) return { problem: `could not hash: the file changed since the scan (${before})` };
    const hash = createHash('sha256');
    let total = 0;
    for (let read = readSync(fd, buffer, 0, buffer.length, null); read > 0;) {
      hash.update(buffer.subarray(0, read));
      total += read;
      read = readSync(fd, buffer, 0, buffer.length, null);
    }
    const after = changed(fstatSync(fd), task) ?? (total === task.size ? undefined : `read ${total} bytes`);
    if (after !== undefined) return { problem: `could not hash: the file changed while it was read (${after})` };
    return { sha256: hash.digest('hex') };
  } catch (error) {
    return { problem: `could not hash: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    closeSync(fd);
  }
}
