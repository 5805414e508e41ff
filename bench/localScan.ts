/**
 * Scan speed of the local endpoint: `npx tsx bench/localScan.ts [files]` (default 100,000 files of 64 bytes in
 * folders of 1,000). Prints the best and median of several scans, two scans in parallel (the local folder and
 * a file:// remote during a sync), and a bare single-threaded `readdirSync` + `lstatSync` loop for reference:
 * that loop is what the filesystem allows, the scan should be close to it.
 */
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalEndpoint } from '../sync-engine/endpoints/local/localEndpoint.js';

const files = Number(process.argv[2] ?? 100_000);
const rounds = 5;
const root = join(process.env['TETHER_BENCH_DIR'] ?? tmpdir(), `tether-bench-scan-${files}`);

function populate(): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const block = Buffer.alloc(64);
  for (let i = 0; i < files; i++) {
    const dir = join(root, `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) mkdirSync(dir);
    block.writeUInt32LE(i, 0);
    writeFileSync(join(dir, `f${i}.dat`), block);
  }
}

function bareLoop(): number {
  let seen = 0;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const name of readdirSync(dir)) {
      const stats = lstatSync(`${dir}/${name}`);
      if (stats.isDirectory()) stack.push(`${dir}/${name}`);
      seen++;
    }
  }
  return seen;
}

async function timed<T>(run: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `best ${sorted[0]!.toFixed(0)} ms, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms`;
}

process.stdout.write(`creating ${files} files under ${root} …\n`);
populate();
const endpoint = await createLocalEndpoint(root, { displayName: 'bench' });
try {
  const bare: number[] = [];
  const single: number[] = [];
  const withIgnore: number[] = [];
  const parallel: number[] = [];
  let entries = 0;
  for (let round = 0; round < rounds; round++) {
    bare.push((await timed(bareLoop)).ms);
    const scan = await timed(() => endpoint.scan());
    single.push(scan.ms);
    entries = scan.value.entries.length;
    withIgnore.push((await timed(() => endpoint.scan({ ignore: (path) => path.endsWith('7.dat') }))).ms);
    parallel.push((await timed(() => Promise.all([endpoint.scan(), endpoint.scan()]))).ms);
  }
  const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);
  process.stdout.write(
    [
      `entries: ${entries}`,
      `bare readdirSync+lstatSync loop (main thread): ${summary(bare)}`,
      `scan: ${summary(single)}`,
      `scan with an ignore callback: ${summary(withIgnore)}`,
      `two scans in parallel: ${summary(parallel)}`,
      `RSS after the runs: ${rss} MB`,
      '',
    ].join('\n'),
  );
} finally {
  await endpoint.close();
  rmSync(root, { recursive: true, force: true });
}
