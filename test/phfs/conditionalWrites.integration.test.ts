import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConditionalWriteMode } from '../../lab/s3/conditionalWrites.js';
import { newCredential, startStandalonePhfs } from '../../lab/s3/phfs.js';
import type { PhfsServer } from '../../lab/s3/phfs.js';
import type { Entry } from '../../sync-engine/core/entry.js';
import type { WriteRequest } from '../../sync-engine/endpoints/endpoint.js';
import { probeConditionalWrites } from '../../sync-engine/endpoints/phfs/conditionalWrites.js';
import { S3Endpoint } from '../../sync-engine/endpoints/phfs/s3Endpoint.js';
import { parseRemoteUrl } from '../../sync-engine/endpoints/remoteUrl.js';

/**
 * Conditional writes end to end: the lab's front door answers `If-None-Match: *` / `If-Match` as S3 does
 * (or, configured so, ignores or rejects them as other stores do), and the endpoint never overwrites what
 * appeared or changed since its scan, whether the store enforces the conditions (no HEAD per file) or not
 * (a HEAD per file, the fallback).
 */
const MODES: readonly ConditionalWriteMode[] = ['enforce', 'ignore', 'reject'];
const BUCKET = 'phfs';
const admin = newCredential('admin', { read: ['*'], write: ['*'] });
let dir: string;
const labs = new Map<ConditionalWriteMode, { server: PhfsServer; endpoint: string }>();
const clients: S3Client[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tether-conditional-'));
  for (const mode of MODES) {
    labs.set(mode, await startStandalonePhfs(join(dir, mode), [admin], { conditionalWrites: mode }));
  }
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  for (const { server } of labs.values()) await server.stop();
  await rm(dir, { recursive: true, force: true });
});

function lab(mode: ConditionalWriteMode): { server: PhfsServer; endpoint: string } {
  const found = labs.get(mode);
  if (found === undefined) throw new Error(`no lab for ${mode}`);
  return found;
}

function clientOf(mode: ConditionalWriteMode): S3Client {
  const client = new S3Client({
    endpoint: lab(mode).endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  clients.push(client);
  return client;
}

async function statusOf(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
    return 200;
  } catch (error) {
    const failure = error as { $metadata?: { httpStatusCode?: number }; name?: string };
    return `${failure.$metadata?.httpStatusCode ?? '?'} ${failure.name ?? ''}`;
  }
}

async function text(client: S3Client, key: string): Promise<string> {
  const answer = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return answer.Body!.transformToString();
}

describe("the lab's front door", () => {
  it('enforces If-None-Match: * and If-Match on PutObject and CompleteMultipartUpload, as S3 does', async () => {
    const s3 = clientOf('enforce');
    const put = (key: string, body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...condition }));
    expect(await statusOf(put('door/a.txt', 'first', { IfNoneMatch: '*' }))).toBe(200);
    expect(await statusOf(put('door/a.txt', 'second', { IfNoneMatch: '*' }))).toBe('412 PreconditionFailed');
    expect(await statusOf(put('door/a.txt', 'third', { IfMatch: '"0123"' }))).toBe('412 PreconditionFailed');
    expect(await statusOf(put('door/missing.txt', 'x', { IfMatch: '"0123"' }))).toBe('404 NoSuchKey');
    expect(await text(s3, 'door/a.txt')).toBe('first');
    const etag = (await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'door/a.txt', Body: 'fourth' }))).ETag;
    expect(await statusOf(put('door/a.txt', 'fifth', { IfMatch: etag! }))).toBe(200);
    expect(await text(s3, 'door/a.txt')).toBe('fifth');

    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'door/a.txt' }));
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'door/a.txt',
        UploadId: created.UploadId,
        PartNumber: 1,
        Body: 'multipart',
      }),
    );
    const complete = (condition: { IfNoneMatch?: string; IfMatch?: string }) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'door/a.txt',
          UploadId: created.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          ...condition,
        }),
      );
    expect(await statusOf(complete({ IfNoneMatch: '*' }))).toBe('412 PreconditionFailed');
    expect(await text(s3, 'door/a.txt')).toBe('fifth');
    expect(await statusOf(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'door/a.txt' })))).toBe(200);
    expect(await statusOf(complete({ IfNoneMatch: '*' }))).toBe(200);
    expect(await text(s3, 'door/a.txt')).toBe('multipart');
  });

  it('can be set to ignore the conditions (as s3rver and older stores do) or to reject them with 501', async () => {
    const ignoring = clientOf('ignore');
    await ignoring.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'door/b.txt', Body: 'first' }));
    await ignoring.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'door/b.txt', Body: 'second', IfNoneMatch: '*' }));
    expect(await text(ignoring, 'door/b.txt')).toBe('second');
    const rejecting = clientOf('reject');
    expect(
      await statusOf(
        rejecting.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'door/c.txt', Body: 'x', IfNoneMatch: '*' })),
      ),
    ).toBe('501 NotImplemented');
  });
});

