import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FilesystemStore, ListOptions, ListResult } from '@20minutes/s3rver';
import pLimit from 'p-limit';

/** Workarounds for s3rver behaviour that differs from S3 in ways clients notice. */

/**
 * s3rver's delimited listing walks only one directory level below the prefix, so a "folder" that holds only
 * deeper objects (`groups/nlp/corpus/a`) is missing from CommonPrefixes, and a page ending in a common
 * prefix crashes its continuation token. This replaces it, for delimited listings, with a full listing under
 * the prefix grouped here, returned in one page (clients accept more entries than max-keys asked for).
 */
export function groupByDelimiter(
  keys: readonly string[],
  prefix: string,
  delimiter: string,
  startAfter: string,
): { keys: Set<string>; prefixes: string[] } {
  const direct = new Set<string>();
  const prefixes = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const index = key.slice(prefix.length).indexOf(delimiter);
    if (index === -1) {
      if (key > startAfter) direct.add(key);
      continue;
    }
    const commonPrefix = key.slice(0, prefix.length + index + delimiter.length);
    if (commonPrefix > startAfter) prefixes.add(commonPrefix);
  }
  return { keys: direct, prefixes: [...prefixes].sort() };
}

export function fixDelimitedListing(store: FilesystemStore): void {
  const original = store.listObjects.bind(store);
  store.listObjects = async (bucket: string, options: ListOptions): Promise<ListResult> => {
    const delimiter = options.delimiter ?? '';
    if (delimiter === '') return original(bucket, options);
    const prefix = options.prefix ?? '';
    const startAfter = options.startAfter ?? '';
    const all = await original(bucket, { prefix, delimiter: '', maxKeys: Number.POSITIVE_INFINITY });
    const grouped = groupByDelimiter(
      all.objects.map((o) => o.key),
      prefix,
      delimiter,
      startAfter,
    );
    return {
      objects: all.objects.filter((o) => grouped.keys.has(o.key)),
      commonPrefixes: grouped.prefixes,
      isTruncated: false,
    };
  };
}

/** Object metadata reads s3rver makes at once; see `limitMetadataReads`. */
export const METADATA_READS_AT_ONCE = 64;

/**
 * s3rver's listing reads every listed object's metadata files at once (`Promise.all`), so listing 10,000 objects
 * (the full listing under a prefix that `fixDelimitedListing` asks for) ran out of file descriptors: EMFILE, a
 * 500 to the client. Every metadata read now waits its turn, `limit` at a time.
 */
export function limitMetadataReads(store: FilesystemStore, limit = METADATA_READS_AT_ONCE): void {
  const original = store.getMetadata.bind(store);
  const turn = pLimit(limit);
  store.getMetadata = (bucket: string, key: string) => turn(() => original(bucket, key));
}

/**
 * ListObjectsV2 on top of s3rver's V1 listing: s3rver's V2 continuation tokens use DES, which OpenSSL 3
 * (Node 18+) no longer offers, so a truncated V2 page fails with 500. The proxy asks s3rver for V1 pages
 * (`marker`) and answers in V2 form, with the last key (base64url) as the continuation token.
 */
export function v2QueryToV1(pairs: readonly [string, string][]): [string, string][] {
  const params = new Map(pairs);
  const token = params.get('continuation-token');
  const startAfter = params.get('start-after');
  const out: [string, string][] = [];
  for (const [key, value] of pairs) {
    if (['list-type', 'continuation-token', 'start-after', 'fetch-owner', 'encoding-type'].includes(key)) continue;
    out.push([key, value]);
  }
  const marker = token !== undefined && token !== '' ? decodeContinuationToken(token) : startAfter;
  if (marker !== undefined && marker !== '') out.push(['marker', marker]);
  return out;
}

export function encodeContinuationToken(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  return Buffer.from(token, 'base64url').toString('utf8');
}

function xmlUnescape(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
    .replace(/&amp;/g, '&');
}

/**
 * A key as s3rver wrote it into a listing: escaped twice, once by its `he.escape` value processor and again by
 * the XML builder (`this&that` arrives as `this&amp;amp;that`, `it's` as `it&amp;#x27;s`). Unescaped twice, it
 * is the key again, whatever it holds (a key that itself reads `&amp;` was escaped twice too).
 */
