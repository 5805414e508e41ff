import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { baseName } from '../../core/entry.js';
import type { S3Context } from './context.js';
import { keyFor } from './context.js';
import { isNotFound, s3FailureOf } from './s3Errors.js';

/**
 * Which pending multipart uploads are Tether's. S3 cannot say: ListMultipartUploads gives key, upload id and
 * start time, never the metadata or tags given at creation. So before it starts a multipart upload, Tether
 * writes a zero-byte marker object under the engine's partial name beside the target
 * (`dir/.tether-partial-<version>`, which every Tether scan reports as a temporary and other tools show as a
 * small hidden file while the upload runs), naming the target; once the upload exists, the marker is rewritten
 * with its id. The marker goes when the upload completes or is aborted.
 *
 * An upload is Tether's, and may be aborted once no transfer resumes it, only if a marker claims it: by id,
 * or (when the process died between creating the upload and recording its id) by target key and a start no
 * earlier than the marker's own. Uploads other tools started under the same prefix are never touched, even
 * abandoned ones: without Tether's marker they are not Tether's to judge.
 */
export const META_UPLOAD_TARGET = 'tether-upload-target';
export const META_UPLOAD_ID = 'tether-upload-id';

/** Last-Modified is in whole seconds (rounded down, which is safe); this allows for a store whose nodes disagree a little. */
const START_SLACK_MS = 1000;

export interface UploadClaim {
  /** The full key of the object being uploaded. */
  readonly key: string;
  readonly uploadId?: string;
  /** When the marker was written (server time): a claimed upload cannot have started before. */
  readonly since: number;
}

/** Writes (or rewrites) the marker for an upload of `path` into the partial name `markerPath`. */
export async function putUploadMarker(
  context: S3Context,
  markerPath: string,
  path: string,
  uploadId: string | undefined,
  options: { abortSignal?: AbortSignal },
): Promise<void> {
  await context.client.send(
    new PutObjectCommand({
      Bucket: context.bucket,
      Key: keyFor(context, markerPath),
      Body: Buffer.alloc(0),
      ContentLength: 0,
      // The target's base name only (its folder is the marker's), percent-encoded: metadata must be ASCII.
      Metadata: {
        [META_UPLOAD_TARGET]: encodeURIComponent(baseName(path)),
        ...(uploadId === undefined ? {} : { [META_UPLOAD_ID]: uploadId }),
      },
    }),
    options,
  );
}

/** What the marker at `markerPath` claims; undefined when there is none (or the object is not a marker). */
export async function readUploadClaim(context: S3Context, markerPath: string): Promise<UploadClaim | undefined> {
  let head;
  try {
    head = await context.client.send(
      new HeadObjectCommand({ Bucket: context.bucket, Key: keyFor(context, markerPath) }),
    );
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const target = head.Metadata?.[META_UPLOAD_TARGET];
  if (target === undefined) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(target);
  } catch {
    return undefined;
  }
  if (name === '' || name.includes('/')) return undefined;
  const slash = markerPath.lastIndexOf('/');
  const path = slash === -1 ? name : `${markerPath.slice(0, slash)}/${name}`;
  const uploadId = head.Metadata?.[META_UPLOAD_ID];
  return {
    key: keyFor(context, path),
    ...(uploadId === undefined || uploadId === '' ? {} : { uploadId }),
    since: head.LastModified?.getTime() ?? 0,
  };
}

export interface PendingUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly initiated: number;
}

/** Pending multipart uploads whose key starts with `prefix` (every page). */
export async function listPendingUploads(context: S3Context, prefix: string): Promise<PendingUpload[]> {
  const uploads: PendingUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await context.client.send(
      new ListMultipartUploadsCommand({
        Bucket: context.bucket,
        Prefix: prefix,
        ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
        ...(uploadIdMarker === undefined ? {} : { UploadIdMarker: uploadIdMarker }),
      }),
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === undefined || upload.UploadId === undefined) continue;
      uploads.push({ key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated?.getTime() ?? 0 });
    }
    if (page.IsTruncated !== true || (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined)) {
      return uploads;
    }
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/** The uploads a claim covers (pure; see the module comment for the rule). */
export function claimedUploads(claim: UploadClaim, pending: readonly PendingUpload[]): PendingUpload[] {
  return pending.filter(
    (upload) =>
      upload.key === claim.key &&
      (claim.uploadId === undefined
        ? upload.initiated >= claim.since - START_SLACK_MS
        : upload.uploadId === claim.uploadId),
  );
}

function isUnsupported(error: unknown): boolean {
  const failure = s3FailureOf(error);
  return (
    failure.status === 405 ||
    failure.status === 501 ||
    failure.name === 'MethodNotAllowed' ||
    failure.name === 'NotImplemented'
  );
}

/**
 * Aborts the pending uploads the marker at `markerPath` claims, then deletes the marker. Returns the upload ids
 * aborted. A store without ListMultipartUploads leaves them to its own expiry rules. Not a marker: the object
 * (a stray partial object) is simply deleted.
 */
export async function abortClaimedUploads(context: S3Context, markerPath: string): Promise<string[]> {
  const claim = await readUploadClaim(context, markerPath);
  const aborted: string[] = [];
  if (claim !== undefined) {
    let pending: PendingUpload[] = [];
    try {
      pending = await listPendingUploads(context, claim.key);
    } catch (error) {
      if (!isUnsupported(error)) throw error;
    }
    for (const upload of claimedUploads(claim, pending)) {
      try {
        await context.client.send(
          new AbortMultipartUploadCommand({ Bucket: context.bucket, Key: upload.key, UploadId: upload.uploadId }),
        );
        aborted.push(upload.uploadId);
      } catch (error) {
        const failure = s3FailureOf(error);
        if (failure.name !== 'NoSuchUpload' && failure.status !== 404) throw error;
      }
    }
  }
  await deleteMarker(context, markerPath);
  return aborted;
}

export async function deleteMarker(context: S3Context, markerPath: string): Promise<void> {
  try {
    await context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: keyFor(context, markerPath) }));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
