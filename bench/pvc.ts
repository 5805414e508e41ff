import { mkdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab } from '../lab/lab.js';
import { liveChange } from './live.js';
import { fmtRss, fmtSeconds, measure } from './measure.js';
import type { Measurement } from './measure.js';

/**
 * `npx tsx bench/pvc.ts`: Tether's pvc:// endpoint against the real `kubectl cp` on
 * the same lab in the same run, and a plain `tar c | tar x` pipe on this machine as the physical floor.
 * Scenarios: push and pull of one big file (TETHER_BENCH_BIG_MIB, default 1024); push and pull of many small
 * files (TETHER_BENCH_FILES × 4 KiB, default 10,000); re-sync of those files after changing one.
 * Targets (issue #4): initial transfers at least as fast as kubectl cp; the one-change re-sync ≥ 20× faster
 * than copying again; big-file throughput within 2× of the tar pipe; peak RSS under 200 MB.
 */
/** The built CLI, as users run it (`npm run bench` builds first). */
const TETHER = fileURLToPath(new URL('../bin/tether.js', import.meta.url));
const bigMiB = Number(process.env['TETHER_BENCH_BIG_MIB'] ?? 1024);
const fileCount = Number(process.env['TETHER_BENCH_FILES'] ?? 10_000);
/** The live row's debounce (`tether live NAME --debounce`): how long the watcher gathers events first. */
const LIVE_DEBOUNCE_MS = 10;

function bigFile(path: string, mib: number): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    block.writeUInt32LE(i, 0);
    writeSync(fd, block);
  }
  closeSync(fd);
}

