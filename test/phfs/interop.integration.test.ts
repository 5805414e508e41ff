import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import type { StateStore } from '../../sync-engine/state/store.js';
import { startPhfsLab } from './helpers.js';
import type { PhfsLab } from './helpers.js';

/** Tether next to the AWS CLI and rclone on the same store: each reads what the others wrote. */
const cliMain = fileURLToPath(new URL('../../sync-engine/cli/main.ts', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

let lab: PhfsLab;
let store: StateStore;
let work: string;

beforeAll(async () => {
  lab = await startPhfsLab();
  lab.useUser('alice');
  store = lab.openStore();
  work = await mkdtemp(join(tmpdir(), 'tether-phfs-interop-'));
  // An empty config: the remote is defined by RCLONE_CONFIG_LAB_* variables.
  await writeFile(join(work, 'rclone.conf'), '');
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await lab.stop();
});

function awsEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: work, ...lab.env('alice') };
}

function rcloneEnv(): NodeJS.ProcessEnv {
  const alice = lab.users.alice;
  return {
    PATH: process.env.PATH,
    HOME: work,
    TZ: 'UTC',
    RCLONE_CONFIG: join(work, 'rclone.conf'),
    RCLONE_CONFIG_LAB_TYPE: 's3',
    RCLONE_CONFIG_LAB_PROVIDER: 'Other',
    RCLONE_CONFIG_LAB_ENDPOINT: lab.endpoint,
    RCLONE_CONFIG_LAB_ACCESS_KEY_ID: alice.accessKeyId,
    RCLONE_CONFIG_LAB_SECRET_ACCESS_KEY: alice.secretAccessKey,
    RCLONE_CONFIG_LAB_REGION: 'us-east-1',
    RCLONE_CONFIG_LAB_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_LAB_NO_CHECK_BUCKET: 'true',
  };
}

describe('interop', () => {
  it('what Tether uploads, the AWS CLI reads and rclone lists with the same mtimes', async () => {
    const local = join(work, 'up');
    await mkdir(join(local, 'sub dir'), { recursive: true });
    await writeFile(join(local, 'a.txt'), 'alpha');
    await writeFile(join(local, 'sub dir', 'b +#?.txt'), 'beta');
    await utimes(join(local, 'a.txt'), 1_700_000_000.5, 1_700_000_000.5);
    await utimes(join(local, 'sub dir', 'b +#?.txt'), 1_600_000_000, 1_600_000_000);
    store.addPair({
      name: 'up',
      localPath: local,
      remoteUrl: 'phfs://vision/interop/up',
      mode: 'push',
      compare: 'size-mtime',
      ignore: [],
    });
    expect((await syncPair(store, 'up')).problems).toEqual([]);

    const ls = await run('aws', ['s3', 'ls', '--recursive', 's3://phfs/groups/vision/interop/up/'], awsEnv());
    expect(ls.stderr).toBe('');
    expect(ls.stdout).toContain('groups/vision/interop/up/a.txt');
    expect(ls.stdout).toContain('groups/vision/interop/up/sub dir/b +#?.txt');
    const cat = await run('aws', ['s3', 'cp', 's3://phfs/groups/vision/interop/up/sub dir/b +#?.txt', '-'], awsEnv());
    expect(cat.stdout).toBe('beta');

    const lsl = await run('rclone', ['lsl', 'lab:phfs/groups/vision/interop/up'], rcloneEnv());
    expect(lsl.stderr).toBe('');
    const lines = lsl.stdout
      .trim()
      .split('\n')
      .map((line) => line.trim())
      .sort();
    expect(lines).toEqual([
      '4 2020-09-13 12:26:40.000000000 sub dir/b +#?.txt',
      '5 2023-11-14 22:13:20.500000000 a.txt',
    ]);
  }, 180_000);

  it('what rclone and the AWS CLI upload (rclone with its mtime, aws without metadata) syncs down correctly', async () => {
    const source = join(work, 'rclone-src');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'r.txt'), 'from rclone');
    await utimes(join(source, 'r.txt'), 1_650_000_000.25, 1_650_000_000.25);
    // A multipart upload by rclone too (5 MiB parts): its CompleteMultipartUpload writes part ETags as &#34;…&#34;.
    const big = randomBytes(11 * 1024 * 1024 + 7);
    await writeFile(join(source, 'big.bin'), big);
    const copy = await run(
      'rclone',
      ['copy', '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M', source, 'lab:phfs/groups/vision/interop/down'],
      rcloneEnv(),
    );
    expect(copy.stderr).toBe('');
    expect(copy.code).toBe(0);
    await writeFile(join(work, 'w.txt'), 'from aws');
    const put = await run(
      'aws',
      ['s3', 'cp', join(work, 'w.txt'), 's3://phfs/groups/vision/interop/down/w w.txt'],
      awsEnv(),
    );
    expect(put.code, put.stderr).toBe(0);

    const local = join(work, 'down');
    await mkdir(local, { recursive: true });
    store.addPair({
      name: 'down',
      localPath: local,
      remoteUrl: 'phfs://vision/interop/down',
      mode: 'two-way',
      compare: 'size-mtime',
      ignore: [],
    });
    const summary = await syncPair(store, 'down');
    expect(summary.problems).toEqual([]);
    expect(summary.downloaded).toBe(3);
    expect(await readFile(join(local, 'r.txt'), 'utf8')).toBe('from rclone');
    expect((await readFile(join(local, 'big.bin'))).equals(big)).toBe(true);
    expect(await readFile(join(local, 'w w.txt'), 'utf8')).toBe('from aws');
    expect((await stat(join(local, 'r.txt'))).mtimeMs).toBeCloseTo(1_650_000_000_250, 0);
    expect(await syncPair(store, 'down')).toMatchObject({ uploaded: 0, downloaded: 0, problems: [] });
  }, 180_000);

  it('the tether CLI takes --s3-endpoint at pair add and syncs without the SDK Node-version warning', async () => {
    const home = join(work, 'cli-home');
    const local = join(work, 'cli');
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'c.txt'), 'cli');
    const env: NodeJS.ProcessEnv = { ...process.env, ...lab.env('alice'), AWS_ENDPOINT_URL: '', TETHER_HOME: home };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const tether = (args: readonly string[]): Promise<Run> =>
      run(process.execPath, ['--import', 'tsx', cliMain, ...args], env);
    const added = await tether([
      'pair',
      'add',
      'c',
      '--local',
      local,
      '--remote',
      'phfs://vision/interop/cli',
      '--s3-endpoint',
      lab.endpoint,
    ]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const synced = await tether(['sync', 'c', '--json']);
    expect(synced.stderr).toBe('');
    expect(synced.code).toBe(0);
    expect(JSON.parse(synced.stdout)).toMatchObject({ uploaded: 1, problems: [] });
    expect((await lab.get('groups/vision/interop/cli/c.txt')).toString()).toBe('cli');
    const bad = await tether([
      'pair',
      'add',
      'd',
      '--local',
      local,
      '--remote',
      'phfs://vision/x',
      '--s3-endpoint',
      'ftp://x',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/http:\/\/ or https:\/\//);
  }, 180_000);
});
