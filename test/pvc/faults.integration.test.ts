import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import type { SyncSummary } from '../../sync-engine/controller/syncPair.js';
import { partialPathFor } from '../../sync-engine/core/temporaries.js';
import { execSessionCounts } from '../../sync-engine/endpoints/pvc/execClient.js';
import { TetherError } from '../../sync-engine/errors.js';
import { StateStore } from '../../sync-engine/state/store.js';
import { closePvcSuite, openPvcSuite } from './helpers.js';
import type { PvcLab } from './helpers.js';

/** The PVC endpoint under the lab's exec faults: cut streams, a slow link, v4 only, a full volume. */
let lab: PvcLab;
let store: StateStore;
let work: string;
let counter = 0;

beforeAll(async () => {
  ({ lab, work, store } = await openPvcSuite('faults'));
}, 120_000);
afterEach(() => {
  lab.lab.setFaults({ exec: {} });
});
afterAll(() => closePvcSuite({ lab, work, store }), 60_000);

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

async function pushPair(
  remote: string,
  files: Record<string, Buffer>,
  options: Record<string, unknown> = {},
): Promise<string> {
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
    options: { kubeconfig: lab.lab.kubeconfig, ...options },
  });
  return name;
}

const settle = (name: string): Promise<unknown> =>
  syncPair(store, name).then(
    (summary) => summary,
    (error: unknown) => error,
  );

/** Retries without long waits, so the tests stay quick. */
const quickRetry = { baseDelayMs: 50, maxDelayMs: 400, maxStalledAttempts: 3, maxAttempts: 40 };

async function pullPair(
  remote: string,
  options: Record<string, unknown> = {},
): Promise<{ name: string; local: string }> {
  const name = `f${++counter}`;
  const local = join(work, name);
  await mkdir(local, { recursive: true });
  store.addPair({
    name,
    localPath: local,
    remoteUrl: remote,
    mode: 'pull',
    compare: 'size-mtime',
    ignore: [],
    options: { kubeconfig: lab.lab.kubeconfig, ...options },
  });
  return { name, local };
}

