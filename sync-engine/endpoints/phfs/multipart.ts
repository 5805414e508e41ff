import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Entry } from '../../core/entry.js';
import { partialPathFor } from '../../core/temporaries.js';
import type { IncomingFile, WriteHooks, WriteRequest } from '../endpoint.js';
import type { S3Context } from './context.js';
import { keyFor, partSizeFor } from './context.js';
import { s3FailureOf } from './s3Errors.js';
import { writeUnlessChanged } from './conditionalWrites.js';
import type { WrittenObject } from './scan.js';
import { ChunkReader, metadataFor } from './objects.js';
import { abortClaimedUploads, deleteMarker, putUploadMarker } from './uploadMarkers.js';

/**
 * Multipart uploads that survive restarts. The upload id and every finished part are written to the pair's
 * transfer journal as they happen (`s3-upload:<partial path>`), so a fresh process asked to write the same
 * version of the file (`partialOffset`) continues after the last finished part instead of sending it again.
 * The upload stays invisible until `CompleteMultipartUpload`, which makes the object appear whole.
 */
export const UPLOAD_JOURNAL_PREFIX = 's3-upload:';

export interface UploadRecord {
  readonly key: string;
  readonly uploadId: string;
  readonly partSize: number;
  readonly size: number;
  /**
   * Finished chunks: `n` is the chunk (1-based), `pn` the part number it went up as (absent: `n`). A resumed
   * upload never reuses a part number that may have been in flight when the process died (a store could
   * still be writing that dying request), so numbers come from `nextPart`, persisted before each part is sent.
   */
  readonly parts: { readonly n: number; readonly pn?: number; readonly etag: string }[];
  readonly nextPart?: number;
}

/** S3 numbers parts 1 to 10,000. */
const MAX_PART_NUMBER = 10_000;

function isUploadRecord(value: unknown): value is UploadRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.key === 'string' &&
    typeof v.uploadId === 'string' &&
    typeof v.partSize === 'number' &&
    typeof v.size === 'number' &&
    Array.isArray(v.parts)
  );
}

export function journalKeyFor(path: string, entry: Entry): string {
  return `${UPLOAD_JOURNAL_PREFIX}${partialPathFor(path, entry)}`;
}

/** Stores that do not implement an operation (s3rver has no ListParts; the lab adds the abort) answer so. */
function isUnsupported(error: unknown): boolean {
  const failure = s3FailureOf(error);
  return (
    failure.status === 405 ||
    failure.status === 501 ||
    failure.name === 'MethodNotAllowed' ||
    failure.name === 'NotImplemented'
  );
}

export function readUploadRecord(context: S3Context, journalKey: string): UploadRecord | undefined {
  const value = context.journal?.get(journalKey);
  return isUploadRecord(value) ? value : undefined;
}

/** Bytes covered by parts 1..k that are all finished (the stream resumes after them). */
export function contiguousBytes(record: UploadRecord): number {
  const done = new Set(record.parts.map((p) => p.n));
  let k = 0;
  while (done.has(k + 1)) k++;
  return Math.min(k * record.partSize, record.size);
}

/**
 * The resume point of an interrupted upload of exactly this version: the journal's parts that the server
 * still holds (ListParts is the authority). 0 when there is none or the server forgot the upload.
 */
export async function multipartOffset(context: S3Context, path: string, entry: Entry): Promise<number> {
  const journalKey = journalKeyFor(path, entry);
  const record = readUploadRecord(context, journalKey);
  if (record === undefined) return 0;
  const held = new Map<number, string>();
  try {
    let marker: string | undefined;
    do {
      const page = await context.client.send(
        new ListPartsCommand({
          Bucket: context.bucket,
          Key: record.key,
          UploadId: record.uploadId,
          ...(marker === undefined ? {} : { PartNumberMarker: marker }),
        }),
      );
      for (const part of page.Parts ?? []) {
        if (part.PartNumber !== undefined && part.ETag !== undefined) held.set(part.PartNumber, part.ETag);
      }
      marker = page.IsTruncated === true ? page.NextPartNumberMarker : undefined;
    } while (marker !== undefined);
  } catch (error) {
    const failure = s3FailureOf(error);
    if (failure.name === 'NoSuchUpload' || failure.status === 404) {
      context.journal?.delete(journalKey);
      return 0;
    }
    // Without ListParts the journal is the only record; a part it lists was acknowledged by the server.
    if (isUnsupported(error)) return contiguousBytes(record);
    throw error;
  }
  const parts = record.parts.filter((p) => held.get(p.pn ?? p.n) === p.etag);
  const kept: UploadRecord = { ...record, parts };
  context.journal?.put(journalKey, kept);
  return contiguousBytes(kept);
}

