import { formatBytes } from '../controller/progress.js';
import type { PvcRow, QuotaReport } from './report.js';

/** `tether quota` output: a text table per namespace, and a CSV export of the same rows. Pure. */

function age(seconds: number): string {
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function shortModes(modes: readonly string[]): string {
  const short: Record<string, string> = {
    ReadWriteOnce: 'RWO',
    ReadWriteMany: 'RWX',
    ReadOnlyMany: 'ROX',
    ReadWriteOncePod: 'RWOP',
  };
  return modes.map((m) => short[m] ?? m).join(',');
}

const MARK = { ok: '', warning: ' (!)', critical: ' (!!)' } as const;

function usedCell(pvc: PvcRow, now: number): string {
  if (pvc.usage === undefined) return pvc.phase === 'Bound' ? 'not measured (--refresh)' : '-';
  const { usedBytes, percent, level, measuredAt } = pvc.usage;
  return `${formatBytes(usedBytes)} ${percent}%${MARK[level]} (${age(Math.max(0, Math.floor((now - measuredAt) / 1000)))} ago)`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '));
}

export function quotaText(report: QuotaReport, now: number = report.generatedAt): string {
  const lines: string[] = [];
  lines.push(
    report.scope === 'cluster'
      ? `Storage on the cluster (${report.user} may see every namespace)`
      : `Storage ${report.user} may see (decided by RBAC)`,
  );
  if (report.namespaces.length === 0) lines.push('  no namespace visible to you; pass --namespace NS');
  for (const ns of report.namespaces) {
    const who =
      ns.group !== undefined ? `group ${ns.group}` : ns.owner !== undefined ? `personal, ${ns.owner}` : ns.kind;
    lines.push('', `${ns.name} (${who}): your access ${ns.permission}`);
    for (const q of ns.quotas) {
      const pct = q.percent === undefined ? '' : ` (${q.percent}%${q.level === undefined ? '' : MARK[q.level]})`;
      lines.push(`  quota ${q.name}: ${q.resource} ${q.used} of ${q.hard}${pct}`);
    }
    if (ns.pvcs.length > 0) {
      const rows = [
        ['PVC', 'STATUS', 'CLASS', 'MODES', 'CAPACITY', 'USED', 'AGE', 'ACCESS'],
        ...ns.pvcs.map((p) => [
          p.name,
          p.pendingTooLong ? `${p.phase} (!! call an admin)` : p.phase,
          p.storageClass ?? '-',
          shortModes(p.accessModes),
          p.capacityBytes === undefined ? '-' : formatBytes(p.capacityBytes),
          usedCell(p, now),
          age(p.ageSeconds),
          p.permission,
        ]),
      ];
      lines.push(...table(rows).map((l) => `  ${l}`));
    }
    if (ns.phfs !== undefined)
      lines.push(`  phfs ${ns.phfs.prefix}: ${formatBytes(ns.phfs.bytes)} in ${ns.phfs.objects} objects`);
  }
  if (report.warnings.length > 0) lines.push('', 'Warnings:', ...report.warnings.map((w) => `  ${w}`));
  return lines.join('\n');
}

function csvCell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  // Cells a spreadsheet would run as a formula are prefixed with a quote (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value === 'string' ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_HEADER = [
  'type',
  'namespace',
  'kind',
  'group',
  'name',
  'resource',
  'status',
  'storage_class',
  'access_modes',
  'capacity_bytes',
  'hard',
  'used',
  'used_bytes',
  'percent_used',
  'level',
  'measured_at',
  'age_seconds',
  'pending_too_long',
  'permission',
];

/** One row per PVC, per quota resource and per PHFS prefix. */
export function quotaCsv(report: QuotaReport): string {
  const rows: (string | number | boolean | undefined)[][] = [CSV_HEADER];
  for (const ns of report.namespaces) {
    const group = ns.group ?? ns.owner;
    for (const q of ns.quotas) {
      rows.push([
        'quota',
        ns.name,
        ns.kind,
        group,
        q.name,
        q.resource,
        '',
        '',
        '',
        '',
        q.hard,
        q.used,
        '',
        q.percent,
        q.level,
        '',
        '',
        '',
        ns.permission,
      ]);
    }
    for (const p of ns.pvcs) {
      rows.push([
        'pvc',
        ns.name,
        ns.kind,
        group,
        p.name,
        'storage',
        p.phase,
        p.storageClass,
        p.accessModes.join(' '),
        p.capacityBytes,
        '',
        '',
        p.usage?.usedBytes,
        p.usage?.percent,
        p.usage?.level,
        p.usage === undefined ? undefined : new Date(p.usage.measuredAt).toISOString(),
        p.ageSeconds,
        p.pendingTooLong,
        p.permission,
      ]);
    }
    if (ns.phfs !== undefined) {
      rows.push([
        'phfs',
        ns.name,
        ns.kind,
        group,
        ns.phfs.prefix,
        'objects',
        '',
        '',
        '',
        '',
        '',
        ns.phfs.objects,
        ns.phfs.bytes,
        '',
        '',
        '',
        '',
        '',
        ns.permission,
      ]);
    }
  }
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
