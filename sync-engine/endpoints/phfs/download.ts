import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Entry, Problem } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import type { HashResult, IncomingFile, ReadOptions } from '../endpoint.js';
import type { S3Context } from './context.js';
import { keyFor } from './context.js';
import { isNotFound, isPreconditionFailed, problemMessage, s3FailureOf } from './s3Errors.js';

/** The object is not the version the scan listed; that file fails, the others go on. */
class ObjectChanged extends Error {}

/** A stream that fails at once with `message` (a file that vanished or changed since the scan). */
function failedStream(message: string): Readable {
  const stream = new Readable({ read() {} });
  process.nextTick(() => stream.destroy(new Error(message)));
  return stream;
}

/** Fails the stream at its end when the content does not hash to `sha256` (whole objects only). */
class Sha256Check extends Transform {
  private readonly hash = createHash('sha256');
  constructor(
    private readonly sha256: string,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    callback(actual === this.sha256 ? null : new Error(`${this.what} does not match its stored SHA-256; not kept`));
  }
}

async function openObject(
  context: S3Context,
  path: string,
  expected: { size: number; sha256?: string | undefined },
  offset: number,
  signal: AbortSignal | undefined,
): Promise<Readable> {
  const etag = context.known.get(path)?.etag;
  const answer = await context.client.send(
    new GetObjectCommand({
      Bucket: context.bucket,
      Key: keyFor(context, path),
      ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
      ...(etag === undefined ? {} : { IfMatch: etag }),
    }),
    signal === undefined ? {} : { abortSignal: signal },
  );
  const body = answer.Body;
  if (!(body instanceof Readable)) throw new Error('the S3 client returned a body that is not a Node stream');
  // Not every store honours If-Match (s3rver ignores it), so the answer's ETag is checked too.
  const changedEtag = etag !== undefined && answer.ETag !== undefined && answer.ETag !== etag;
  if (changedEtag || (answer.ContentLength !== undefined && answer.ContentLength !== expected.size - offset)) {
    body.destroy();
    throw new ObjectChanged(`${path} changed on ${context.displayName} since the scan`);
  }
  if (offset === 0 && expected.sha256 !== undefined) {
    const check = new Sha256Check(expected.sha256, path);
    body.on('error', (error) => check.destroy(error));
    return body.pipe(check);
  }
  return body;
}

/** Client errors about one object (not access, not the server): that file fails, the others go on. */
function isPerFile(error: unknown): boolean {
  const { status } = s3FailureOf(error);
  return status !== undefined && status < 500 && status !== 403;
}

/** Streams objects in order; a vanished or changed object yields a failing stream. See `Endpoint.readFiles`. */
export async function* readS3Files(
  context: S3Context,
  requests: readonly { path: string; entry: Entry; offset: number }[],
  options: ReadOptions = {},
): AsyncIterable<IncomingFile> {
  for (const request of requests) {
    const reason = invalidPathReason(request.path);
    let stream: Readable;
    if (reason !== undefined) stream = failedStream(`cannot read "${request.path}": ${reason}`);
    else {
      try {
        stream = await openObject(context, request.path, request.entry, request.offset, options.signal);
      } catch (error) {
        if (error instanceof ObjectChanged) stream = failedStream(error.message);
        else if (isNotFound(error))
          stream = failedStream(`${request.path} vanished from ${context.displayName} since the scan`);
        else if (isPreconditionFailed(error))
          stream = failedStream(`${request.path} changed on ${context.displayName} since the scan`);
        else if (isPerFile(error)) stream = failedStream(problemMessage(`cannot download ${request.path}`, error));
        else throw context.fail(`download ${request.path} from ${context.displayName}`, error);
      }
    }
    yield { path: request.path, entry: request.entry, offset: request.offset, stream };
  }
}

/**
 * SHA-256 of objects: from `x-amz-meta-sha256` when the scan found it (no download), else by streaming the
 * object; what that cost is returned in `downloaded` (and passed to `onStreamed`).
 */
export async function hashS3Objects(
  context: S3Context,
  entries: readonly Entry[],
  stored: ReadonlyMap<string, string>,
  options: ReadOptions,
  onStreamed: (bytes: number) => void,
): Promise<HashResult> {
  const hashes = new Map<string, string>();
  const problems: Problem[] = [];
  const downloaded = { bytes: 0, files: 0 };
  for (const entry of entries) {
    const known = stored.get(entry.path);
    if (known !== undefined) {
      hashes.set(entry.path, known);
      continue;
    }
    try {
      const body = await openObject(context, entry.path, { size: entry.size }, 0, options.signal);
      const hash = createHash('sha256');
      let bytes = 0;
      await pipeline(body, async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
        }
        yield* [];
      });
      onStreamed(bytes);
      downloaded.bytes += bytes;
      downloaded.files += 1;
      hashes.set(entry.path, hash.digest('hex'));
    } catch (error) {
      if (isNotFound(error) || isPreconditionFailed(error) || error instanceof ObjectChanged) {
        problems.push({
          path: entry.path,
          message: `${entry.path} vanished or changed on ${context.displayName} while hashing`,
        });
      } else if (options.signal?.aborted === true) throw context.fail(`hash ${entry.path}`, error);
      else problems.push({ path: entry.path, message: problemMessage(`cannot hash ${entry.path}`, error) });
    }
  }
  return { hashes, problems, ...(downloaded.files > 0 ? { downloaded } : {}) };
}
