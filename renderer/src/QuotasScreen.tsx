import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { NamespaceReport, PvcRow, QuotaLine } from '../../sync-engine/ui/contract.js';
import { api } from './api.js';
import { Empty, ErrorBox, Loading } from './common.js';
import { formatBytes, formatDuration, formatTime } from './format.js';

/**
 * Storage and quotas as the chosen kubeconfig context's user may see them (RBAC decides, in the engine): per
 * namespace the ResourceQuotas with a bar chart, the claims with bytes actually used (df, refreshable), and PHFS
 * usage per group prefix; CSV export of the same rows as `tether quota --csv`.
 */

function levelClass(level: string | undefined): string {
  return level === 'critical' ? 'level-critical' : level === 'warning' ? 'level-warning' : 'level-ok';
}

function Percent({ percent, level }: { percent: number | undefined; level: string | undefined }) {
  if (percent === undefined) return <span className="muted">–</span>;
  return (
    <span className={`badge ${levelClass(level)}`} data-testid="percent">
      {percent}%{level === 'critical' ? ' (over 90%)' : level === 'warning' ? ' (over 80%)' : ''}
    </span>
  );
}

const BAR_WIDTH = 260;
const ROW = 26;
const LABEL = 290;

/** Used against hard for every quota resource with a percentage: plain SVG, one bar per resource. */
function QuotaChart({ namespace, lines }: { namespace: string; lines: readonly QuotaLine[] }) {
  const bars = lines.filter((l) => l.percent !== undefined);
  if (bars.length === 0) return null;
  return (
    <svg
      className="quota-chart"
      role="img"
      aria-label={`quota use in ${namespace}`}
      width={LABEL + BAR_WIDTH + 180}
      height={bars.length * ROW + 4}
      data-testid={`chart-${namespace}`}
    >
      {bars.map((line, i) => {
        const percent = line.percent ?? 0;
        const y = i * ROW + 2;
        return (
          <g key={`${line.name}/${line.resource}`}>
            <title>{`${line.resource}: ${line.used} of ${line.hard} (${percent}%)`}</title>
            <text x={0} y={y + 15} className="chart-label">
              {line.resource.length > 40 ? `…${line.resource.slice(-39)}` : line.resource}
            </text>
            <rect x={LABEL} y={y} width={BAR_WIDTH} height={18} className="chart-hard" />
            <rect
              x={LABEL}
              y={y}
              width={(BAR_WIDTH * Math.min(percent, 100)) / 100}
              height={18}
              className={`chart-used ${levelClass(line.level)}`}
            />
            <text x={LABEL + BAR_WIDTH + 8} y={y + 15} className="chart-label">
              {`${line.used} / ${line.hard}`}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** The drill-down: a claim's largest folders (two levels), listed when opened. */
function LargestFolders({ pvc, context }: { pvc: PvcRow; context: string | undefined }) {
  const folders = useQuery({
    queryKey: ['largestFolders', context ?? '', pvc.namespace, pvc.name],
    queryFn: () =>
      api.call('largestFolders', {
        namespace: pvc.namespace,
        pvc: pvc.name,
        ...(context === undefined ? {} : { context }),
      }),
  });
  return (
    <tr className="drill-down">
      <td colSpan={10} data-testid={`folders-${pvc.namespace}-${pvc.name}`}>
        {folders.isPending ? (
          <Loading what={`the largest folders of ${pvc.name}`} />
        ) : folders.isError ? (
          <ErrorBox error={folders.error} retry={() => void folders.refetch()} />
        ) : folders.data.length === 0 ? (
          <p className="muted">No folders.</p>
        ) : (
          <table aria-label={`largest folders of ${pvc.namespace}/${pvc.name}`}>
            <thead>
              <tr>
                <th>Folder</th>
                <th>Bytes</th>
                <th>Files</th>
              </tr>
            </thead>
            <tbody>
              {folders.data.map((f) => (
                <tr key={f.path} data-testid={`folder-${f.path}`}>
                  <td>{f.path}/</td>
                  <td data-bytes={f.bytes}>{formatBytes(f.bytes)}</td>
                  <td>{f.files}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </td>
    </tr>
  );
}

function ClaimRow({
  pvc,
  context,
  onRefresh,
  refreshing,
}: {
  pvc: PvcRow;
  context: string | undefined;
  onRefresh: () => void;
  refreshing: boolean;
}) {
  const usage = pvc.usage;
  const [open, setOpen] = useState(false);
  return (
    <>
      <tr data-testid={`pvc-${pvc.namespace}-${pvc.name}`} className={pvc.pendingTooLong ? 'flagged' : undefined}>
        <td>
          {pvc.name}
          {pvc.phase === 'Bound' ? (
            <>
              {' '}
              <button
                type="button"
                className="link"
                aria-expanded={open}
                aria-label={`largest folders of ${pvc.namespace}/${pvc.name}`}
                onClick={() => setOpen(!open)}
              >
                {open ? 'hide folders' : 'folders'}
              </button>
            </>
          ) : null}
        </td>
        <td>{pvc.scope === 'personal' ? 'personal' : pvc.scope === 'group' ? 'group' : '–'}</td>
        <td data-testid="phase">
          <span className={`badge phase-${pvc.phase}`}>{pvc.phase}</span>
          {pvc.pendingTooLong ? (
            <span className="warn" role="note">
              {' '}
              Pending for {formatDuration(pvc.ageSeconds)}: call an admin
            </span>
          ) : null}
        </td>
        <td data-testid="capacity" data-bytes={pvc.capacityBytes}>
          {pvc.capacityBytes === undefined ? '–' : formatBytes(pvc.capacityBytes)}
        </td>
        <td data-testid="used" data-bytes={usage?.usedBytes}>
          {usage === undefined ? (
            <span className="muted">not measured </span>
          ) : (
            <>
              {formatBytes(usage.usedBytes)} of {formatBytes(usage.totalBytes)}
              <br />
              <span className="muted">measured {formatTime(usage.measuredAt)} </span>
            </>
          )}
          {pvc.phase === 'Bound' ? (
            <button
              type="button"
              className="link"
              aria-label={`measure bytes used on ${pvc.namespace}/${pvc.name}`}
              disabled={refreshing}
              onClick={onRefresh}
            >
              {refreshing ? 'measuring…' : 'refresh'}
            </button>
          ) : null}
        </td>
        <td>
          <Percent percent={usage?.percent} level={usage?.level} />
        </td>
        <td>{pvc.lane ?? pvc.storageClass ?? '–'}</td>
        <td>{pvc.accessModes.join(', ')}</td>
        <td>{formatDuration(pvc.ageSeconds)}</td>
        <td data-testid="permission">{pvc.permission}</td>
      </tr>
      {open ? <LargestFolders pvc={pvc} context={context} /> : null}
    </>
  );
}

function NamespaceSection({
  ns,
  context,
  refreshing,
  onRefresh,
}: {
  ns: NamespaceReport;
  context: string | undefined;
  refreshing: ReadonlySet<string>;
  onRefresh: (pvc: string) => void;
}) {
  return (
    <section className="quota-ns" aria-labelledby={`ns-${ns.name}`} data-testid={`ns-${ns.name}`}>
      <h3 id={`ns-${ns.name}`}>
        {ns.name}{' '}
        <span className="muted">
          {ns.kind === 'group'
            ? `group ${ns.group ?? ''}`
            : ns.kind === 'personal'
              ? `personal (${ns.owner ?? ''})`
              : ''}{' '}
          · your level: <span data-testid="ns-permission">{ns.permission}</span>
        </span>
      </h3>
      {ns.quotas.length === 0 ? (
        <p className="muted">No ResourceQuota you may read.</p>
      ) : (
        <>
          <table aria-label={`quotas of ${ns.name}`}>
            <thead>
              <tr>
                <th>Quota</th>
                <th>Resource</th>
                <th>Used</th>
                <th>Hard</th>
                <th>Percent</th>
              </tr>
            </thead>
            <tbody>
              {ns.quotas.map((q) => (
                <tr key={`${q.name}/${q.resource}`} data-testid={`quota-${ns.name}-${q.name}-${q.resource}`}>
                  <td>{q.name}</td>
                  <td>{q.resource}</td>
                  <td data-testid="quota-used">{q.used}</td>
                  <td data-testid="quota-hard">{q.hard}</td>
                  <td>
                    <Percent percent={q.percent} level={q.level} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <QuotaChart namespace={ns.name} lines={ns.quotas} />
        </>
      )}
      {ns.pvcs.length === 0 ? (
        <p className="muted">No claims.</p>
      ) : (
        <table aria-label={`claims of ${ns.name}`}>
          <thead>
            <tr>
              <th>Claim</th>
              <th>Scope</th>
              <th>Status</th>
              <th>Capacity</th>
              <th>Bytes used</th>
              <th>Percent</th>
              <th>Lane</th>
              <th>Access</th>
              <th>Age</th>
              <th>Your level</th>
            </tr>
          </thead>
          <tbody>
            {ns.pvcs.map((pvc) => (
              <ClaimRow
                key={pvc.name}
                pvc={pvc}
                context={context}
                refreshing={refreshing.has(`${ns.name}/${pvc.name}`)}
                onRefresh={() => onRefresh(pvc.name)}
              />
            ))}
          </tbody>
        </table>
      )}
      {ns.phfs === undefined ? null : (
        <p data-testid={`phfs-${ns.name}`}>
          PHFS <code>{ns.phfs.prefix}</code>: <span data-bytes={ns.phfs.bytes}>{formatBytes(ns.phfs.bytes)}</span> in{' '}
          <span data-testid="phfs-objects">{ns.phfs.objects}</span> objects
        </p>
      )}
    </section>
  );
}

function downloadCsv(csv: string, name: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function QuotasScreen() {
  const client = useQueryClient();
  const contexts = useQuery({ queryKey: ['kubeContexts'], queryFn: () => api.call('kubeContexts', {}) });
  const [context, setContext] = useState<string | undefined>(undefined);
  const [phfs, setPhfs] = useState(false);
  const [refreshing, setRefreshing] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => {
    if (context === undefined && contexts.data !== undefined) setContext(contexts.data.current);
  }, [context, contexts.data]);
  const key = ['quotaReport', context ?? '', phfs];
  const report = useQuery({
    queryKey: key,
    queryFn: () => api.call('quotaReport', { ...(context === undefined ? {} : { context }), phfs }),
    enabled: contexts.isSuccess || contexts.isError,
  });
  const refresh = useMutation({
    mutationFn: (claim: { namespace: string; pvc: string }) =>
      api.call('refreshUsage', { ...claim, ...(context === undefined ? {} : { context }) }),
    onMutate: (claim) => setRefreshing((old) => new Set(old).add(`${claim.namespace}/${claim.pvc}`)),
    onSettled: (_data, _error, claim) => {
      setRefreshing((old) => {
        const next = new Set(old);
        next.delete(`${claim.namespace}/${claim.pvc}`);
        return next;
      });
      void client.invalidateQueries({ queryKey: key });
    },
  });
  return (
    <section aria-labelledby="quotas-title">
      <div className="toolbar">
        <h2 id="quotas-title">Quotas</h2>
        <label className="inline">
          Kube context
          <select
            value={context ?? ''}
            onChange={(e) => setContext(e.target.value === '' ? undefined : e.target.value)}
            disabled={contexts.data === undefined}
          >
            {contexts.data?.contexts.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={phfs} onChange={(e) => setPhfs(e.target.checked)} />
          PHFS usage
        </label>
        <button type="button" onClick={() => void report.refetch()} disabled={report.isFetching}>
          Reload
        </button>
        <button
          type="button"
          disabled={report.data === undefined}
          onClick={() =>
            report.data !== undefined && downloadCsv(report.data.csv, `tether-quota-${context ?? 'default'}.csv`)
          }
        >
          Export CSV
        </button>
      </div>
      {contexts.isError ? <ErrorBox error={contexts.error} /> : null}
      {refresh.error === null ? null : <ErrorBox error={refresh.error} />}
      {report.isPending ? (
        <Loading what="quotas" />
      ) : report.isError ? (
        <ErrorBox error={report.error} retry={() => void report.refetch()} />
      ) : (
        <>
          <p className="muted" data-testid="quota-scope">
            As {report.data.report.user}:{' '}
            {report.data.report.scope === 'cluster'
              ? 'every group (cluster admin)'
              : 'the namespaces RBAC lets you see'}{' '}
            · {formatTime(report.data.report.generatedAt)}
          </p>
          {report.data.failures.map((f) => (
            <p key={f} className="warn" role="alert">
              {f}
            </p>
          ))}
          {report.data.report.warnings.length === 0 ? null : (
            <ul className="quota-warnings" aria-label="warnings" data-testid="quota-warnings">
              {report.data.report.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
          {report.data.report.namespaces.length === 0 ? (
            <Empty>
              <p>No namespace you may see. Pick another context, or ask a group admin for access.</p>
            </Empty>
          ) : (
            report.data.report.namespaces.map((ns) => (
              <NamespaceSection
                key={ns.name}
                ns={ns}
                context={context}
                refreshing={refreshing}
                onRefresh={(pvc) => refresh.mutate({ namespace: ns.name, pvc })}
              />
            ))
          )}
        </>
      )}
    </section>
  );
}
