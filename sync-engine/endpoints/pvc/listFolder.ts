import type { Entry } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { ReadOptions } from '../endpoint.js';
import type { PodShell } from './podShell.js';
import { commandError, dotted } from './podShell.js';
import { parseScan } from './remoteScan.js';

/**
 * One folder's direct children in one exec (`Endpoint.listFolder`), in the scan's output format so the scan's
 * parser reads it (BusyBox and GNU alike): the names NUL-delimited, a marker, then one `stat` line per name.
 * The folder travels as an argv element (`./path`); the script refuses it when it, or a folder above it, is a
 * symbolic link (exit 5), and when it is not a folder (exit 4).
 */
export const listFolderScript =
  'p=$1; while [ "$p" != . ]; do if [ -L "$p" ]; then echo "tether: $p is a symbolic link" >&2; exit 5; fi; ' +
  'p=${p%/*}; done; ' +
  '[ -d "$1" ] || { echo "tether: not a folder" >&2; exit 4; }; ' +
  'find "$1" -mindepth 1 -maxdepth 1 -print0 || echo "tether: find failed" >&2; printf "\\0--tether-stat--\\0"; ' +
  'find "$1" -mindepth 1 -maxdepth 1 -exec stat -c "%F|%s|%Y|%a|%n" {} + || echo "tether: stat failed" >&2';

export async function listRemoteFolder(shell: PodShell, path: string, options: ReadOptions = {}): Promise<Entry[]> {
  if (path !== '') {
    const reason = invalidPathReason(path);
    if (reason !== undefined)
      throw new TetherError('bad-argument', `cannot list "${path}" in ${shell.displayName}: ${reason}`);
  }
  const where = path === '' ? 'the top folder' : path;
  const result = await shell.runRead(listFolderScript, [path === '' ? '.' : dotted(path)], {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    idleTimeoutMs: 120_000,
  });
  if (result.exitCode === 4) throw new TetherError('not-found', `${where} is not a folder in ${shell.displayName}`);
  if (result.exitCode === 5)
    throw new TetherError(
      'listing-failed',
      `unable to list ${where} in ${shell.displayName}: it is reached through a symbolic link, which Tether never follows`,
    );
  if (result.exitCode !== 0) throw commandError(shell.displayName, `list ${where}`, result);
  if (/tether: (find|stat) failed/.test(result.stderr))
    throw new TetherError(
      'listing-failed',
      `unable to list ${where} in ${shell.displayName}: ${result.stderr.trim().split('\n').slice(0, 3).join('; ')}`,
    );
  try {
    // The scan's rules: links, special files, hostile names and temporaries are left out (they are its problems).
    return parseScan(result.stdout, result.stderr).entries.sort((a, b) => (a.path < b.path ? -1 : 1));
  } catch (error) {
    throw new TetherError('listing-failed', `unable to list ${where} in ${shell.displayName}: ${String(error)}`, {
      cause: error,
    });
  }
}
