import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { startTether } from '../helpers/cli.js';

/** The UI tests' plumbing: the real `tether ui` (built CLI) and Debian's Chromium driven by Playwright. */

export const SCREENSHOTS = join(process.cwd(), 'test-results', 'ui');

export interface UiHost {
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything the host wrote on stderr (shown when a test fails). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `tether ui --port 0` with its own TETHER_HOME; resolves with the URL it prints. */
export async function startUiHost(home: string, env: NodeJS.ProcessEnv = {}): Promise<UiHost> {
  const child = startTether(['ui', '--port', '0'], home, env);
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tether ui printed no URL in 30 s; stderr: ${stderr}`)), 30_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const match = /Tether UI: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(stdout);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tether ui exited with ${String(code)}: ${stderr}`));
    });
  });
  return {
    url,
    process: child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Saves a full-page screenshot as a test artifact (test-results/ui/NAME.png). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Fails the test on any error the page logs or throws (CSP violations included). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

/** S3 keys a host is given (a lab user's, or the lab's admin keys). */
export interface S3Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region?: string;
}

/**
 * The environment of a `tether ui` that may use only what a test gives it: no kubeconfig but the one in its
 * settings (`KUBECONFIG` points nowhere), these S3 keys, and no AWS profile files of the machine's user.
 */
export function isolatedEnv(work: string, keys: S3Keys): NodeJS.ProcessEnv {
  return {
    KUBECONFIG: join(work, 'no-kubeconfig'),
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    AWS_REGION: keys.region ?? 'us-east-1',
    AWS_CONFIG_FILE: join(work, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
  };
}

/** A browser session on a host: Chromium, one page (downloads accepted) at the host's URL, its errors collected. */
export interface UiSession {
  readonly browser: Browser;
  readonly page: Page;
  readonly pageErrors: string[];
}

export async function openUi(host: UiHost, viewport = { width: 1280, height: 860 }): Promise<UiSession> {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  const pageErrors = collectPageErrors(page);
  await page.goto(host.url);
  return { browser, page, pageErrors };
}
