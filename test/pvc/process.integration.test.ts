import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { openRemote } from '../../sync-engine/endpoints/open.js';
import { StateStore } from '../../sync-engine/state/store.js';
import { tether } from '../helpers/cli.js';
import { closePvcSuite, openPvcSuite } from './helpers.js';
import type { PvcLab } from './helpers.js';

/** The PVC endpoint as a process: killed mid-sync, its peak memory against file size, exec-plugin credentials. */
const childScript = fileURLToPath(new URL('./syncChild.ts', import.meta.url));
const peakRssPreload = new URL('./peakRss.js', import.meta.url).href;
const MiB = 1024 * 1024;

let lab: PvcLab;
let work: string;
let stateFile: string;
let store: StateStore;

beforeAll(async () => {
  ({ lab, work, store } = await openPvcSuite('process'));
  stateFile = join(work, 'state.db');
}, 120_000);
afterAll(() => closePvcSuite({ lab, work, store }), 60_000);

/** A file of `mib` MiB whose every MiB differs (so a resumed copy in the wrong place is caught). */
async function bigFile(path: string, mib: number): Promise<string> {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(MiB, 0x5a);
  const handle = await open(path, 'w');
  for (let i = 0; i < mib; i++) {
    chunk.writeUInt32LE(i, 0);
    chunk.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, MiB - 4);
    hash.update(chunk);
    await handle.write(chunk);
  }
  await handle.close();
  return hash.digest('hex');
}

const sha = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

function addPair(name: string, remote: string, mode: 'push' | 'pull', options: Record<string, unknown> = {}): string {
  const local = join(work, name);
  store.addPair({
    name,
    localPath: local,
    remoteUrl: remote,
    mode,
    compare: 'size-mtime',
    ignore: [],
    options: { kubeconfig: lab.lab.kubeconfig, ...options },
  });
  return local;
}

function startChild(pair: string): {
  done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
  kill: () => void;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, stateFile, pair], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
  return { done, kill: () => child.kill('SIGKILL') };
}

async function helperPods(): Promise<string> {
  const listed = await lab.kubectl([
    'get',
    'pods',
    '-n',
    'group-vision',
    '-l',
    'app.kubernetes.io/managed-by=tether',
    '-o',
    'name',
  ]);
  return listed.stdout.toString().trim();
}

/** The claim's folder on this machine (the lab's volumes are directories). */
const volume = (...parts: string[]): string =>
  join(lab.dir, 'lab', 'volumes', 'group-vision', 'vision-archive', ...parts);

