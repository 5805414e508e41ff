import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import type { Entry } from '../../sync-engine/core/entry.js';
import { partialPathFor } from '../../sync-engine/core/temporaries.js';
import type { IncomingFile } from '../../sync-engine/endpoints/endpoint.js';
import type { JournalPort } from '../../sync-engine/endpoints/phfs/context.js';
import { S3Endpoint } from '../../sync-engine/endpoints/phfs/s3Endpoint.js';
import { putUploadMarker } from '../../sync-engine/endpoints/phfs/uploadMarkers.js';
import { parseRemoteUrl } from '../../sync-engine/endpoints/remoteUrl.js';
import type { StateStore } from '../../sync-engine/state/store.js';
import { startPhfsLab } from './helpers.js';
import type { PhfsLab } from './helpers.js';

/**
 * Multipart uploads Tether abandoned and no longer tracks (journal lost, or a crash before the upload id was
 * saved) are found with ListMultipartUploads and aborted; other tools' pending uploads are never touched.
 */
let lab: PhfsLab;
let store: StateStore;
let work: string;
const MiB = 1024 * 1024;

beforeAll(async () => {
  lab = await startPhfsLab();
  lab.useUser('alice');
  store = lab.openStore();
  work = await mkdtemp(join(tmpdir(), 'tether-phfs-orphans-'));
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await lab.stop();
});

function memoryJournal(): JournalPort {
  const values = new Map<string, unknown>();
  return {
    put: (key, value) => void values.set(key, JSON.parse(JSON.stringify(value)) as unknown),
    get: (key) => values.get(key),
    delete: (key) => void values.delete(key),
    list: () => [...values].map(([key, value]) => ({ key, value })),
  };
}

/** Pending uploads under `prefix`, as [key, uploadId], read with the admin's own client. */
async function pending(prefix: string): Promise<[string, string][]> {
  const answer = await lab.client('admin').send(new ListMultipartUploadsCommand({ Bucket: 'phfs', Prefix: prefix }));
  return (answer.Uploads ?? []).map((u) => [u.Key ?? '', u.UploadId ?? '']);
}

function endpointFor(url: string, journal: JournalPort): S3Endpoint {
  return new S3Endpoint(parseRemoteUrl(url), {
    settings: {},
    journal,
    client: lab.client('alice'),
    multipartThreshold: MiB,
    minPartSize: MiB,
    partConcurrency: 1,
  });
}

function incoming(files: IncomingFile[]): AsyncIterable<IncomingFile> {
  return Readable.from(files);
}

/** Starts a multipart upload of `entry` and fails its source stream after `sent` bytes, as a crash would. */
async function interruptedUpload(endpoint: S3Endpoint, entry: Entry, sent: number): Promise<void> {
  // It fails once the upload has taken the bytes pushed below and asks for more (`read`), never earlier: a
  // timer could fire before a slow machine started reading, and the error would then have no listener.
  const stream = new Readable({
    read() {
      setImmediate(() => this.destroy(new Error('the source went away')));
    },
  });
  stream.push(Buffer.alloc(sent, 7));
  const problems: string[] = [];
  await endpoint
    .writeFiles([{ path: entry.path, entry, offset: 0 }], incoming([{ path: entry.path, entry, offset: 0, stream }]), {
      onProblem: (p) => problems.push(p.message),
    })
    .catch((error: unknown) => problems.push(String(error)));
  expect(problems.join('\n')).toMatch(/source went away/);
}