describe('the endpoint', () => {
  it('finds out once whether the store enforces conditional writes, leaving no scratch object behind', async () => {
    for (const mode of MODES) {
      const endpoint = new S3Endpoint(parseRemoteUrl('s3://phfs/probe'), { settings: {}, client: clientOf(mode) });
      const context = (endpoint as unknown as { context: Parameters<typeof probeConditionalWrites>[0] }).context;
      expect(await context.conditionalWrites()).toBe(mode === 'enforce');
      expect(await context.conditionalWrites()).toBe(mode === 'enforce');
      expect((await endpoint.scan()).temporaries).toEqual([]);
      await endpoint.close();
    }
  });

  const entry = (path: string, size: number): Entry => ({
    path,
    kind: 'file',
    size,
    mtimeMs: 1_750_000_000_000,
    executable: false,
  });

  /** Writes `files` through a fresh endpoint whose scan ran before `meanwhile` (another client's changes). */
  async function writeAfter(
    mode: ConditionalWriteMode,
    prefix: string,
    files: Record<string, string>,
    meanwhile: (other: S3Client) => Promise<void>,
    options: { multipartThreshold?: number } = {},
  ): Promise<{ problems: string[]; done: string[]; heads: number }> {
    const client = clientOf(mode);
    let heads = 0;
    client.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'HeadObjectCommand') heads++;
        return next(args);
      },
      { step: 'initialize' },
    );
    const endpoint = new S3Endpoint(parseRemoteUrl(`s3://phfs/${prefix}`), {
      settings: {},
      client,
      ...(options.multipartThreshold === undefined
        ? {}
        : { multipartThreshold: options.multipartThreshold, minPartSize: options.multipartThreshold }),
    });
    const scanned = new Map((await endpoint.scan()).entries.map((e) => [e.path, e]));
    heads = 0;
    await meanwhile(clientOf(mode));
    const requests: WriteRequest[] = Object.entries(files).map(([path, body]) => {
      const replaces = scanned.get(path);
      return { path, entry: entry(path, Buffer.byteLength(body)), offset: 0, ...(replaces ? { replaces } : {}) };
    });
    const problems: string[] = [];
    const done: string[] = [];
    await endpoint.writeFiles(
      requests,
      Readable.from(
        requests.map((r) => ({
          path: r.path,
          entry: r.entry,
          offset: 0,
          stream: Readable.from([Buffer.from(files[r.path]!)]),
        })),
      ),
      { onProblem: (p) => problems.push(`${p.path}: ${p.message}`), onFileDone: (r) => done.push(r.path) },
    );
    await endpoint.close();
    return { problems: problems.sort(), done: done.sort(), heads };
  }

  for (const mode of MODES) {
    const path = mode === 'enforce' ? 'conditional PUTs, no HEAD' : `HEAD checks (store: ${mode})`;
    it(`never overwrites a key created or changed by another client since the scan (${path})`, async () => {
      const s3 = clientOf(mode);
      const prefix = `race-${mode}`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/changed.txt`, Body: 'v1' }));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/deleted.txt`, Body: 'v1' }));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/kept.txt`, Body: 'v1' }));
      const files = {
        'appeared.txt': 'mine',
        'changed.txt': 'mine',
        'deleted.txt': 'mine',
        'kept.txt': 'mine',
        'new.txt': 'mine',
      };
      const outcome = await writeAfter(mode, prefix, files, async (other) => {
        await other.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/appeared.txt`, Body: 'theirs' }));
        await other.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/changed.txt`, Body: 'v2' }));
        await other.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${prefix}/deleted.txt` }));
      });
      expect(outcome.problems).toEqual([
        `appeared.txt: appeared.txt appeared on s3://phfs/${prefix} since the scan; not overwritten`,
        `changed.txt: changed.txt changed on s3://phfs/${prefix} since the scan; not overwritten`,
      ]);
      expect(outcome.done).toEqual(['deleted.txt', 'kept.txt', 'new.txt']);
      expect(await text(s3, `${prefix}/appeared.txt`)).toBe('theirs');
      expect(await text(s3, `${prefix}/changed.txt`)).toBe('v2');
      for (const name of ['deleted.txt', 'kept.txt', 'new.txt'])
        expect(await text(s3, `${prefix}/${name}`)).toBe('mine');
      // The conditional path spends no HEAD; the fallback one per file.
      expect(outcome.heads).toBe(mode === 'enforce' ? 0 : 5);
    });
  }

  it('with conditional PUTs, also refuses a key created after the HEAD check would have run (no window)', async () => {
    const client = clientOf('enforce');
    const other = clientOf('enforce');
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (context.commandName === 'PutObjectCommand' && input.Key === 'window/late.txt') {
          await other.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'window/late.txt', Body: 'theirs' }));
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const endpoint = new S3Endpoint(parseRemoteUrl('s3://phfs/window'), { settings: {}, client });
    await endpoint.scan();
    const problems: string[] = [];
    const request = { path: 'late.txt', entry: entry('late.txt', 4), offset: 0 };
    await endpoint.writeFiles(
      [request],
      Readable.from([{ ...request, stream: Readable.from([Buffer.from('mine')]) }]),
      {
        onProblem: (p) => problems.push(p.message),
      },
    );
    await endpoint.close();
    expect(problems).toEqual(['late.txt appeared on s3://phfs/window since the scan; not overwritten']);
    expect(await text(other, 'window/late.txt')).toBe('theirs');
  });

  for (const mode of ['enforce', 'ignore'] as const) {
    it(`a multipart upload whose key appeared meanwhile is refused and aborted (store: ${mode})`, async () => {
      const prefix = `multipart-${mode}`;
      const big = 'x'.repeat(3 * 1024 * 1024 + 5);
      let created = false;
      const client = clientOf(mode);
      // The other client's object lands while the parts are going up, after the pre-upload check.
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'UploadPartCommand' && !created) {
            created = true;
            await clientOf(mode).send(
              new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/big.bin`, Body: 'theirs' }),
            );
          }
          return next(args);
        },
        { step: 'initialize' },
      );
      const endpoint = new S3Endpoint(parseRemoteUrl(`s3://phfs/${prefix}`), {
        settings: {},
        client,
        multipartThreshold: 1024 * 1024,
        minPartSize: 1024 * 1024,
      });
      await endpoint.scan();
      const problems: string[] = [];
      const request = { path: 'big.bin', entry: entry('big.bin', big.length), offset: 0 };
      await endpoint.writeFiles([request], Readable.from([{ ...request, stream: Readable.from([Buffer.from(big)]) }]), {
        onProblem: (p) => problems.push(p.message),
      });
      await endpoint.close();
      expect(problems).toEqual([`big.bin appeared on s3://phfs/${prefix} since the scan; not overwritten`]);
      const s3 = clientOf(mode);
      expect(await text(s3, `${prefix}/big.bin`)).toBe('theirs');
      const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${prefix}/` }));
      expect(pending.Uploads ?? []).toEqual([]);
    });
  }
});
