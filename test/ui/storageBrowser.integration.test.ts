import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../sync-engine/state/store.js';
import { UiService } from '../../sync-engine/ui/service.js';
import { run, startTestLab } from '../lab/helpers.js';
import type { TestLab } from '../lab/helpers.js';
import { isolatedEnv, openUi, screenshot, startUiHost } from './helpers.js';
import type { UiHost } from './helpers.js';

/**
 * The storage browser in Debian's Chromium through `tether ui`, against the lab: the user's level on the remote
 * and what it allows (bob is Read in group-vision).
 */
let lab: TestLab;
let work: string;
let host: UiHost;
let browser: Browser;
let page: Page;
let pageErrors: string[];

beforeAll(async () => {
  lab = await startTestLab();
  work = await mkdtemp(join(tmpdir(), 'tether-ui-storage-'));
  await mkdir(join(work, 'home'));
  await writeFile(
    join(work, 'home', 'settings.json'),
    JSON.stringify({ kubeconfig: lab.lab.kubeconfig, phfsEndpoint: lab.lab.s3.endpoint }),
  );
  host = await startUiHost(join(work, 'home'), isolatedEnv(work, lab.lab.user('alice').s3));
  ({ browser, page, pageErrors } = await openUi(host, { width: 1280, height: 860 }));
}, 180_000);

afterAll(async () => {
  await (browser as Browser | undefined)?.close();
  await (host as UiHost | undefined)?.stop();
  await (lab as TestLab | undefined)?.stop();
  await rm(work, { recursive: true, force: true });
}, 120_000);

async function openRemote(url: string): Promise<void> {
  await page.getByRole('button', { name: 'Storage' }).click();
  await page.getByLabel('or a remote URL').fill(url);
  await page.getByRole('button', { name: 'Open' }).click();
}

