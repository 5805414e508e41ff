import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountsUnder, run } from './helpers.js';

/**
 * `tether lab start` as a process: the real CLI (bin/tether.js over dist/, which `npm test` builds), or the
 * lab's own entry when there is no build (the sources through tsx); its files, its one ready line, and a
 * clean stop on SIGTERM.
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));
const built = existsSync(path.join(repo, 'dist', 'sync-engine', 'cli', 'main.js'));
const entry = built
  ? [path.join(repo, 'bin', 'tether.js'), 'lab']
  : ['--import', 'tsx', path.join(repo, 'lab', 'main.ts')];

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'tether-lab-process-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Started {
  readonly child: ReturnType<typeof spawn>;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

function startProcess(args: readonly string[]): Started {
  const child = spawn(process.execPath, [...entry, 'start', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitForLine(started: Started, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!started.stdout().includes('\n')) {
    if (Date.now() > deadline) throw new Error(`no ready line; stderr: ${started.stderr()}`);
    if (started.child.exitCode !== null) throw new Error(`exited ${started.child.exitCode}: ${started.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return started.stdout();
}

/** Processes whose command line mentions a path (sandboxes the lab started there). */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entryName of await readdir('/proc')) {
    if (!/^\d+$/.test(entryName)) continue;
    const cmdline = await readFile(`/proc/${entryName}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(entryName));
  }
  return pids;
}

describe('tether lab start', () => {
  it('writes kubeconfig and lab.json, prints one ready line, and stops cleanly on SIGTERM', async () => {
    const dir = path.join(work, 'lab');
    const started = startProcess(['--dir', dir]);
    const line = await waitForLine(started, 90_000);
    expect(line).toMatch(
      /^lab ready: api https:\/\/127\.0\.0\.1:\d+, s3 http:\/\/127\.0\.0\.1:\d+, kubeconfig .+\/kubeconfig\n$/,
    );
    // Nothing else: no SDK deprecation notices or stray warnings on stderr either.
    expect(started.stderr()).toBe('');

    const kubeconfigPath = path.join(dir, 'kubeconfig');
    expect((await stat(kubeconfigPath)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'lab.json'))).mode & 0o777).toBe(0o600);
    const kubeconfig = parse(await readFile(kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      contexts: { name: string; context: { user: string; namespace: string } }[];
      users: { name: string; user: { token: string } }[];
    };
    expect(kubeconfig.contexts.map((c) => c.name)).toEqual(['admin', 'alice', 'bob', 'carol']);
    expect(Buffer.from(kubeconfig.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString()).toContain(
      'BEGIN CERTIFICATE',
    );
    const tokens = kubeconfig.users.map((u) => u.user.token);
    expect(new Set(tokens).size).toBe(4);

    const lab = JSON.parse(await readFile(path.join(dir, 'lab.json'), 'utf8')) as {
      kubeconfig: string;
      apiServer: string;
      s3: Record<string, string>;
      users: { name: string; token: string }[];
    };
    expect(lab.kubeconfig).toBe(kubeconfigPath);
    expect(lab.apiServer).toBe(kubeconfig.clusters[0]!.cluster.server);
    expect(Object.keys(lab.s3).sort()).toEqual(['accessKeyId', 'bucket', 'endpoint', 'region', 'secretAccessKey']);
    expect(lab.s3).toMatchObject({ bucket: 'phfs', region: 'us-east-1' });
    expect(lab.users.map((u) => u.token)).toEqual(tokens);
    for (const token of tokens) expect(started.stdout() + started.stderr()).not.toContain(token);

    const version = await run('kubectl', [
      '--kubeconfig',
      kubeconfigPath,
      '--cache-dir',
      path.join(work, 'cache'),
      'version',
      '-o',
      'json',
    ]);
    expect((JSON.parse(version.stdout) as { serverVersion: { minor: string } }).serverVersion.minor).toBe('32');
    const exec = await run('kubectl', [
      '--kubeconfig',
      kubeconfigPath,
      '--cache-dir',
      path.join(work, 'cache'),
      'exec',
      '-n',
      'group-vision',
      'vision-data-viewer',
      '--',
      'echo',
      'alive',
    ]);
    expect(exec.stdout).toBe('alive\n');
    expect(await processesMentioning(dir)).not.toEqual([]);

    started.child.kill('SIGTERM');
    const stopping = Date.now();
    expect(await started.exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(20_000);
    expect(started.stdout()).toBe(line);
    expect(await mountsUnder(dir)).toEqual([]);
    expect(await processesMentioning(dir)).toEqual([]);
  });

  it('refuses a malformed fixture with a message naming the document, and exits 2', async () => {
    const fixture = path.join(work, 'bad.yaml');
    await writeFile(
      fixture,
      'apiVersion: lab.tether.dev/v1\nkind: LabConfig\nusers: [{name: admin, groups: [system:masters]}]\n---\napiVersion: v1\nkind: Gadget\nmetadata: {name: g}\n',
    );
    const started = startProcess(['--dir', path.join(work, 'bad-lab'), '--fixture', fixture]);
    expect(await started.exited).toBe(2);
    expect(started.stderr()).toContain(`${fixture}, document 2: the lab does not serve kind Gadget in v1`);
    expect(started.stdout()).toBe('');
  });

  it('explains its usage', async () => {
    const started = startProcess(['--fixture', 'x.yaml']);
    expect(await started.exited).toBe(2);
    expect(started.stderr()).toContain('--dir is required');
    expect(started.stderr()).toContain('usage: tether lab start --dir DIR');
  });
});
