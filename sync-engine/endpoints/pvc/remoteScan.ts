import type { Entry, Problem } from '../../core/entry.js';
import { baseName, invalidPathReason } from '../../core/entry.js';
import type { NarrowScope } from '../../core/narrowScope.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';
import type { PodShell } from './podShell.js';
import { commandError, dotted, nulRecords } from './podShell.js';

/**
 * Lists the tree in one exec, the same way on BusyBox and GNU: first every name NUL-delimited (`find
 * -print0`, the authority on which names exist), then a marker, then one `stat` line per name. A name that
 * contains a newline cannot be matched to its stat line safely, so it (and everything below it) is reported
 * as a problem and its folder as unlisted, never misread.
 */
export const scanScript =
  'find . -mindepth 1 -print0 || echo "tether: find failed" >&2; printf "\\0--tether-stat--\\0"; ' +
  'find . -mindepth 1 -exec stat -c "%F|%s|%Y|%a|%n" {} + || echo "tether: stat failed" >&2';

/**
 * A narrowed scan (`ScanOptions.within`), in the same output format: the arguments are the scope's parents, a
 * `:roots:` marker (no path is ever passed without `./`, and it does not start with `-`, so no `stat` takes it for
 * an option), then its roots, each `./relative`. The paths that exist are named and stat'ed by one `stat` (a scope
 * of files costs one process); below a root that is a folder reached through folders only (never a link), `find`
 * lists the rest as the full scan does. A path that cannot be looked at because its folder cannot be searched is
 * reported as find reports it, so that folder is unlisted, never read as empty. A path that vanishes before its
 * `stat` is named without a stat line: the parser reports it.
 */
export const narrowScanScript =
  'for p do shift; if [ "$p" = :roots: ] || [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; ' +
  'else d=${p%/*}; if [ -d "$d" ] && [ ! -x "$d" ]; then echo "find: $d: Permission denied" >&2; fi; fi; done; ' +
  'real() { q=${1%/*}; while [ "$q" != . ]; do { [ -d "$q" ] && [ ! -L "$q" ]; } || return 1; q=${q%/*}; done; }; ' +
  'below() { r=; for p do if [ "$p" = :roots: ]; then r=1; elif [ -n "$r" ] && [ -d "$p" ] && [ ! -L "$p" ] && real "$p"; then "$f" "$p"; fi; done; }; ' +
  'names() { find "$1" -mindepth 1 -print0 || echo "tether: find failed" >&2; }; ' +
  'stats() { find "$1" -mindepth 1 -exec stat -c "%F|%s|%Y|%a|%n" {} + || echo "tether: stat failed" >&2; }; ' +
  'for p do [ "$p" = :roots: ] || printf "%s\\0" "$p"; done; f=names; below "$@"; ' +
  'printf "\\0--tether-stat--\\0"; stat -c "%F|%s|%Y|%a|%n" "$@" 2>/dev/null; f=stats; below "$@"';

/** The narrowed scan's arguments travel in the exec URL: beyond this many bytes, the whole tree is listed instead. */
const MAX_NARROW_ARG_BYTES = 6000;

function narrowArgs(within: NarrowScope): string[] | undefined {
  const args = [...within.parents.map(dotted), ':roots:', ...within.roots.map(dotted)];
  const bytes = args.reduce((sum, arg) => sum + encodeURIComponent(arg).length + 9, 0);
  return bytes > MAX_NARROW_ARG_BYTES ? undefined : args;
}

const statLine = /^([a-z ]+)\|(\d+)\|(\d+)\|([0-7]+)\|\.\/(.*)$/;

interface StatInfo {
  readonly type: string;
  readonly size: number;
  readonly mtimeSec: number;
  readonly mode: number;
}