it('a journal lost after an interrupted upload: the next cleanup finds the upload by its marker and aborts it; a foreign upload stays', async () => {
  const prefix = 'groups/vision/orphans/lost/';
  const entry: Entry = {
    path: 'dir/big.bin',
    kind: 'file',
    size: 4 * MiB,
    mtimeMs: 1_700_000_000_000,
    executable: false,
  };
  await interruptedUpload(endpointFor('phfs://vision/orphans/lost', memoryJournal()), entry, 2.5 * MiB);
  const left = await pending(prefix);
  expect(left.map(([key]) => key)).toEqual([`${prefix}dir/big.bin`]);
  // Another tool's upload, under the same prefix (and one on the very same key, started before Tether's marker
  // could claim it: it is not Tether's either).
  const admin = lab.client('admin');
  const foreign = await admin.send(new CreateMultipartUploadCommand({ Bucket: 'phfs', Key: `${prefix}other.bin` }));

  // A fresh journal: Tether no longer knows the upload id.
  const fresh = endpointFor('phfs://vision/orphans/lost', memoryJournal());
  const scanned = await fresh.scan();
  expect(scanned.entries).toEqual([]);
  expect(scanned.temporaries).toEqual([partialPathFor(entry.path, entry)]);
  await fresh.removeTemporaries(scanned.temporaries);
  expect(await pending(prefix)).toEqual([[`${prefix}other.bin`, foreign.UploadId]]);
  // The marker went with its upload.
  expect(await lab.keys(prefix)).toEqual([]);
  await fresh.close();
}, 60_000);

it('a crash between creating the upload and recording its id: the marker claims it by key and start time', async () => {
  const prefix = 'groups/vision/orphans/crash/';
  const alice = lab.client('alice');
  const before = await lab
    .client('admin')
    .send(new CreateMultipartUploadCommand({ Bucket: 'phfs', Key: `${prefix}big.bin` }));
  await new Promise((resolve) => setTimeout(resolve, 2200));
  const entry: Entry = { path: 'big.bin', kind: 'file', size: 9 * MiB, mtimeMs: 1_700_000_000_000, executable: false };
  const endpoint = endpointFor('phfs://vision/orphans/crash', memoryJournal());
  // What uploadMultipart does before the crash: the marker (no id yet), then the upload.
  const marker = partialPathFor(entry.path, entry);
  const context = { client: alice, bucket: 'phfs', rootPrefix: prefix } as Parameters<typeof putUploadMarker>[0];
  await putUploadMarker(context, marker, entry.path, undefined, {});
  const ours = await alice.send(new CreateMultipartUploadCommand({ Bucket: 'phfs', Key: `${prefix}big.bin` }));
  expect(await pending(prefix)).toHaveLength(2);

  const scanned = await endpoint.scan();
  expect(scanned.temporaries).toEqual([marker]);
  await endpoint.removeTemporaries(scanned.temporaries);
  const remaining = await pending(prefix);
  // Ours is gone; the one another client started on the same key before our marker existed is kept.
  expect(remaining).toEqual([[`${prefix}big.bin`, before.UploadId]]);
  expect(remaining.some(([, id]) => id === ours.UploadId)).toBe(false);
  await endpoint.close();
}, 60_000);

it('a sync whose journal was lost re-uploads the same version and leaves no pending upload or marker behind', async () => {
  const local = join(work, 'resync');
  await mkdir(local, { recursive: true });
  const size = 9 * MiB + 3;
  const data = Buffer.alloc(size, 3);
  await writeFile(join(local, 'big.bin'), data);
  await utimes(join(local, 'big.bin'), 1_750_000_000, 1_750_000_000);
  const { mtimeMs } = await stat(join(local, 'big.bin'));
  const entry: Entry = { path: 'big.bin', kind: 'file', size, mtimeMs, executable: false };
  const prefix = 'groups/vision/orphans/resync/';
  // The same version of the file, interrupted by an earlier run whose journal is gone (8 MiB parts, as syncs use).
  const earlier = new S3Endpoint(parseRemoteUrl('phfs://vision/orphans/resync'), {
    settings: {},
    journal: memoryJournal(),
    client: lab.client('alice'),
    partConcurrency: 1,
  });
  await interruptedUpload(earlier, entry, 8 * MiB + 10);
  expect(await pending(prefix)).toHaveLength(1);

  store.addPair({
    name: 'resync',
    localPath: local,
    remoteUrl: 'phfs://vision/orphans/resync',
    mode: 'push',
    compare: 'size-mtime',
    ignore: [],
  });
  const summary = await syncPair(store, 'resync');
  expect(summary.problems).toEqual([]);
  expect(summary.uploaded).toBe(1);
  expect((await lab.get(`${prefix}big.bin`)).equals(data)).toBe(true);
  expect(await pending(prefix)).toEqual([]);
  expect(await lab.keys(prefix)).toEqual([`${prefix}big.bin`]);
}, 120_000);
