import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import type { SyncSummary } from '../../sync-engine/controller/syncPair.js';
import { TetherError } from '../../sync-engine/errors.js';
import { StateStore } from '../../sync-engine/state/store.js';
import { startPvcLab } from './helpers.js';
import type { PvcLab } from './helpers.js';

/** The PVC endpoint under the lab's exec faults: cut streams, a slow link, v4 only, a full volume. */
let lab: PvcLab;
let store: StateStore;
let work: string;
let counter = 0;

beforeAll(async () => {
  lab = await startPvcLab();
  work = await mkdtemp(join(tmpdir(), 'tether-pvc-faults-'));
  store = StateStore.open(join(work, 'state.db'));
}, 120_000);
afterEach(() => {
  lab.lab.setFaults({ exec: {} });
});
afterAll(async () => {
  store.close();
  await rm(work, { recursive: true, force: true });
  await lab.stop();
}, 60_000);

/** Deterministic, non-repeating content. */
function content(bytes: number, seed: number): Buffer {
  const out = Buffer.alloc(bytes);
  let block = createHash('sha256').update(String(seed)).digest();
  for (let at = 0; at < bytes; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

async function pushPair(remote: string, files: Record<string, Buffer>): Promise<string> {
  const name = `f${++counter}`;
  const local = join(work, name);
  for (const [path, data] of Object.entries(files)) {
    await mkdir(join(local, path, '..'), { recursive: true });
    await writeFile(join(local, path), data);
  }
  store.addPair({
    name,
    localPath: local,
    remoteUrl: remote,
    mode: 'push',
    compare: 'size-mtime',
    ignore: [],
    options: { kubeconfig: lab.lab.kubeconfig },
  });
  return name;
}

const settle = (name: string): Promise<unknown> =>
  syncPair(store, name).then(
    (summary) => summary,
    (error: unknown) => error,
  );

describe('pvc:// under faults', () => {
  it('a stream cut mid-upload fails the sync; the next sync resumes from the partial file and the result is exact', async () => {
    const big = content(24 * 1024 * 1024, 1);
    const name = await pushPair('pvc://alice@group-vision/vision-archive/tests/cut', {
      'big.bin': big,
      'small.txt': Buffer.from('small'),
    });
    lab.lab.setFaults({ exec: { cutAfterBytes: 10 * 1024 * 1024 } });
    const first = await settle(name);
    const failedFirst = first instanceof TetherError || (first as SyncSummary).failed > 0;
    expect(failedFirst).toBe(true);
    lab.lab.setFaults({ exec: {} });

    const witness = await lab.witnessPod('group-vision', 'vision-archive', 'busybox:1.36');
    const listing = await lab.kubectl([
      'exec',
      '-n',
      'group-vision',
      witness,
      '--',
      'sh',
      '-c',
      'ls -la /data/tests/cut',
    ]);
    // Nothing half-written under the final name; the arrived bytes wait in a partial file.
    expect(listing.stdout.toString()).not.toMatch(/ big\.bin$/m);
    expect(listing.stdout.toString()).toMatch(/\.tether-partial-/);

    const second = await syncPair(store, name);
    expect(second.problems).toEqual([]);
    const hashes = await lab.remoteHashes('group-vision', witness, '/data/tests/cut');
    expect(hashes).toEqual(
      new Map([
        ['big.bin', sha(big)],
        ['small.txt', sha('small')],
      ]),
    );
  }, 240_000);

  it('works through a bandwidth-limited link and a v4-only server', async () => {
    lab.lab.setFaults({ exec: { v4Only: true, bandwidthBytesPerSecond: 4 * 1024 * 1024 } });
    const data = content(9 * 1024 * 1024, 2);
    const name = await pushPair('pvc://alice@group-vision/vision-archive/tests/slow', {
      'slow.bin': data,
      'a/b.txt': Buffer.from('b'),
    });
    const summary = await syncPair(store, name);
    expect(summary.problems).toEqual([]);
    lab.lab.setFaults({ exec: {} });
    const witness = await lab.witnessPod('group-vision', 'vision-archive', 'debian:12');
    const hashes = await lab.remoteHashes('group-vision', witness, '/data/tests/slow');
    expect(hashes).toEqual(
      new Map([
        ['slow.bin', sha(data)],
        ['a/b.txt', sha('b')],
      ]),
    );
  }, 240_000);

  it('a full volume is a no-space error with the bytes needed and free, and leaves no file under its final name', async () => {
    const name = await pushPair('pvc://alice@user-alice/alice-small/tests', {
      'huge.bin': content(80 * 1024 * 1024, 3),
    });
    const error = await settle(name);
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).code).toBe('no-space');
    expect((error as TetherError).message).toMatch(/needs \d+ bytes, \d+ bytes free/);
    const witness = await lab.witnessPod('user-alice', 'alice-small', 'busybox:1.36');
    const listing = await lab.kubectl(['exec', '-n', 'user-alice', witness, '--', 'ls', '/data/tests']);
    expect(listing.stdout.toString()).not.toMatch(/^huge\.bin$/m);
  }, 240_000);
});
