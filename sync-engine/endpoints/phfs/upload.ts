import { createHash } from 'node:crypto';
import { getMaxListeners, setMaxListeners } from 'node:events';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Entry } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { IncomingFile, WriteHooks, WriteRequest } from '../endpoint.js';
import type { S3Context } from './context.js';
import { keyFor } from './context.js';
import { uploadMultipart } from './multipart.js';
import { writeUnlessChanged } from './conditionalWrites.js';
import { ChunkReader, checkReplaces, metadataFor } from './objects.js';
import { problemMessage } from './s3Errors.js';
import { recordWritten } from './scan.js';
import type { WrittenObject } from './scan.js';

/** Small uploads of one `writeFiles` call in flight at once, and the bytes their bodies may hold in memory. */
export const SMALL_UPLOADS_IN_FLIGHT = 8;
const SMALL_UPLOAD_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** Listeners a write batch may put on its abort signal: its requests in flight, parts and reads included. */
const SIGNAL_LISTENERS = 64;

/**
 * Writes each incoming file as one object (multipart from the threshold up). See `Endpoint.writeFiles`.
 * Small files are read in order (each stream is consumed before the next is asked for), then sent while the
 * next ones are read: up to `SMALL_UPLOADS_IN_FLIGHT` requests (and 16 MiB of bodies) at once, since each costs
 * a round trip or two (HEAD for the replace check, PUT) that would otherwise be waited out one by one.
 */
export async function writeS3Files(
  context: S3Context,
  requests: readonly WriteRequest[],
  incoming: AsyncIterable<IncomingFile>,
  hooks: WriteHooks = {},
): Promise<void> {
  // What each write gave its object, for the next scan (no HEAD for the objects just written; see scan.ts).
  const written: WrittenObject[] = [];
  try {
    await writeAll(context, requests, incoming, { ...hooks, onObjectWritten: (object) => written.push(object) });
  } finally {
    recordWritten(context.journal, written);
  }
}

type UploadHooks = WriteHooks & { readonly onObjectWritten: (object: WrittenObject) => void };

async function writeAll(
  context: S3Context,
  requests: readonly WriteRequest[],
  incoming: AsyncIterable<IncomingFile>,
  hooks: UploadHooks,
): Promise<void> {
  const byPath = new Map(requests.map((r) => [r.path, r]));
  // Every request in flight listens on the signal (the SDK removes its listener when the request ends); past
  // Node's default of 10, Node would print a leak warning on the user's terminal.
  if (hooks.signal !== undefined && getMaxListeners(hooks.signal) < SIGNAL_LISTENERS) {
    setMaxListeners(SIGNAL_LISTENERS, hooks.signal);
  }
  const inFlight = new Set<Promise<void>>();
  let bytesInFlight = 0;
  let fatal: TetherError | undefined;
  const settle = async (): Promise<void> => {
    await Promise.all(inFlight);
    if (fatal !== undefined) throw fatal;
  };
  for await (const file of incoming) {
    if (fatal !== undefined) {
      file.stream.destroy();
      break;
    }
    if (hooks.signal?.aborted === true) {
      file.stream.destroy();
      await Promise.allSettled(inFlight);
      throw new TetherError('cancelled', `upload to ${context.displayName} cancelled`);
    }
    const request = byPath.get(file.path);
    const reason = invalidPathReason(file.path);
    if (request === undefined || reason !== undefined) {
      file.stream.destroy();
      hooks.onProblem?.({ path: file.path, message: reason ?? 'a file arrived that was not requested' });
      continue;
    }
    if (request.entry.size >= context.multipartThreshold) {
      // Large files go alone (their parts are already parallel), after the small ones before them.
      await settle();
      try {
        const refusal = await checkReplaces(context, request);
        if (refusal !== undefined) {
          file.stream.destroy();
          hooks.onProblem?.({ path: request.path, message: refusal });
          continue;
        }
        const written = await uploadMultipart(context, request, file, hooks);
        if (written !== undefined) hooks.onFileDone?.(request, written);
      } catch (error) {
        file.stream.destroy();
        const fatalError = fatalOf(context, error, request.path, hooks.signal);
        if (fatalError !== undefined) throw fatalError;
        hooks.onProblem?.({ path: request.path, message: problemMessage(`cannot upload ${request.path}`, error) });
      }
      continue;
    }
    let body: { data: Buffer; sha256: string } | undefined;
    try {
      body = await readWhole(request, file, hooks);
    } catch (error) {
      file.stream.destroy();
      const fatalError = fatalOf(context, error, request.path, hooks.signal);
      if (fatalError !== undefined) fatal ??= fatalError;
      else hooks.onProblem?.({ path: request.path, message: problemMessage(`cannot upload ${request.path}`, error) });
      continue;
    }
    if (body === undefined) continue;
    const size = body.data.length;
    bytesInFlight += size;
    const task: Promise<void> = sendWhole(context, request, body, hooks).then(
      (written) => {
        if (written !== undefined) hooks.onFileDone?.(request, written);
      },
      (error: unknown) => {
        const fatalError = fatalOf(context, error, request.path, hooks.signal);
        if (fatalError !== undefined) fatal ??= fatalError;
        else hooks.onProblem?.({ path: request.path, message: problemMessage(`cannot upload ${request.path}`, error) });
      },
    );
    const tracked: Promise<void> = task.finally(() => {
      inFlight.delete(tracked);
      bytesInFlight -= size;
    });
    inFlight.add(tracked);
    while (inFlight.size >= SMALL_UPLOADS_IN_FLIGHT || bytesInFlight >= SMALL_UPLOAD_BYTES_IN_FLIGHT) {
      await Promise.race(inFlight);
    }
  }
  await settle();
}

