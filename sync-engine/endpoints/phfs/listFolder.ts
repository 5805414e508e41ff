import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { Entry } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { ReadOptions } from '../endpoint.js';
import type { S3Context } from './context.js';
import { fileEntryOf } from './listing.js';
import type { ListedObject } from './listing.js';
import type { MetadataCache } from './scan.js';
import { cacheKey, headMetadata } from './scan.js';

/**
 * One folder's direct children (`Endpoint.listFolder`): ListObjectsV2 with Delimiter '/' under the folder's
 * prefix, page by page. Common prefixes are folders; objects are files, with their mtime and SHA-256 from user
 * metadata by the scan's rules (`fileEntryOf`): from the endpoint's metadata cache when the scan (or an earlier
 * listing) already read this version of the object, else one HEAD for it (16 at a time). Keys that make no
 * clean name, engine temporaries, and names that are both a file and a folder prefix are left out, as the scan
 * leaves them out. A folder with no key below it does not exist on S3: `not-found`. (One difference from the
 * scan: a prefix that holds only keys no path can name, such as `a//b`, still shows as a folder here.)
 */
export async function listS3Folder(
  context: S3Context,
  cache: MetadataCache,
  path: string,
  options: ReadOptions = {},
  /** Keys per ListObjectsV2 page (S3's default and maximum is 1,000; tests page sooner). */
  pageSize?: number,
): Promise<Entry[]> {
  if (path !== '') {
    const reason = invalidPathReason(path);
    if (reason !== undefined)
      throw new TetherError('bad-argument', `cannot list "${path}" in ${context.displayName}: ${reason}`);
  }
  const prefix = `${context.rootPrefix}${path === '' ? '' : `${path}/`}`;
  const child = (name: string): string => (path === '' ? name : `${path}/${name}`);
  const dirs = new Map<string, Entry>();
  const files: { path: string; object: ListedObject }[] = [];
  let keys = 0;
  let token: string | undefined;
  try {
    do {
      const page: ListObjectsV2CommandOutput = await context.client.send(
        new ListObjectsV2Command({
          Bucket: context.bucket,
          Prefix: prefix,
          Delimiter: '/',
          ...(pageSize === undefined ? {} : { MaxKeys: pageSize }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
        options.signal === undefined ? {} : { abortSignal: options.signal },
      );
      for (const common of page.CommonPrefixes ?? []) {
        keys++;
        const name = common.Prefix?.slice(prefix.length, -1) ?? '';
        const dir = child(name);
        if (name === '' || invalidPathReason(dir) !== undefined) continue;
        dirs.set(dir, { path: dir, kind: 'dir', size: 0, mtimeMs: 0, executable: false });
      }
      for (const item of page.Contents ?? []) {
        keys++;
        const name = item.Key?.slice(prefix.length) ?? '';
        // The folder's own `dir/` marker says the folder exists; it is not one of its children.
        if (name === '' || isEngineTemporary(name) || invalidPathReason(child(name)) !== undefined) continue;
        files.push({
          path: child(name),
          object: {
            key: item.Key ?? '',
            size: item.Size ?? 0,
            lastModifiedMs: item.LastModified?.getTime() ?? 0,
            etag: item.ETag ?? '',
          },
        });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      if (page.IsTruncated === true && token === undefined)
        throw new TetherError('listing-failed', `the listing of ${prefix} was cut short without a continuation token`);
    } while (token !== undefined);
  } catch (error) {
    if (error instanceof TetherError) throw error;
    throw context.fail(`list ${path === '' ? 'the top folder' : path} in ${context.displayName}`, error);
  }
  if (path !== '' && keys === 0)
    throw new TetherError('not-found', `${path} is not a folder in ${context.displayName}`);

  const limit = pLimit(16);
  const entries = await Promise.all(
    files
      .filter((f) => !dirs.has(f.path))
      .map(({ path: filePath, object }) =>
        limit(async (): Promise<Entry | undefined> => {
          const id = cacheKey(object.key, object);
          let metadata = cache.get(id);
          if (metadata === undefined) {
            metadata = await headMetadata(context, object, filePath, options.signal);
            if (metadata === undefined) return undefined;
            cache.set(id, metadata);
          }
          context.known.set(filePath, { etag: object.etag, size: object.size });
          return fileEntryOf(filePath, object, metadata);
        }),
      ),
  );
  return [...dirs.values(), ...entries.filter((e): e is Entry => e !== undefined)].sort((a, b) =>
    a.path < b.path ? -1 : 1,
  );
}
