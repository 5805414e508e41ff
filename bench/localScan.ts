/**
 * Scan speed of the local endpoint: `npx tsx bench/localScan.ts [files]` (default 100,000 files of 64 bytes in
 * folders of 1,000), or `node dist/bench/localScan.js` after a build (what users run; no tsx in the workers).
 *
 * Prints, best and median of several rounds:
 * - a bare single-threaded `readdirSync` + `lstatSync` loop: what the filesystem allows, for reference;
 * - one endpoint scan;
 * - the endpoint part of a no-op re-sync: a local folder and a file:// copy of it opened and scanned in
 *   parallel with an ignore rule (the `ignore` package, as pairs use it), each result turned into a Map.
 * and the process's peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ignore from 'ignore';
import { createLocalEndpoint } from '../sync-engine/endpoints/local/localEndpoint.js';

const files = Number(process.argv[2] ?? 100_000);
const rounds = 5;
const base = join(process.env['TETHER_BENCH_DIR'] ?? tmpdir(), `tether-bench-scan-${files}`);
const local = join(base, 'local');
const remote = join(base, 'remote');

function populate(): void {
  rmSync(base, { recursive: true, force: true });
  mkdirSync(local, { recursive: true });
  const block = Buffer.alloc(64);
  for (let i = 0; i < files; i++) {
    const dir = join(local, `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) mkdirSync(dir);
    block.writeUInt32LE(i, 0);
    writeFileSync(join(dir, `f${i}.dat`), block);
  }
  const copy = spawnSync('cp', ['-a', local, remote]);
  if (copy.status !== 0) throw new Error(`cp -a failed: ${copy.stderr.toString()}`);
}

function bareLoop(): number {
  let seen = 0;
  const stack = [local];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    for (const name of readdirSync(dir)) {
      const stats = lstatSync(`${dir}/${name}`);
      if (stats.isDirectory()) stack.push(`${dir}/${name}`);
      seen++;
    }
  }
  return seen;
}

async function noOpSyncScans(): Promise<number> {
  const rules = ignore().add(['*.tmp', 'node_modules/', '.DS_Store']);
  const ignored = (path: string, isDir: boolean): boolean => rules.ignores(isDir ? `${path}/` : path);
  const [a, b] = await Promise.all([
    createLocalEndpoint(local),
    createLocalEndpoint(remote, { displayName: `file://${remote}`, missingCode: 'listing-failed' }),
  ]);
  const [sa, sb] = await Promise.all([a.scan({ ignore: ignored }), b.scan({ ignore: ignored })]);
  const trees = [new Map(sa.entries.map((e) => [e.path, e])), new Map(sb.entries.map((e) => [e.path, e]))];
  await Promise.all([a.close(), b.close()]);
  return trees[0]!.size + trees[1]!.size;
}

async function timed<T>(run: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((x, y) => x - y);
  return `best ${sorted[0]!.toFixed(0)} ms, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms`;
}

process.stdout.write(`creating ${files} files (and a copy) under ${base} …\n`);
populate();
const endpoint = await createLocalEndpoint(local, { displayName: 'bench' });
try {
  const bare: number[] = [];
  const single: number[] = [];
  const pair: number[] = [];
  let entries = 0;
  let pairEntries = 0;
  for (let round = 0; round < rounds; round++) {
    bare.push((await timed(bareLoop)).ms);
    const scan = await timed(() => endpoint.scan());
    single.push(scan.ms);
    entries = scan.value.entries.length;
    const both = await timed(noOpSyncScans);
    pair.push(both.ms);
    pairEntries = both.value;
  }
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(
    [
      `bare readdirSync + lstatSync loop, main thread (${entries} entries): ${summary(bare)}`,
      `endpoint scan (${entries} entries): ${summary(single)}`,
      `no-op sync's endpoint part, two folders in parallel (${pairEntries} entries): ${summary(pair)}`,
      `peak RSS of this process: ${peakRssMb} MB`,
      '',
    ].join('\n'),
  );
} finally {
  await endpoint.close();
  rmSync(base, { recursive: true, force: true });
}
