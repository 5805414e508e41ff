import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { summaryText } from '../../sync-engine/cli/output.js';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { S3Endpoint } from '../../sync-engine/endpoints/phfs/s3Endpoint.js';
import { parseRemoteUrl } from '../../sync-engine/endpoints/remoteUrl.js';
import { TetherError } from '../../sync-engine/errors.js';
import type { StateStore } from '../../sync-engine/state/store.js';
import { startPhfsLab } from './helpers.js';
import type { PhfsLab } from './helpers.js';

/** SHA-256 metadata on Tether's own multipart uploads, what strict mode downloads, and clock skew. */
let lab: PhfsLab;
let store: StateStore;
let work: string;
const MiB = 1024 * 1024;

beforeAll(async () => {
  lab = await startPhfsLab();
  lab.useUser('alice');
  store = lab.openStore();
  work = await mkdtemp(join(tmpdir(), 'tether-phfs-hash-'));
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await lab.stop();
});

function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function content(size: number, seed: number): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4096) buffer.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return buffer;
}

it('a multipart upload whose hash was unknown at its start gets x-amz-meta-sha256, so strict mode elsewhere downloads only foreign objects', async () => {
  const pushed = join(work, 'pushed');
  await mkdir(pushed, { recursive: true });
  const big = content(20 * MiB + 7, 11);
  const small = 'small file';
  await writeFile(join(pushed, 'big.bin'), big);
  await writeFile(join(pushed, 'small.txt'), small);
  // size-mtime: the local scan hashes nothing, so the multipart upload starts without knowing the SHA-256.
  store.addPair({
    name: 'push-big',
    localPath: pushed,
    remoteUrl: 'phfs://vision/hash/data',
    mode: 'push',
    compare: 'size-mtime',
    ignore: [],
  });
  const first = await syncPair(store, 'push-big');
  expect(first.problems).toEqual([]);
  expect(first.uploaded).toBe(2);
  const meta = await lab.metadata('groups/vision/hash/data/big.bin');
  expect(meta.sha256).toBe(sha256Of(big));
  expect(meta.mtime).toMatch(/^\d+\.\d{9}$/);
  expect((await lab.get('groups/vision/hash/data/big.bin')).equals(big)).toBe(true);

  // Two objects another tool wrote, without Tether's metadata.
  const foreign = { 'other/a.txt': 'written by another tool', 'other/b.bin': content(300_000, 5) };
  for (const [path, data] of Object.entries(foreign)) await lab.put(`groups/vision/hash/data/${path}`, data);

  // A fresh pair (nothing cached) in strict mode, with the same content locally: every file must be compared.
  const copy = join(work, 'copy');
  await mkdir(join(copy, 'other'), { recursive: true });
  await writeFile(join(copy, 'big.bin'), big);
  await writeFile(join(copy, 'small.txt'), small);
  for (const [path, data] of Object.entries(foreign)) await writeFile(join(copy, path), data);
  store.addPair({
    name: 'strict',
    localPath: copy,
    remoteUrl: 'phfs://vision/hash/data',
    mode: 'two-way',
    compare: 'sha256',
    ignore: [],
  });
  const strict = await syncPair(store, 'strict');
  expect(strict.problems).toEqual([]);
  expect(strict).toMatchObject({ uploaded: 0, downloaded: 0, conflicts: 0 });
  const foreignBytes = Object.values(foreign).reduce((n, d) => n + Buffer.byteLength(d), 0);
  // Only the two foreign objects travelled; Tether's own (the 20 MiB one included) were compared by metadata.
  expect(strict.hashDownloaded).toEqual({ bytes: foreignBytes, files: 2 });
  expect(summaryText(strict)).toContain(
    'strict mode downloaded 293 KiB (2 file(s) without a stored SHA-256) only to hash them',
  );

  // Their hashes are cached now: the next strict sync downloads nothing.
  const again = await syncPair(store, 'strict');
  expect(again.hashDownloaded).toBeUndefined();
  expect(summaryText(again)).not.toContain('strict mode downloaded');
}, 180_000);

function adminClient(maxAttempts: number): S3Client {
  const user = lab.users.admin;
  return new S3Client({
    endpoint: lab.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
    maxAttempts,
  });
}

it("this computer's clock 40 minutes slow: the SDK corrects it from the server's Date and retries; when it cannot, the error says to set the clock", async () => {
  await lab.put('skew/file.txt', 'x');
  const remote = parseRemoteUrl('s3://phfs/skew');
  const skew = 40 * 60 * 1000;
  // Only `Date` is faked (timers stay real): this process's clock reads 40 minutes behind the lab's.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - skew });
  try {
    // With retries (Tether's default client makes 6 attempts), the first request is refused as
    // RequestTimeTooSkewed, the SDK takes the offset from the answer's Date header, and the retry passes.
    const corrected = adminClient(3);
    const endpoint = new S3Endpoint(remote, { settings: {}, client: corrected });
    const scanned = await endpoint.scan();
    expect(scanned.entries.map((e) => e.path)).toEqual(['file.txt']);
    expect(Math.abs(corrected.config.systemClockOffset - skew)).toBeLessThan(60_000);
    corrected.destroy();

    // Without a retry, the refusal reaches the user: what failed, by how much, and what to do.
    const stuck = adminClient(1);
    const failing = new S3Endpoint(remote, { settings: {}, client: stuck });
    const error = await failing.scan().then(
      () => undefined,
      (e: unknown) => e,
    );
    stuck.destroy();
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).message).toBe(
      "cannot list s3://phfs/skew: the server says this computer's clock is off by about 40 minutes (behind the server) (the server allows 15 minutes); set the clock (enable NTP) and retry",
    );
  } finally {
    vi.useRealTimers();
  }
}, 60_000);