/**
 * SigV4 signs the SHA-256 of the body (`x-amz-content-sha256`), which the SDK computes by hashing the body
 * again before every attempt; Tether already has it (the `x-amz-meta-sha256` it writes), so it sets the header
 * and the signer uses it. S3 still checks it against the bytes it receives.
 */
export function withPayloadHash<C extends { middlewareStack: PutObjectCommand['middlewareStack'] }>(
  command: C,
  sha256: string,
): C {
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if (request?.headers !== undefined) request.headers['x-amz-content-sha256'] = sha256;
      return next(args);
    },
    { step: 'build', name: 'tetherPayloadHash' },
  );
  return command;
}

/** Errors that end the whole batch: cancellation and a lost or refusing server; the rest are per-file. */
export function fatalOf(
  context: S3Context,
  error: unknown,
  path: string,
  signal: AbortSignal | undefined,
): TetherError | undefined {
  if (signal?.aborted === true) return new TetherError('cancelled', `upload to ${context.displayName} cancelled`);
  const mapped = context.fail(`upload ${path} to ${context.displayName}`, error);
  if (mapped.code === 'remote-unreachable' || mapped.code === 'permission-denied' || mapped.code === 'not-found') {
    return mapped;
  }
  if (error instanceof TetherError && error.code !== 'transfer-failed') return error;
  return undefined;
}

/** A small file, read whole (it is below the multipart threshold) and hashed; undefined when it changed. */
async function readWhole(
  request: WriteRequest,
  file: IncomingFile,
  hooks: WriteHooks,
): Promise<{ data: Buffer; sha256: string } | undefined> {
  const hash = createHash('sha256');
  const reader = new ChunkReader(file.stream, hash, (bytes) => hooks.onBytes?.(bytes));
  const data = await reader.read(request.entry.size);
  if (data.length !== request.entry.size || !(await reader.atEnd())) {
    file.stream.destroy();
    hooks.onProblem?.({
      path: request.path,
      message: `${request.path} changed while it was read (expected ${request.entry.size} bytes); try again`,
    });
    return undefined;
  }
  const sha256 = hash.digest('hex');
  if (request.verifySha256 !== undefined && request.verifySha256 !== sha256) {
    hooks.onProblem?.({
      path: request.path,
      message: `${request.path} did not match its SHA-256 on arrival; not uploaded`,
    });
    return undefined;
  }
  return { data, sha256 };
}

/**
 * Sends a small file in one retryable PUT that may not overwrite anything the scan did not see at its key (a
 * conditional PUT where the store enforces them, else a HEAD check first; see `writeUnlessChanged`).
 */
async function sendWhole(
  context: S3Context,
  request: WriteRequest,
  body: { data: Buffer; sha256: string },
  hooks: UploadHooks,
): Promise<Entry | undefined> {
  const outcome = await writeUnlessChanged(context, request, hooks.signal, (condition) => {
    const command = new PutObjectCommand({
      Bucket: context.bucket,
      Key: keyFor(context, request.path),
      Body: body.data,
      ContentLength: body.data.length,
      Metadata: metadataFor(request.entry, body.sha256),
      ...condition,
    });
    return context.client.send(
      withPayloadHash(command, body.sha256),
      hooks.signal === undefined ? {} : { abortSignal: hooks.signal },
    );
  });
  if ('refusal' in outcome) {
    hooks.onProblem?.({ path: request.path, message: outcome.refusal });
    return undefined;
  }
  const { ETag: etag } = outcome.written;
  if (etag !== undefined && etag !== '') {
    hooks.onObjectWritten({
      key: keyFor(context, request.path),
      etag,
      size: body.data.length,
      metadata: metadataFor(request.entry, body.sha256),
    });
  }
  return { ...request.entry, executable: false, sha256: body.sha256 };
}
