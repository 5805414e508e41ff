import { createHmac, timingSafeEqual } from 'node:crypto';
import { encodeRfc3986, queryPairs } from './sigv4.js';
import type { SigningRequest, SigV4Result, VerifyOptions } from './sigv4.js';

/**
 * AWS Signature Version 2 (HMAC-SHA1), which S3 still accepts and which the aws CLI v1 uses for
 * `aws s3 presign` by default: the presigned query form (`AWSAccessKeyId`, `Signature`, `Expires`) and the
 * `Authorization: AWS KEY:SIGNATURE` header form.
 */
const subresources = new Set([
  'acl',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'partNumber',
  'policy',
  'requestPayment',
  'restore',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
]);

export const v2QueryParameters = new Set(['AWSAccessKeyId', 'Signature', 'Expires']);

const maxSkewMs = 15 * 60 * 1000;

function header(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] ?? '').toLowerCase() === name) return (rawHeaders[i + 1] ?? '').trim();
  }
  return undefined;
}

function amzHeaders(rawHeaders: readonly string[]): string {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    if (!name.startsWith('x-amz-')) continue;
    values.set(name, [...(values.get(name) ?? []), (rawHeaders[i + 1] ?? '').trim()]);
  }
  return [...values.keys()]
    .sort()
    .map((name) => `${name}:${(values.get(name) ?? []).join(',')}\n`)
    .join('');
}

function resources(path: string, pairs: readonly [string, string][], rawQuery: string): string[] {
  const present = pairs.filter(([key]) => subresources.has(key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hasValue = (key: string): boolean => new RegExp(`(^|&)${key}=`).test(rawQuery);
  const suffix = present.map(([key, value]) => (hasValue(key) ? `${key}=${value}` : key)).join('&');
  const normalised = path
    .split('/')
    .map((segment) => {
      try {
        return encodeRfc3986(decodeURIComponent(segment));
      } catch {
        return segment;
      }
    })
    .join('/');
  return [...new Set([path, normalised])].map((p) => (suffix === '' ? p : `${p}?${suffix}`));
}

/** Verifies a V2-signed request, or returns undefined when the request is not V2-signed. */
export function verifySigV2(request: SigningRequest, options: VerifyOptions): SigV4Result | undefined {
  const q = request.url.indexOf('?');
  const path = q === -1 ? request.url : request.url.slice(0, q);
  const rawQuery = q === -1 ? '' : request.url.slice(q + 1);
  const pairs = queryPairs(rawQuery);
  const query = new Map(pairs);
  const authorization = header(request.rawHeaders, 'authorization');
  let accessKeyId: string;
  let signature: string;
  let timeField: string;
  const now = options.now ?? new Date();
  if (query.has('AWSAccessKeyId') && query.has('Signature')) {
    accessKeyId = query.get('AWSAccessKeyId') ?? '';
    signature = query.get('Signature') ?? '';
    timeField = query.get('Expires') ?? '';
    if (!/^\d+$/.test(timeField))
      return {
        ok: false,
        code: 'AccessDenied',
        message: 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
        accessKeyId,
      };
    if (Number(timeField) * 1000 < now.getTime())
      return { ok: false, code: 'AccessDenied', message: 'Request has expired', accessKeyId };
  } else if (authorization?.startsWith('AWS ') === true) {
    const credential = authorization.slice(4);
    const colon = credential.lastIndexOf(':');
    accessKeyId = credential.slice(0, colon);
    signature = credential.slice(colon + 1);
    const date = header(request.rawHeaders, 'x-amz-date') ?? header(request.rawHeaders, 'date') ?? '';
    const when = Date.parse(date);
    if (Number.isNaN(when))
      return {
        ok: false,
        code: 'AccessDenied',
        message: 'AWS authentication requires a valid Date or x-amz-date header',
        accessKeyId,
      };
    if (Math.abs(now.getTime() - when) > maxSkewMs)
      return {
        ok: false,
        code: 'RequestTimeTooSkewed',
        message: 'The difference between the request time and the current time is too large.',
        accessKeyId,
      };
    timeField = header(request.rawHeaders, 'x-amz-date') === undefined ? date : '';
  } else {
    return undefined;
  }
  const secret = options.secretOf(accessKeyId);
  if (secret === undefined)
    return {
      ok: false,
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
      accessKeyId,
    };
  const presented = Buffer.from(signature, 'utf8');
  for (const resource of resources(
    path,
    pairs.filter(([k]) => !v2QueryParameters.has(k)),
    rawQuery,
  )) {
    const stringToSign = [
      request.method,
      header(request.rawHeaders, 'content-md5') ?? '',
      header(request.rawHeaders, 'content-type') ?? '',
      timeField,
      `${amzHeaders(request.rawHeaders)}${resource}`,
    ].join('\n');
    const expected = Buffer.from(createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64'), 'utf8');
    if (expected.length === presented.length && timingSafeEqual(expected, presented)) return { ok: true, accessKeyId };
  }
  return {
    ok: false,
    code: 'SignatureDoesNotMatch',
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    accessKeyId,
  };
}
