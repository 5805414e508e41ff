import { spawnSync } from 'node:child_process';
import { mkdirSync, openSync, rmSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtRss, fmtSeconds, measure } from './measure.js';
import type { Measurement } from './measure.js';

/**
 * `npm run bench`: the engine against `rsync -a` on the same data, in one run, on this machine.
 * Scenarios (issue targets in brackets): initial sync of 10,000 × 4 KiB files [≤ 2× rsync]; one 1 GiB file
 * [≤ 1.5× rsync]; no-op re-sync of 100,000 files [≤ 1.5 s, ≤ 300 MB RSS]. Each is timed in three rounds and the
 * median round is reported.
 */
const TETHER = fileURLToPath(new URL('../../bin/tether.js', import.meta.url));
const work = join(process.env['TETHER_BENCH_DIR'] ?? tmpdir(), 'tether-bench');

interface Row {
  readonly scenario: string;
  readonly tether: Measurement;
  readonly rsync: Measurement;
  readonly target: string;
}

function fresh(path: string): string {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  return path;
}

function smallFiles(root: string, count: number, size: number): void {
  const perDir = 1000;
  const block = Buffer.alloc(size);
  for (let i = 0; i < count; i++) {
    const dir = join(root, `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(dir, { recursive: true });
    block.writeUInt32LE(i, 0);
    writeFileSync(join(dir, `f${i}.dat`), block);
  }
}

function bigFile(path: string, mib: number): void {
  const chunk = Buffer.alloc(1024 * 1024);
  const fd = openSync(path, 'w');
  for (let i = 0; i < mib; i++) {
    chunk.fill(i % 256);
    chunk.writeUInt32LE(i, 0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
}

function tetherCli(home: string, ...args: string[]): void {
  const result = spawnSync(process.execPath, [TETHER, ...args], {
    env: { ...process.env, TETHER_HOME: home },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`tether ${args.join(' ')}: ${result.stderr}`);
}

/** Rounds per scenario; the median is reported (this VM's disk and page cache make single runs noisy). */
const ROUNDS = 3;

function median(values: readonly Measurement[]): Measurement {
  const sorted = [...values].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)] ?? { seconds: Number.NaN };
}

/** Flushes dirty pages, so one tool's writeback is not timed in the other's run. */
function flush(): void {
  spawnSync('sync');
}

async function scenario(name: string, target: string, populate: (src: string) => void, noop: boolean): Promise<Row> {
  const base = fresh(join(work, name.replace(/\W+/g, '-')));
  const src = join(base, 'src');
  mkdirSync(src);
  populate(src);
  const tethers: Measurement[] = [];
  const rsyncs: Measurement[] = [];
  // Each round copies into folders never used before, and nothing is deleted until every round is timed. On
  // ext4 without a journal (this VM's /tmp), creating files soon after deleting many makes the kernel step over
  // each recently freed inode (`recently_deleted`): a first sync into a fresh folder does not pay that, and a
  // bench that deletes the last round's copies just before timing the next would measure it, for both tools.
  let home = '';
  let tetherDst = '';
  let rsyncDst = '';
  const freshPair = (round: number): void => {
    home = fresh(join(base, `home-${round}`));
    tetherDst = fresh(join(base, `tether-dst-${round}`));
    rsyncDst = fresh(join(base, `rsync-dst-${round}`));
    tetherCli(home, 'pair', 'add', 'bench', '--local', src, '--remote', `file://${tetherDst}`, '--mode', 'push');
  };
  const syncArgs = [TETHER, 'sync', 'bench', '--json'];
  if (noop) {
    // First runs copy everything (not timed); then both tools only have to find out that nothing changed.
    freshPair(0);
    await measure(process.execPath, syncArgs, { TETHER_HOME: home });
    await measure('rsync', ['-a', `${src}/`, `${rsyncDst}/`]);
  }
  for (let round = 0; round < ROUNDS; round++) {
    if (!noop) freshPair(round);
    flush();
    tethers.push(await measure(process.execPath, syncArgs, { TETHER_HOME: home }));
    flush();
    rsyncs.push(await measure('rsync', ['-a', `${src}/`, `${rsyncDst}/`]));
  }
  rmSync(base, { recursive: true, force: true });
  return { scenario: name, tether: median(tethers), rsync: median(rsyncs), target };
}

async function main(): Promise<void> {
  fresh(work);
  process.stdout.write(`tether bench on ${cpus().length} cores, node ${process.version}, data in ${work}\n`);
  const rows: Row[] = [];
  rows.push(
    await scenario('initial sync, 10,000 × 4 KiB files', '≤ 2× rsync', (src) => smallFiles(src, 10_000, 4096), false),
  );
  rows.push(
    await scenario('initial sync, one 1 GiB file', '≤ 1.5× rsync', (src) => bigFile(join(src, 'big.bin'), 1024), false),
  );
  rows.push(
    await scenario('no-op re-sync, 100,000 files', '≤ 1.5 s, ≤ 300 MB', (src) => smallFiles(src, 100_000, 64), true),
  );
  rmSync(work, { recursive: true, force: true });

  const lines = [
    '| scenario | tether | tether peak RSS | rsync -a | rsync peak RSS | tether / rsync | target |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${fmtSeconds(r.tether.seconds)} s | ${fmtRss(r.tether)} | ${fmtSeconds(r.rsync.seconds)} s | ${fmtRss(r.rsync)} | ${(r.tether.seconds / r.rsync.seconds).toFixed(2)}× | ${r.target} |`,
    ),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

await main();
