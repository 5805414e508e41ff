import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { Entry, Problem } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { S3Context } from './context.js';
import { keyFor } from './context.js';
import { abortUpload, readUploadRecord, UPLOAD_JOURNAL_PREFIX } from './multipart.js';
import { metadataFor } from './objects.js';
import { abortClaimedUploads } from './uploadMarkers.js';
import { isNotFound, isPreconditionFailed, problemMessage } from './s3Errors.js';
import { listAll } from './scan.js';

/** DeleteObjects takes at most 1,000 keys a request. */
export const DELETE_BATCH = 1000;

function checkPaths<T extends { path: string }>(items: readonly T[], problems: Problem[]): T[] {
  return items.filter((item) => {
    const reason = invalidPathReason(item.path);
    if (reason !== undefined) problems.push({ path: item.path, message: reason });
    return reason === undefined;
  });
}

/** Folders are `dir/` zero-byte markers, so empty folders survive (the way the AWS console and rclone make them). */
export async function makeDirs(context: S3Context, entries: readonly Entry[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const entry of checkPaths(entries, problems)) {
    try {
      await context.client.send(
        new PutObjectCommand({
          Bucket: context.bucket,
          Key: `${keyFor(context, entry.path)}/`,
          Body: Buffer.alloc(0),
          ContentLength: 0,
          Metadata: metadataFor(entry, undefined),
        }),
      );
    } catch (error) {
      const fatal = context.fail(`create folder ${entry.path} on ${context.displayName}`, error);
      if (fatal.code !== 'transfer-failed') throw fatal;
      problems.push({ path: entry.path, message: problemMessage(`cannot create folder ${entry.path}`, error) });
    }
  }
  return problems;
}

/**
 * Removes files and folders, children first. One fresh listing checks every file against the scan (same
 * ETag), so a file changed since then is kept; files go in DeleteObjects batches; a folder goes (its marker)
 * only when nothing is left below it. The listing covers only the deepest folder that holds every path to
 * remove, not the pair's whole prefix (a group's bucket prefix may hold millions of objects).
 */
export async function removeObjects(
  context: S3Context,
  expected: readonly Entry[],
): Promise<{ removed: string[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const valid = checkPaths(expected, problems);
  if (valid.length === 0) return { removed: [], problems };
  let listed;
  try {
    listed = await listAll(context, undefined, commonFolder(valid.map((e) => e.path)));
  } catch (error) {
    throw context.fail(`list ${context.displayName} before deleting`, error);
  }
  const now = new Map(listed.map((o) => [o.key, o]));
  const removed: string[] = [];
  const files = valid.filter((e) => e.kind !== 'dir');
  const deletable: string[] = [];
  for (const entry of files) {
    const key = keyFor(context, entry.path);
    const current = now.get(key);
    const seen = context.known.get(entry.path);
    if (current === undefined) removed.push(entry.path);
    else if (seen !== undefined && (seen.etag !== current.etag || current.size !== entry.size)) {
      problems.push({
        path: entry.path,
        message: `${entry.path} changed on ${context.displayName} since the scan; not deleted`,
      });
    } else deletable.push(entry.path);
  }
  for (let i = 0; i < deletable.length; i += DELETE_BATCH) {
    const batch = deletable.slice(i, i + DELETE_BATCH);
    try {
      const answer = await context.client.send(
        new DeleteObjectsCommand({
          Bucket: context.bucket,
          Delete: { Objects: batch.map((path) => ({ Key: keyFor(context, path) })), Quiet: true },
        }),
      );
      const failed = new Map((answer.Errors ?? []).map((e) => [e.Key ?? '', e]));
      for (const path of batch) {
        const error = failed.get(keyFor(context, path));
        if (error === undefined) {
          removed.push(path);
          now.delete(keyFor(context, path));
        } else
          problems.push({ path, message: `cannot delete ${path}: ${error.Code ?? 'error'}: ${error.Message ?? ''}` });
      }
    } catch (error) {
      throw context.fail(`delete ${batch.length} objects on ${context.displayName}`, error);
    }
  }
  const dirs = valid.filter((e) => e.kind === 'dir').sort((a, b) => b.path.length - a.path.length);
  for (const dir of dirs) {
    const marker = `${keyFor(context, dir.path)}/`;
    const inside = [...now.keys()].some((key) => key.startsWith(marker) && key !== marker);
    if (inside) {
      problems.push({ path: dir.path, message: `folder ${dir.path} is not empty on ${context.displayName}; kept` });
      continue;
    }
    try {
      if (now.has(marker)) await context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: marker }));
      now.delete(marker);
      removed.push(dir.path);
    } catch (error) {
      throw context.fail(`delete folder ${dir.path} on ${context.displayName}`, error);
    }
  }
  return { removed, problems };
}

