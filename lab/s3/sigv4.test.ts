import { createHash, createHmac } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { verifySigV4 } from './sigv4.js';
import type { SigningRequest } from './sigv4.js';

function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The SDK's checksum interface over node:crypto (HMAC when given a secret), as @smithy/hash-node does. */
class Sha256 {
  private hash: Hash | ReturnType<typeof createHmac>;
  private readonly secret: string | Uint8Array | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined || typeof secret === 'string' ? secret : toBytes(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash | ReturnType<typeof createHmac> {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  reset(): void {
    this.hash = this.fresh();
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

const credentials = { accessKeyId: 'LABKEYALICE', secretAccessKey: 'alice-secret-0123456789' };
const secrets = new Map([[credentials.accessKeyId, credentials.secretAccessKey]]);
const options = { region: 'us-east-1', secretOf: (id: string) => secrets.get(id) };

async function signed(
  method: string,
  path: string,
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
  presign = false,
  creds = credentials,
): Promise<SigningRequest> {
  const signer = new SignatureV4({
    credentials: creds,
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const request = {
    method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 9000,
    path,
    query,
    headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers },
  };
  const result = presign ? await signer.presign(request, { expiresIn: 60 }) : await signer.sign(request);
  const search = new URLSearchParams(result.query as Record<string, string>).toString().replace(/\+/g, '%20');
  const rawHeaders = Object.entries(result.headers).flat();
  return { method, url: search === '' ? result.path : `${result.path}?${search}`, rawHeaders };
}

describe('verifySigV4', () => {
  it('accepts what the AWS SDK signs, in headers and presigned URLs', async () => {
    expect(verifySigV4(await signed('GET', '/phfs/groups/vision/a.txt'), options)).toEqual({
      ok: true,
      accessKeyId: 'LABKEYALICE',
    });
    expect(
      verifySigV4(
        await signed('GET', '/phfs', { 'list-type': '2', prefix: 'groups/vision/', delimiter: '/' }),
        options,
      ),
    ).toEqual({
      ok: true,
      accessKeyId: 'LABKEYALICE',
    });
    expect(verifySigV4(await signed('GET', '/phfs/groups/vision/a.txt', {}, {}, true), options)).toMatchObject({
      ok: true,
    });
    expect(
      verifySigV4(
        await signed('PUT', '/phfs/groups/vision/x', { partNumber: '1', uploadId: 'abc' }, { 'content-length': '5' }),
        options,
      ),
    ).toMatchObject({ ok: true });
  });

  it('accepts keys that need escaping, in the path encoding S3 clients use', async () => {
    const request = await signed(
      'GET',
      `/phfs/${['groups', 'vision', 'my file (1)+ü.txt'].map(encodeURIComponent).join('/')}`,
    );
    expect(verifySigV4(request, options)).toMatchObject({ ok: true });
  });

  it('refuses a tampered request, an unknown key, a wrong region and anonymous requests', async () => {
    const good = await signed('GET', '/phfs/groups/vision/a.txt');
    expect(verifySigV4({ ...good, url: '/phfs/groups/nlp/a.txt' }, options)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(verifySigV4({ ...good, method: 'DELETE' }, options)).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    const stranger = await signed('GET', '/phfs/x', {}, {}, false, { accessKeyId: 'NOPE', secretAccessKey: 'x' });
    expect(verifySigV4(stranger, options)).toMatchObject({ ok: false, code: 'InvalidAccessKeyId' });
    const wrongSecret = await signed('GET', '/phfs/x', {}, {}, false, {
      accessKeyId: 'LABKEYALICE',
      secretAccessKey: 'guess',
    });
    expect(verifySigV4(wrongSecret, options)).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verifySigV4(good, { ...options, region: 'eu-west-1' })).toMatchObject({
      ok: false,
      code: 'AuthorizationHeaderMalformed',
    });
    expect(verifySigV4({ method: 'GET', url: '/phfs/x', rawHeaders: ['Host', '127.0.0.1'] }, options)).toMatchObject({
      ok: false,
      code: 'AccessDenied',
    });
  });

  it('refuses stale signatures and expired presigned URLs', async () => {
    const good = await signed('GET', '/phfs/a');
    const later = new Date(Date.now() + 20 * 60 * 1000);
    expect(verifySigV4(good, { ...options, now: later })).toMatchObject({ ok: false, code: 'RequestTimeTooSkewed' });
    const presigned = await signed('GET', '/phfs/a', {}, {}, true);
    expect(verifySigV4(presigned, { ...options, now: new Date(Date.now() + 120_000) })).toMatchObject({
      ok: false,
      code: 'AccessDenied',
    });
  });

  it('refuses Signature Version 2', () => {
    const request = {
      method: 'GET',
      url: '/phfs/a',
      rawHeaders: ['Authorization', 'AWS LABKEYALICE:abc', 'Host', 'x'],
    };
    expect(verifySigV4(request, options)).toMatchObject({ ok: false, code: 'InvalidRequest' });
  });
});
