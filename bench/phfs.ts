/**
 * PHFS benchmark: Tether against `aws s3 sync` and `rclone sync` on the same lab store, in one run.
 * `npm run build && npx tsx bench/phfs.ts [smallFiles=1000] [bigMiB=1024] [noopObjects=10000]`.
 * Scenarios (issue targets: faster than both on all three, Tether's peak RSS under 200 MB):
 * 1. initial upload of N × 64 KiB files; 2. one big file; 3. no-op re-sync of M objects.
 * Each tool syncs to its own prefix; the no-op run is the second sync of a tree the same tool uploaded.
 * Each scenario runs TETHER_BENCH_ROUNDS times (default 3; the tools take turns going first) and the median
 * is reported. TETHER_BENCH_ONLY=small,big,noop picks scenarios. The store's request counts per tool (one
 * round) are printed too: they explain most differences.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newCredential, rcloneLabEnv, startStandalonePhfs } from '../lab/s3/phfs.js';
import { fmtRss, fmtSeconds, measure } from './measure.js';
import type { Measurement } from './measure.js';

// The built CLI, as users run it; TETHER_BENCH_SOURCE=1 runs the sources through tsx instead (slower start).
// TETHER_BENCH_CLI=path/to/main.js runs another build (A/B comparisons against a copy compiled elsewhere).
const TETHER_ARGS =
  process.env['TETHER_BENCH_CLI'] !== undefined
    ? [process.env['TETHER_BENCH_CLI']]
    : process.env['TETHER_BENCH_SOURCE'] === '1'
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
const storeDir = fresh(join(work, 'store'));
const { server, endpoint } = await startStandalonePhfs(storeDir, [admin]);
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
  ...rcloneLabEnv(endpoint, admin, join(work, 'rclone.conf')),
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

const TOOLS = ['tether', 'aws s3 sync', 'rclone sync'] as const;
type Tool = (typeof TOOLS)[number];
const ROUNDS = Math.max(1, Number(process.env['TETHER_BENCH_ROUNDS'] ?? 3));
const ONLY = new Set((process.env['TETHER_BENCH_ONLY'] ?? 'small,big,noop').split(','));

interface Row {
  readonly scenario: string;
  readonly results: Record<Tool, Measurement>;
  /** Tether's highest peak RSS over the rounds. */
  readonly tetherPeakRssMb?: number;
  readonly requests: Record<Tool, string>;
}
const rows: Row[] = [];

function median(values: readonly Measurement[]): Measurement {
  const sorted = [...values].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)] ?? { seconds: Number.NaN };
}

/** The store's request counts since the last call, e.g. `PUT object 1000, GET list 1`. */
function takeRequests(): string {
  const counts = [...server.requestCounts].sort((a, b) => b[1] - a[1]);
  server.requestCounts.clear();
  return counts.map(([operation, n]) => `${operation} ${n}`).join(', ');
}

async function runner(tool: Tool, local: string, prefix: string): Promise<() => Promise<Measurement>> {
  if (tool === 'tether') return tether(local, prefix);
  return tool === 'aws s3 sync' ? aws(local, prefix) : rclone(local, prefix);
}

async function scenario(title: string, local: string, key: string, noop: boolean): Promise<void> {
  const times = Object.fromEntries(TOOLS.map((tool) => [tool, [] as Measurement[]])) as Record<Tool, Measurement[]>;
  const requests = {} as Record<Tool, string>;
  // A no-op re-sync needs the tree uploaded once per tool; every round then re-syncs that same prefix.
  const noopRuns = new Map<Tool, () => Promise<Measurement>>();
  if (noop) {
    for (const tool of TOOLS) {
      const run = await runner(tool, local, `${tool.split(' ')[0]}-${key}`);
      await run();
      noopRuns.set(tool, run);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    // The tools take turns going first, so none always runs on the coldest (or warmest) machine.
    const order = TOOLS.map((_, i) => TOOLS[(i + round) % TOOLS.length]!);
    for (const tool of order) {
      const prefix = `${tool.split(' ')[0]}-${key}-${round}`;
      const run = noopRuns.get(tool) ?? (await runner(tool, local, prefix));
      spawnSync('sync');
      takeRequests();
      const result = await run();
      if (round === 0) requests[tool] = takeRequests();
      times[tool].push(result);
      // Each upload round wrote its own prefix; s3rver keeps keys as paths, so dropping the folder frees the disk
      // (three rounds of a 1 GiB file per tool would otherwise stay in the store until the end).
      if (!noop) rmSync(join(storeDir, 'phfs', prefix), { recursive: true, force: true });
      process.stderr.write(
        `${title} (round ${round + 1}): ${tool} ${fmtSeconds(result.seconds)} s, ${fmtRss(result)}\n`,
      );
    }
  }
  const peaks = times.tether.map((m) => m.peakRssMb).filter((v): v is number => v !== undefined);
  rows.push({
    scenario: title,
    results: Object.fromEntries(TOOLS.map((tool) => [tool, median(times[tool])])) as Record<Tool, Measurement>,
    ...(peaks.length === 0 ? {} : { tetherPeakRssMb: Math.max(...peaks) }),
    requests,
  });
}

try {
  if (ONLY.has('small')) {
    await scenario(`upload ${smallCount} × 64 KiB`, files(join(work, 'small'), smallCount, 64 * 1024), 'small', false);
  }
  if (ONLY.has('big'))
    await scenario(`upload one ${bigMiB} MiB file`, bigFile(join(work, 'big'), bigMiB), 'big', false);
  if (ONLY.has('noop')) {
    await scenario(`no-op re-sync of ${noopCount} objects`, files(join(work, 'noop'), noopCount, 16), 'noop', true);
  }
} finally {
  await server.stop();
}

console.log(`| scenario | ${TOOLS.join(' | ')} | Tether peak RSS |`);
console.log(`|---|${TOOLS.map(() => '---').join('|')}|---|`);
for (const row of rows) {
  const cells = TOOLS.map((tool) => `${fmtSeconds(row.results[tool].seconds)} s`);
  const rss = row.tetherPeakRssMb === undefined ? 'n/a' : `${Math.round(row.tetherPeakRssMb)} MB`;
  console.log(`| ${row.scenario} | ${cells.join(' | ')} | ${rss} |`);
}
console.log(`\nMedian of ${ROUNDS} round(s). Requests to the store in the first round:`);
for (const row of rows) {
  for (const tool of TOOLS) console.log(`- ${row.scenario}, ${tool}: ${row.requests[tool] || 'none'}`);
}
