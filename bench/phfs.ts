/**
 * PHFS benchmark: Tether against `aws s3 sync` and `rclone sync` on the same lab store, in one run.
 * `npm run build && npx tsx bench/phfs.ts [smallFiles=1000] [bigMiB=1024] [noopObjects=10000]`.
 * Scenarios (issue targets: faster than both on all three, Tether's peak RSS under 200 MB):
 * 1. initial upload of N × 64 KiB files; 2. one big file; 3. no-op re-sync of M objects.
 * Each tool syncs to its own prefix; the no-op run is the second sync of a tree the same tool uploaded.
 */
import { mkdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabFaults } from '../lab/faults.js';
import { newCredential, PhfsServer } from '../lab/s3/phfs.js';
import { fmtRss, fmtSeconds, measure } from './measure.js';
import type { Measurement } from './measure.js';

// The built CLI, as users run it; TETHER_BENCH_SOURCE=1 runs the sources through tsx instead (slower start).
const TETHER_ARGS =
  process.env['TETHER_BENCH_SOURCE'] === '1'
    ? ['--import', 'tsx', fileURLToPath(new URL('../sync-engine/cli/main.ts', import.meta.url))]
    : [fileURLToPath(new URL('../bin/tether.js', import.meta.url))];
const smallCount = Number(process.argv[2] ?? 1000);
const bigMiB = Number(process.argv[3] ?? 1024);
const noopCount = Number(process.argv[4] ?? 10_000);
const work = join(process.env['TETHER_BENCH_DIR'] ?? tmpdir(), 'tether-bench-phfs');

function fresh(path: string): string {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  return path;
}

function files(root: string, count: number, size: number): string {
  fresh(root);
  const block = Buffer.alloc(size);
  for (let i = 0; i < count; i++) {
    const dir = join(root, `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) mkdirSync(dir, { recursive: true });
    block.writeUInt32LE(i, 0);
    writeFileSync(join(dir, `f${i}.dat`), block);
  }
  return root;
}

function bigFile(root: string, mib: number): string {
  fresh(root);
  const fd = openSync(join(root, 'big.bin'), 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    block.writeUInt32LE(i, 0);
    writeSync(fd, block);
  }
  closeSync(fd);
  return root;
}

// The store is plain http on loopback; a machine-wide CA bundle setting only trips rclone's S3 backend.
delete process.env['AWS_CA_BUNDLE'];

const admin = newCredential('admin', { read: ['*'], write: ['*'] });
const server = new PhfsServer({
  dataDir: fresh(join(work, 'store')),
  bucket: 'phfs',
  region: 'us-east-1',
  host: '127.0.0.1',
  port: 0,
  credentials: [admin],
  faults: new LabFaults(),
});
const endpoint = await server.start();
if (process.env['TETHER_BENCH_DEBUG'] === '1') process.stderr.write(`store at ${endpoint}\n`);
const home = fresh(join(work, 'home'));
writeFileSync(join(work, 'rclone.conf'), '');
const env: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: admin.accessKeyId,
  AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ENDPOINT_URL: endpoint,
  AWS_CONFIG_FILE: join(work, 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
  TETHER_HOME: home,
  RCLONE_CONFIG: join(work, 'rclone.conf'),
  RCLONE_CONFIG_LAB_TYPE: 's3',
  RCLONE_CONFIG_LAB_PROVIDER: 'Other',
  RCLONE_CONFIG_LAB_ENDPOINT: endpoint,
  RCLONE_CONFIG_LAB_ACCESS_KEY_ID: admin.accessKeyId,
  RCLONE_CONFIG_LAB_SECRET_ACCESS_KEY: admin.secretAccessKey,
  RCLONE_CONFIG_LAB_REGION: 'us-east-1',
  RCLONE_CONFIG_LAB_FORCE_PATH_STYLE: 'true',
};

let pairs = 0;
async function tether(local: string, prefix: string): Promise<() => Promise<Measurement>> {
  const name = `b${++pairs}`;
  await measure(
    process.execPath,
    [...TETHER_ARGS, 'pair', 'add', name, '--local', local, '--remote', `s3://phfs/${prefix}`, '--mode', 'push'],
    env,
  );
  return () => measure(process.execPath, [...TETHER_ARGS, 'sync', name], env);
}
const aws = (local: string, prefix: string) => (): Promise<Measurement> =>
  measure('aws', ['s3', 'sync', '--only-show-errors', local, `s3://phfs/${prefix}`], env);
const rclone = (local: string, prefix: string) => (): Promise<Measurement> =>
  measure('rclone', ['sync', local, `lab:phfs/${prefix}`], env);

interface Row {
  readonly scenario: string;
  readonly results: Record<'tether' | 'aws s3 sync' | 'rclone sync', Measurement>;
}
const rows: Row[] = [];

async function scenario(title: string, local: string, key: string, noop: boolean): Promise<void> {
  const runs = {
    tether: await tether(local, `tether-${key}`),
    'aws s3 sync': aws(local, `aws-${key}`),
    'rclone sync': rclone(local, `rclone-${key}`),
  };
  const results = {} as Row['results'];
  for (const [tool, runOnce] of Object.entries(runs) as [keyof Row['results'], () => Promise<Measurement>][]) {
    if (noop) await runOnce();
    results[tool] = await runOnce();
    process.stderr.write(`${title}: ${tool} ${fmtSeconds(results[tool].seconds)} s\n`);
  }
  rows.push({ scenario: title, results });
}

try {
  await scenario(`upload ${smallCount} × 64 KiB`, files(join(work, 'small'), smallCount, 64 * 1024), 'small', false);
  await scenario(`upload one ${bigMiB} MiB file`, bigFile(join(work, 'big'), bigMiB), 'big', false);
  await scenario(`no-op re-sync of ${noopCount} objects`, files(join(work, 'noop'), noopCount, 16), 'noop', true);
} finally {
  await server.stop();
}

const tools = ['tether', 'aws s3 sync', 'rclone sync'] as const;
console.log(`| scenario | ${tools.join(' | ')} | Tether peak RSS |`);
console.log(`|---|${tools.map(() => '---').join('|')}|---|`);
for (const row of rows) {
  const cells = tools.map((tool) => `${fmtSeconds(row.results[tool].seconds)} s`);
  console.log(`| ${row.scenario} | ${cells.join(' | ')} | ${fmtRss(row.results.tether)} |`);
}
