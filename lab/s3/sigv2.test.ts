import { describe, expect, it } from 'vitest';
import { verifySigV2 } from './sigv2.js';

/** Vectors made with botocore's HmacV1QueryAuth and HmacV1Auth (the aws CLI's signer), not with this code. */
const secrets = new Map([['LABKEYBOB', 'bob-secret-0123456789']]);
const options = {
  region: 'us-east-1',
  secretOf: (id: string) => secrets.get(id),
  now: new Date('2026-11-23T13:59:30Z'),
};

const presigned =
  '/phfs/groups/vision/my%20file%2B1.txt?AWSAccessKeyId=LABKEYBOB&Signature=DM6DcnnWvIzabJnP5qQW%2BCAGfWU%3D&Expires=1900000000';

describe('verifySigV2', () => {
  it('accepts a presigned URL from botocore', () => {
    expect(verifySigV2({ method: 'GET', url: presigned, rawHeaders: ['Host', '127.0.0.1:9000'] }, options)).toEqual({
      ok: true,
      accessKeyId: 'LABKEYBOB',
    });
  });

  it('accepts a header-signed request with subresources, a content type and x-amz headers', () => {
    const request = {
      method: 'PUT',
      url: '/phfs/groups/vision/a.txt?uploadId=abc&partNumber=2',
      rawHeaders: [
        'Date',
        'Mon, 23 Nov 2026 13:59:27 GMT',
        'Content-Type',
        'text/plain',
        'x-amz-meta-Color',
        'blue',
        'Authorization',
        'AWS LABKEYBOB:xsBa/aZV1Y2e0PgqwRhFdx7aBc8=',
      ],
    };
    expect(verifySigV2(request, options)).toEqual({ ok: true, accessKeyId: 'LABKEYBOB' });
    expect(
      verifySigV2({ ...request, url: '/phfs/groups/vision/b.txt?uploadId=abc&partNumber=2' }, options),
    ).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(verifySigV2(request, { ...options, now: new Date('2026-11-24T00:00:00Z') })).toMatchObject({
      ok: false,
      code: 'RequestTimeTooSkewed',
    });
  });

  it('refuses a tampered, expired or unknown-key URL, and ignores V4 requests', () => {
    expect(
      verifySigV2({ method: 'GET', url: presigned.replace('my%20file', 'other'), rawHeaders: [] }, options),
    ).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(
      verifySigV2({ method: 'GET', url: presigned, rawHeaders: [] }, { ...options, now: new Date(1_900_000_001_000) }),
    ).toMatchObject({ ok: false, code: 'AccessDenied' });
    expect(
      verifySigV2({ method: 'GET', url: presigned.replace('LABKEYBOB', 'NOPE'), rawHeaders: [] }, options),
    ).toMatchObject({ ok: false, code: 'InvalidAccessKeyId' });
    expect(
      verifySigV2(
        { method: 'GET', url: '/phfs/a', rawHeaders: ['Authorization', 'AWS4-HMAC-SHA256 Credential=x'] },
        options,
      ),
    ).toBeUndefined();
  });
});
