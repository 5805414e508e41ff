import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { Entry } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { ScanOptions, ScanResult } from '../endpoint.js';
import type { S3Context } from './context.js';
import { classifyListing, fileEntryOf } from './listing.js';
import type { ListedObject } from './listing.js';
import { UPLOAD_JOURNAL_PREFIX } from './multipart.js';
import { isNotFound } from './s3Errors.js';

/** What a HEAD told about one version of an object (keyed by key, ETag and size), kept between scans. */
export type MetadataCache = Map<string, Readonly<Record<string, string>>>;

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
): Promise<{ result: ScanResult; stored: Map<string, string> }> {
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
  return { result: { entries, problems: listing.problems, temporaries, unlisted: [] }, stored };
}
