import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Entry } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { IncomingFile, WriteHooks, WriteRequest } from '../endpoint.js';
import type { S3Context } from './context.js';
import { keyFor } from './context.js';
import { uploadMultipart } from './multipart.js';
import { ChunkReader, checkReplaces, metadataFor } from './objects.js';
import { problemMessage } from './s3Errors.js';

/** Writes each incoming file as one object (multipart from the threshold up). See `Endpoint.writeFiles`. */
export async function writeS3Files(
  context: S3Context,
  requests: readonly WriteRequest[],
  incoming: AsyncIterable<IncomingFile>,
  hooks: WriteHooks = {},
): Promise<void> {
  const byPath = new Map(requests.map((r) => [r.path, r]));
  for await (const file of incoming) {
    if (hooks.signal?.aborted === true) {
      file.stream.destroy();
      throw new TetherError('cancelled', `upload to ${context.displayName} cancelled`);
    }
    const request = byPath.get(file.path);
    const reason = invalidPathReason(file.path);
    if (request === undefined || reason !== undefined) {
      file.stream.destroy();
      hooks.onProblem?.({ path: file.path, message: reason ?? 'a file arrived that was not requested' });
      continue;
    }
    try {
      const refusal = await checkReplaces(context, request);
      if (refusal !== undefined) {
        file.stream.destroy();
        hooks.onProblem?.({ path: request.path, message: refusal });
        continue;
      }
      const written =
        request.entry.size >= context.multipartThreshold
          ? await uploadMultipart(context, request, file, hooks)
          : await uploadWhole(context, request, file, hooks);
      if (written !== undefined) hooks.onFileDone?.(request, written);
    } catch (error) {
      file.stream.destroy();
      const fatal = fatalOf(context, error, request.path, hooks.signal);
      if (fatal !== undefined) throw fatal;
      hooks.onProblem?.({ path: request.path, message: problemMessage(`cannot upload ${request.path}`, error) });
    }
  }
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

/** A small file: read whole (it is below the multipart threshold), hashed, and sent in one retryable PUT. */
async function uploadWhole(
  context: S3Context,
  request: WriteRequest,
  file: IncomingFile,
  hooks: WriteHooks,
): Promise<Entry | undefined> {
  const hash = createHash('sha256');
  const reader = new ChunkReader(file.stream, hash, (bytes) => hooks.onBytes?.(bytes));
  const body = await reader.read(request.entry.size);
  if (body.length !== request.entry.size || !(await reader.atEnd())) {
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
  await context.client.send(
    new PutObjectCommand({
      Bucket: context.bucket,
      Key: keyFor(context, request.path),
      Body: body,
      ContentLength: body.length,
      Metadata: metadataFor(request.entry, sha256),
    }),
    hooks.signal === undefined ? {} : { abortSignal: hooks.signal },
  );
  return { ...request.entry, executable: false, sha256 };
}
