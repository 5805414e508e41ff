import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from '@20minutes/s3rver';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCredential, rcloneLabEnv, startStandalonePhfs } from '../../lab/s3/phfs.js';
import type { PhfsServer } from '../../lab/s3/phfs.js';
import { fixDelimitedListing, limitMetadataReads, METADATA_READS_AT_ONCE } from '../../lab/s3/s3rverFixes.js';

/**
 * A delimited listing of a prefix that holds many objects. The lab answers one by listing everything under the
 * prefix, and s3rver read all those objects' metadata files at once: at 10,000 objects it ran out of file
 * descriptors and answered 500, which stopped `rclone sync` in the benchmark. Here 1,300 objects, with the
 * reads at once counted on a second s3rver over the same folder.
 */
const run = promisify(execFile);
const BUCKET = 'phfs';
const admin = newCredential('admin', { read: ['*'], write: ['*'] });
const keys = [
  ...Array.from({ length: 600 }, (_, i) => `data/a/k${String(i).padStart(4, '0')}`),
  ...Array.from({ length: 600 }, (_, i) => `data/b/k${String(i).padStart(4, '0')}`),
  ...Array.from({ length: 50 }, (_, i) => `data/c/deep/k${String(i).padStart(2, '0')}`),
  ...Array.from({ length: 50 }, (_, i) => `data/f${String(i).padStart(2, '0')}`),
];
const direct = keys.filter((key) => /^data\/f/.test(key));
let dir: string;
let server: PhfsServer;
let endpoint: string;
let client: S3Client;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tether-s3-listing-'));
  ({ server, endpoint } = await startStandalonePhfs(join(dir, 'store'), [admin]));
  client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
  });
  const limit = pLimit(16);
  await Promise.all(
    keys.map((key) => limit(() => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key })))),
  );
}, 120_000);

afterAll(async () => {
  client.destroy();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a delimited listing of many objects', () => {
  it('answers the SDK and rclone with every folder and every direct object', async () => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'data/', Delimiter: '/' }));
    expect(page.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['data/a/', 'data/b/', 'data/c/']);
    expect(page.Contents?.map((o) => o.Key)).toEqual(direct);

    await writeFile(join(dir, 'rclone.conf'), '');
    const { stdout } = await run('rclone', ['lsf', 'lab:phfs/data/'], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: dir,
        ...rcloneLabEnv(endpoint, admin, join(dir, 'rclone.conf')),
      },
    });
    expect(stdout.trim().split('\n')).toEqual(['a/', 'b/', 'c/', ...direct.map((key) => key.slice('data/'.length))]);
  });

  it(`reads at most ${METADATA_READS_AT_ONCE} objects' metadata at once`, async () => {
    const store = new S3rver({ directory: join(dir, 'store'), silent: true, resetOnClose: false }).store;
    const original = store.getMetadata.bind(store);
    let reading = 0;
    let peak = 0;
    let reads = 0;
    store.getMetadata = async (bucket, key) => {
      reads++;
      peak = Math.max(peak, ++reading);
      try {
        return await original(bucket, key);
      } finally {
        reading--;
      }
    };
    fixDelimitedListing(store);
    limitMetadataReads(store);
    const listed = await store.listObjects(BUCKET, { prefix: 'data/', delimiter: '/', maxKeys: 1000 });
    expect(listed.commonPrefixes).toEqual(['data/a/', 'data/b/', 'data/c/']);
    expect(listed.objects.map((o) => o.key)).toEqual(direct);
    expect(reads).toBe(keys.length); // the whole prefix is listed, folders included
    expect(peak).toBe(METADATA_READS_AT_ONCE);
  });
});
