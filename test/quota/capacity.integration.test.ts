import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatBytes } from '../../sync-engine/controller/progress.js';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { parseDf } from '../../sync-engine/endpoints/pvc/freeSpace.js';
import { TetherError } from '../../sync-engine/errors.js';
import { StateStore } from '../../sync-engine/state/store.js';
import { startPvcLab } from '../pvc/helpers.js';
import type { PvcLab } from '../pvc/helpers.js';

/**
 * The capacity check before a push, against the lab's capacity-enforced claim (a 64 MiB tmpfs when the lab
 * runs as root): a push that cannot fit is refused before any byte moves, with the numbers `df` reports.
 */
let lab: PvcLab;
let store: StateStore;
let work: string;
let witness: string;
const MiB = 1024 * 1024;
const asRoot = process.getuid?.() === 0;

beforeAll(async () => {
  lab = await startPvcLab();
  work = await mkdtemp(join(tmpdir(), 'tether-capacity-'));
  store = StateStore.open(join(work, 'state.db'));
  witness = await lab.witnessPod('user-alice', 'alice-small', 'busybox:1.36');
}, 120_000);
afterAll(async () => {
  store.close();
  await rm(work, { recursive: true, force: true });
  await lab.stop();
}, 60_000);

async function inVolume(script: string): Promise<string> {
  const result = await lab.exec('user-alice', witness, 'sh', '-c', script);
  if (result.code !== 0) throw new Error(`kubectl exec failed: ${result.stderr}`);
  return result.stdout.toString();
}

it.skipIf(!asRoot)(
  'a push bigger than the free space is refused before any byte moves, saying needed vs free as df reports them; one that fits goes',
  async () => {
    const local = join(work, 'local');
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'big.bin'), Buffer.alloc(80 * MiB, 1));
    await writeFile(join(local, 'small.txt'), 'fits');
    store.addPair({
      name: 'small',
      localPath: local,
      remoteUrl: 'pvc://alice@user-alice/alice-small',
      mode: 'push',
      compare: 'size-mtime',
      ignore: [],
      options: { kubeconfig: lab.lab.kubeconfig },
    });
    const before = await inVolume('ls -A /data');
    const df = parseDf(await inVolume('df -P -k /data'));
    expect(df?.totalBytes).toBe(64 * MiB);

    const error = await syncPair(store, 'small').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).code).toBe('no-space');
    expect((error as TetherError).message).toBe(
      `this sync needs ${formatBytes(80 * MiB + 4)} on pvc://alice@user-alice/alice-small but the volume of pvc://alice@user-alice/alice-small has only ${formatBytes(df!.freeBytes)} free; nothing was sent. Free space there, ask for a larger claim, or sync less (an ignore rule, a subfolder)`,
    );
    // Nothing arrived: no file, no partial file, no staging folder.
    expect(await inVolume('ls -A /data')).toBe(before);
    expect(store.getPair('small')?.stateMessage).toContain('needs 80 MiB');

    await rm(join(local, 'big.bin'));
    const summary = await syncPair(store, 'small');
    expect(summary.problems).toEqual([]);
    expect(summary.uploaded).toBe(1);
    expect(await inVolume('cat /data/small.txt')).toBe('fits');
  },
  180_000,
);
