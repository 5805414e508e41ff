import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { encodeRfc3986, verifySigV4 } from './sigv4.js';
import type { SigningRequest } from './sigv4.js';

const credentials = { accessKeyId: 'LABKEYALICE', secretAccessKey: 'alice-secret-0123456789' };
const secrets = new Map([[credentials.accessKeyId, credentials.secretAccessKey]]);
const options = { region: 'us-east-1', secretOf: (id: string) => secrets.get(id) };

interface CapturedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
}

/** Signs a command with the AWS SDK (the client Tether uses) and captures the request instead of sending it. */
async function signedBy(send: (client: S3Client) => Promise<unknown>, creds = credentials): Promise<SigningRequest> {
  let captured: CapturedRequest | undefined;
  const client = new S3Client({
    endpoint: 'http://127.0.0.1:9000',
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: creds,
    maxAttempts: 1,
    requestHandler: {
      handle: (request: CapturedRequest) => {
        captured = request;
        return Promise.reject(new Error('captured'));
      },
    },
  });
  await send(client).catch(() => undefined);
  if (captured === undefined) throw new Error('the SDK sent nothing');
  const query = Object.entries(captured.query)
    .flatMap(([key, value]) => (Array.isArray(value) ? value.map((v) => [key, v] as const) : [[key, value] as const]))
    .map(([key, value]) => (value === null ? encodeRfc3986(key) : `${encodeRfc3986(key)}=${encodeRfc3986(value)}`))
    .join('&');
  return {
    method: captured.method,
    url: query === '' ? captured.path : `${captured.path}?${query}`,
    rawHeaders: Object.entries(captured.headers).flat(),
  };
}

describe('verifySigV4', () => {
  it('accepts what the AWS SDK signs: gets, listings, uploads and parts', async () => {
    const requests = [
      await signedBy((c) =>
        c.send(new GetObjectCommand({ Bucket: 'phfs', Key: 'groups/vision/a.txt', Range: 'bytes=0-9' })),
      ),
      await signedBy((c) =>
        c.send(new ListObjectsV2Command({ Bucket: 'phfs', Prefix: 'groups/vision/', Delimiter: '/', MaxKeys: 10 })),
      ),
      await signedBy((c) =>
        c.send(new PutObjectCommand({ Bucket: 'phfs', Key: 'groups/vision/b.bin', Body: Buffer.from('hello') })),
      ),
      await signedBy((c) =>
        c.send(
          new UploadPartCommand({
            Bucket: 'phfs',
            Key: 'groups/vision/c',
            UploadId: 'u-1',
            PartNumber: 2,
            Body: Buffer.from('x'),
          }),
        ),
      ),
    ];
    for (const request of requests)
      expect(verifySigV4(request, options)).toEqual({ ok: true, accessKeyId: 'LABKEYALICE' });
  });

  it('accepts keys that need escaping', async () => {
    const request = await signedBy((c) =>
      c.send(new GetObjectCommand({ Bucket: 'phfs', Key: "groups/vision/my file (1)+ü&'x'.txt" })),
    );
    expect(request.url).toContain('%20');
    expect(verifySigV4(request, options)).toMatchObject({ ok: true });
  });

  it('refuses a tampered request, an unknown key, a wrong secret, a wrong region and anonymous requests', async () => {
    const good = await signedBy((c) => c.send(new GetObjectCommand({ Bucket: 'phfs', Key: 'groups/vision/a.txt' })));
    expect(verifySigV4({ ...good, url: '/phfs/groups/nlp/a.txt' }, options)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(verifySigV4({ ...good, method: 'DELETE' }, options)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    const stranger = await signedBy((c) => c.send(new GetObjectCommand({ Bucket: 'phfs', Key: 'x' })), {
      accessKeyId: 'NOPE',
      secretAccessKey: 'x',
    });
    expect(verifySigV4(stranger, options)).toMatchObject({ ok: false, code: 'InvalidAccessKeyId' });
    const guessed = await signedBy((c) => c.send(new GetObjectCommand({ Bucket: 'phfs', Key: 'x' })), {
      accessKeyId: 'LABKEYALICE',
      secretAccessKey: 'guess',
    });
    expect(verifySigV4(guessed, options)).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verifySigV4(good, { ...options, region: 'eu-west-1' })).toMatchObject({
      ok: false,
      code: 'AuthorizationHeaderMalformed',
    });
    expect(verifySigV4({ method: 'GET', url: '/phfs/x', rawHeaders: ['Host', '127.0.0.1'] }, options)).toMatchObject({
      ok: false,
      code: 'AccessDenied',
    });
  });

  it('refuses stale signatures', async () => {
    const good = await signedBy((c) => c.send(new GetObjectCommand({ Bucket: 'phfs', Key: 'a' })));
    const later = new Date(Date.now() + 20 * 60 * 1000);
    expect(verifySigV4(good, { ...options, now: later })).toMatchObject({ ok: false, code: 'RequestTimeTooSkewed' });
  });

  it('refuses Signature Version 2 and malformed presigned queries', () => {
    const v2 = { method: 'GET', url: '/phfs/a', rawHeaders: ['Authorization', 'AWS LABKEYALICE:abc', 'Host', 'x'] };
    expect(verifySigV4(v2, options)).toMatchObject({ ok: false, code: 'InvalidRequest' });
    const query = {
      method: 'GET',
      url: '/phfs/a?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=LABKEYALICE',
      rawHeaders: ['Host', 'x'],
    };
    expect(verifySigV4(query, options)).toMatchObject({ ok: false, code: 'AuthorizationQueryParametersError' });
  });
});
