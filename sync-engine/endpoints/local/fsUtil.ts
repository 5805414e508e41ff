import { lstatSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, statfs, utimes } from 'node:fs/promises';
import type { Entry } from '../../core/entry.js';
import { TetherError } from '../../errors.js';

/** The `code` of a Node system error (`ENOENT`, `EACCES`, …), if it has one. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Files up to this size are read and written whole, with synchronous calls: one file costs a dozen short
 * syscalls instead of a dozen thread-pool round trips and stream set-ups, which is what makes copying many
 * small files as fast as rsync. Larger files stream (bounded memory, resumable).
 */
export const SMALL_FILE_BYTES = 256 * 1024;

/** `lstat` that answers undefined for a path that does not exist (ENOENT, or a parent that is not a folder). */
export async function lstatOrUndefined(abs: string): Promise<Stats | undefined> {
  try {
    return await lstat(abs);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** `lstatSync` that answers undefined for a path that does not exist (ENOENT, or a parent that is not a folder). */
export function lstatSyncOrUndefined(abs: string): Stats | undefined {
  try {
    return lstatSync(abs, { throwIfNoEntry: false });
  } catch (error) {
    if (errnoOf(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Integer-ms mtime as every Tether entry carries it. */
export function mtimeOf(stats: Stats): number {
  return Math.trunc(stats.mtimeMs);
}

/** The entry a stat result describes (files and folders; undefined for links and special files). */
export function entryOfStats(path: string, stats: Stats): Entry | undefined {
  if (stats.isFile()) {
    return { path, kind: 'file', size: stats.size, mtimeMs: mtimeOf(stats), executable: (stats.mode & 0o100) !== 0 };
  }
  if (stats.isDirectory()) return { path, kind: 'dir', size: 0, mtimeMs: mtimeOf(stats), executable: false };
  return undefined;
}

function describeKind(stats: Stats): string {
  if (stats.isFile()) return 'a file';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'a special file';
}

/**
 * Whether what is on disk is still the version `expected` describes: same kind and, for files, same size and
 * integer-ms mtime. Answers undefined when it is, or a reason ("its size is now 12 bytes, not 10") when not.
 */
export function differenceFrom(stats: Stats | undefined, expected: Entry): string | undefined {
  if (stats === undefined) return 'it no longer exists';
  const kindMatches =
    expected.kind === 'file' ? stats.isFile() : expected.kind === 'dir' ? stats.isDirectory() : stats.isSymbolicLink();
  if (!kindMatches)
    return `it is now ${describeKind(stats)}, not ${expected.kind === 'dir' ? 'a folder' : `a ${expected.kind}`}`;
  if (expected.kind !== 'file') return undefined;
  if (stats.size !== expected.size) return `its size is now ${stats.size} bytes, not ${expected.size}`;
  const mtime = mtimeOf(stats);
  if (mtime !== expected.mtimeMs) {
    return `it was modified at ${new Date(mtime).toISOString()}, not ${new Date(expected.mtimeMs).toISOString()}`;
  }
  return undefined;
}

/**
 * Sets a path's mtime to an integer number of ms so that it reads back as exactly that. Node hands the kernel
 * seconds as a double, and `ms / 1000` often lands a few hundred nanoseconds *below* the intended ms (then
 * truncation reads back ms - 1); one extra microsecond keeps every value up to the year 2106 on the right side.
 */
export async function setMtime(abs: string, mtimeMs: number): Promise<void> {
  const seconds = mtimeSeconds(mtimeMs);
  await utimes(abs, seconds, seconds);
}

/** The seconds to hand `utimes`/`futimes` for an integer-ms mtime (see `setMtime`). */
export function mtimeSeconds(mtimeMs: number): number {
  return (Math.trunc(mtimeMs) + 0.001) / 1000;
}

/** File mode for a file Tether writes: the executable bits follow the source; other bits are kept when known. */
export function modeFor(executable: boolean, existingMode: number | undefined): number {
  if (existingMode === undefined) return executable ? 0o755 : 0o644;
  const permissions = existingMode & 0o7777;
  if (!executable) return permissions & ~0o111;
  // Executable for whoever can read it, the way `chmod +x` behaves under a 022 umask.
  return permissions | 0o100 | ((permissions & 0o044) >> 2);
}

/** Bytes available to this user on the filesystem holding `abs`, or undefined when that cannot be asked. */
export async function freeBytes(abs: string): Promise<number | undefined> {
  try {
    const info = await statfs(abs);
    return info.bavail * info.bsize;
  } catch {
    return undefined;
  }
}

/** The fatal error for a full disk: how much was needed, how much is free, what to do. */
export async function noSpaceError(
  displayName: string,
  folderAbs: string,
  path: string,
  needed: number,
  cause: unknown,
): Promise<TetherError> {
  const free = await freeBytes(folderAbs);
  const freeText = free === undefined ? 'an unknown number of bytes' : `${free} bytes`;
  return new TetherError(
    'no-space',
    `not enough space on ${displayName} to write ${path}: ${needed} more bytes are needed and ${freeText} are free; ` +
      'free up space there (or choose fewer files) and sync again',
    { cause },
  );
}
