import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JournalPort } from '../../sync-engine/endpoints/phfs/context.js';
import { S3Endpoint } from '../../sync-engine/endpoints/phfs/s3Endpoint.js';
import { parseRemoteUrl } from '../../sync-engine/endpoints/remoteUrl.js';
import { startPhfsLab } from './helpers.js';
import type { PhfsLab } from './helpers.js';

/** The endpoint on its own, with a client that counts the requests it makes. */
let lab: PhfsLab;

beforeAll(async () => {
  lab = await startPhfsLab();
}, 60_000);
afterAll(async () => {
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

function countingEndpoint(journal: JournalPort): { endpoint: S3Endpoint; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const client = lab.client('admin');
  client.middlewareStack.add(
    (next, context) => (args) => {
      counts.set(context.commandName ?? '?', (counts.get(context.commandName ?? '?') ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize' },
  );
  const endpoint = new S3Endpoint(parseRemoteUrl('s3://phfs/cache-test'), { settings: {}, journal, client });
  return { endpoint, counts };
}

/** Counts `commandName` requests in flight on `client`; the getter returns the most seen at once. */
function countInFlight(client: S3Client, commandName: string): () => number {
  let inFlight = 0;
  let most = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== commandName) return next(args);
      most = Math.max(most, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize' },
  );
  return () => most;
}

it('pages through more than 1,000 keys, and a later run reads mtimes from the cache instead of HEAD requests', async () => {
  const puts: Promise<void>[] = [];
  for (let i = 0; i < 1100; i++) puts.push(lab.put(`cache-test/d${i % 7}/f${i}.txt`, `${i}`));
  await Promise.all(puts);
  const journal = memoryJournal();

  const first = countingEndpoint(journal);
  const scanned = await first.endpoint.scan();
  expect(scanned.entries.filter((e) => e.kind === 'file')).toHaveLength(1100);
  expect(scanned.entries.filter((e) => e.kind === 'dir')).toHaveLength(7);
  expect(first.counts.get('ListObjectsV2Command')).toBeGreaterThanOrEqual(2);
  expect(first.counts.get('HeadObjectCommand')).toBe(1100);

  await lab.put('cache-test/d0/f0.txt', 'changed');
  const second = countingEndpoint(journal);
  const again = await second.endpoint.scan();
  expect(again.entries.filter((e) => e.kind === 'file')).toHaveLength(1100);
  // Only the object that changed (new ETag) is asked again.
  expect(second.counts.get('HeadObjectCommand')).toBe(1);
}, 180_000);

it('reads from an offset (ranged resume), refuses a changed object, and hashes foreign objects by streaming', async () => {
  const body = Buffer.from('0123456789'.repeat(1000));
  await lab.put('cache-test/ranged/file.bin', body);
  const { endpoint } = countingEndpoint(memoryJournal());
  const scanned = await endpoint.scan();
  const entry = scanned.entries.find((e) => e.path === 'ranged/file.bin');
  expect(entry).toBeDefined();

  const read = async (offset: number): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const file of endpoint.readFiles([{ path: entry!.path, entry: entry!, offset }])) {
      for await (const chunk of file.stream) chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  };
  expect((await read(4321)).equals(body.subarray(4321))).toBe(true);

  // Foreign object (no x-amz-meta-sha256): hashed by streaming, and the cost is counted.
  const { hashes, problems } = await endpoint.hash([entry!]);
  expect(problems).toEqual([]);
  expect(hashes.get(entry!.path)).toBe(createHash('sha256').update(body).digest('hex'));
  expect(endpoint.streamedHashBytes).toBe(body.length);

  await lab.put('cache-test/ranged/file.bin', Buffer.from('X'.repeat(body.length)));
  await expect(read(0)).rejects.toThrow(/changed|vanished/);
  await endpoint.close();
}, 120_000);

it('small files go up several at a time (at most 8 PUTs in flight per call), each still checked and complete', async () => {
  const client = lab.client('admin');
  const mostPuts = countInFlight(client, 'PutObjectCommand');
  // The signed payload hash Tether supplies (instead of the SDK hashing each body again) is the body's.
  const wrongHashes: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      const request = args.request as { headers: Record<string, string>; body: unknown };
      if (context.commandName === 'PutObjectCommand' && Buffer.isBuffer(request.body)) {
        const sha256 = createHash('sha256').update(request.body).digest('hex');
        if (request.headers['x-amz-content-sha256'] !== sha256)
          wrongHashes.push(String(request.headers['x-amz-content-sha256']));
      }
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
  const endpoint = new S3Endpoint(parseRemoteUrl('s3://phfs/pipelined'), { settings: {}, client });
  const files = Array.from({ length: 30 }, (_, i) => ({
    path: `f${i}.txt`,
    entry: {
      path: `f${i}.txt`,
      kind: 'file' as const,
      size: 5 + String(i).length,
      mtimeMs: 1_700_000_000_000,
      executable: false,
    },
    data: Buffer.from(`file ${i}`),
  }));
  const done: string[] = [];
  const problems: string[] = [];
  await endpoint.writeFiles(
    files.map((f) => ({ path: f.path, entry: f.entry, offset: 0 })),
    Readable.from(files.map((f) => ({ path: f.path, entry: f.entry, offset: 0, stream: Readable.from([f.data]) }))),
    { onFileDone: (request) => done.push(request.path), onProblem: (p) => problems.push(p.message) },
  );
  expect(problems).toEqual([]);
  expect(wrongHashes).toEqual([]);
  expect(done.sort()).toEqual(files.map((f) => f.path).sort());
  expect(mostPuts()).toBeGreaterThan(1);
  expect(mostPuts()).toBeLessThanOrEqual(8);
  for (const f of files) expect((await lab.get(`pipelined/${f.path}`)).equals(f.data)).toBe(true);
  await endpoint.close();
}, 60_000);

it('a multipart upload keeps partConcurrency parts in flight, never more, and the object is whole', async () => {
  const client = lab.client('admin');
  const mostParts = countInFlight(client, 'UploadPartCommand');
  const MiB = 1024 * 1024;
  const endpoint = new S3Endpoint(parseRemoteUrl('s3://phfs/parts'), {
    settings: {},
    client,
    multipartThreshold: MiB,
    minPartSize: MiB,
    partConcurrency: 2,
  });
  const data = Buffer.alloc(6 * MiB + 3);
  for (let i = 0; i + 4 <= data.length; i += 4096) data.writeUInt32LE(i, i);
  const entry = {
    path: 'big.bin',
    kind: 'file' as const,
    size: data.length,
    mtimeMs: 1_700_000_000_000,
    executable: false,
  };
  const problems: string[] = [];
  // The source hands out 256 KiB pieces, as a file stream would.
  const pieces = Array.from({ length: Math.ceil(data.length / (256 * 1024)) }, (_, i) =>
    data.subarray(i * 256 * 1024, (i + 1) * 256 * 1024),
  );
  await endpoint.writeFiles(
    [{ path: 'big.bin', entry, offset: 0 }],
    Readable.from([{ path: 'big.bin', entry, offset: 0, stream: Readable.from(pieces) }]),
    {
      onProblem: (p) => problems.push(p.message),
    },
  );
  await endpoint.close();
  expect(problems).toEqual([]);
  expect(mostParts()).toBe(2);
  expect((await lab.get('parts/big.bin')).equals(data)).toBe(true);
}, 60_000);

it('the first scan after an upload asks no HEAD for the objects this pair just wrote, unless another client replaced them', async () => {
  const journal = memoryJournal();
  const MiB = 1024 * 1024;
  const counted = (): { endpoint: S3Endpoint; heads: () => number } => {
    let heads = 0;
    const client = lab.client('admin');
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'HeadObjectCommand') heads++;
        return next(args);
      },
      { step: 'initialize' },
    );
    const endpoint = new S3Endpoint(parseRemoteUrl('s3://phfs/written'), {
      settings: {},
      journal,
      client,
      multipartThreshold: MiB,
      minPartSize: MiB,
    });
    return { endpoint, heads: () => heads };
  };
  const entryOf = (path: string, size: number, mtimeMs: number) => ({
    path,
    kind: 'file' as const,
    size,
    mtimeMs,
    executable: false,
  });
  const files = [
    { entry: entryOf('a.txt', 5, 1_700_000_000_123), data: Buffer.from('alpha') },
    { entry: entryOf('d/b.txt', 4, 1_700_000_001_000), data: Buffer.from('beta') },
    { entry: entryOf('big.bin', 2 * MiB + 1, 1_700_000_002_500), data: Buffer.alloc(2 * MiB + 1, 9) },
  ];
  const writer = counted();
  await writer.endpoint.scan();
  const problems: string[] = [];
  await writer.endpoint.writeFiles(
    files.map((f) => ({ path: f.entry.path, entry: f.entry, offset: 0 })),
    Readable.from(
      files.map((f) => ({ path: f.entry.path, entry: f.entry, offset: 0, stream: Readable.from([f.data]) })),
    ),
    { onProblem: (p) => problems.push(p.message) },
  );
  await writer.endpoint.close();
  expect(problems).toEqual([]);
  // Another client replaces one of them (new content, its own mtime) before the next scan.
  await lab.client('admin').send(
    new PutObjectCommand({
      Bucket: 'phfs',
      Key: 'written/d/b.txt',
      Body: 'other',
      Metadata: { mtime: '1800000000.000000000' },
    }),
  );

  const next = counted();
  const scanned = new Map((await next.endpoint.scan()).entries.map((e) => [e.path, e]));
  await next.endpoint.close();
  expect(next.heads()).toBe(1);
  expect(scanned.get('a.txt')).toMatchObject({ size: 5, mtimeMs: 1_700_000_000_123 });
  expect(scanned.get('big.bin')).toMatchObject({ size: 2 * MiB + 1, mtimeMs: 1_700_000_002_500 });
  expect(scanned.get('big.bin')?.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(scanned.get('d/b.txt')).toMatchObject({ size: 5, mtimeMs: 1_800_000_000_000 });
  // The records were adopted into the cache: a third scan asks nothing either.
  const third = counted();
  await third.endpoint.scan();
  await third.endpoint.close();
  expect(third.heads()).toBe(0);
  expect(journal.list().filter((r) => r.key.startsWith('s3-written:'))).toEqual([]);
}, 60_000);

it('a removal lists only the folder that holds what it removes, and still keeps a file changed since the scan', async () => {
  await Promise.all([
    lab.put('remove-test/big/keep.txt', 'kept'),
    lab.put('remove-test/runs/a/old.pt', 'old'),
    lab.put('remove-test/runs/a/changed.pt', 'v1'),
  ]);
  const prefixes: string[] = [];
  const client = lab.client('admin');
  client.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'ListObjectsV2Command') {
        prefixes.push(String((args.input as { Prefix?: string }).Prefix));
      }
      return next(args);
    },
    { step: 'initialize' },
  );
  const endpoint = new S3Endpoint(parseRemoteUrl('s3://phfs/remove-test'), {
    settings: {},
    journal: memoryJournal(),
    client,
  });
  const scanned = await endpoint.scan();
  await lab.put('remove-test/runs/a/changed.pt', 'v2 written after the scan');
  prefixes.length = 0;
  const entries = scanned.entries.filter((e) => e.path === 'runs/a/old.pt' || e.path === 'runs/a/changed.pt');
  const result = await endpoint.remove(entries);
  expect(prefixes).toEqual(['remove-test/runs/a/']);
  expect(result.removed).toEqual(['runs/a/old.pt']);
  expect(result.problems.map((p) => p.path)).toEqual(['runs/a/changed.pt']);
  const after = await endpoint.scan();
  expect(after.entries.map((e) => e.path).sort()).toEqual([
    'big',
    'big/keep.txt',
    'runs',
    'runs/a',
    'runs/a/changed.pt',
  ]);
});
