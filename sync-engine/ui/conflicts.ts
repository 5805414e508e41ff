import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isConflictCopyOf } from '../core/conflictName.js';
import { baseName, parentOf } from '../core/entry.js';
import { TetherError } from '../errors.js';
import type { PairRecord, StateStore } from '../state/store.js';
import type { ConflictChoice, ConflictView, FileFacts } from './contract.js';

/**
 * Conflicts as the user sees them: the sync kept both versions (the remote's beside yours as a conflict copy, on
 * both sides); the activity log says where. A conflict is open while both files exist in the local folder and no
 * `conflict-resolved` entry names the copy.
 */

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function factsOf(root: string, path: string): Promise<FileFacts | undefined> {
  const file = join(root, ...path.split('/'));
  const stat = await lstat(file).catch(() => undefined);
  if (stat?.isFile() !== true) return undefined;
  return { path, size: stat.size, mtimeMs: stat.mtimeMs, sha256: await sha256Of(file) };
}

export async function listConflicts(store: StateStore, pairs: readonly PairRecord[]): Promise<ConflictView[]> {
  const views: ConflictView[] = [];
  for (const pair of pairs) {
    const log = store.listActivity({ pairId: pair.id, limit: 2000 });
    const resolved = new Set(log.filter((e) => e.kind === 'conflict-resolved').map((e) => e.path));
    const paths = new Set(log.filter((e) => e.kind === 'conflict' && e.path !== undefined).map((e) => e.path ?? ''));
    for (const path of paths) {
      const local = await factsOf(pair.localPath, path);
      if (local === undefined) continue;
      const parent = parentOf(path);
      const names = await readdir(join(pair.localPath, ...(parent === '' ? [] : parent.split('/')))).catch(() => []);
      for (const name of names) {
        const candidate = parent === '' ? name : `${parent}/${name}`;
        if (!isConflictCopyOf(candidate, path) || resolved.has(candidate)) continue;
        const remote = await factsOf(pair.localPath, candidate);
        if (remote !== undefined) views.push({ pair: pair.name, path, conflictPath: candidate, local, remote });
      }
    }
  }
  return views;
}

/**
 * Applies the user's choice in the local folder; the caller then syncs the pair so the remote agrees:
 * keep-local deletes the conflict copy, keep-remote moves the copy over the file, keep-both leaves both files.
 */
export async function resolveConflict(
  store: StateStore,
  pair: PairRecord,
  path: string,
  conflictPath: string,
  choice: ConflictChoice,
): Promise<void> {
  if (!isConflictCopyOf(conflictPath, path)) {
    throw new TetherError('bad-argument', `${conflictPath} is not a conflict copy of ${path}`);
  }
  const copy = join(pair.localPath, ...conflictPath.split('/'));
  const original = join(pair.localPath, ...path.split('/'));
  for (const [file, shown] of [
    [copy, conflictPath],
    [original, path],
  ] as const) {
    const stat = await lstat(file).catch(() => undefined);
    if (stat?.isFile() !== true) {
      throw new TetherError('not-found', `${shown} is no longer a file in ${pair.localPath}; refresh the conflicts`);
    }
  }
  if (choice === 'keep-local') await unlink(copy);
  else if (choice === 'keep-remote') await rename(copy, original);
  const message =
    choice === 'keep-both'
      ? `kept both ${baseName(path)} and ${baseName(conflictPath)}`
      : choice === 'keep-local'
        ? `kept your version of ${baseName(path)}; the remote's copy is deleted`
        : `kept the remote's version of ${baseName(path)}`;
  store.logActivity({ pairId: pair.id, level: 'info', kind: 'conflict-resolved', path: conflictPath, message });
  store.flush();
}
