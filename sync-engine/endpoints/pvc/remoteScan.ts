import type { Entry, Problem } from '../../core/entry.js';
import { baseName, invalidPathReason } from '../../core/entry.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';
import type { PodShell } from './podShell.js';
import { commandError, nulRecords } from './podShell.js';

/**
 * Lists the tree in one exec, the same way on BusyBox and GNU: first every name NUL-delimited (`find
 * -print0`, the authority on which names exist), then a marker, then one `stat` line per name. A name that
 * contains a newline cannot be matched to its stat line safely, so it (and everything below it) is reported
 * as a problem and its folder as unlisted, never misread.
 */
export const scanScript =
  'find . -mindepth 1 -print0 || echo "tether: find failed" >&2; printf "\\0--tether-stat--\\0"; ' +
  'find . -mindepth 1 -exec stat -c "%F|%s|%Y|%a|%n" {} + || echo "tether: stat failed" >&2';

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
  const result = await shell.runRead(scanScript, [], {
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
