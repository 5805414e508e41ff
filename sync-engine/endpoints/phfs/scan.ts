import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { Entry } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';
import type { JournalPort, S3Context } from './context.js';
import { keyFor } from './context.js';
import { classifyListing, fileEntryOf, META_MTIME, META_SHA256 } from './listing.js';
import type { ListedObject } from './listing.js';
import { UPLOAD_JOURNAL_PREFIX } from './multipart.js';
import { isNotFound, isPreconditionFailed } from './s3Errors.js';

/**
 * What a HEAD told about one version of an object (keyed by key, ETag, size and LastModified), kept between
 * scans and between runs, so a no-op sync of a large tree is one listing and no HEAD requests.
 */
export type MetadataCache = Map<string, Readonly<Record<string, string>>>;

/** Where the cache is kept between runs, in the pair's journal. */
export const METADATA_CACHE_KEY = 's3-metadata-cache';

/** Reads the persisted cache; anything malformed is ignored (the objects are asked again). */
export function loadMetadataCache(journal: JournalPort | undefined, into: MetadataCache): void {
  const value = journal?.get(METADATA_CACHE_KEY);
  if (!Array.isArray(value)) return;
  for (const item of value) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || typeof item[1] !== 'object' || item[1] === null)
      continue;
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(item[1] as Record<string, unknown>)) if (typeof v === 'string') metadata[k] = v;
    into.set(item[0], metadata);
  }
}

/** Keeps only what Tether reads (mtime, sha256) so the cache stays small. */
export function saveMetadataCache(journal: JournalPort | undefined, cache: MetadataCache): void {
  if (journal === undefined) return;
  const items: [string, Record<string, string>][] = [];
  for (const [id, metadata] of cache) {
    const kept: Record<string, string> = {};
    if (metadata[META_MTIME] !== undefined) kept[META_MTIME] = metadata[META_MTIME];
    if (metadata[META_SHA256] !== undefined) kept[META_SHA256] = metadata[META_SHA256];
    items.push([id, kept]);
  }
  journal.put(METADATA_CACHE_KEY, items);
}

/**
 * What this endpoint's own writes gave their objects, kept until the next scan: an object Tether just wrote
 * is listed with a new ETag and LastModified, so the cache above cannot know it, and without this record the
 * first re-sync after an upload would HEAD every object it uploaded. The scan adopts a record for a listed
 * object with the same key, ETag and size (the same content: another client writing the very same bytes
 * after Tether could only differ in metadata), then drops every record. One journal key per `writeFiles` call.
 */
export const WRITTEN_JOURNAL_PREFIX = 's3-written:';

export interface WrittenObject {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export function recordWritten(journal: JournalPort | undefined, objects: readonly WrittenObject[]): void {
  if (journal === undefined || objects.length === 0) return;
  journal.put(
    `${WRITTEN_JOURNAL_PREFIX}${randomUUID()}`,
    objects.map((o) => [o.key, o.etag, o.size, o.metadata]),
  );
}

function isWrittenRow(row: unknown): row is [string, string, number, Record<string, unknown>] {
  return (
    Array.isArray(row) &&
    typeof row[0] === 'string' &&
    typeof row[1] === 'string' &&
    typeof row[2] === 'number' &&
    typeof row[3] === 'object' &&
    row[3] !== null
  );
}

/** Every record left by writes since the last scan, by key (a key written twice has two), and their journal keys. */
export function loadWritten(journal: JournalPort | undefined): {
  byKey: Map<string, WrittenObject[]>;
  journalKeys: string[];
} {
  const byKey = new Map<string, WrittenObject[]>();
  const journalKeys: string[] = [];
  for (const record of journal?.list() ?? []) {
    if (!record.key.startsWith(WRITTEN_JOURNAL_PREFIX)) continue;
    journalKeys.push(record.key);
    if (!Array.isArray(record.value)) continue;
    for (const row of record.value as unknown[]) {
      if (!isWrittenRow(row)) continue;
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(row[3])) if (typeof v === 'string') metadata[k] = v;
      const records = byKey.get(row[0]) ?? [];
      records.push({ key: row[0], etag: row[1], size: row[2], metadata });
      byKey.set(row[0], records);
    }
  }
  return { byKey, journalKeys };
}

export function cacheKey(key: string, object: ListedObject): string {
  return `${key}\0${object.etag}\0${object.size}\0${object.lastModifiedMs}`;
}