/** The deepest folder that holds every one of `paths` ('' for the root). */
export function commonFolder(paths: readonly string[]): string {
  let common: string[] | undefined;
  for (const path of paths) {
    const folders = path.split('/').slice(0, -1);
    if (common === undefined) common = folders;
    else {
      let same = 0;
      while (same < common.length && same < folders.length && common[same] === folders[same]) same++;
      common.length = same;
    }
    if (common.length === 0) break;
  }
  return (common ?? []).join('/');
}

/** Server-side copy then delete; refuses when `to` exists or `from` is no longer the version the scan saw. */
export async function renameObject(context: S3Context, from: string, to: string, expected: Entry): Promise<void> {
  if (expected.kind !== 'file')
    throw new TetherError('bad-argument', `cannot rename ${from}: only files can be renamed on S3`);
  for (const path of [from, to]) {
    const reason = invalidPathReason(path);
    if (reason !== undefined) throw new TetherError('bad-argument', `cannot rename "${from}" to "${to}": ${reason}`);
  }
  const what = `rename ${from} to ${to} on ${context.displayName}`;
  try {
    await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: keyFor(context, to) }));
    throw new TetherError('transfer-failed', `cannot ${what}: ${to} already exists`);
  } catch (error) {
    if (error instanceof TetherError) throw error;
    if (!isNotFound(error)) throw context.fail(what, error);
  }
  const etag = context.known.get(from)?.etag;
  try {
    await context.client.send(
      new CopyObjectCommand({
        Bucket: context.bucket,
        Key: keyFor(context, to),
        CopySource: copySource(context, from),
        ...(etag === undefined ? {} : { CopySourceIfMatch: etag }),
        MetadataDirective: 'COPY',
      }),
    );
    await context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: keyFor(context, from) }));
  } catch (error) {
    if (isPreconditionFailed(error) || isNotFound(error)) {
      throw new TetherError('transfer-failed', `cannot ${what}: ${from} changed since the scan`, { cause: error });
    }
    throw context.fail(what, error);
  }
  const known = context.known.get(from);
  if (known !== undefined) context.known.set(to, known);
  context.known.delete(from);
}

/** `CopySource` is `bucket/key`, URL-encoded (keys may hold spaces, `+`, `%`, `#`, `?`, unicode). */
export function copySource(context: S3Context, path: string): string {
  return `${context.bucket}/${keyFor(context, path).split('/').map(encodeURIComponent).join('/')}`;
}

/** New mtime in place: a copy onto itself with replaced metadata (the content and its SHA-256 are kept). */
export async function updateMetadata(
  context: S3Context,
  items: readonly { path: string; entry: Entry; expected: Entry }[],
): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const item of checkPaths(items, problems)) {
    const etag = context.known.get(item.path)?.etag;
    const sha256 = item.expected.sha256 ?? item.entry.sha256;
    try {
      const answer = await context.client.send(
        new CopyObjectCommand({
          Bucket: context.bucket,
          Key: keyFor(context, item.path),
          CopySource: copySource(context, item.path),
          ...(etag === undefined ? {} : { CopySourceIfMatch: etag }),
          MetadataDirective: 'REPLACE',
          Metadata: metadataFor(item.entry, sha256),
        }),
      );
      const newEtag = answer.CopyObjectResult?.ETag;
      if (newEtag !== undefined) context.known.set(item.path, { etag: newEtag, size: item.expected.size });
    } catch (error) {
      if (isPreconditionFailed(error) || isNotFound(error)) {
        problems.push({
          path: item.path,
          message: `${item.path} changed on ${context.displayName} since the scan; mtime not set`,
        });
        continue;
      }
      const fatal = context.fail(`set the mtime of ${item.path}`, error);
      if (fatal.code !== 'transfer-failed') throw fatal;
      problems.push({ path: item.path, message: problemMessage(`cannot set the mtime of ${item.path}`, error) });
    }
  }
  return problems;
}

/**
 * Aborts abandoned multipart uploads: the journal's, and those Tether's markers claim that the journal no
 * longer knows (see uploadMarkers.ts); deletes the markers and stray partial objects.
 */
export async function removeTemporaryObjects(context: S3Context, paths: readonly string[]): Promise<void> {
  for (const path of new Set(paths)) {
    if (invalidPathReason(path) !== undefined) continue;
    const journalKey = `${UPLOAD_JOURNAL_PREFIX}${path}`;
    const record = readUploadRecord(context, journalKey);
    try {
      if (record !== undefined) {
        await abortUpload(context, record);
        context.journal?.delete(journalKey);
      }
      await abortClaimedUploads(context, path);
    } catch (error) {
      throw context.fail(`clean up ${path} on ${context.displayName}`, error);
    }
  }
}