/** Turns the scan's output (and the permission errors find reported) into a ScanResult. Pure. */
export function parseScan(stdout: Buffer, stderr: string, ignore?: ScanOptions['ignore']): ScanResult {
  const records = nulRecords(stdout);
  const marker = records.indexOf('--tether-stat--');
  if (marker < 0) throw new Error('scan output has no stat section');
  const names = records.slice(0, marker).filter((name) => name !== '');
  const statText = records.slice(marker + 1).join('\0');
  const stats = new Map<string, StatInfo | null>();
  for (const line of statText.split('\n')) {
    const match = statLine.exec(line);
    if (match === null) continue;
    const [, type = '', size = '0', mtime = '0', mode = '0', name = ''] = match;
    // Two lines for one name can only come from a hostile name with a newline: trust neither.
    stats.set(
      name,
      stats.has(name) ? null : { type, size: Number(size), mtimeSec: Number(mtime), mode: parseInt(mode, 8) },
    );
  }
  const entries: Entry[] = [];
  const problems: Problem[] = [];
  const temporaries: string[] = [];
  const unlisted = new Set<string>();
  const skipped: string[] = [];
  const isBelow = (path: string): boolean => skipped.some((dir) => path.startsWith(`${dir}/`));
  for (const dotName of names) {
    const path = dotName.startsWith('./') ? dotName.slice(2) : dotName;
    if (isBelow(path)) continue;
    if (path.includes('\n')) {
      problems.push({ path, message: 'the name contains a line break, which this pod cannot list safely; rename it' });
      skipped.push(path);
      continue;
    }
    const reason = invalidPathReason(path);
    if (reason !== undefined) {
      problems.push({ path, message: `cannot sync this name: ${reason}` });
      continue;
    }
    if (isEngineTemporary(baseName(path))) {
      temporaries.push(path);
      skipped.push(path);
      continue;
    }
    const info = stats.get(path);
    if (info === undefined || info === null) {
      problems.push({ path, message: 'could not read its type, size and time (it changed during the scan?)' });
      skipped.push(path);
      unlisted.add(path);
      continue;
    }
    const isDir = info.type === 'directory';
    if (ignore?.(path, isDir) === true) {
      if (isDir) skipped.push(path);
      continue;
    }
    const mtimeMs = info.mtimeSec * 1000;
    if (isDir) entries.push({ path, kind: 'dir', size: 0, mtimeMs, executable: false });
    else if (info.type === 'regular file' || info.type === 'regular empty file')
      entries.push({ path, kind: 'file', size: info.size, mtimeMs, executable: (info.mode & 0o100) !== 0 });
    else if (info.type === 'symbolic link') problems.push({ path, message: 'symbolic links are not synced' });
    else problems.push({ path, message: `a ${info.type} cannot be synced` });
  }
  for (const line of stderr.split('\n')) {
    const denied = /^find: \.\/(.*): Permission denied$/.exec(line);
    if (denied?.[1] !== undefined) unlisted.add(denied[1]);
  }
  return { entries, problems, temporaries, unlisted: [...unlisted] };
}

export async function scanRemote(shell: PodShell, options: ScanOptions = {}): Promise<ScanResult> {
  const args = options.within === undefined ? undefined : narrowArgs(options.within);
  const result = await shell.runRead(args === undefined ? scanScript : narrowScanScript, args ?? [], {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    idleTimeoutMs: 300_000,
  });
  if (result.exitCode !== 0) throw commandError(shell.displayName, 'list the folder', result);
  if (/tether: (find|stat) failed/.test(result.stderr)) {
    const denied = result.stderr
      .split('\n')
      .filter((line) => line.length > 0 && !/Permission denied$|tether: (find|stat) failed/.test(line));
    if (denied.length > 0)
      throw new TetherError('listing-failed', `unable to list ${shell.displayName}: ${denied.slice(0, 3).join('; ')}`);
  }
  try {
    const scanned = parseScan(result.stdout, result.stderr, options.ignore);
    options.onProgress?.(scanned.entries.length);
    return scanned;
  } catch (error) {
    throw new TetherError('listing-failed', `unable to list ${shell.displayName}: ${String(error)}`, { cause: error });
  }
}
