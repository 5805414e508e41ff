import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLab } from '../lab/helpers.js';
import type { TestLab } from '../lab/helpers.js';
import { isolatedEnv, openUi, screenshot, startUiHost } from './helpers.js';
import type { UiHost } from './helpers.js';

/**
 * The desktop UI, in Debian's Chromium through the browser host, against the lab as alice (member of
 * group-vision): the same steps a researcher takes, checked against what kubectl and the disk say.
 * The steps build on each other, so they run in order on one page.
 */
let lab: TestLab;
let work: string;
let host: UiHost;
let browser: Browser;
let page: Page;
let pageErrors: string[];

const remoteRoot = 'pvc://alice@group-vision/vision-datasets/datasets';

beforeAll(async () => {
  lab = await startTestLab();
  work = await mkdtemp(join(tmpdir(), 'tether-ui-'));
  await mkdir(join(work, 'home'));
  await mkdir(join(work, 'vision'));
  await writeFile(join(work, 'vision', 'notes.txt'), 'my notes\n');
  host = await startUiHost(join(work, 'home'), isolatedEnv(work, lab.lab.user('alice').s3));
  ({ browser, page, pageErrors } = await openUi(host, { width: 1280, height: 860 }));
}, 180_000);

afterAll(async () => {
  // Each is unset when beforeAll failed before starting it.
  await (browser as Browser | undefined)?.close();
  await (host as UiHost | undefined)?.stop();
  await (lab as TestLab | undefined)?.stop();
  await rm(work, { recursive: true, force: true });
}, 120_000);

async function kubectlLs(path: string): Promise<string[]> {
  const pods = await lab.kubectl(['get', 'pods', '-n', 'group-vision', '-o', 'name']);
  const viewer = pods.stdout.split('\n').find((p) => p.includes('vision-data-viewer'));
  if (viewer === undefined) throw new Error(`no viewer pod: ${pods.stdout}`);
  const listed = await lab.kubectl(['exec', '-n', 'group-vision', viewer.replace('pod/', ''), '--', 'ls', '-1', path]);
  if (listed.code !== 0) throw new Error(`kubectl exec ls failed: ${listed.stderr}`);
  return listed.stdout.split('\n').filter((l) => l !== '');
}

async function pairCard(name: string) {
  const card = page.getByTestId(`pair-${name}`);
  await card.waitFor();
  return card;
}