export async function abortUpload(context: S3Context, record: UploadRecord): Promise<void> {
  try {
    await context.client.send(
      new AbortMultipartUploadCommand({ Bucket: context.bucket, Key: record.key, UploadId: record.uploadId }),
    );
  } catch (error) {
    const failure = s3FailureOf(error);
    // Gone already, or a store that cannot abort (its parts expire by its own rules): nothing more to do here.
    if (failure.name !== 'NoSuchUpload' && failure.status !== 404 && !isUnsupported(error)) throw error;
  }
}

/** Uploads `file` in parts, `partConcurrency` at a time, from `request.offset` when resuming. */
export async function uploadMultipart(
  context: S3Context,
  request: WriteRequest,
  file: IncomingFile,
  hooks: WriteHooks & { onObjectWritten?: (object: WrittenObject) => void },
): Promise<Entry | undefined> {
  const { entry } = request;
  const key = keyFor(context, request.path);
  const journalKey = journalKeyFor(request.path, entry);
  let record = readUploadRecord(context, journalKey);
  const resumeAt = file.offset;
  if (record !== undefined && (resumeAt === 0 || contiguousBytes(record) !== resumeAt || record.key !== key)) {
    await abortUpload(context, record);
    context.journal?.delete(journalKey);
    record = undefined;
  }
  if (record === undefined && resumeAt !== 0) {
    file.stream.destroy();
    hooks.onProblem?.({
      path: request.path,
      message: `no interrupted upload of ${request.path} to resume; retry the sync`,
    });
    return undefined;
  }
  const signalOption = hooks.signal === undefined ? {} : { abortSignal: hooks.signal };
  const markerPath = partialPathFor(request.path, entry);
  if (record === undefined) {
    // An upload of this version that the journal does not know (journal lost, or a crash before the id was
    // saved) can never resume: abort it before starting afresh, and mark the new one as Tether's.
    await abortClaimedUploads(context, markerPath);
    await putUploadMarker(context, markerPath, request.path, undefined, signalOption);
    const created = await context.client.send(
      new CreateMultipartUploadCommand({
        Bucket: context.bucket,
        Key: key,
        Metadata: metadataFor(entry, entry.sha256),
      }),
      signalOption,
    );
    if (created.UploadId === undefined) throw new Error('the server returned no UploadId');
    record = {
      key,
      uploadId: created.UploadId,
      partSize: partSizeFor(entry.size, context.minPartSize),
      size: entry.size,
      parts: [],
    };
    context.journal?.put(journalKey, record);
    await putUploadMarker(context, markerPath, request.path, record.uploadId, signalOption);
  }
  const { uploadId, partSize } = record;
  const firstChunk = Math.floor(resumeAt / partSize) + 1;
  // Chunks from `firstChunk` on are sent (again) under fresh part numbers; what the journal says of them is stale.
  const parts = new Map(
    record.parts.filter((p) => p.n < firstChunk).map((p) => [p.n, { pn: p.pn ?? p.n, etag: p.etag }]),
  );
  let nextPart = Math.max(record.nextPart ?? 1, ...[...parts.values()].map((p) => p.pn + 1));
  // The whole content's hash is known only when every byte passes through this process.
  const hash = resumeAt === 0 ? createHash('sha256') : undefined;
  // Part buffers are reused once their part is up: memory stays at partConcurrency + 1 parts, where buffers
  // left for the garbage collector made the peak grow by a part or more per part in flight.
  const spare: Buffer[] = [];
  const ours = new WeakSet<ArrayBufferLike>();
  const allocate = (size: number): Buffer => {
    const reused = spare.pop();
    if (reused !== undefined && reused.length >= size) return reused;
    const made = Buffer.allocUnsafeSlow(Math.max(size, partSize));
    ours.add(made.buffer);
    return made;
  };
  const reader = new ChunkReader(file.stream, hash, (bytes) => hooks.onBytes?.(bytes), allocate);
  const totalParts = Math.max(1, Math.ceil(entry.size / partSize));
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  const save = (): void => {
    const list = [...parts].map(([n, p]) => ({ n, pn: p.pn, etag: p.etag })).sort((a, b) => a.n - b.n);
    context.journal?.put(journalKey, { ...record, parts: list, nextPart });
  };
  if (nextPart + (totalParts - firstChunk) > MAX_PART_NUMBER) {
    await abortUpload(context, record);
    context.journal?.delete(journalKey);
    await deleteMarker(context, markerPath);
    throw new Error(`${request.path}: the interrupted upload has used up its part numbers; it starts over next time`);
  }
  try {
    for (let n = firstChunk; n <= totalParts; n++) {
      const expected = n === totalParts ? entry.size - (n - 1) * partSize : partSize;
      // Read (and hash) this part while the ones in flight go up, then wait for a free slot: the store is
      // never left waiting for the next part to be read.
      const body = await reader.read(expected);
      if (body.length !== expected) throw new Error(`${request.path} ended early (part ${n} of ${totalParts} short)`);
      while (inFlight.size >= context.partConcurrency) await Promise.race(inFlight);
      if (failure !== undefined) throw failure;
      const pn = nextPart++;
      save();
      const task = context.client
        .send(
          new UploadPartCommand({
            Bucket: context.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: pn,
            Body: body,
            ContentLength: body.length,
          }),
          signalOption,
        )
        .then((answer) => {
          if (answer.ETag === undefined) throw new Error(`the server returned no ETag for part ${n}`);
          parts.set(n, { pn, etag: answer.ETag });
          save();
          // The part is stored: its whole body went out, and the SDK is done with it (retries included).
          if (ours.has(body.buffer)) spare.push(Buffer.from(body.buffer));
        });
      const tracked: Promise<void> = task.then(
        () => void inFlight.delete(tracked),
        (error: unknown) => {
          inFlight.delete(tracked);
          failure ??= error instanceof Error ? error : new Error(String(error));
        },
      );
      inFlight.add(tracked);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    if (!(await reader.atEnd())) throw new Error(`${request.path} grew while it was read; try again`);
  } catch (error) {
    await Promise.allSettled(inFlight);
    // Finished parts stay recorded for a later resume; without a journal nothing could resume, so abort.
    if (context.journal === undefined) {
      await abortUpload(context, record).catch(() => undefined);
      await deleteMarker(context, markerPath).catch(() => undefined);
    }
    throw error;
  }
  const sha256 = hash?.digest('hex');
  if (request.verifySha256 !== undefined && sha256 !== undefined && sha256 !== request.verifySha256) {
    await abortUpload(context, record);
    context.journal?.delete(journalKey);
    await deleteMarker(context, markerPath);
    hooks.onProblem?.({
      path: request.path,
      message: `${request.path} did not match its SHA-256 on arrival; not uploaded`,
    });
    return undefined;
  }
  const outcome = await writeUnlessChanged(context, request, hooks.signal, (condition) =>
    context.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: context.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [...parts].sort((a, b) => a[0] - b[0]).map(([, p]) => ({ PartNumber: p.pn, ETag: p.etag })),
        },
        ...condition,
      }),
      signalOption,
    ),
  );
  if ('refusal' in outcome) {
    await abortUpload(context, record);
    context.journal?.delete(journalKey);
    await deleteMarker(context, markerPath);
    hooks.onProblem?.({ path: request.path, message: outcome.refusal });
    return undefined;
  }
  const completed = outcome.written;
  context.journal?.delete(journalKey);
  await deleteMarker(context, markerPath);
  let etag = completed.ETag;
  let recorded = entry.sha256;
  if (entry.sha256 === undefined && sha256 !== undefined) {
    const copied = await recordSha256(context, key, entry, sha256, completed.ETag, signalOption);
    if (copied !== undefined) {
      etag = copied === '' ? undefined : copied;
      recorded = sha256;
    }
  }
  if (etag !== undefined) {
    hooks.onObjectWritten?.({ key, etag, size: entry.size, metadata: metadataFor(entry, recorded) });
  }
  const known = entry.sha256 ?? sha256;
  return { ...entry, executable: false, ...(known === undefined ? {} : { sha256: known }) };
}

