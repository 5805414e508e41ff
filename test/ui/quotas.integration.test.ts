import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDf } from '../../sync-engine/endpoints/pvc/freeSpace.js';
import { parseQuantity } from '../../sync-engine/quota/report.js';
import { startPvcLab } from '../pvc/helpers.js';
import type { PvcLab } from '../pvc/helpers.js';
import { isolatedEnv, openUi, screenshot, startUiHost } from './helpers.js';
import type { UiHost } from './helpers.js';

/**
 * The Quotas page in Debian's Chromium through `tether ui`, against the lab, as the cluster admin and as bob
 * (read-only in group-vision): every number on screen checked against kubectl, bytes used against df in a pod
 * that mounts the claim, PHFS usage against the aws CLI.
 */
let lab: PvcLab;
let work: string;
let host: UiHost;
let browser: Browser;
let page: Page;
let pageErrors: string[];
/** Bytes below datasets/ in vision-datasets, as stat in the viewer pod added them up. */
let datasetsBytes: number | undefined;

beforeAll(async () => {
  lab = await startPvcLab();
  work = await mkdtemp(join(tmpdir(), 'tether-ui-quotas-'));
  await mkdir(join(work, 'home'));
  await writeFile(
    join(work, 'home', 'settings.json'),
    JSON.stringify({ kubeconfig: lab.lab.kubeconfig, phfsEndpoint: lab.lab.s3.endpoint }),
  );
  host = await startUiHost(join(work, 'home'), isolatedEnv(work, lab.lab.s3));
  ({ browser, page, pageErrors } = await openUi(host, { width: 1400, height: 900 }));
}, 180_000);

afterAll(async () => {
  await (browser as Browser | undefined)?.close();
  await (host as UiHost | undefined)?.stop();
  await (lab as PvcLab | undefined)?.stop();
  await rm(work, { recursive: true, force: true });
}, 120_000);

