import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { ReadOptions } from '../endpoint.js';
import { errnoOf, lstatSyncOrUndefined, messageOf } from './fsUtil.js';
import type { RootedPaths } from './paths.js';

/**
 * One folder's direct children (`Endpoint.listFolder`), with the scan's rules (see `scan.ts`): `readdir` of the
 * folder, then `lstat` of each name. The folder and every folder above it must be real folders, not links.
 * Symbolic links, special files, names that are not valid UTF-8 or carry a backslash, and engine temporaries
 * are left out; mtimes are whole milliseconds, as the scan reports them.
 */
export async function listLocalFolder(
  paths: RootedPaths,
  displayName: string,
  path: string,
  options: ReadOptions = {},
): Promise<Entry[]> {
  if (path !== '') {
    const reason = invalidPathReason(path);
    if (reason !== undefined)
      throw new TetherError('bad-argument', `cannot list "${path}" in ${displayName}: ${reason}`);
    const refusal = await paths.checkFolder(path);
    if (refusal !== undefined && !refusal.ok)
      throw new TetherError(
        refusal.missing ? 'not-found' : 'listing-failed',
        `unable to list ${path} in ${displayName}: ${refusal.reason}`,
      );
  }
  const abs = path === '' ? paths.root : join(paths.root, path);
  let names: Buffer[];
  try {
    names = await readdir(abs, { encoding: 'buffer' });
  } catch (error) {
    const code = errnoOf(error);
    throw new TetherError(
      path !== '' && (code === 'ENOENT' || code === 'ENOTDIR') ? 'not-found' : 'listing-failed',
      `unable to list ${path === '' ? 'the top folder' : path} in ${displayName}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  // Synchronous lstat in batches, yielding to the event loop between them: for a folder of 100,000 names this
  // is several times faster than one promise per name, and no batch holds the loop for long.
  const listed: Entry[] = [];
  for (let start = 0; start < names.length; start += BATCH) {
    options.signal?.throwIfAborted();
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    for (const raw of names.slice(start, start + BATCH)) {
      const entry = examine(abs, path, raw, displayName);
      if (entry !== undefined) listed.push(entry);
    }
  }
  return listed.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** Names examined between two yields to the event loop. */
const BATCH = 1000;

/** One name of the folder as an entry, or undefined when the scan would leave it out. */
function examine(abs: string, path: string, raw: Buffer, displayName: string): Entry | undefined {
  const name = raw.toString('utf8');
  if (!Buffer.from(name, 'utf8').equals(raw)) return undefined;
  if (isEngineTemporary(name) || name.includes('\\')) return undefined;
  const child = path === '' ? name : `${path}/${name}`;
  if (invalidPathReason(child) !== undefined) return undefined;
  let stats;
  try {
    stats = lstatSyncOrUndefined(join(abs, name));
  } catch (error) {
    throw new TetherError('listing-failed', `unable to examine ${child} in ${displayName}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (stats === undefined) return undefined; // Deleted while we looked: it is simply gone.
  const mtimeMs = Math.trunc(stats.mtimeMs);
  if (stats.isDirectory()) return { path: child, kind: 'dir', size: 0, mtimeMs, executable: false };
  if (!stats.isFile()) return undefined;
  return { path: child, kind: 'file', size: stats.size, mtimeMs, executable: (stats.mode & 0o100) !== 0 };
}
