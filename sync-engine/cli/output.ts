import type { PairRecord } from '../state/store.js';
import type { SyncProgress } from '../controller/progress.js';
import { formatBytes, formatDuration } from '../controller/progress.js';
import type { SyncSummary } from '../controller/syncPair.js';

/** A one-line progress report, rewritten in place on a terminal. */
export function progressLine(p: SyncProgress): string {
  if (p.phase === 'scanning') return `scanning… ${p.scanned ?? 0} entries`;
  if (p.phase === 'hashing') return 'hashing (strict mode)…';
  if (p.phase === 'planning') return 'planning…';
  const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100;
  const rate = p.bytesPerSecond > 0 ? ` ${formatBytes(p.bytesPerSecond)}/s` : '';
  const eta = p.etaSeconds === undefined ? '' : ` ETA ${formatDuration(p.etaSeconds)}`;
  return `${p.phase} ${pct}% ${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}${rate}${eta}`;
}

export function summaryText(summary: SyncSummary): string {
  const lines: string[] = [];
  if (summary.dryRun) {
    lines.push(`dry run of "${summary.pair}": nothing was changed. The plan:`);
    const actions = summary.actions ?? [];
    for (const a of actions) {
      const what =
        a.kind === 'copy'
          ? a.side === 'remote'
            ? 'upload  '
            : 'download'
          : a.kind === 'delete'
            ? `delete ${a.side}`.padEnd(8)
            : a.kind.padEnd(8);
      const extra = a.bytes === undefined ? '' : ` (${formatBytes(a.bytes)})`;
      const to = a.to === undefined ? '' : ` → ${a.to}`;
      lines.push(`  ${what} ${a.path}${to}${extra}`);
    }
    if (actions.length === 0) lines.push('  (nothing to do: both sides are in sync)');
  }
  const verb = summary.dryRun ? 'would' : 'did';
  lines.push(
    `${summary.pair}: ${verb} upload ${summary.uploaded}, download ${summary.downloaded}, ` +
      `delete ${summary.deletedLocal} local and ${summary.deletedRemote} remote, ` +
      `${summary.conflicts} conflict(s), ${formatBytes(summary.bytes)} in ${(summary.durationMs / 1000).toFixed(1)}s`,
  );
  if (summary.hashDownloaded !== undefined) {
    const { bytes, files } = summary.hashDownloaded;
    lines.push(
      `  strict mode downloaded ${formatBytes(bytes)} (${files} file(s) without a stored SHA-256) only to hash them`,
    );
  }
  for (const c of summary.conflictList) {
    lines.push(`  conflict: ${c.path} changed on both sides; the remote version is kept as ${c.conflictPath}`);
  }
  for (const p of summary.problems) lines.push(`  problem: ${p.path}: ${p.message}`);
  return lines.join('\n');
}

export function pairLine(pair: PairRecord): string {
  const last = pair.lastSyncAt === undefined ? 'never synced' : `last sync ${new Date(pair.lastSyncAt).toISOString()}`;
  const message = pair.stateMessage === undefined ? '' : ` (${pair.stateMessage})`;
  return `${pair.name}  ${pair.localPath} ⇄ ${pair.remoteUrl}  [${pair.mode}, ${pair.compare}]  ${pair.state}${message}, ${last}`;
}
