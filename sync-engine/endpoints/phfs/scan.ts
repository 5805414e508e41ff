import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { Entry } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';
import type { JournalPort, S3Context } from './context.js';
import { classifyListing, fileEntryOf, META_MTIME, META_SHA256 } from './listing.js';
import type { ListedObject } from './listing.js';
import { UPLOAD_JOURNAL_PREFIX } from './multipart.js';
import { isNotFound } from './s3Errors.js';

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

export function cacheKey(key: string, object: ListedObject): string {
  return `${key}\0${object.etag}\0${object.size}\0${object.lastModifiedMs}`;
}

/** Every object under the root, page by page (ListObjectsV2 returns at most 1,000 keys a page). */
export async function listAll(context: S3Context, signal?: AbortSignal): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await context.client.send(
      new ListObjectsV2Command({
        Bucket: context.bucket,
        Prefix: context.rootPrefix,
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
 * Lists the tree: one paginated flat listing, then a HEAD per object whose metadata (mtime, sha256) is not
 * cached yet. A listing that fails throws; an object that vanished between listing and HEAD is left out.
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
  let seen = entries.length;
  let headed = 0;
  options.onProgress?.(seen);
  const files = await Promise.all(
    listing.files.map(({ path, object }) =>
      limit(async (): Promise<Entry | undefined> => {
        const id = cacheKey(object.key, object);
        let metadata = cache.get(id);
        if (metadata === undefined) {
          try {
            const head = await context.client.send(
              new HeadObjectCommand({ Bucket: context.bucket, Key: object.key, IfMatch: object.etag }),
              options.signal === undefined ? {} : { abortSignal: options.signal },
            );
            metadata = head.Metadata ?? {};
            headed++;
          } catch (error) {
            if (isNotFound(error)) return undefined;
            if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412)
              return undefined;
            throw context.fail(`read the metadata of ${path} on ${context.displayName}`, error);
          }
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