/** Every object under the root, page by page (ListObjectsV2 returns at most 1,000 keys a page). */
/**
 * The user metadata of the listed version of an object (one HEAD with `If-Match` its ETag), or undefined when it
 * is gone or replaced since the listing: the next listing shows what is there now.
 */
export async function headMetadata(
  context: S3Context,
  object: ListedObject,
  path: string,
  signal: AbortSignal | undefined,
): Promise<Readonly<Record<string, string>> | undefined> {
  try {
    const head = await context.client.send(
      new HeadObjectCommand({ Bucket: context.bucket, Key: object.key, IfMatch: object.etag }),
      signal === undefined ? {} : { abortSignal: signal },
    );
    return head.Metadata ?? {};
  } catch (error) {
    if (isNotFound(error) || isPreconditionFailed(error)) return undefined;
    throw context.fail(`read the metadata of ${path} on ${context.displayName}`, error);
  }
}

/** Every object of the pair's root, or only those below the folder `below` (a relative path; '' is the root). */
export async function listAll(context: S3Context, signal?: AbortSignal, below = ''): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  const prefix = below === '' ? context.rootPrefix : `${keyFor(context, below)}/`;
  let token: string | undefined;
  do {
    const page = await context.client.send(
      new ListObjectsV2Command({
        Bucket: context.bucket,
        Prefix: prefix,
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
      signal === undefined ? {} : { abortSignal: signal },
    );
    for (const item of page.Contents ?? []) {
      if (item.Key === undefined) continue;
      objects.push({
        key: item.Key,
        size: item.Size ?? 0,
        lastModifiedMs: item.LastModified?.getTime() ?? 0,
        etag: item.ETag ?? '',
      });
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    if (page.IsTruncated === true && token === undefined) {
      throw new TetherError(
        'listing-failed',
        `the listing of ${context.displayName} was cut short without a continuation token`,
      );
    }
  } while (token !== undefined);
  return objects;
}

/**
 * Lists the tree: one paginated flat listing, then a HEAD per object whose metadata (mtime, sha256) is neither
 * cached nor known from this endpoint's own writes. A listing that fails throws; an object that vanished between
 * listing and HEAD is left out. `headed` counts the objects whose metadata was learnt (by HEAD or from a write
 * record): when it is not 0, the cache changed and should be saved.
 */
export async function scanS3(
  context: S3Context,
  cache: MetadataCache,
  options: ScanOptions,
): Promise<{ result: ScanResult; stored: Map<string, string>; headed: number }> {
  let objects: ListedObject[];
  try {
    objects = await listAll(context, options.signal);
  } catch (error) {
    throw context.fail(`list ${context.displayName}`, error);
  }
  const listing = classifyListing(context.rootPrefix, objects, options.ignore);
  const entries: Entry[] = [...listing.dirs.values()];
  const stored = new Map<string, string>();
  context.known.clear();
  const limit = pLimit(16);
  const fresh: MetadataCache = new Map();
  const written = loadWritten(context.journal);
  let seen = entries.length;
  let headed = 0;
  options.onProgress?.(seen);
  const files = await Promise.all(
    listing.files.map(({ path, object }) =>
      limit(async (): Promise<Entry | undefined> => {
        const id = cacheKey(object.key, object);
        let metadata = cache.get(id);
        const mine = written.byKey.get(object.key)?.find((w) => w.etag === object.etag && w.size === object.size);
        if (metadata === undefined && mine !== undefined) {
          metadata = mine.metadata;
          headed++;
        }
        if (metadata === undefined) {
          metadata = await headMetadata(context, object, path, options.signal);
          if (metadata === undefined) return undefined;
          headed++;
        }
        fresh.set(id, metadata);
        context.known.set(path, { etag: object.etag, size: object.size });
        options.onProgress?.(++seen);
        return fileEntryOf(path, object, metadata);
      }),
    ),
  );
  cache.clear();
  for (const [id, metadata] of fresh) cache.set(id, metadata);
  // Adopted into the cache (or stale: overwritten or deleted since); the caller saves the cache.
  for (const key of written.journalKeys) context.journal?.delete(key);
  for (const file of files) {
    if (file === undefined) continue;
    entries.push(file);
    if (file.sha256 !== undefined) stored.set(file.path, file.sha256);
  }
  const temporaries = [...listing.temporaries];
  for (const record of context.journal?.list() ?? []) {
    if (record.key.startsWith(UPLOAD_JOURNAL_PREFIX)) temporaries.push(record.key.slice(UPLOAD_JOURNAL_PREFIX.length));
  }
  return { result: { entries, problems: listing.problems, temporaries, unlisted: [] }, stored, headed };
}