/** CopyObject copies at most 5 GiB in one request; larger objects would need a whole multipart copy. */
export const MAX_SINGLE_COPY = 5 * 1024 * 1024 * 1024;

/**
 * Writes `x-amz-meta-sha256` on an object just completed whose hash was only known at its end (computed while
 * streaming). S3 metadata cannot change after completion except by a copy onto itself (`REPLACE`), done on the
 * server (no byte travels through Tether) and atomic for readers; `CopySourceIfMatch` makes sure it is still
 * the object just written. The alternative, hashing the local file before the upload starts, reads every large
 * file twice on every push. Above 5 GiB (a multipart copy of the whole object) and when the copy fails, the
 * metadata is left out: the object is complete and correct, this pair keeps the hash in its own cache, and only
 * other clients' strict mode has to stream it once. Returns the object's new ETag when the metadata was
 * written (an empty string if the store did not say it), else undefined.
 */
export async function recordSha256(
  context: S3Context,
  key: string,
  entry: Entry,
  sha256: string,
  etag: string | undefined,
  options: { abortSignal?: AbortSignal },
): Promise<string | undefined> {
  if (entry.size > MAX_SINGLE_COPY) return undefined;
  try {
    const copied = await context.client.send(
      new CopyObjectCommand({
        Bucket: context.bucket,
        Key: key,
        CopySource: `${context.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
        ...(etag === undefined ? {} : { CopySourceIfMatch: etag }),
        MetadataDirective: 'REPLACE',
        Metadata: metadataFor(entry, sha256),
      }),
      options,
    );
    return copied.CopyObjectResult?.ETag ?? '';
  } catch (error) {
    if (options.abortSignal?.aborted === true) throw error;
    return undefined;
  }
}
