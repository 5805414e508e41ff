import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../sync-engine/state/store.js';
import { tether } from '../helpers/cli.js';
import { collectPageErrors, launchChromium, screenshot, startUiHost } from './helpers.js';
import type { UiHost } from './helpers.js';

/**
 * Live sync in the browser host: a pair switched to live in the Pairs screen is kept in sync by `tether ui`
 * itself, and its pause is the one `tether status` and `tether watch` in other processes see.
 */
let work: string;
let home: string;
let local: string;
let remote: string;
let host: UiHost;
let browser: Browser;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tether-ui-live-'));
  home = join(work, 'home');
  local = join(work, 'local');
  remote = join(work, 'remote');
  await Promise.all([mkdir(home), mkdir(local), mkdir(remote)]);
  const added = await tether(['pair', 'add', 'notes', '--local', local, '--remote', `file://${remote}`], home);
  expect(added.code, added.stderr).toBe(0);
  host = await startUiHost(home);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 700 } });
  pageErrors = collectPageErrors(page);
  await page.goto(host.url);
}, 120_000);

afterAll(async () => {
  await (browser as Browser | undefined)?.close();
  await (host as UiHost | undefined)?.stop();
  await rm(work, { recursive: true, force: true });
}, 60_000);

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}; host stderr: ${host.stderr()}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const contentOf = (file: string) =>
  readFile(file, 'utf8').then(
    (text) => text,
    () => undefined,
  );

async function statusJson(): Promise<{ state: string; paused: boolean; watcher?: { pid: number } }> {
  const result = await tether(['status', 'notes', '--json'], home);
  expect(result.code, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as
    | { state: string; paused: boolean; watcher?: { pid: number } }
    | { state: string; paused: boolean; watcher?: { pid: number } }[];
  const one = Array.isArray(parsed) ? parsed[0] : parsed;
  if (one === undefined) throw new Error(`no pair in tether status: ${result.stdout}`);
  return one;
}

describe('live pairs in the browser host', () => {
  it('the Live sync switch makes tether ui keep the pair in sync: a local file arrives without Sync now', async () => {
    const card = page.getByTestId('pair-notes');
    await card.getByLabel('Live sync').check();
    await card.getByTestId('pair-live').getByText('Live', { exact: true }).waitFor();
    await writeFile(join(local, 'today.md'), 'written while the app watches\n');
    await until(async () => (await contentOf(join(remote, 'today.md'))) !== undefined, 'today.md reached the remote');
    expect(await contentOf(join(remote, 'today.md'))).toBe('written while the app watches\n');
    // The watcher is tether ui's own process, as another process sees it.
    expect((await statusJson()).watcher?.pid).toBe(host.process.pid);
    await until(async () => (await card.getByTestId('pair-state').textContent()) === 'Idle', 'the card shows Idle');
    await screenshot(page, 'live-pair');
  });

  it('Pause in the app is what tether status sees; the watcher holds new files until Resume', async () => {
    const card = page.getByTestId('pair-notes');
    await card.getByRole('button', { name: 'Pause' }).click();
    await card.getByRole('button', { name: 'Resume' }).waitFor();
    await until(async () => (await statusJson()).state === 'paused', 'tether status shows paused');
    expect((await statusJson()).paused).toBe(true);
    await writeFile(join(local, 'held.md'), 'held\n');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await contentOf(join(remote, 'held.md'))).toBeUndefined();
    expect(await card.getByTestId('pair-state').textContent()).toBe('Paused');

    // Resumed from a shell: the app's watcher obeys, and the card follows.
    const resumed = await tether(['resume', 'notes'], home);
    expect(resumed.code, resumed.stderr).toBe(0);
    await until(async () => (await contentOf(join(remote, 'held.md'))) === 'held\n', 'held.md was synced');
    await card.getByRole('button', { name: 'Pause' }).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('shows a sync run by another process, and Sync now waits until it ends', async () => {
    const card = page.getByTestId('pair-notes');
    const syncNow = card.getByRole('button', { name: 'Sync now' });
    await card.getByLabel('Live sync').uncheck();
    await until(async () => (await statusJson()).watcher === undefined, 'the watcher stopped');
    await until(async () => (await card.getByTestId('pair-state').textContent()) === 'Idle', 'the card shows Idle');
    expect(await syncNow.isEnabled()).toBe(true);
    // Another process (a `tether sync` in a shell) records its state in the store, as here. It sends this
    // window no event: the card learns of it by polling.
    const store = StateStore.open(join(home, 'state.db'));
    try {
      store.setPairState('notes', 'syncing');
      await until(async () => !(await syncNow.isEnabled()), 'Sync now is disabled', 10_000);
      expect(await card.getByTestId('pair-state').textContent()).toBe('Syncing');
      expect(await syncNow.getAttribute('title')).toBe('a sync of this pair is running in another process');
      store.setPairState('notes', 'idle');
      await until(async () => syncNow.isEnabled(), 'Sync now is enabled again', 10_000);
    } finally {
      store.close();
    }
    expect(pageErrors).toEqual([]);
  });
});