describe('pvc:// under faults', () => {
  it('streams cut every 10 MiB are retried with backoff and resume: a 24 MiB upload finishes in one sync, exact', async () => {
    const big = content(24 * 1024 * 1024, 1);
    const name = await pushPair('pvc://alice@group-vision/vision-archive/tests/cut-retry', {
      'big.bin': big,
      'small.txt': Buffer.from('small'),
    });
    lab.lab.setFaults({ exec: { cutAfterBytes: 10 * 1024 * 1024 } });
    const summary = await syncPair(store, name, { retry: quickRetry });
    lab.lab.setFaults({ exec: {} });
    expect(summary.problems).toEqual([]);
    expect(summary.uploaded).toBe(2);
    // Every session dies after 10 MiB, so finishing at all needs resuming from the partial file. What is sent again
    // is what each cut lost in flight (socket and pipe buffers, several MiB under load, measured up to 13 MiB over
    // three cuts), never the whole file again: a rewind to zero would cost at least another 24 MiB.
    expect(summary.bytes).toBeLessThan(big.length * 2);
    const witness = await lab.witnessPod('group-vision', 'vision-archive', 'busybox:1.36');
    const hashes = await lab.remoteHashes('group-vision', witness, '/data/tests/cut-retry');
    expect(hashes).toEqual(
      new Map([
        ['big.bin', sha(big)],
        ['small.txt', sha('small')],
      ]),
    );
  }, 240_000);

  it('a sync that gives up on a cut keeps the partial file, never a half file; the next sync resumes from it', async () => {
    const big = content(24 * 1024 * 1024, 4);
    const name = await pushPair('pvc://alice@group-vision/vision-archive/tests/cut', {
      'big.bin': big,
      'small.txt': Buffer.from('small'),
    });
    lab.lab.setFaults({ exec: { cutAfterBytes: 10 * 1024 * 1024 } });
    const first = await syncPair(store, name, { retry: { ...quickRetry, maxAttempts: 1 } }).then(
      (summary) => summary,
      (error: unknown) => error,
    );
    lab.lab.setFaults({ exec: {} });
    const failedFirst = first instanceof TetherError || (first as SyncSummary).failed > 0;
    expect(failedFirst).toBe(true);

    const witness = await lab.witnessPod('group-vision', 'vision-archive', 'busybox:1.36');
    const listing = await lab.exec('group-vision', witness, 'ls', '-la', '/data/tests/cut');
    // Nothing half-written under the final name; the arrived bytes wait in a partial file.
    expect(listing.stdout.toString()).not.toMatch(/ big\.bin$/m);
    expect(listing.stdout.toString()).toMatch(/\.tether-partial-/);

    const second = await syncPair(store, name);
    expect(second.problems).toEqual([]);
    expect(second.bytes).toBeLessThan(big.length);
    const hashes = await lab.remoteHashes('group-vision', witness, '/data/tests/cut');
    expect(hashes).toEqual(
      new Map([
        ['big.bin', sha(big)],
        ['small.txt', sha('small')],
      ]),
    );
  }, 240_000);

  it('a large download cut every 10 MiB resumes in place and arrives exact; small files cut mid-batch are retried', async () => {
    const big = content(24 * 1024 * 1024, 5);
    const small: Record<string, Buffer> = {};
    for (let i = 0; i < 40; i++) small[`small/s${i}.bin`] = content(300 * 1024, 100 + i);
    const source = await pushPair('pvc://alice@group-vision/vision-archive/tests/cut-pull', {
      'big.bin': big,
      ...small,
    });
    expect((await syncPair(store, source)).problems).toEqual([]);
    const { name, local } = await pullPair('pvc://alice@group-vision/vision-archive/tests/cut-pull');
    lab.lab.setFaults({ exec: { cutAfterBytes: 10 * 1024 * 1024 } });
    const summary = await syncPair(store, name, { retry: quickRetry });
    lab.lab.setFaults({ exec: {} });
    expect(summary.problems).toEqual([]);
    expect(summary.downloaded).toBe(41);
    expect(sha(await readFile(join(local, 'big.bin')))).toBe(sha(big));
    for (const [path, data] of Object.entries(small)) expect(sha(await readFile(join(local, path)))).toBe(sha(data));
  }, 240_000);

  it('a download resumes from the bytes a local partial file already holds', async () => {
    const big = content(24 * 1024 * 1024, 6);
    const source = await pushPair('pvc://alice@group-vision/vision-archive/tests/resume-pull', { 'big.bin': big });
    expect((await syncPair(store, source)).problems).toEqual([]);
    const { name, local } = await pullPair('pvc://alice@group-vision/vision-archive/tests/resume-pull');
    // What an interrupted pull of this version leaves: the first 16 MiB in its partial file.
    const mtimeMs = Math.floor((await stat(join(work, source, 'big.bin'))).mtimeMs / 1000) * 1000;
    const entry = { path: 'big.bin', kind: 'file' as const, size: big.length, mtimeMs, executable: false };
    const held = 16 * 1024 * 1024;
    await writeFile(join(local, partialPathFor('big.bin', entry)), big.subarray(0, held));
    const summary = await syncPair(store, name);
    expect(summary.problems).toEqual([]);
    expect(summary.bytes).toBe(big.length - held);
    expect(sha(await readFile(join(local, 'big.bin')))).toBe(sha(big));
  }, 240_000);

  it("runs up to the pair's concurrency (tether pair add --concurrency) or --concurrency exec sessions at once", async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 4; i++) files[`p${i}.bin`] = content(8 * 1024 * 1024, 200 + i);
    const peakOf = async (pairOptions: Record<string, unknown>, syncOptions: { concurrency?: number }) => {
      const name = await pushPair(
        `pvc://alice@group-vision/vision-archive/tests/parallel-${counter}`,
        files,
        pairOptions,
      );
      // Sessions of earlier tests still closing count as a baseline, not as this sync's.
      const { active } = execSessionCounts(true);
      const summary = await syncPair(store, name, syncOptions);
      expect(summary.uploaded).toBe(4);
      return execSessionCounts().peak - active;
    };
    // Stored with the pair: one session at a time.
    expect(await peakOf({ concurrency: '1' }, {})).toBeLessThanOrEqual(1);
    // The sync's option wins over the pair's.
    const peak = await peakOf({ concurrency: '1' }, { concurrency: 4 });
    expect(peak).toBeGreaterThanOrEqual(3);
    expect(peak).toBeLessThanOrEqual(4);
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
    // Refused before any byte moves by the capacity check, or by the volume itself: either way with both numbers.
    expect((error as TetherError).message).toMatch(/needs \d+ (bytes|MiB)\b.* \d+ (bytes|MiB) free/);
    const witness = await lab.witnessPod('user-alice', 'alice-small', 'busybox:1.36');
    const listing = await lab.exec('user-alice', witness, 'ls', '/data/tests');
    expect(listing.stdout.toString()).not.toMatch(/^huge\.bin$/m);
  }, 240_000);
});
