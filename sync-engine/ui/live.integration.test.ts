import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tether } from '../../test/helpers/cli.js';
import { StateStore } from '../state/store.js';
import { UiService } from './service.js';

/** Live sync in the app: the UiService of `tether ui` and Electron main, with its live service on. */

let dir: string;
let store: StateStore;
let service: UiService;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tether-ui-live-'));
  store = StateStore.open(join(dir, 'state.db'));
  service = new UiService({ store, home: dir, live: true });
});
afterEach(async () => {
  await service.close();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

async function filePair(name: string): Promise<{ local: string; remote: string }> {
  const local = join(dir, `${name}-local`);
  const remote = join(dir, `${name}-remote`);
  await mkdir(local);
  await mkdir(remote);
  await service.addPair({
    name,
    localPath: local,
    remoteUrl: `file://${remote}`,
    mode: 'two-way',
    compare: 'size-mtime',
    ignore: [],
  });
  return { local, remote };
}

/** Polls `check` until it holds (events drive the live service; this only waits for them). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exists = (file: string) =>
  readFile(file, 'utf8').then(
    (text) => text,
    () => undefined,
  );

interface StatusJson {
  readonly name: string;
  readonly state: string;
  readonly paused: boolean;
  readonly stateMessage?: string;
  readonly watcher?: { readonly pid: number };
}

async function statusInAnotherProcess(name: string): Promise<StatusJson> {
  const result = await tether(['status', name, '--json'], dir);
  expect(result.code, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as StatusJson | StatusJson[];
  const one = Array.isArray(parsed) ? parsed.find((p) => p.name === name) : parsed;
  if (one === undefined) throw new Error(`tether status printed no pair ${name}: ${result.stdout}`);
  return one;
}

describe('live sync in the app', () => {
  it('a pair marked live picks up a new local file without "Sync now", and the list shows the watcher', async () => {
    const { local, remote } = await filePair('docs');
    const view = await service.setLive({ name: 'docs', live: true });
    expect(view.live).toBe(true);
    // The pair takes the app's poll interval (Settings) as its own.
    const { pollIntervalSeconds } = await service.getSettings();
    expect(store.requirePair('docs').options['live']).toMatchObject({ pollIntervalMs: pollIntervalSeconds * 1000 });

    await writeFile(join(local, 'notes.txt'), 'written while the app watches');
    await eventually(
      async () => (await exists(join(remote, 'notes.txt'))) !== undefined,
      'notes.txt reached the remote',
    );
    expect(await readFile(join(remote, 'notes.txt'), 'utf8')).toBe('written while the app watches');

    const [pair] = await service.listPairs();
    expect(pair?.live).toBe(true);
    expect(pair?.watcher?.pid).toBe(process.pid);
    expect(['idle', 'scanning', 'syncing']).toContain(pair?.state);
  });

  it('a pause from the app is what `tether status --json` sees in another process; resume lifts it', async () => {
    const { local, remote } = await filePair('models');
    await service.setLive({ name: 'models', live: true });
    await service.pausePair({ name: 'models' });

    // The request is in the state store at once; the app's watcher reports `paused` within its control interval.
    expect((await statusInAnotherProcess('models')).paused).toBe(true);
    await eventually(
      async () => (await statusInAnotherProcess('models')).state === 'paused',
      'tether status shows the pair paused',
      10_000,
    );
    // The live service obeys the same request: a new file stays local while paused.
    await writeFile(join(local, 'paused.txt'), 'not yet');
    await eventually(
      async () => (await service.listPairs())[0]?.state === 'paused',
      'the app shows the pair as paused',
      5_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(await exists(join(remote, 'paused.txt'))).toBeUndefined();
    await expect(service.syncNow({ name: 'models' })).rejects.toThrow(/paused/);

    await service.resumePair({ name: 'models' });
    const resumed = await statusInAnotherProcess('models');
    expect(resumed.paused).toBe(false);
    await eventually(async () => (await exists(join(remote, 'paused.txt'))) === 'not yet', 'paused.txt was synced');
  });

  it("Settings' poll interval feeds live pairs that follow it; a pair's own interval (tether live --poll) stays", async () => {
    await filePair('follows');
    await filePair('own');
    store.updatePairConfig('own', { options: { ...store.requirePair('own').options, live: { pollIntervalMs: 5000 } } });
    await service.setLive({ name: 'follows', live: true });
    await service.setLive({ name: 'own', live: true });
    const settings = await service.getSettings();
    await service.saveSettings({ ...settings, pollIntervalSeconds: settings.pollIntervalSeconds + 15 });
    expect(store.requirePair('follows').options['live']).toMatchObject({
      pollIntervalMs: (settings.pollIntervalSeconds + 15) * 1000,
    });
    expect(store.requirePair('own').options['live']).toMatchObject({ pollIntervalMs: 5000 });
    // Unmarking stops the watcher: no watcher row stays alive for it.
    await service.setLive({ name: 'own', live: false });
    const own = (await service.listPairs()).find((p) => p.name === 'own');
    expect(own).toMatchObject({ live: false });
    expect(own?.watcher).toBeUndefined();
  });

  it('a pause written by `tether pause` in another process shows in the app', async () => {
    await filePair('scratch');
    const result = await tether(['pause', 'scratch'], dir);
    expect(result.code, result.stderr).toBe(0);
    const [pair] = await service.listPairs();
    expect(pair?.paused).toBe(true);
    expect(pair?.state).toBe('paused');
    expect(pair?.stateMessage).toBe('paused by the user');
  });
});
