import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { collectPageErrors, launchChromium, screenshot, startUiHost } from './helpers.js';
import type { UiHost } from './helpers.js';

/** The storage browser's list at 100,000 entries: it renders a window of rows and scrolls without long frames. */
const COUNT = 100_000;
let work: string;
let host: UiHost;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  // 100,000 files take ~20 s to create on this machine's disk and ~2 s in tmpfs.
  work = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tether-ui-100k-'));
  mkdirSync(join(work, 'home'));
  const big = join(work, 'remote', 'big');
  mkdirSync(big, { recursive: true });
  for (let i = 0; i < COUNT; i++) closeSync(openSync(join(big, `f${String(i).padStart(6, '0')}.bin`), 'w'));
  host = await startUiHost(join(work, 'home'));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
}, 180_000);

afterAll(async () => {
  await (browser as Browser | undefined)?.close();
  await (host as UiHost | undefined)?.stop();
  await rm(work, { recursive: true, force: true });
}, 120_000);

it('lists 100,000 entries in a virtualized list that scrolls smoothly', async () => {
  const errors = collectPageErrors(page);
  await page.goto(host.url);
  await page.getByRole('button', { name: 'Storage' }).click();
  await page.getByLabel('or a remote URL').fill(`file://${join(work, 'remote')}`);
  await page.getByRole('button', { name: 'Open' }).click();
  await page.getByRole('button', { name: 'big', exact: true }).click();
  await page.getByTestId('entry-count').getByText('100000 entries').waitFor({ timeout: 120_000 });
  const listing = page.getByTestId('listing');
  // Only a window of rows is in the DOM, not 100,000.
  expect(await listing.locator('[role=row]').count()).toBeLessThan(60);

  // Scroll from top to bottom in 120 animation frames; measure the longest frame (page-side code as text: this
  // file is compiled for Node, without the DOM's types).
  const longest = await page.evaluate(`new Promise((resolve) => {
    const list = document.querySelector('[data-testid=listing]');
    let step = 0;
    let last = performance.now();
    let worst = 0;
    const tick = (now) => {
      worst = Math.max(worst, now - last);
      last = now;
      list.scrollTop = (list.scrollHeight * ++step) / 120;
      if (step < 120) requestAnimationFrame(tick);
      else resolve(worst);
    };
    requestAnimationFrame(tick);
  })`);
  await page.getByTestId('entry-f099999.bin').waitFor();
  expect(await listing.locator('[role=row]').count()).toBeLessThan(60);
  // 60 fps is 16.7 ms; a loaded 2-core CI box gets generous slack, a non-virtualized list takes seconds.
  expect(longest).toBeLessThan(250);
  await screenshot(page, 'storage-100k');
  expect(errors).toEqual([]);
});