describe('pvc:// as a process', () => {
  it('SIGKILL mid-push leaves only a partial file; the next run takes over the helper the killed run left, resumes and converges', async () => {
    const local = addPair('crash', 'pvc://alice@group-vision/vision-archive/tests/crash', 'push');
    await mkdir(join(local, 'small'), { recursive: true });
    for (let i = 0; i < 50; i++) await writeFile(join(local, 'small', `s${i}.txt`), `small ${i}\n`);
    const bigHash = await bigFile(join(local, 'big.bin'), 96);
    lab.lab.setFaults({ exec: { bandwidthBytesPerSecond: 24 * MiB } });
    const child = startChild('crash');
    let held = 0;
    try {
      const deadline = Date.now() + 90_000;
      while (held < 24 * MiB && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const names = await readdir(volume('tests', 'crash')).catch(() => [] as string[]);
        for (const name of names.filter((n) => n.startsWith('.tether-partial-')))
          held = Math.max(held, (await stat(volume('tests', 'crash', name)).catch(() => ({ size: 0 }))).size);
      }
    } finally {
      child.kill();
    }
    expect((await child.done).signal).toBe('SIGKILL');
    lab.lab.setFaults({ exec: {} });
    expect(held).toBeGreaterThanOrEqual(24 * MiB);
    await expect(stat(volume('tests', 'crash', 'big.bin'))).rejects.toThrow();
    // The killed run's helper pod is still there: nobody deleted it. Its heartbeat is fresh, so the next run
    // takes it over instead of starting another (and it stays for the run after, until its idle timeout).
    const left = await helperPods();
    expect(left).toMatch(/^pod\/tether-helper-[0-9a-f]+$/);

    const rerun = await syncPair(store, 'crash');
    expect(rerun.problems).toEqual([]);
    expect(rerun.bytes).toBeLessThan(96 * MiB);
    expect(await sha(volume('tests', 'crash', 'big.bin'))).toBe(bigHash);
    for (let i = 0; i < 50; i++)
      expect(await readFile(volume('tests', 'crash', 'small', `s${i}.txt`), 'utf8')).toBe(`small ${i}\n`);
    expect((await readdir(volume('tests', 'crash'))).filter((n) => n.startsWith('.tether-'))).toEqual([]);
    expect(await helperPods()).toBe(left);
    const again = await syncPair(store, 'crash');
    expect(again).toMatchObject({ uploaded: 0, downloaded: 0, bytes: 0 });
    expect(await helperPods()).toBe(left);
    await lab.kubectl(['delete', 'pod', '-n', 'group-vision', left.replace(/^pod\//, '')]);
  }, 240_000);

  it('peak RSS of the tether CLI does not grow with file size: 64 MiB and 256 MiB pushed and pulled', async () => {
    const home = join(work, 'cli-home');
    const rssFile = join(work, 'rss');
    const env = { NODE_OPTIONS: `--import=${peakRssPreload}`, TETHER_TEST_RSS_FILE: rssFile };
    const cli = async (args: readonly string[]): Promise<string> => {
      const result = await tether(args, home, env);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      return result.stdout;
    };
    const peaks: Record<string, number> = {};
    for (const mib of [64, 256]) {
      const remote = `pvc://alice@group-vision/vision-archive/tests/rss-${mib}`;
      const source = join(work, `rss-push-${mib}`);
      const target = join(work, `rss-pull-${mib}`);
      await mkdir(source, { recursive: true });
      await mkdir(target, { recursive: true });
      const hash = await bigFile(join(source, 'big.bin'), mib);
      for (const [name, dir, mode] of [
        [`push${mib}`, source, 'push'],
        [`pull${mib}`, target, 'pull'],
      ] as const)
        await cli([
          'pair',
          'add',
          name,
          '--local',
          dir,
          '--remote',
          remote,
          '--mode',
          mode,
          '--kubeconfig',
          lab.lab.kubeconfig,
          // Each sync deletes its helper: the exec plugin test below checks that none is left.
          '--helper-idle',
          '0',
        ]);
      const pushed = JSON.parse(await cli(['sync', `push${mib}`, '--json'])) as { bytes: number };
      expect(pushed.bytes).toBe(mib * MiB);
      peaks[`push ${mib}`] = Number(await readFile(rssFile, 'utf8'));
      const pulled = JSON.parse(await cli(['sync', `pull${mib}`, '--json'])) as { bytes: number };
      expect(pulled.bytes).toBe(mib * MiB);
      peaks[`pull ${mib}`] = Number(await readFile(rssFile, 'utf8'));
      expect(await sha(join(target, 'big.bin'))).toBe(hash);
      await rm(source, { recursive: true });
      await rm(target, { recursive: true });
      await rm(volume('tests', `rss-${mib}`), { recursive: true });
    }
    // Four times the data may cost no more than a few buffers more memory, and all stays under the target.
    for (const direction of ['push', 'pull']) {
      const small = peaks[`${direction} 64`] ?? 0;
      const large = peaks[`${direction} 256`] ?? Infinity;
      expect(small, JSON.stringify(peaks)).toBeGreaterThan(20 * MiB);
      expect(large - small, `${direction}: ${JSON.stringify(peaks)}`).toBeLessThan(32 * MiB);
      expect(large, `${direction}: ${JSON.stringify(peaks)}`).toBeLessThan(200 * MiB);
    }
  }, 300_000);

  it('authenticates through a kubeconfig exec plugin (ExecCredential), as kubectl does', async () => {
    const labConfig = (await import('yaml')).parse(await readFile(lab.lab.kubeconfig, 'utf8')) as {
      clusters: { name: string; cluster: Record<string, unknown> }[];
    };
    const calls = join(work, 'plugin-calls.log');
    const plugin = join(work, 'credential-plugin.sh');
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: lab.lab.user('alice').token },
    });
    await writeFile(plugin, `#!/bin/sh\necho called >> "$1"\ncat <<'EOF'\n${credential}\nEOF\n`);
    await chmod(plugin, 0o700);
    const kubeconfig = join(work, 'plugin.kubeconfig');
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: labConfig.clusters,
        users: [
          {
            name: 'sso-alice',
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: plugin,
                args: [calls],
                interactiveMode: 'Never',
              },
            },
          },
        ],
        contexts: [{ name: 'sso', context: { cluster: labConfig.clusters[0]?.name, user: 'sso-alice' } }],
        'current-context': 'sso',
      }),
      { mode: 0o600 },
    );
    const endpoint = await openRemote('pvc://group-vision/vision-datasets/datasets', { options: { kubeconfig } });
    try {
      const scanned = await endpoint.scan();
      expect(scanned.entries.map((e) => e.path)).toContain('cifar-mini/labels.csv');
    } finally {
      await endpoint.close();
    }
    expect(await readFile(calls, 'utf8')).toMatch(/called/);
    expect(await helperPods()).toBe('');
  }, 120_000);
});