describe('desktop UI through the browser host, against the lab', () => {
  it('saves settings: the lab kubeconfig and the PHFS endpoint', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Kubeconfig file').fill(lab.lab.kubeconfig);
    await page.getByLabel('S3 endpoint').fill(lab.lab.s3.endpoint);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    const saved = JSON.parse(await readFile(join(work, 'home', 'settings.json'), 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ kubeconfig: lab.lab.kubeconfig, phfsEndpoint: lab.lab.s3.endpoint });
    await screenshot(page, 'settings');
  });

  it('offers only pull modes on a claim that is read-only for the user (bob, Read in group-vision)', async () => {
    await page.getByRole('button', { name: 'Pairs' }).click();
    await page.getByRole('button', { name: 'New pair' }).click();
    await page.getByLabel('Context').selectOption('bob');
    await expect.poll(() => page.getByLabel('Namespace').inputValue()).toBe('group-vision');
    const datasets = page.getByTestId('pvc-vision-datasets');
    await datasets.waitFor();
    await expect.poll(() => datasets.getByTestId('pvc-permission').textContent()).toBe('Read (read only)');
    await datasets.getByRole('radio').check();
    await page.getByRole('button', { name: 'Next' }).click();
    const modes = await page.getByLabel('Mode').locator('option').allTextContents();
    expect(modes).toEqual(['Pull', 'Mirror pull']);
    expect(await page.getByLabel('Mode').inputValue()).toBe('pull');
    expect(await page.getByTestId('read-only-note').textContent()).toMatch(
      /read-only for you \(Read in group-vision\)/,
    );
    await screenshot(page, 'wizard-read-only');
    // Leave without creating anything: the next test starts from an empty Pairs screen.
    await page.getByRole('button', { name: 'Pairs' }).click();
  });

  it('creates a PVC pair through the wizard, previews it, syncs it and shows the progress finish', async () => {
    await page.getByRole('button', { name: 'Pairs' }).click();
    await page.getByRole('button', { name: 'Create your first pair' }).click();
    await page.getByLabel('Context').selectOption('alice');
    await expect.poll(() => page.getByLabel('Namespace').inputValue()).toBe('group-vision');
    // The picker shows each claim's phase, lane and whether alice may write; a Pending claim cannot be picked.
    const datasets = page.getByTestId('pvc-vision-datasets');
    await datasets.waitFor();
    await expect
      .poll(() => datasets.textContent())
      .toMatch(/Bound.*50Gi.*JuiceFS RWX.*ReadWriteMany.*Write \(read & write\)/);
    expect(await page.getByTestId('pvc-vision-checkpoints').textContent()).toMatch(/Longhorn fast RWO.*ReadWriteOnce/);
    expect(await page.getByTestId('pvc-vision-archive').textContent()).toContain('legacy NFS RWX');
    expect(await page.getByTestId('pvc-vision-scratch').textContent()).toContain('Pending');
    expect(await page.getByTestId('pvc-vision-scratch').getByRole('radio').isDisabled()).toBe(true);
    await datasets.getByRole('radio').check();
    await page.getByLabel('Folder inside the claim (optional)').fill('datasets');
    expect(await page.getByTestId('remote-url').textContent()).toContain(remoteRoot);
    await screenshot(page, 'wizard-pvc-picker');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByLabel('Pair name').fill('vision');
    await page.getByLabel('Local folder').fill(join(work, 'vision'));
    await page.getByText('SHA-256 (strict)').waitFor();
    await page.getByLabel('Ignore rules (gitignore syntax, one per line)').fill('*.tmp');
    await page.getByRole('button', { name: 'Preview first sync' }).click();
    const preview = page.getByTestId('preview');
    await preview.waitFor({ timeout: 90_000 });
    // 32 files below datasets/ come down, notes.txt goes up; nothing has moved yet.
    expect(await preview.getByRole('status').textContent()).toMatch(/upload 1 and download 32 file/);
    expect(await preview.getByRole('list', { name: 'planned actions' }).textContent()).toContain(
      'cifar-mini/labels.csv',
    );
    expect(await readdir(join(work, 'vision'))).toEqual(['notes.txt']);
    await screenshot(page, 'wizard-preview');

    // Exec streams limited to 256 KiB/s: the 1 MiB transfer takes seconds, so its progress is surely on screen.
    lab.lab.setFaults({ exec: { bandwidthBytesPerSecond: 256 * 1024 } });
    await page.getByRole('button', { name: 'Create and sync' }).click();
    const card = await pairCard('vision');
    await card
      .getByTestId('progress')
      .getByText(/\d+ \/ 33 files/)
      .waitFor({ timeout: 60_000 });
    await screenshot(page, 'sync-progress');
    await card.getByTestId('last-result').waitFor({ timeout: 120_000 });
    expect(await card.getByTestId('last-result').textContent()).toMatch(/↑1 ↓32/);
    lab.lab.setFaults({});
    expect(await card.getByTestId('pair-state').textContent()).toBe('Idle');
    expect(await readFile(join(work, 'vision', 'cifar-mini', 'labels.csv'), 'utf8')).toContain('airplane');
    expect(await kubectlLs('/data/datasets')).toContain('notes.txt');
    await screenshot(page, 'pairs');
  });

  it('browses the PVC, uploads, downloads and deletes a file', async () => {
    await page.getByRole('button', { name: 'Storage' }).click();
    await page.getByLabel('A pair’s remote').selectOption(remoteRoot);
    await page.getByTestId('entry-cifar-mini').waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'cifar-mini', exact: true }).click();
    await page.getByTestId('entry-labels.csv').waitFor();
    expect(await page.getByTestId('entry-count').textContent()).toBe('3 entries');

    await page.getByTestId('upload-input').setInputFiles({
      name: 'uploaded.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('from the browser\n'),
    });
    await page.getByTestId('entry-uploaded.txt').waitFor({ timeout: 60_000 });
    expect(await kubectlLs('/data/datasets/cifar-mini')).toContain('uploaded.txt');
    await screenshot(page, 'storage');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'download labels.csv' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('labels.csv');
    const saved = join(work, 'labels.csv');
    await download.saveAs(saved);
    expect(await readFile(saved, 'utf8')).toBe('id,label\n0,airplane\n1,automobile\n2,bird\n3,cat\n4,deer\n');

    await page.getByLabel('select uploaded.txt').check();
    await page.getByRole('button', { name: 'Delete (1)' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('cifar-mini/uploaded.txt');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('storage-status').getByText('deleted 1 item(s)').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('entry-uploaded.txt').count()).toBe(0);
    expect(await kubectlLs('/data/datasets/cifar-mini')).not.toContain('uploaded.txt');
  });

  it('shows a conflict side by side and resolves it by keeping the remote version', async () => {
    // The remote's README changes (through the storage browser), and so does the local one.
    await page
      .getByRole('button', { name: /datasets$/ })
      .first()
      .click();
    await page.getByTestId('entry-README.md').waitFor({ timeout: 60_000 });
    await page.getByLabel('select README.md').check();
    await page.getByRole('button', { name: 'Delete (1)' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('storage-status').getByText('deleted 1 item(s)').waitFor({ timeout: 60_000 });
    await page.getByTestId('upload-input').setInputFiles({
      name: 'README.md',
      mimeType: 'text/markdown',
      buffer: Buffer.from('# remote edit\n'),
    });
    await page.getByTestId('entry-README.md').waitFor({ timeout: 60_000 });
    await writeFile(join(work, 'vision', 'README.md'), '# local edit, longer than the remote one\n');

    await page.getByRole('button', { name: 'Pairs' }).click();
    const card = await pairCard('vision');
    await card.getByRole('button', { name: 'Sync now' }).click();
    await card.getByTestId('sync-done').waitFor({ timeout: 120_000 });
    expect(await card.getByTestId('sync-done').textContent()).toContain('1 conflict(s)');

    await page.getByRole('button', { name: 'Conflicts' }).click();
    const conflict = page.getByTestId('conflict-README.md');
    await conflict.waitFor({ timeout: 30_000 });
    expect(await conflict.textContent()).toMatch(/Your version \(local\).*41 B.*Remote version.*14 B/);
    await screenshot(page, 'conflicts');
    await conflict.getByRole('button', { name: 'Keep remote' }).click();
    await page.getByText('No conflicts.').waitFor({ timeout: 120_000 });
    expect(await readFile(join(work, 'vision', 'README.md'), 'utf8')).toBe('# remote edit\n');
    expect((await readdir(join(work, 'vision'))).filter((n) => n.includes('.conflict-'))).toEqual([]);
    expect((await kubectlLs('/data/datasets')).filter((n) => n.includes('.conflict-'))).toEqual([]);
  });

  it('creates a PHFS pair and syncs it', async () => {
    await mkdir(join(work, 'phfs'));
    await page.getByRole('button', { name: 'Pairs' }).click();
    await page.getByRole('button', { name: 'New pair' }).click();
    await page.getByLabel('PHFS object storage').check();
    await page.getByLabel('Group', { exact: true }).fill('vision');
    await page.getByLabel('Path in the group (optional)').fill('datasets');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Pair name').fill('vision-phfs');
    await page.getByLabel('Local folder').fill(join(work, 'phfs'));
    await page.getByLabel('Mode').selectOption('pull');
    await page.getByRole('button', { name: 'Preview first sync' }).click();
    await page.getByTestId('preview').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('preview').getByRole('status').textContent()).toMatch(/upload 0 and download 5 file/);
    await page.getByRole('button', { name: 'Create and sync' }).click();
    const card = await pairCard('vision-phfs');
    await card.getByTestId('last-result').waitFor({ timeout: 60_000 });
    expect(await card.getByTestId('last-result').textContent()).toMatch(/↑0 ↓5/);
    expect(await readFile(join(work, 'phfs', 'README.md'), 'utf8')).toBe('PHFS copy of the vision datasets.\n');
    await screenshot(page, 'pairs-both');
  });

  it('filters the activity log', async () => {
    await page.getByRole('button', { name: 'Activity' }).click();
    await page.getByLabel('What').selectOption('conflict');
    const log = page.getByRole('table', { name: 'activity log' });
    await log.waitFor();
    expect(await log.textContent()).toContain('README.md');
    expect(await log.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('What').selectOption('');
    await page.getByLabel('Pair').selectOption('vision-phfs');
    await page.getByLabel('Search').fill('batch-03');
    await expect.poll(() => log.locator('tbody tr').count()).toBe(1);
    await screenshot(page, 'activity');
    expect(pageErrors).toEqual([]);
  });
});
