import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { ActivityLevel } from '../../sync-engine/ui/contract.js';
import { api } from './api.js';
import { Empty, ErrorBox, Loading } from './common.js';
import { formatBytes, formatTime } from './format.js';

export function ActivityScreen() {
  const pairs = useQuery({ queryKey: ['pairs'], queryFn: () => api.call('listPairs', {}) });
  const [pair, setPair] = useState('');
  const [level, setLevel] = useState<ActivityLevel | ''>('');
  const [kind, setKind] = useState('');
  const [text, setText] = useState('');
  const activity = useQuery({
    queryKey: ['activity', pair, level, kind],
    queryFn: () =>
      api.call('listActivity', {
        limit: 1000,
        ...(pair === '' ? {} : { pair }),
        ...(level === '' ? {} : { level }),
        ...(kind === '' ? {} : { kind }),
      }),
    refetchInterval: 5000,
  });
  const shown = (activity.data ?? []).filter(
    (a) => text === '' || `${a.path ?? ''} ${a.message}`.toLowerCase().includes(text.toLowerCase()),
  );
  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <div className="filters row">
        <label>
          Pair
          <select value={pair} onChange={(e) => setPair(e.target.value)}>
            <option value="">All pairs</option>
            {pairs.data?.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Level
          <select value={level} onChange={(e) => setLevel(e.target.value as ActivityLevel | '')}>
            <option value="">Any</option>
            <option value="info">Info</option>
            <option value="warn">Warnings</option>
            <option value="error">Errors</option>
          </select>
        </label>
        <label>
          What
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">Anything</option>
            {['upload', 'download', 'delete', 'conflict', 'conflict-resolved', 'problem', 'halt', 'sync'].map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="path or message" />
        </label>
      </div>
      {activity.isPending ? (
        <Loading what="activity" />
      ) : activity.isError ? (
        <ErrorBox error={activity.error} retry={() => void activity.refetch()} />
      ) : shown.length === 0 ? (
        <Empty>
          Nothing logged{pair === '' && level === '' && kind === '' && text === '' ? ' yet' : ' matches these filters'}.
        </Empty>
      ) : (
        <table className="activity" aria-label="activity log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Pair</th>
              <th scope="col">Level</th>
              <th scope="col">What</th>
              <th scope="col">Path</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((a) => (
              <tr key={a.id} className={`level-${a.level}`}>
                <td>{formatTime(a.at)}</td>
                <td>{a.pair ?? '—'}</td>
                <td>{a.level}</td>
                <td>{a.kind}</td>
                <td>{a.path ?? ''}</td>
                <td>
                  {a.message}
                  {a.bytes === undefined ? '' : ` (${formatBytes(a.bytes)})`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
