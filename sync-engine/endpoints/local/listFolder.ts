import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Entry } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { ReadOptions } from '../endpoint.js';
import { errnoOf, lstatOrUndefined, messageOf } from './fsUtil.js';
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
  const limit = pLimit(32);
  const listed = await Promise.all(
    names.map((raw) =>
      limit(async (): Promise<Entry | undefined> => {
        options.signal?.throwIfAborted();
        const name = raw.toString('utf8');
        if (!Buffer.from(name, 'utf8').equals(raw)) return undefined;
        if (isEngineTemporary(name) || name.includes('\\')) return undefined;
        const child = path === '' ? name : `${path}/${name}`;
        if (invalidPathReason(child) !== undefined) return undefined;
        let stats;
        try {
          stats = await lstatOrUndefined(join(abs, name));
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
      }),
    ),
  );
  return listed.filter((e): e is Entry => e !== undefined).sort((a, b) => (a.path < b.path ? -1 : 1));
}
