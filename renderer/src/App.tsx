import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { Progress } from '../../sync-engine/ui/contract.js';
import { api } from './api.js';
import { ActivityScreen } from './ActivityScreen.js';
import { ConflictsScreen } from './ConflictsScreen.js';
import { NewPairWizard } from './NewPairWizard.js';
import { PairsScreen } from './PairsScreen.js';
import { QuotasScreen } from './QuotasScreen.js';
import { SettingsScreen } from './SettingsScreen.js';
import { StorageBrowserScreen } from './StorageBrowser.js';

const SCREENS = ['Pairs', 'Storage', 'Quotas', 'Conflicts', 'Activity', 'Settings'] as const;
type Screen = (typeof SCREENS)[number] | 'New pair';

interface Notice {
  readonly id: number;
  readonly level: 'warn' | 'error';
  readonly message: string;
}

export function App() {
  const client = useQueryClient();
  const [screen, setScreen] = useState<Screen>('Pairs');
  const [progress, setProgress] = useState<ReadonlyMap<string, Progress>>(new Map());
  const [notices, setNotices] = useState<readonly Notice[]>([]);
  const [connected, setConnected] = useState(true);

  useEffect(() => {
    let noticeId = 0;
    const off = api.on((event, data) => {
      if (event === 'progress') {
        const { pair, progress: p } = data as { pair: string; progress: Progress };
        setProgress((old) => new Map(old).set(pair, p));
      } else if (event === 'pairsChanged') {
        // A sync started or ended: progress of earlier runs is stale (running ones report again within 200 ms).
        setProgress(new Map());
        void client.invalidateQueries({ queryKey: ['pairs'] });
      } else {
        const n = data as { level: 'warn' | 'error'; message: string };
        setNotices((old) => [...old.slice(-4), { id: ++noticeId, level: n.level, message: n.message }]);
        void client.invalidateQueries({ queryKey: ['conflicts'] });
      }
    });
    const offStatus = api.onStatus((s) => {
      setConnected(s === 'open');
      if (s === 'open') void client.invalidateQueries();
    });
    return () => {
      off();
      offStatus();
    };
  }, [client]);

  return (
    <div className="app">
      <header className="top">
        <h1>Tether</h1>
        <nav aria-label="screens">
          {SCREENS.map((s) => (
            <button
              key={s}
              type="button"
              className={screen === s ? 'tab active' : 'tab'}
              aria-current={screen === s ? 'page' : undefined}
              onClick={() => setScreen(s)}
            >
              {s}
            </button>
          ))}
        </nav>
      </header>
      {connected ? null : (
        <p className="banner" role="alert">
          Lost the connection to Tether; reconnecting…
        </p>
      )}
      <div className="notices" aria-live="polite">
        {notices.map((n) => (
          <p key={n.id} className={`notice ${n.level}`}>
            {n.message}
            <button
              type="button"
              aria-label="dismiss"
              onClick={() => setNotices((old) => old.filter((o) => o.id !== n.id))}
            >
              ×
            </button>
          </p>
        ))}
      </div>
      <main>
        {screen === 'Pairs' ? <PairsScreen progress={progress} onNewPair={() => setScreen('New pair')} /> : null}
        {screen === 'New pair' ? (
          <NewPairWizard
            onCancel={() => setScreen('Pairs')}
            onDone={(name, sync) => {
              setScreen('Pairs');
              void client.invalidateQueries({ queryKey: ['pairs'] });
              if (sync) {
                api.call('syncNow', { name }).then(
                  () => void client.invalidateQueries({ queryKey: ['pairs'] }),
                  (error: unknown) =>
                    setNotices((old) => [
                      ...old,
                      { id: Date.now(), level: 'error', message: `sync of ${name} failed: ${String(error)}` },
                    ]),
                );
              }
            }}
          />
        ) : null}
        {screen === 'Storage' ? <StorageBrowserScreen /> : null}
        {screen === 'Quotas' ? <QuotasScreen /> : null}
        {screen === 'Conflicts' ? <ConflictsScreen /> : null}
        {screen === 'Activity' ? <ActivityScreen /> : null}
        {screen === 'Settings' ? <SettingsScreen /> : null}
      </main>
    </div>
  );
}
