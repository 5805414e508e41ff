import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { PairView, Progress } from '../../sync-engine/ui/contract.js';
import { api } from './api.js';
import { Confirm, Empty, ErrorBox, Loading, ProgressBar } from './common.js';
import { formatBytes, formatDuration, formatTime } from './format.js';

const STATE_LABEL: Record<PairView['state'], string> = {
  idle: 'Idle',
  scanning: 'Scanning',
  syncing: 'Syncing',
  waiting: 'Waiting',
  paused: 'Paused',
  halted: 'Halted',
};

function ProgressLine({ progress }: { progress: Progress }) {
  const eta = progress.etaSeconds === undefined ? '' : `, ${formatDuration(progress.etaSeconds)} left`;
  const text =
    progress.phase === 'transferring' || progress.phase === 'finishing'
      ? `${progress.filesDone} / ${progress.filesTotal} files, ${formatBytes(progress.bytesDone)} / ${formatBytes(progress.bytesTotal)}, ${formatBytes(progress.bytesPerSecond)}/s${eta}`
      : `${progress.phase}${progress.scanned === undefined ? '' : ` (${progress.scanned} entries)`}`;
  return (
    <div className="progress" data-testid="progress">
      <ProgressBar value={progress.bytesDone} max={progress.bytesTotal} label="sync progress" />
      <span>{text}</span>
    </div>
  );
}

function LastResult({ pair }: { pair: PairView }) {
  const r = pair.lastResult;
  if (r === undefined) return <span className="muted">not synced yet</span>;
  return (
    <span data-testid="last-result">
      ↑{r.uploaded} ↓{r.downloaded} · {formatBytes(r.bytes)}
      {r.conflicts > 0 ? ` · ${r.conflicts} conflict(s)` : ''}
      {r.problems > 0 ? ` · ${r.problems} problem(s)` : ''}
    </span>
  );
}

