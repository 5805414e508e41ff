import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SyncMode } from '../../sync-engine/core/plan.js';
import type { StoredLiveSettings } from '../../sync-engine/live/settings.js';
import { StateStore } from '../../sync-engine/state/store.js';

/** A temporary pair (local folder, file:// remote, state store) for live-sync tests. */
export interface LivePair {
  readonly root: string;
  readonly home: string;
  readonly local: string;
  readonly remote: string;
  readonly store: StateStore;
  /** Another connection to the same state file, as another process would have. */
  openOther(): StateStore;
  cleanup(): void;
}

export function livePair(live: StoredLiveSettings, mode: SyncMode = 'two-way', name = 'p'): LivePair {
  const root = mkdtempSync(join(tmpdir(), 'tether-live-'));
  const home = join(root, 'home');
  const local = join(root, 'local');
  const remote = join(root, 'remote');
  for (const dir of [home, local, remote]) mkdirSync(dir, { recursive: true });
  const file = join(home, 'state.db');
  const store = StateStore.open(file);
  const stores = [store];
  store.addPair({
    name,
    localPath: local,
    remoteUrl: `file://${remote}`,
    mode,
    compare: 'size-mtime',
    ignore: [],
    live: true,
    options: { live },
  });
  return {
    root,
    home,
    local,
    remote,
    store,
    openOther() {
      const other = StateStore.open(file);
      stores.push(other);
      return other;
    },
    cleanup() {
      for (const s of stores) s.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Writes a file (parents created) with the given mtime in seconds since the epoch, when given. */
export function put(root: string, path: string, content: string | Buffer, mtimeSeconds?: number): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
  if (mtimeSeconds !== undefined) utimesSync(full, mtimeSeconds, mtimeSeconds);
}

/** Relative paths of the files below `root` (engine temporaries included, so tests can see them). */
export function filesBelow(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) walk(join(dir, entry.name), path);
      else out.push(path);
    }
  };
  walk(root, '');
  return out.sort();
}

/** Polls `check` every 20 ms until it returns true, or fails after `timeoutMs` with `what`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