async function kubectlItems(args: string[]): Promise<Record<string, unknown>[]> {
  const result = await lab.kubectl([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return (JSON.parse(result.stdout.toString()) as { items: Record<string, unknown>[] }).items;
}

async function showAs(context: string): Promise<void> {
  await page.getByRole('button', { name: 'Quotas', exact: true }).click();
  await page.getByLabel('Kube context').selectOption(context);
  await page.getByTestId('quota-scope').getByText(`As ${context}:`).waitFor();
}

/** The namespaces on screen, and per namespace its quota lines and claims, checked against kubectl. */
async function expectMatchesKubectl(namespaces: string[]): Promise<void> {
  const sections = page.locator('section.quota-ns');
  const shown: (string | null)[] = [];
  for (const section of await sections.all()) shown.push(await section.getAttribute('data-testid'));
  expect(shown).toEqual(namespaces.map((n) => `ns-${n}`));
  for (const ns of namespaces) {
    const section = page.getByTestId(`ns-${ns}`);
    for (const quota of await kubectlItems(['get', 'resourcequota', '-n', ns])) {
      const name = (quota.metadata as { name: string }).name;
      const hard = (quota.spec as { hard: Record<string, string> }).hard;
      const used = (quota.status as { used: Record<string, string> }).used;
      for (const resource of Object.keys(hard)) {
        const row = section.getByTestId(`quota-${ns}-${name}-${resource}`);
        expect(await row.getByTestId('quota-hard').textContent()).toBe(hard[resource]);
        expect(await row.getByTestId('quota-used').textContent()).toBe(used[resource] ?? '0');
      }
    }
    const claims = await kubectlItems(['get', 'pvc', '-n', ns]);
    expect(await section.locator('tbody tr[data-testid^="pvc-"]').count()).toBe(claims.length);
    for (const claim of claims) {
      const name = (claim.metadata as { name: string }).name;
      const status = claim.status as { phase: string; capacity?: { storage: string } };
      const spec = claim.spec as { resources: { requests: { storage: string } } };
      const row = section.getByTestId(`pvc-${ns}-${name}`);
      expect(await row.getByTestId('phase').locator('.badge').textContent()).toBe(status.phase);
      expect(Number(await row.getByTestId('capacity').getAttribute('data-bytes'))).toBe(
        parseQuantity(status.capacity?.storage ?? spec.resources.requests.storage),
      );
    }
  }
}

function awsSummary(url: string): Promise<{ bytes: number; objects: number }> {
  const { endpoint, region, accessKeyId, secretAccessKey } = lab.lab.s3;
  return new Promise((resolve, reject) => {
    execFile(
      'aws',
      ['s3', 'ls', '--recursive', '--summarize', '--endpoint-url', endpoint, url],
      {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_ACCESS_KEY_ID: accessKeyId,
          AWS_SECRET_ACCESS_KEY: secretAccessKey,
          AWS_DEFAULT_REGION: region,
          AWS_CONFIG_FILE: join(work, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
        },
        timeout: 60_000,
      },
      (error, stdout) => {
        const objects = /Total Objects: (\d+)/.exec(stdout)?.[1];
        const bytes = /Total Size: (\d+)/.exec(stdout)?.[1];
        if (error !== null || objects === undefined || bytes === undefined) reject(error ?? new Error(stdout));
        else resolve({ bytes: Number(bytes), objects: Number(objects) });
      },
    );
  });
}

describe('Quotas page against the lab', () => {
  it('as the cluster admin: every group and personal namespace, numbers as kubectl reports them', async () => {
    await showAs('admin');
    await expectMatchesKubectl(['group-nlp', 'group-vision', 'user-alice']);
    const vision = page.getByTestId('ns-group-vision');
    expect(await vision.getByTestId('ns-permission').textContent()).toBe('Admin');
    // 180Gi of 200Gi requested: 90%, shown as critical, in the chart and in the warnings.
    const storage = vision.getByTestId('quota-group-vision-storage-requests.storage');
    expect(await storage.getByTestId('percent').textContent()).toBe('90% (over 90%)');
    await vision.getByTestId('chart-group-vision').waitFor();
    expect(await page.getByTestId('quota-warnings').textContent()).toContain(
      'group-vision quota storage: requests.storage at 90% (180Gi of 200Gi)',
    );
  });

  it('refresh measures bytes used with df in a pod that mounts the claim; the page shows what df shows', async () => {
    const row = page.getByTestId('pvc-user-alice-alice-small');
    expect(await row.getByTestId('used').textContent()).toContain('not measured');
    await row.getByRole('button', { name: 'measure bytes used on user-alice/alice-small' }).click();
    await row.getByText('measured').waitFor({ timeout: 90_000 });
    const witness = await lab.witnessPod('user-alice', 'alice-small', 'busybox:1.36');
    const result = await lab.exec('user-alice', witness, 'df', '-P', '-k', '/data');
    const df = parseDf(result.stdout.toString());
    expect(df).toBeDefined();
    expect(Number(await row.getByTestId('used').getAttribute('data-bytes'))).toBe(df?.usedBytes);
    // Shared with the CLI: the measurement is in TETHER_HOME's cache.
    expect(await readFile(join(work, 'home', 'quota-usage.json'), 'utf8')).toContain('user-alice/alice-small');
  });

  it('drill-down: the largest folders of a claim, with bytes as the files in the volume add up', async () => {
    await page.getByRole('button', { name: 'largest folders of group-vision/vision-datasets' }).click();
    const folders = page.getByTestId('folders-group-vision-vision-datasets');
    await folders.getByRole('table').waitFor({ timeout: 60_000 });
    const pods = await lab.kubectl(['get', 'pods', '-n', 'group-vision', '-o', 'name']);
    const viewer = pods.stdout
      .toString()
      .split('\n')
      .find((p) => p.includes('vision-data-viewer'))
      ?.replace('pod/', '');
    if (viewer === undefined) throw new Error(`no viewer pod: ${pods.stdout.toString()}`);
    for (const folder of ['datasets', 'datasets/cifar-mini', 'datasets/coco-sample']) {
      const sizes = await lab.exec(
        'group-vision',
        viewer,
        'find',
        `/data/${folder}`,
        '-type',
        'f',
        '-exec',
        'stat',
        '-c',
        '%s',
        '{}',
        '+',
      );
      expect(sizes.code, sizes.stderr).toBe(0);
      const lines = sizes.stdout.toString().trim().split('\n');
      const total = lines.reduce((sum, line) => sum + Number(line), 0);
      if (folder === 'datasets') datasetsBytes = total;
      const row = folders.getByTestId(`folder-${folder}`);
      expect(Number(await row.locator('[data-bytes]').getAttribute('data-bytes'))).toBe(total);
      expect(Number(await row.locator('td').nth(2).textContent())).toBe(lines.length);
    }
  });

  it('PHFS usage per group prefix matches the aws CLI; CSV export downloads the rows', async () => {
    await page.getByLabel('PHFS usage').check();
    const phfs = page.getByTestId('phfs-group-vision');
    await phfs.waitFor({ timeout: 60_000 });
    const expected = await awsSummary('s3://phfs/groups/vision/');
    expect(Number(await phfs.locator('[data-bytes]').getAttribute('data-bytes'))).toBe(expected.bytes);
    expect(Number(await phfs.getByTestId('phfs-objects').textContent())).toBe(expected.objects);
    await mkdir(join(process.cwd(), 'test-results', 'ui'), { recursive: true });
    const file = await screenshot(page, 'quotas');
    // The README's copy is refreshed on request only: a test run must not modify tracked files.
    if (process.env['TETHER_UPDATE_DOCS'] === '1') await copyFile(file, join(process.cwd(), 'docs', 'quotas.png'));

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toMatch(/^type,namespace,kind,group,name,resource,status/);
    expect(lines.some((l) => l.startsWith('quota,group-vision,group,vision,storage,requests.storage'))).toBe(true);
    expect(lines.some((l) => l.startsWith('pvc,user-alice,'))).toBe(true);
  });

  it('as bob (read-only member): only group-vision, level Read, numbers as kubectl reports them', async () => {
    await page.getByLabel('PHFS usage').uncheck();
    await showAs('bob');
    await expectMatchesKubectl(['group-vision']);
    expect(await page.getByTestId('ns-group-vision').getByTestId('ns-permission').textContent()).toBe('Read');
    const levels = await page.getByTestId('ns-group-vision').getByTestId('permission').allTextContents();
    expect(levels.length).toBeGreaterThan(0);
    expect(levels.every((l) => l === 'Read')).toBe(true);
    // Bob may not start pods: the drill-down and df go through the group's viewer pod, which mounts the claim.
    await page.getByRole('button', { name: 'largest folders of group-vision/vision-datasets' }).click();
    const folders = page.getByTestId('folders-group-vision-vision-datasets');
    await folders.getByRole('table').waitFor({ timeout: 60_000 });
    expect(datasetsBytes).toBeGreaterThan(0);
    expect(
      Number(await folders.getByTestId('folder-datasets').locator('[data-bytes]').getAttribute('data-bytes')),
    ).toBe(datasetsBytes);
    await screenshot(page, 'quotas-bob');
    expect(pageErrors).toEqual([]);
  });
});