function PairCard({ pair, progress }: { pair: PairView; progress: Progress | undefined }) {
  const client = useQueryClient();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const refresh = () => client.invalidateQueries({ queryKey: ['pairs'] });
  const sync = useMutation({ mutationFn: () => api.call('syncNow', { name: pair.name }), onSettled: refresh });
  const pause = useMutation({ mutationFn: () => api.call('pausePair', { name: pair.name }), onSettled: refresh });
  const resume = useMutation({ mutationFn: () => api.call('resumePair', { name: pair.name }), onSettled: refresh });
  const remove = useMutation({ mutationFn: () => api.call('removePair', { name: pair.name }), onSettled: refresh });
  // What the user just asked for, shown until the list says so: set in the click's own render, so the
  // controlled checkbox never flips back while the request is on its way.
  const [liveWanted, setLiveWanted] = useState<boolean | undefined>(undefined);
  const live = useMutation({
    mutationFn: (on: boolean) => api.call('setLive', { name: pair.name, live: on }),
    onSettled: async () => {
      await refresh();
      setLiveWanted(undefined);
    },
  });
  // A sync this window started; a live watcher's own syncs show through `state` (scanning, syncing).
  const busy = pair.running || sync.isPending;
  const watching = pair.state === 'scanning' || pair.state === 'syncing';
  const paused = pair.paused || pair.state === 'paused';
  const error = sync.error ?? pause.error ?? resume.error ?? remove.error ?? live.error;
  return (
    <article className="pair" aria-labelledby={`pair-${pair.name}`} data-testid={`pair-${pair.name}`}>
      <header>
        <h3 id={`pair-${pair.name}`}>{pair.name}</h3>
        <span className={`badge state-${busy ? 'syncing' : pair.state}`} data-testid="pair-state">
          {busy ? 'Syncing' : STATE_LABEL[pair.state]}
        </span>
        {pair.live ? (
          <span
            className="badge live"
            data-testid="pair-live"
            title={
              pair.watcher === undefined
                ? 'marked live; no watcher is running'
                : `watched by process ${pair.watcher.pid} on ${pair.watcher.host}`
            }
          >
            Live{pair.watcher === undefined ? ' (not watched)' : ''}
          </span>
        ) : null}
      </header>
      <p className="paths">
        <span title="local folder">{pair.localPath}</span> ⇄ <span title="remote">{pair.remoteUrl}</span>
      </p>
      <p className="muted">
        {pair.mode} · compare {pair.compare} · last sync {formatTime(pair.lastSyncAt)} · <LastResult pair={pair} />
      </p>
      {pair.stateMessage === undefined ? null : (
        <p className="state-message" data-testid="state-message">
          {pair.state === 'waiting' || pair.state === 'halted' ? `${STATE_LABEL[pair.state]}: ` : ''}
          {pair.stateMessage}
        </p>
      )}
      {busy || watching ? (
        progress === undefined ? (
          <p role="status">{busy ? 'Starting…' : `${STATE_LABEL[pair.state]}…`}</p>
        ) : (
          <ProgressLine progress={progress} />
        )
      ) : null}
      {sync.data !== undefined && !busy ? (
        <p role="status" data-testid="sync-done">
          Sync finished: {sync.data.uploaded} uploaded, {sync.data.downloaded} downloaded, {sync.data.conflicts}{' '}
          conflict(s), {sync.data.failed} failed.
        </p>
      ) : null}
      {error === null ? null : <ErrorBox error={error} />}
      <div className="actions">
        <button
          type="button"
          className="primary"
          // A sync run by another process (a watcher, a shell) holds the pair's lock: one now would be refused.
          disabled={busy || paused || watching}
          title={watching && !busy ? 'a sync of this pair is running in another process' : undefined}
          onClick={() => sync.mutate()}
        >
          Sync now
        </button>
        {paused ? (
          <button type="button" onClick={() => resume.mutate()}>
            Resume
          </button>
        ) : (
          <button type="button" onClick={() => pause.mutate()}>
            Pause
          </button>
        )}
        <label className="inline">
          <input
            type="checkbox"
            checked={liveWanted ?? pair.live}
            disabled={live.isPending}
            onChange={(event) => {
              setLiveWanted(event.target.checked);
              live.mutate(event.target.checked);
            }}
          />
          Live sync
        </label>
        <button type="button" className="danger" onClick={() => setConfirmRemove(true)}>
          Remove
        </button>
      </div>
      {confirmRemove ? (
        <Confirm
          title={`Remove pair ${pair.name}?`}
          confirmLabel="Remove pair"
          danger
          onCancel={() => setConfirmRemove(false)}
          onConfirm={() => {
            setConfirmRemove(false);
            remove.mutate();
          }}
        >
          Tether forgets this pair. No file is touched on either side.
        </Confirm>
      ) : null}
    </article>
  );
}

export function PairsScreen({
  progress,
  onNewPair,
}: {
  progress: ReadonlyMap<string, Progress>;
  onNewPair: () => void;
}) {
  // Polled as well: a sync or a watcher in another process (`tether sync`, `tether watch`) sends no event here.
  const pairs = useQuery({
    queryKey: ['pairs'],
    queryFn: () => api.call('listPairs', {}),
    refetchInterval: 3000,
  });
  return (
    <section aria-labelledby="pairs-title">
      <div className="toolbar">
        <h2 id="pairs-title">Pairs</h2>
        <button type="button" className="primary" onClick={onNewPair}>
          New pair
        </button>
      </div>
      {pairs.isPending ? (
        <Loading what="pairs" />
      ) : pairs.isError ? (
        <ErrorBox error={pairs.error} retry={() => void pairs.refetch()} />
      ) : pairs.data.length === 0 ? (
        <Empty>
          <p>No pairs yet. A pair keeps a local folder in sync with a PVC or a PHFS prefix.</p>
          <button type="button" className="primary" onClick={onNewPair}>
            Create your first pair
          </button>
        </Empty>
      ) : (
        <div className="pairs">
          {pairs.data.map((pair) => (
            <PairCard key={pair.name} pair={pair} progress={progress.get(pair.name) ?? pair.progress} />
          ))}
        </div>
      )}
    </section>
  );
}
