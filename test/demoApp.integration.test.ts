import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runApp } from '../sync-engine/cli/demoApp.js';
import type { LabAccess } from '../sync-engine/cli/demoApp.js';
import { Interruption } from '../sync-engine/cli/demoProcess.js';

/**
 * The demo's Electron branch, which the full demo test cannot reach where Electron's binary is missing: a
 * stand-in binary records how it was started and how it was ended. (The browser branch runs for real in
 * demoUi.integration.test.ts.)
 */
const REPO = '/repo/of/tether';
const lab: LabAccess = {
  kubeconfig: '/labs/one/kubeconfig',
  s3: { endpoint: 'http://127.0.0.1:9', bucket: 'phfs', region: 'us-east-1' },
  keys: { accessKeyId: 'AKIDALICE', secretAccessKey: 'alice-secret' },
};

let work: string;
let printed: string;

/** Writes `<report>.json` on start and `<report>.ended` with the signal that ended it; exits after EXIT_AFTER ms if set. */
function fakeElectron(report: string): string {
  return [
    `#!${process.execPath}`,
    `const fs = require('node:fs');`,
    `const env = process.env;`,
    `fs.writeFileSync(${JSON.stringify(`${report}.json`)}, JSON.stringify({ argv: process.argv.slice(2), env: {`,
    `  TETHER_HOME: env.TETHER_HOME, KUBECONFIG: env.KUBECONFIG, AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,`,
    `  AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY, AWS_REGION: env.AWS_REGION, AWS_PROFILE: env.AWS_PROFILE } }));`,
    `process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(`${report}.ended`)}, 'SIGTERM'); process.exit(0); });`,
    `setInterval(() => undefined, 1000);`,
    `if (env.EXIT_AFTER) setTimeout(() => process.exit(0), Number(env.EXIT_AFTER));`,
    '',
  ].join('\n');
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tether-demo-app-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});
beforeEach(() => {
  printed = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed += String(chunk);
    return true;
  });
  vi.stubEnv('AWS_PROFILE', 'someone-else');
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function setUp(name: string): Promise<{ home: string; binary: string; report: string }> {
  const home = join(work, name, 'home');
  await mkdir(home, { recursive: true });
  const report = join(work, name, 'electron');
  const binary = join(work, name, 'electron-binary');
  await writeFile(binary, fakeElectron(report));
  await chmod(binary, 0o755);
  return { home, binary, report };
}

describe('the demo with the Electron app', () => {
  it('starts it on the repository with the lab in its environment and Settings, and ends it with SIGTERM on Ctrl-C', async () => {
    const { home, binary, report } = await setUp('ctrl-c');
    const interruption = new Interruption({ listen: false });
    const done = runApp({ kind: 'electron', binary }, { repo: REPO, home, lab, interruption });
    await until(() => existsSync(`${report}.json`), 'the app to start');
    expect(JSON.parse(await readFile(`${report}.json`, 'utf8'))).toEqual({
      argv: [REPO, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
      env: {
        TETHER_HOME: home,
        KUBECONFIG: lab.kubeconfig,
        AWS_ACCESS_KEY_ID: 'AKIDALICE',
        AWS_SECRET_ACCESS_KEY: 'alice-secret',
        AWS_REGION: 'us-east-1',
      },
    });
    expect(JSON.parse(await readFile(join(home, 'settings.json'), 'utf8'))).toMatchObject({
      kubeconfig: lab.kubeconfig,
      phfsEndpoint: 'http://127.0.0.1:9',
      phfsBucket: 'phfs',
    });
    expect(existsSync(`${report}.ended`)).toBe(false);

    interruption.interrupt('SIGINT');
    expect(await done).toBe(0);
    expect(await readFile(`${report}.ended`, 'utf8')).toBe('SIGTERM');
    expect(printed).toContain('Opening the desktop app on the lab (Electron)');
  });

  it('goes on to stop the lab when the user quits the app', async () => {
    const { home, binary, report } = await setUp('quit');
    vi.stubEnv('EXIT_AFTER', '100');
    const interruption = new Interruption({ listen: false });
    const code = await runApp(
      { kind: 'electron', binary },
      { repo: REPO, home, lab, interruption, electronEarlyExitMs: 0 },
    );
    expect(code).toBe(0);
    expect(existsSync(`${report}.ended`)).toBe(false);
    expect(printed).toContain('(the app was closed: stopping the lab)');
  });
});
