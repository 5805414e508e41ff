import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ConflictChoice, ConflictView, FileFacts } from '../../sync-engine/ui/contract.js';
import { api } from './api.js';
import { Empty, ErrorBox, Loading } from './common.js';
import { formatBytes, formatTime } from './format.js';

function Side({ title, facts }: { title: string; facts: FileFacts }) {
  return (
    <div className="side">
      <h4>{title}</h4>
      <dl>
        <dt>File</dt>
        <dd>{facts.path}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(facts.size)}</dd>
        <dt>Modified</dt>
        <dd>{formatTime(facts.mtimeMs)}</dd>
        <dt>SHA-256</dt>
        <dd className="hash">{facts.sha256}</dd>
      </dl>
    </div>
  );
}

function ConflictCard({ conflict }: { conflict: ConflictView }) {
  const client = useQueryClient();
  const resolve = useMutation({
    mutationFn: (choice: ConflictChoice) =>
      api.call('resolveConflict', {
        pair: conflict.pair,
        path: conflict.path,
        conflictPath: conflict.conflictPath,
        choice,
      }),
    onSettled: () => client.invalidateQueries({ queryKey: ['conflicts'] }),
  });
  return (
    <article className="conflict" aria-label={`conflict ${conflict.path}`} data-testid={`conflict-${conflict.path}`}>
      <h3>
        {conflict.path} <span className="muted">in {conflict.pair}</span>
      </h3>
      <div className="sides">
        <Side title="Your version (local)" facts={conflict.local} />
        <Side title="Remote version" facts={conflict.remote} />
      </div>
      {resolve.isError ? <ErrorBox error={resolve.error} /> : null}
      <div className="actions">
        <button type="button" disabled={resolve.isPending} onClick={() => resolve.mutate('keep-local')}>
          Keep local
        </button>
        <button type="button" disabled={resolve.isPending} onClick={() => resolve.mutate('keep-remote')}>
          Keep remote
        </button>
        <button type="button" disabled={resolve.isPending} onClick={() => resolve.mutate('keep-both')}>
          Keep both
        </button>
      </div>
      {resolve.isPending ? <Loading what="resolving and syncing" /> : null}
    </article>
  );
}

export function ConflictsScreen() {
  const conflicts = useQuery({ queryKey: ['conflicts'], queryFn: () => api.call('listConflicts', {}) });
  return (
    <section aria-labelledby="conflicts-title">
      <h2 id="conflicts-title">Conflicts</h2>
      <p className="muted">
        When both sides changed a file, Tether kept both: yours under the name, the remote’s beside it. Choose which to
        keep; the pair then syncs once so both sides agree.
      </p>
      {conflicts.isPending ? (
        <Loading what="conflicts" />
      ) : conflicts.isError ? (
        <ErrorBox error={conflicts.error} retry={() => void conflicts.refetch()} />
      ) : conflicts.data.length === 0 ? (
        <Empty>No conflicts. 🎉</Empty>
      ) : (
        conflicts.data.map((c) => <ConflictCard key={`${c.pair}:${c.conflictPath}`} conflict={c} />)
      )}
    </section>
  );
}
