import { chmod, link, lstat, mkdir, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import type { Entry, Problem } from '../../core/entry.js';
import { baseName, depthOf } from '../../core/entry.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import { differenceFrom, errnoOf, lstatOrUndefined, messageOf, modeFor, setMtime } from './fsUtil.js';
import type { RootedPaths } from './paths.js';

/** Creates folders, parents first (see `Endpoint.mkdirs`); an existing folder is fine, anything else is not. */
export async function makeDirs(paths: RootedPaths, entries: readonly Entry[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  const verified = new Set<string>();
  const ordered = [...entries].sort((a, b) => depthOf(a.path) - depthOf(b.path));
  for (const entry of ordered) {
    const problem = (why: string): void =>
      void problems.push({ path: entry.path, message: `folder not created: ${why}` });
    if (entry.kind !== 'dir') {
      problem(`it is a ${entry.kind}, not a folder`);
      continue;
    }
    const resolved = await paths.resolve(entry.path, verified);
    if (!resolved.ok) {
      problem(resolved.reason);
      continue;
    }
    try {
      await mkdir(resolved.abs);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') {
        problem(messageOf(error));
        continue;
      }
      const existing = await lstat(resolved.abs);
      if (!existing.isDirectory()) problem(`${existing.isSymbolicLink() ? 'a symbolic link' : 'a file'} is in the way`);
      continue;
    }
    // Its mtime moves again as soon as anything is written inside; this is the best a folder can get.
    await setMtime(resolved.abs, entry.mtimeMs).catch(() => undefined);
  }
  return problems;
}

/** Removes what the scan saw, children first, refusing changed files and non-empty folders. */
export async function removeEntries(
  paths: RootedPaths,
  expected: readonly Entry[],
): Promise<{ removed: string[]; problems: Problem[] }> {
  const removed: string[] = [];
  const problems: Problem[] = [];
  // Deepest first, so a verified parent folder is only removed after everything below it was handled.
  const ordered = [...expected].sort((a, b) => depthOf(b.path) - depthOf(a.path));
  const verified = new Set<string>();
  for (const entry of ordered) {
    const problem = (why: string): void => void problems.push({ path: entry.path, message: `not deleted: ${why}` });
    const resolved = await paths.resolve(entry.path, verified);
    if (!resolved.ok) {
      if (resolved.missing)
        removed.push(entry.path); // Its folder is gone, so it is gone too.
      else problem(resolved.reason);
      continue;
    }
    try {
      const stats = await lstatOrUndefined(resolved.abs);
      if (stats === undefined) {
        removed.push(entry.path);
        continue;
      }
      const difference = differenceFrom(stats, entry);
      if (difference !== undefined) {
        problem(`it changed here since the scan (${difference})`);
        continue;
      }
      if (entry.kind !== 'dir') {
        await unlink(resolved.abs);
        removed.push(entry.path);
        continue;
      }
      const leftover = await removeEmptyDir(resolved.abs);
      if (leftover === undefined) removed.push(entry.path);
      else problem(`the folder is not empty: it still holds ${leftover} (ignored or new files are never deleted)`);
    } catch (error) {
      problem(messageOf(error));
    }
  }
  return { removed, problems };
}

/**
 * `rmdir`, after clearing engine temporaries (leftover partial files must not pin a folder forever). Returns
 * undefined when the folder is gone, or a description of what is still in it.
 */
async function removeEmptyDir(abs: string): Promise<string | undefined> {
  const names = await readdir(abs);
  const others = names.filter((name) => !isEngineTemporary(name));
  if (others.length > 0) {
    const sample = others.slice(0, 3).map((name) => `"${name}"`);
    return `${others.length} item${others.length === 1 ? '' : 's'} (${sample.join(', ')}${others.length > 3 ? ', …' : ''})`;
  }
  for (const name of names) await rm(`${abs}/${name}`, { recursive: true, force: true });
  try {
    await rmdir(abs);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return 'entries created meanwhile';
    if (code !== 'ENOENT') throw error;
  }
  return undefined;
}

/**
 * Renames `from` to `to` without ever replacing something at `to`: files by hard link + unlink (the link
 * fails if `to` exists), falling back to check-then-rename where the filesystem has no hard links; folders by
 * check-then-rename. `from` must still be what the scan saw.
 */
export async function renameNoClobber(paths: RootedPaths, from: string, to: string, expected: Entry): Promise<void> {
  const source = await paths.resolve(from);
  if (!source.ok) throw new TetherError('transfer-failed', `cannot rename ${from}: ${source.reason}`);
  const destination = await paths.resolve(to);
  if (!destination.ok)
    throw new TetherError('transfer-failed', `cannot rename ${from} to ${to}: ${destination.reason}`);
  const difference = differenceFrom(await lstatOrUndefined(source.abs), expected);
  if (difference !== undefined) {
    throw new TetherError('transfer-failed', `cannot rename ${from}: it changed since the scan (${difference})`);
  }
  const exists = (): TetherError =>
    new TetherError('transfer-failed', `cannot rename ${from} to ${to}: ${to} already exists and is left untouched`);
  if (expected.kind === 'file') {
    try {
      await link(source.abs, destination.abs);
      await unlink(source.abs);
      return;
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EEXIST') throw exists();
      // No hard links here (some network and FUSE filesystems): fall through to check-then-rename.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK' && code !== 'ENOSYS') {
        throw new TetherError('transfer-failed', `cannot rename ${from} to ${to}: ${messageOf(error)}`, {
          cause: error,
        });
      }
    }
  }
  if ((await lstatOrUndefined(destination.abs)) !== undefined) throw exists();
  try {
    await rename(source.abs, destination.abs);
  } catch (error) {
    throw new TetherError('transfer-failed', `cannot rename ${from} to ${to}: ${messageOf(error)}`, { cause: error });
  }
}

/** Sets mtime and executable bit of entries that still are what the scan saw. */
export async function updateMetadata(
  paths: RootedPaths,
  items: readonly { path: string; entry: Entry; expected: Entry }[],
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const verified = new Set<string>();
  for (const { path, entry, expected } of items) {
    const problem = (why: string): void => void problems.push({ path, message: `metadata not updated: ${why}` });
    const resolved = await paths.resolve(path, verified);
    if (!resolved.ok) {
      problem(resolved.reason);
      continue;
    }
    try {
      const stats = await lstatOrUndefined(resolved.abs);
      const difference = differenceFrom(stats, expected);
      if (stats === undefined || difference !== undefined) {
        problem(`it changed here since the scan (${difference ?? 'it no longer exists'})`);
        continue;
      }
      if (stats.isSymbolicLink()) continue; // Links carry no mode or mtime of their own that Tether keeps.
      if (stats.isFile()) {
        const mode = modeFor(entry.executable, stats.mode);
        if (mode !== (stats.mode & 0o7777)) await chmod(resolved.abs, mode);
      }
      await setMtime(resolved.abs, entry.mtimeMs);
    } catch (error) {
      problem(messageOf(error));
    }
  }
  return problems;
}

/**
 * Deletes engine temporaries. Only names that really are engine temporaries are touched; anything else is
 * left alone. Best effort: one that cannot be removed now is found again by the next scan and retried then.
 */
export async function removeTemporaryFiles(paths: RootedPaths, temporaries: readonly string[]): Promise<void> {
  for (const path of temporaries) {
    if (!isEngineTemporary(baseName(path))) continue;
    const resolved = await paths.resolve(path);
    if (!resolved.ok) continue;
    await rm(resolved.abs, { recursive: true, force: true }).catch(() => undefined);
  }
}