describe('storage browser: your level on the remote', () => {
  it('as bob (Read in group-vision): shows Read, turns writes off with the reason, and the engine refuses them', async () => {
    await openRemote('pvc://bob@group-vision/vision-datasets');
    await page.getByTestId('entry-datasets').waitFor({ timeout: 90_000 });
    await expect.poll(() => page.getByTestId('storage-level').textContent(), { timeout: 30_000 }).toBe('Read');
    expect(await page.getByTestId('storage-access').textContent()).toMatch(/Read \(read only; Read in group-vision/);
    expect(await page.getByTestId('read-only-note').textContent()).toContain(
      'read-only for you: ask a group admin for Write',
    );
    expect(await page.getByRole('button', { name: 'Upload…' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'New folder' }).isDisabled()).toBe(true);
    await page.getByLabel('select datasets').check();
    expect(await page.getByRole('button', { name: 'Delete (1)' }).isDisabled()).toBe(true);
    await screenshot(page, 'storage-read-only');

    // The engine side refuses too, before anything reaches the volume (a client that skips the UI).
    const store = StateStore.open(join(work, 'engine.db'));
    await mkdir(join(work, 'engine-home'), { recursive: true });
    const service = new UiService({ store, home: join(work, 'engine-home') });
    try {
      const remote = { remoteUrl: 'pvc://bob@group-vision/vision-datasets', kubeconfig: lab.lab.kubeconfig };
      for (const [method, args] of [
        ['makeFolder', { remote, path: 'bob-was-here' }],
        ['deleteEntries', { remote, paths: ['datasets'] }],
      ] as const) {
        const answer = await service.call(method, args);
        expect(answer).toMatchObject({
          ok: false,
          error: {
            code: 'permission-denied',
            message: expect.stringMatching(
              /read-only for you \(Read in group-vision.*ask a group admin for Write/,
            ) as unknown,
          },
        });
      }
      expect(await service.call('storageAccess', { remote })).toMatchObject({
        ok: true,
        result: { level: 'Read', canWrite: false },
      });
      const alice = { remoteUrl: 'pvc://alice@group-vision/vision-datasets', kubeconfig: lab.lab.kubeconfig };
      expect(await service.call('storageAccess', { remote: alice })).toMatchObject({
        ok: true,
        result: { level: 'Write', canWrite: true },
      });
      expect(await service.call('storageAccess', { remote: { remoteUrl: 'phfs://vision' } })).toMatchObject({
        ok: true,
        result: { note: expect.stringContaining('only when a write is tried') as unknown },
      });
    } finally {
      await service.close();
      store.close();
    }
    const listed = await lab.kubectl(['exec', '-n', 'group-vision', 'vision-data-viewer', '--', 'ls', '/data']);
    expect(listed.stdout).not.toContain('bob-was-here');
    expect(listed.stdout).toContain('datasets');
    expect(pageErrors).toEqual([]);
  });
});

describe('storage browser: what is not known is said', () => {
  it('on PHFS the level is unknown (the store answers only when a write is tried): writes stay offered', async () => {
    await openRemote('phfs://vision');
    await page.getByTestId('entry-datasets').waitFor({ timeout: 60_000 });
    await expect
      .poll(() => page.getByTestId('storage-access').textContent())
      .toMatch(/Your level: unknown \(object storage tells whether you may write only when a write is tried/);
    expect(await page.getByTestId('read-only-note').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Upload…' }).isDisabled()).toBe(false);
  });
});

describe('storage browser: streaming uploads and downloads in the browser', () => {
  it('uploads through the file picker (80 MiB, more than the old cap) and downloads a file and a folder', async () => {
    const remote = join(work, 'remote');
    await mkdir(join(remote, 'shared', 'sub'), { recursive: true });
    await writeFile(join(remote, 'shared', 'notes.txt'), 'remote notes\n');
    await writeFile(join(remote, 'shared', 'sub', 'deep.txt'), 'deep\n');
    const big = join(work, 'big.bin');
    const block = randomBytes(1024 * 1024);
    await writeFile(big, Buffer.concat(Array.from({ length: 80 }, (_, i) => Buffer.concat([Buffer.from([i]), block]))));
    const bigHash = createHash('sha256')
      .update(await readFile(big))
      .digest('hex');

    await openRemote(`file://${remote}`);
    await page.getByRole('button', { name: 'shared', exact: true }).click();
    await page.getByTestId('entry-notes.txt').waitFor();
    expect(await page.getByTestId('storage-level').textContent()).toBe('Write');
    expect(await page.getByTestId('read-only-note').count()).toBe(0);

    const small = join(work, 'from the browser ✓.txt');
    await writeFile(small, 'hello from Chromium\n');
    // The progress bar shows while a file goes up (recorded by the page itself: the upload may be quick).
    await page.evaluate(`window.sawProgress = false;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid=transfer-progress] progress') !== null) window.sawProgress = true;
      }).observe(document.body, { subtree: true, childList: true, attributes: true });`);
    await page.getByTestId('upload-input').setInputFiles([big, small]);
    await page.getByTestId('entry-big.bin').waitFor({ timeout: 60_000 });
    await page.getByTestId('entry-from the browser ✓.txt').waitFor();
    expect(
      createHash('sha256')
        .update(await readFile(join(remote, 'shared', 'big.bin')))
        .digest('hex'),
    ).toBe(bigHash);
    expect(await readFile(join(remote, 'shared', 'from the browser ✓.txt'), 'utf8')).toBe('hello from Chromium\n');
    expect(await page.evaluate('window.sawProgress')).toBe(true);

    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'download big.bin' }).click(),
    ]);
    expect(file.suggestedFilename()).toBe('big.bin');
    await file.saveAs(join(work, 'saved-big.bin'));
    expect(
      createHash('sha256')
        .update(await readFile(join(work, 'saved-big.bin')))
        .digest('hex'),
    ).toBe(bigHash);

    const [folder] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'download sub' }).click(),
    ]);
    expect(folder.suggestedFilename()).toBe('sub.tar');
    await folder.saveAs(join(work, 'sub.tar'));
    await mkdir(join(work, 'unpacked'));
    const untarred = await run('tar', ['-xf', join(work, 'sub.tar'), '-C', join(work, 'unpacked')]);
    expect(untarred.code).toBe(0);
    expect(await readFile(join(work, 'unpacked', 'sub', 'deep.txt'), 'utf8')).toBe('deep\n');
    await screenshot(page, 'storage-transfers');
    expect(pageErrors).toEqual([]);
  });
});

describe('streaming transfers against the lab', () => {
  /** A transfer route of the host for `remoteUrl` and `path`, with the page's token. */
  function route(name: 'upload' | 'download', remoteUrl: string, path: string): string {
    const { port, searchParams } = new URL(host.url);
    const query = new URLSearchParams({ token: searchParams.get('token') ?? '', remoteUrl, path });
    return `http://127.0.0.1:${port}/transfer/${name}?${query.toString()}`;
  }

  it('a 24 MiB file goes up and comes back byte for byte on a PVC (exec streams) and PHFS (multipart)', async () => {
    const content = Buffer.concat(Array.from({ length: 24 }, () => randomBytes(1024 * 1024)));
    const hash = createHash('sha256').update(content).digest('hex');
    for (const remoteUrl of ['pvc://alice@group-vision/vision-archive', 'phfs://vision']) {
      const put = await fetch(route('upload', remoteUrl, 'streamed/big.bin'), { method: 'PUT', body: content });
      expect({ remoteUrl, status: put.status, body: await put.text() }).toEqual({
        remoteUrl,
        status: 200,
        body: '{"ok":true}',
      });
      const got = await fetch(route('download', remoteUrl, 'streamed/big.bin'));
      expect(got.headers.get('content-length')).toBe(String(content.length));
      expect(
        createHash('sha256')
          .update(Buffer.from(await got.arrayBuffer()))
          .digest('hex'),
      ).toBe(hash);
    }
    // What the platform's own tools see.
    const head = await lab.aws(['s3api', 'head-object', '--bucket', 'phfs', '--key', 'groups/vision/streamed/big.bin']);
    expect(head.stdout).toContain(`"ContentLength": ${content.length}`);
  });
});