function smallFiles(root: string, count: number): void {
  const block = Buffer.alloc(4096);
  for (let i = 0; i < count; i++) {
    const dir = join(root, `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) mkdirSync(dir, { recursive: true });
    block.writeUInt32LE(i, 0);
    writeFileSync(join(dir, `f${i}.dat`), block);
  }
}

interface Row {
  readonly scenario: string;
  readonly tether: Measurement;
  readonly other: Measurement;
  readonly against: string;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tether-bench-pvc-'));
  const lab = await startLab({ dir: join(work, 'lab') });
  const home = join(work, 'home');
  const env = { TETHER_HOME: home };
  const kubectl = (args: string[]): Promise<Measurement> =>
    measure('kubectl', [
      '--kubeconfig',
      lab.kubeconfig,
      '--context',
      'alice',
      '--cache-dir',
      join(work, 'kcache'),
      ...args,
    ]);
  const tether = (args: string[]): Promise<Measurement> => measure(process.execPath, [TETHER, ...args], env);
  const addPair = (name: string, local: string, remote: string, mode: 'push' | 'pull'): Promise<Measurement> =>
    tether(['pair', 'add', name, '--local', local, '--remote', remote, '--mode', mode, '--kubeconfig', lab.kubeconfig]);
  /** Flushes dirty pages first, so one tool's writeback is not timed in the other's run (as bench/run.ts does). */
  const flushed = async (run: () => Promise<Measurement>): Promise<Measurement> => {
    await measure('sync', []);
    return run();
  };
  const rows: Row[] = [];
  try {
    mkdirSync(home, { recursive: true });
    // A pod for kubectl cp, mounting the same claim.
    const manifest = join(work, 'pod.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'bench-cp', namespace: 'group-vision' },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'debian:12',
              command: ['sleep', '36000'],
              volumeMounts: [{ name: 'd', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'vision-archive' } }],
        },
      }),
    );
    await kubectl(['apply', '-f', manifest]);
    await kubectl([
      'wait',
      '-n',
      'group-vision',
      '--for=jsonpath={.status.phase}=Running',
      '--timeout=120s',
      'pod/bench-cp',
    ]);

    const big = join(work, 'big');
    mkdirSync(big);
    bigFile(join(big, 'big.bin'), bigMiB);
    const floorDir = join(work, 'floor');
    mkdirSync(floorDir);
    const floor = await flushed(() =>
      measure('sh', ['-c', 'tar -C "$1" -cf - . | tar -C "$2" -xf -', 'sh', big, floorDir]),
    );
    const remote = 'pvc://alice@group-vision/vision-archive/bench';
    await addPair('big', big, `${remote}/big`, 'push');
    rows.push({
      scenario: `push 1 × ${bigMiB} MiB`,
      tether: await flushed(() => tether(['sync', 'big'])),
      other: await flushed(() =>
        kubectl(['cp', '-n', 'group-vision', join(big, 'big.bin'), 'bench-cp:/data/bench-cp-big.bin']),
      ),
      against: 'kubectl cp',
    });
    rows.push({
      scenario: `push 1 × ${bigMiB} MiB`,
      tether: rows[0]?.tether ?? { seconds: 0 },
      other: floor,
      against: 'tar c → tar x pipe',
    });
    const pulled = join(work, 'pulled');
    mkdirSync(pulled);
    await addPair('bigpull', pulled, `${remote}/big`, 'pull');
    rows.push({
      scenario: `pull 1 × ${bigMiB} MiB`,
      tether: await flushed(() => tether(['sync', 'bigpull'])),
      other: await flushed(() =>
        kubectl(['cp', '-n', 'group-vision', 'bench-cp:/data/bench-cp-big.bin', join(work, 'cp-big.bin')]),
      ),
      against: 'kubectl cp',
    });

    const small = join(work, 'small');
    smallFiles(small, fileCount);
    await addPair('small', small, `${remote}/small`, 'push');
    const copyAll = (): Promise<Measurement> =>
      kubectl(['cp', '-n', 'group-vision', small, 'bench-cp:/data/bench-cp-small']);
    rows.push({
      scenario: `push ${fileCount} × 4 KiB`,
      tether: await flushed(() => tether(['sync', 'small'])),
      other: await flushed(() => copyAll()),
      against: 'kubectl cp',
    });
    const pulledSmall = join(work, 'pulled-small');
    mkdirSync(pulledSmall);
    await addPair('smallpull', pulledSmall, `${remote}/small`, 'pull');
    rows.push({
      scenario: `pull ${fileCount} × 4 KiB`,
      tether: await flushed(() => tether(['sync', 'smallpull'])),
      other: await flushed(() =>
        kubectl(['cp', '-n', 'group-vision', 'bench-cp:/data/bench-cp-small', join(work, 'cp-small')]),
      ),
      against: 'kubectl cp',
    });
    writeFileSync(join(small, 'd0', 'f0.dat'), 'changed');
    const again = await flushed(() => copyAll());
    rows.push({
      scenario: 're-sync after changing one file',
      tether: await flushed(() => tether(['sync', 'small'])),
      other: again,
      against: 'kubectl cp (copy again)',
    });
    await tether(['live', 'small', '--debounce', String(LIVE_DEBOUNCE_MS)]);
    rows.push({
      scenario: `the same, live: \`tether watch\` (debounce ${LIVE_DEBOUNCE_MS} ms)`,
      tether: await liveChange({
        tether: TETHER,
        env,
        pair: 'small',
        local: small,
        // The lab's volumes are folders on this machine: the file is seen arriving without an exec.
        remote: join(work, 'lab', 'volumes', 'group-vision', 'vision-archive', 'bench', 'small'),
        rounds: 5,
      }),
      other: again,
      against: 'kubectl cp (copy again)',
    });
  } finally {
    await lab.stop();
    rmSync(work, { recursive: true, force: true });
  }
  console.log('| scenario | tether | peak RSS | against | time | ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows)
    console.log(
      `| ${row.scenario} | ${fmtSeconds(row.tether.seconds)} s | ${fmtRss(row.tether)} | ${row.against} | ${fmtSeconds(row.other.seconds)} s | ${(row.other.seconds / row.tether.seconds).toFixed(2)}× |`,
    );
}

await main();