export function keyOfS3rverXml(value: string): string {
  return xmlUnescape(xmlUnescape(value));
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `encoding-type=url`: keys and prefixes percent-encoded (clients decode them with unquote_plus). */
function urlEncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

/**
 * Rewrites a V1 ListBucketResult into the V2 shape for the request's parameters, URL-encoding keys when the
 * client asked for `encoding-type=url` (the aws CLI always does; s3rver ignores it, and the CLI would then
 * decode `a+b` as `a b`).
 */
export function v1ResultToV2(xml: string, pairs: readonly [string, string][]): string {
  const params = new Map(pairs);
  const encode = params.get('encoding-type') === 'url';
  const recode = (block: string, tag: string): string =>
    block.replace(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`), (_m, value: string) => {
      const key = keyOfS3rverXml(value);
      return `<${tag}>${xmlEscape(encode ? urlEncodeKey(key) : key)}</${tag}>`;
    });
  const contents = [...xml.matchAll(/<Contents>[\s\S]*?<\/Contents>/g)].map((m) => recode(m[0], 'Key'));
  const prefixes = [...xml.matchAll(/<CommonPrefixes>[\s\S]*?<\/CommonPrefixes>/g)].map((m) => recode(m[0], 'Prefix'));
  const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
  const name = /<Name>([\s\S]*?)<\/Name>/.exec(xml)?.[1] ?? '';
  const decodeKey = (value: string): string => (encode ? decodeURIComponent(xmlUnescape(value)) : xmlUnescape(value));
  const lastKey = [...(contents[contents.length - 1] ?? '').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].pop()?.[1];
  const lastPrefix = [...(prefixes[prefixes.length - 1] ?? '').matchAll(/<Prefix>([\s\S]*?)<\/Prefix>/g)].pop()?.[1];
  const last = [lastKey, lastPrefix]
    .filter((v): v is string => v !== undefined)
    .map(decodeKey)
    .sort()
    .pop();
  const element = (tag: string, value: string | undefined, isKey = false): string =>
    value === undefined ? '' : `<${tag}>${xmlEscape(isKey && encode ? urlEncodeKey(value) : value)}</${tag}>`;
  const token = params.get('continuation-token');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
    `<Name>${name}</Name>`,
    element('Prefix', params.get('prefix') ?? '', true),
    token === undefined || token === ''
      ? element('StartAfter', params.get('start-after'), true)
      : element('ContinuationToken', token),
    truncated && last !== undefined ? element('NextContinuationToken', encodeContinuationToken(last)) : '',
    `<KeyCount>${contents.length + prefixes.length}</KeyCount>`,
    `<MaxKeys>${xmlEscape(params.get('max-keys') ?? '1000')}</MaxKeys>`,
    element('Delimiter', params.get('delimiter') || undefined, true),
    element('EncodingType', params.get('encoding-type')),
    `<IsTruncated>${truncated}</IsTruncated>`,
    ...contents,
    ...prefixes,
    '</ListBucketResult>',
  ].join('');
}

/** S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then `-<number of parts>`. */
export function multipartEtag(partMd5s: readonly string[]): string {
  const digest = createHash('md5');
  for (const md5 of partMd5s) digest.update(Buffer.from(md5, 'hex'));
  return `${digest.digest('hex')}-${partMd5s.length}`;
}

/** s3rver's own error class (CommonJS, untyped): s3rver answers it with the S3 code and status. */
type S3ErrorConstructor = new (code: string, message: string, detail?: Record<string, string>) => Error;
const S3Error = createRequire(import.meta.url)('@20minutes/s3rver/lib/models/error.js') as S3ErrorConstructor;

function invalidPart(partNumber: number): Error {
  return new S3Error(
    'InvalidPart',
    "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
    { PartNumber: String(partNumber) },
  );
}

/**
 * A part's ETag as CompleteMultipartUpload lists it, without its quotes. s3rver's XML parser leaves character
 * references as they are, and Go's encoding/xml (rclone) writes every quote as `&#34;`: S3 reads
 * `&#34;abc&#34;`, `&quot;abc&quot;` and `"abc"` alike, so the lab must too.
 */
export function bareEtagOf(listed: string): string {
  return listed
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, code: string) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/"/g, '')
    .trim();
}

/**
 * s3rver gives a completed multipart upload the MD5 of its whole content as ETag (S3: `md5-of-md5s-N`) and
 * does not check the parts' ETags. A client that treats every ETag as a content MD5 would pass against
 * s3rver and fail against S3; this makes the lab answer as S3 does.
 */
export function fixMultipartEtags(store: FilesystemStore): void {
  const original = store.putObjectMultipart.bind(store);
  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const uploadDir = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    const sorted = [...parts].sort((a, b) => a.number - b.number);
    const md5s: string[] = [];
    for (const part of sorted) {
      const md5 = await readFile(path.join(uploadDir, `${part.number}.md5`), 'utf8').catch(() => undefined);
      if (md5 === undefined || md5 !== bareEtagOf(part.etag)) throw invalidPart(part.number);
      md5s.push(md5);
    }
    const key = await readFile(path.join(uploadDir, 'key'), 'utf8');
    const result = await original(bucket, uploadId, sorted);
    const etag = multipartEtag(md5s);
    await writeFile(store.getResourcePath(bucket, key, 'object.md5'), etag);
    return { ...result, md5: etag };
  };
}
