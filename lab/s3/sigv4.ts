import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * AWS Signature Version 4 verification for S3 requests (header and presigned-query forms), so the lab's
 * PHFS store accepts only its own credentials, as a real S3 endpoint does. Payload hashes are taken from
 * `x-amz-content-sha256` as signed; the body itself is not hashed (streaming uploads stay streaming).
 */
export interface SigningRequest {
  readonly method: string;
  /** The raw request target: path and query as the client sent them. */
  readonly url: string;
  /** Raw header pairs, as node's `rawHeaders` (name, value, name, value …). */
  readonly rawHeaders: readonly string[];
}

export type SigV4Result =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly code: S3ErrorCode; readonly message: string; readonly accessKeyId?: string };

export type S3ErrorCode =
  | 'AccessDenied'
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'AuthorizationHeaderMalformed'
  | 'AuthorizationQueryParametersError'
  | 'RequestTimeTooSkewed'
  | 'InvalidRequest';

export interface VerifyOptions {
  readonly region: string;
  readonly secretOf: (accessKeyId: string) => string | undefined;
  readonly now?: Date;
}

const maxSkewMs = 15 * 60 * 1000;

/** RFC 3986 encoding, as SigV4 canonicalisation wants it. */
export function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** Query pairs decoded (raw, without the `+` → space rule, as S3 clients encode spaces as %20). */
export function queryPairs(query: string): [string, string][] {
  if (query === '') return [];
  return query
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq === -1 ? [safeDecode(part), ''] : [safeDecode(part.slice(0, eq)), safeDecode(part.slice(eq + 1))];
    });
}

function canonicalQuery(pairs: readonly [string, string][]): string {
  return pairs
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function canonicalPaths(path: string): string[] {
  const normalised = path
    .split('/')
    .map((segment) => encodeRfc3986(safeDecode(segment)))
    .join('/');
  return normalised === path ? [path] : [normalised, path];
}

function headerValues(rawHeaders: readonly string[]): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const values = headers.get(name) ?? [];
    values.push((rawHeaders[i + 1] ?? '').trim().replace(/\s+/g, ' '));
    headers.set(name, values);
  }
  return headers;
}

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text, 'utf8').digest();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

function parseAmzDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
}

interface Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly amzDate: string;
  readonly payloadHash: string;
  readonly presigned: boolean;
  readonly expiresSeconds?: number;
}

function fail(code: S3ErrorCode, message: string, accessKeyId?: string): SigV4Result {
  return accessKeyId === undefined ? { ok: false, code, message } : { ok: false, code, message, accessKeyId };
}

function parseCredential(
  credential: string,
): { accessKeyId: string; date: string; region: string; service: string } | undefined {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request') return undefined;
  const [accessKeyId = '', date = '', region = '', service = ''] = parts;
  return { accessKeyId, date, region, service };
}

