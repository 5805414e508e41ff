import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { processesMentioning } from '../lab/runtime/testing/processes.js';
import { mountsUnder } from './lab/helpers.js';
import { collectPageErrors, launchChromium, screenshot } from './ui/helpers.js';

/**
 * `npm run demo` with the app: after its scripted part it opens the app on the lab it started, with its pairs.
 * Electron's binary cannot be downloaded here, so a stand-in takes its place (TETHER_DEMO_ELECTRON) and exits
 * at once, as Electron does when another Tether app already runs: the demo then serves the browser host,
 * where a browser sees the pairs and browses the demo's PVC. Ctrl-C stops the app and the lab and leaves no
 * sandbox, helper pod or mount behind. Forced on with --ui, since a test's stdout is not a terminal.
 */
const DEMO = fileURLToPath(new URL('../dist/sync-engine/cli/demo.js', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** Records how it was started (arguments and the environment the app needs), then exits as a second instance. */
function fakeElectron(report: string): string {
  return [
    `#!${process.execPath}`,
    `const env = process.env;`,
    `const seen = { argv: process.argv.slice(2), env: { TETHER_HOME: env.TETHER_HOME, KUBECONFIG: env.KUBECONFIG,`,
    `  AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_PROFILE: env.AWS_PROFILE } };`,
    `require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(seen));`,
    `process.stderr.write('another Tether app is running\\n');`,
    '',
  ].join('\n');
}
const URL_LINE = /open this in your browser:\s+(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)\n/;

let work: string | undefined;
let demo: ChildProcess | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  if (demo !== undefined && demo.exitCode === null && demo.signalCode === null) {
    const exited = new Promise((resolve) => demo?.once('exit', resolve));
    demo.kill('SIGTERM');
    await exited;
  }
  if (work !== undefined) await rm(work, { recursive: true, force: true });
}, 60_000);

function helperPods(labDir: string): string[] {
  const listed = spawnSync(
    'kubectl',
    [
      ...['--kubeconfig', join(labDir, 'kubeconfig'), '--cache-dir', join(labDir, 'kubectl-cache')],
      ...['--context', 'admin', 'get', 'pods', '-A', '-l', 'app.kubernetes.io/managed-by=tether', '-o', 'name'],
    ],
    { encoding: 'utf8' },
  );
  if (listed.status !== 0) throw new Error(`kubectl get pods failed: ${listed.stderr}`);
  return listed.stdout.split('\n').filter((line) => line !== '');
}

it('opens the app on the lab with the demo’s pairs until Ctrl-C, then stops everything it started', async () => {
  work = await mkdtemp(join(tmpdir(), 'tether-demo-ui-'));
  const dir = join(work, 'demo');
  const labDir = join(dir, 'lab');
  const electron = join(work, 'electron');
  const report = join(work, 'electron.json');
  await writeFile(electron, fakeElectron(report));
  await chmod(electron, 0o755);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TETHER_DEMO_ELECTRON: electron,
    DISPLAY: ':99',
    AWS_PROFILE: 'someone-else',
  };
  delete env['TETHER_DEMO_UI'];
  const child = spawn(process.execPath, [DEMO, '--ui', '--no-open', '--dir', dir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo = child;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL in 90 s:\n${stdout}\n${stderr}`)), 90_000);
    const look = (): void => {
      const match = URL_LINE.exec(stdout);
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      resolve(match[1]);
    };
    child.stdout.on('data', look);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${String(code)} before printing a URL:\n${stdout}\n${stderr}`));
    });
  });
  // The scripted part ran first, as without the app.
  expect(stdout).toMatch(/lab-claim: did upload 111, download 0/);
  expect(stdout).toMatch(/lab-phfs: did upload 111, download 0/);
  // Electron was started on the repository with the demo's home, the lab's kubeconfig and alice's keys (and no
  // profile of the user's to override them); it exited at once, so the browser host took over, saying why.
  const alice = (
    JSON.parse(await readFile(join(labDir, 'lab.json'), 'utf8')) as {
      users: { name: string; s3?: { accessKeyId: string } }[];
    }
  ).users.find((u) => u.name === 'alice')?.s3?.accessKeyId;
  expect(alice).toBeDefined();
  expect(JSON.parse(await readFile(report, 'utf8'))).toEqual({
    argv: [REPO, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    env: { TETHER_HOME: join(dir, 'home'), KUBECONFIG: join(labDir, 'kubeconfig'), AWS_ACCESS_KEY_ID: alice },
  });
  expect(stdout).toContain('Opening the desktop app on the lab (Electron)');
  expect(stdout).toContain('The desktop app exited at once (code 0):\nanother Tether app is running\n');
  expect(stdout).toContain('Serving the same app to your browser instead (tether ui)');
  expect(stdout).not.toContain('(lab stopped)');
  expect(processesMentioning(labDir)).not.toEqual([]);

  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const pageErrors = collectPageErrors(page);
  await page.goto(url);
  for (const pair of ['vision', 'lab-claim', 'lab-phfs']) await page.getByTestId(`pair-${pair}`).waitFor();

  // The demo's PVC, through the storage browser: a helper pod made with the lab's kubeconfig from Settings.
  await page.getByRole('button', { name: 'Storage' }).click();
  await page.getByLabel('A pair’s remote').selectOption('pvc://alice@group-vision/vision-datasets/shapes');
  await page.getByTestId('entry-train').waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('entry-count').textContent()).toBe('3 entries');
  await page.getByTestId('entry-README.md').waitFor();
  await page.getByRole('button', { name: 'train', exact: true }).click();
  await page.getByTestId('entry-class-3').waitFor();
  expect(await page.getByTestId('entry-count').textContent()).toBe('4 entries');
  await screenshot(page, 'demo-storage');
  // And its PHFS prefix, with alice's keys from the app's environment.
  await page.getByLabel('A pair’s remote').selectOption('phfs://vision/shapes');
  await page.getByTestId('entry-val').waitFor({ timeout: 30_000 });
  expect(await page.getByTestId('entry-count').textContent()).toBe('3 entries');
  expect(pageErrors).toEqual([]);
  expect(helperPods(labDir)).not.toEqual([]);
  await browser.close();
  browser = undefined;

  child.kill('SIGINT');
  expect(await exited).toEqual({ code: 0, signal: null });
  expect(stderr).toBe('');
  expect(stdout).toMatch(/\(SIGINT: stopping the app\)\n\(app stopped\)\n\n\(lab stopped\)\n$/);
  expect(processesMentioning(labDir)).toEqual([]);
  expect(await mountsUnder(labDir)).toEqual([]);
  expect(await readdir(join(labDir, 'runtime', 'sandboxes'))).toEqual([]);
  expect(await readdir(join(labDir, 'pods'))).toEqual([]);
}, 120_000);
