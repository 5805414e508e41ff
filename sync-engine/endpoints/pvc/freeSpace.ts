import { TetherError } from '../../errors.js';
import type { SpaceReport } from '../endpoint.js';
import type { PodShell } from './podShell.js';
import { commandError } from './podShell.js';

/** Sizes from `df -P -k` (POSIX output, 1024-byte blocks: one line per filesystem, never wrapped). */
export interface DfLine {
  readonly totalBytes: number;
  readonly usedBytes: number;
  readonly freeBytes: number;
  readonly mountedOn: string;
}

/**
 * Parses the data line of `df -P -k`: `Filesystem 1024-blocks Used Available Capacity Mounted-on`. The
 * filesystem name may hold spaces (NFS `server:/path with space`), so the numbers are read from the right.
 */
export function parseDf(stdout: string): DfLine | undefined {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  for (const line of lines.slice(1)) {
    const match = /\s(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(.+)$/.exec(line);
    if (match === null) continue;
    const [total, used, free] = [match[1], match[2], match[3]].map((n) => Number(n) * 1024) as [number, number, number];
    return { totalBytes: total, usedBytes: used, freeBytes: free, mountedOn: match[5] ?? '' };
  }
  return undefined;
}

/** Free space of the volume at the endpoint's root, measured with `df` in the pod that mounts it. */
export async function volumeFreeSpace(shell: PodShell, signal?: AbortSignal): Promise<SpaceReport> {
  const result = await shell.runRead('exec df -P -k .', [], signal === undefined ? {} : { signal });
  if (result.exitCode !== 0) throw commandError(shell.displayName, 'measure the free space', result);
  const df = parseDf(result.stdout.toString('utf8'));
  if (df === undefined) {
    throw new TetherError(
      'transfer-failed',
      `unable to measure the free space on ${shell.displayName}: df printed no size line (${JSON.stringify(result.stdout.toString('utf8').slice(0, 200))})`,
    );
  }
  return {
    freeBytes: df.freeBytes,
    totalBytes: df.totalBytes,
    usedBytes: df.usedBytes,
    where: `the volume of ${shell.displayName}`,
  };
}