function parseAuthorization(
  request: SigningRequest,
  headers: Map<string, string[]>,
  pairs: [string, string][],
): Authorization | SigV4Result {
  const header = headers.get('authorization')?.[0];
  const query = new Map(pairs);
  if (header !== undefined) {
    if (!header.startsWith('AWS4-HMAC-SHA256 ')) {
      return fail(
        'InvalidRequest',
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      );
    }
    const fields = new Map(
      header
        .slice('AWS4-HMAC-SHA256 '.length)
        .split(',')
        .map((part) => part.trim())
        .map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] as const),
    );
    const credential = parseCredential(fields.get('Credential') ?? '');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (credential === undefined || signedHeaders === undefined || signature === undefined) {
      return fail(
        'AuthorizationHeaderMalformed',
        'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
      );
    }
    const payloadHash = headers.get('x-amz-content-sha256')?.[0];
    if (payloadHash === undefined)
      return fail('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    return {
      ...credential,
      signedHeaders: signedHeaders.split(';'),
      signature,
      amzDate: headers.get('x-amz-date')?.[0] ?? '',
      payloadHash,
      presigned: false,
    };
  }
  if (query.get('X-Amz-Algorithm') !== undefined) {
    if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
      return fail('AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    const credential = parseCredential(query.get('X-Amz-Credential') ?? '');
    const signedHeaders = query.get('X-Amz-SignedHeaders');
    const signature = query.get('X-Amz-Signature');
    const expires = Number(query.get('X-Amz-Expires') ?? 'NaN');
    if (
      credential === undefined ||
      signedHeaders === undefined ||
      signature === undefined ||
      !Number.isInteger(expires)
    ) {
      return fail(
        'AuthorizationQueryParametersError',
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    return {
      ...credential,
      signedHeaders: signedHeaders.split(';'),
      signature,
      amzDate: query.get('X-Amz-Date') ?? '',
      payloadHash: headers.get('x-amz-content-sha256')?.[0] ?? 'UNSIGNED-PAYLOAD',
      presigned: true,
      expiresSeconds: expires,
    };
  }
  return fail('AccessDenied', 'Access Denied (the lab requires signed requests: use the credentials in lab.json)');
}

/** Verifies a request's SigV4 signature; says which key signed it, or why it is refused. */
export function verifySigV4(request: SigningRequest, options: VerifyOptions): SigV4Result {
  const headers = headerValues(request.rawHeaders);
  const { path, query } = splitTarget(request.url);
  const pairs = queryPairs(query);
  const auth = parseAuthorization(request, headers, pairs);
  if ('ok' in auth) return auth;
  const secret = options.secretOf(auth.accessKeyId);
  if (secret === undefined) {
    return fail(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      auth.accessKeyId,
    );
  }
  if (auth.region !== options.region) {
    return fail(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${options.region}'`,
      auth.accessKeyId,
    );
  }
  if (auth.service !== 's3') {
    return fail(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; incorrect service "${auth.service}". This endpoint belongs to "s3".`,
      auth.accessKeyId,
    );
  }
  const when = parseAmzDate(auth.amzDate);
  const now = options.now ?? new Date();
  if (when === undefined || !auth.amzDate.startsWith(auth.date)) {
    return fail('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header', auth.accessKeyId);
  }
  if (auth.presigned) {
    if (now.getTime() > when.getTime() + (auth.expiresSeconds ?? 0) * 1000)
      return fail('AccessDenied', 'Request has expired', auth.accessKeyId);
  } else if (Math.abs(now.getTime() - when.getTime()) > maxSkewMs) {
    return fail(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      auth.accessKeyId,
    );
  }
  if (!auth.signedHeaders.includes('host'))
    return fail('AccessDenied', 'Host must be a signed header', auth.accessKeyId);
  const canonicalHeaders = auth.signedHeaders
    .map((name) => `${name}:${(headers.get(name) ?? []).join(',')}\n`)
    .join('');
  const queryForSigning = auth.presigned ? pairs.filter(([k]) => k !== 'X-Amz-Signature') : pairs;
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const key = signingKey(secret, auth.date, auth.region, auth.service);
  const presented = Buffer.from(auth.signature, 'utf8');
  for (const canonicalPath of canonicalPaths(path)) {
    const canonicalRequest = [
      request.method,
      canonicalPath === '' ? '/' : canonicalPath,
      canonicalQuery(queryForSigning),
      canonicalHeaders,
      auth.signedHeaders.join(';'),
      auth.payloadHash,
    ].join('\n');
    const stringToSign = ['AWS4-HMAC-SHA256', auth.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const expected = Buffer.from(hmac(key, stringToSign).toString('hex'), 'utf8');
    if (expected.length === presented.length && timingSafeEqual(expected, presented))
      return { ok: true, accessKeyId: auth.accessKeyId };
  }
  return fail(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    auth.accessKeyId,
  );
}

/** Query parameters that carry a presigned request's authentication (stripped before forwarding). */
export const authQueryParameters = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);
