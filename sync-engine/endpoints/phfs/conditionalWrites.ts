import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PARTIAL_PREFIX } from '../../core/temporaries.js';
import type { WriteRequest } from '../endpoint.js';
import type { S3Context } from './context.js';
import { keyFor } from './context.js';
import { checkReplaces } from './objects.js';
import { isPreconditionFailed, s3FailureOf } from './s3Errors.js';

/**
 * Conditional writes: instead of a HEAD before each write (is the key still as the scan saw it?), the write
 * itself carries the condition and the store refuses it atomically: `If-None-Match: *` for a new key,
 * `If-Match: <etag the scan listed>` for a replacement. S3 has done this for PutObject and
 * CompleteMultipartUpload since 2024; many S3-compatible stores either reject the headers (501) or, worse,
 * ignore them and overwrite. So an endpoint probes its store once before relying on them
 * (`probeConditionalWrites`), and keeps the HEAD check when the store fails the probe.
 */

/** The condition a write of `request` carries: what the scan saw at its key. */
export type WriteCondition = { readonly IfNoneMatch: '*' } | { readonly IfMatch: string } | Record<string, never>;

export function conditionFor(context: S3Context, request: WriteRequest): WriteCondition {
  // Nothing was at the key when the scan ran: only a write that creates the key may go ahead.
  if (request.replaces === undefined) return { IfNoneMatch: '*' };
  // The scan saw a version: only that version may be replaced.
  const seen = context.known.get(request.path);
  if (seen !== undefined && seen.etag !== '') return { IfMatch: seen.etag };
  // Replacing what this endpoint never listed (no ETag to hold it to): as the HEAD check, no condition.
  return {};
}

/** Why a conditional write was refused, as a per-file problem; undefined when the error is something else. */
export function refusalOf(context: S3Context, request: WriteRequest, error: unknown): string | undefined {
  const failure = s3FailureOf(error);
  if (isPreconditionFailed(error)) {
    return request.replaces === undefined
      ? `${request.path} appeared on ${context.displayName} since the scan; not overwritten`
      : `${request.path} changed on ${context.displayName} since the scan; not overwritten`;
  }
  // S3 answers 409 when another conditional write to the same key is in progress.
  if (failure.status === 409 || failure.name === 'ConditionalRequestConflict') {
    return `${request.path} is being written by another client on ${context.displayName}; not overwritten (sync again later)`;
  }
  return undefined;
}

/**
 * An `If-Match` write whose object was deleted since the scan: S3 answers 404 NoSuchKey. The HEAD check let
 * such a write recreate the key, so it is sent again as a creation (`If-None-Match: *`).
 */
export function isDeletedSinceScan(condition: WriteCondition, error: unknown): boolean {
  const failure = s3FailureOf(error);
  return (
    'IfMatch' in condition &&
    (failure.name === 'NoSuchKey' ||
      (failure.status === 404 && failure.name !== 'NoSuchBucket' && failure.name !== 'NoSuchUpload'))
  );
}

/** An ETag the empty scratch object cannot have (its MD5 is d41d8cd9…): an `If-Match` with it must fail. */
const IMPOSSIBLE_ETAG = `"${'0'.repeat(32)}"`;

/**
 * Whether the store enforces `If-None-Match: *` and `If-Match` on PutObject, found by writing a scratch object
 * under an engine temporary name (`.tether-partial-<random>` at the root: scans report it as a temporary and
 * cleanup removes it if this process dies before it does): create it conditionally, then two writes that must
 * both be refused with 412. Any other outcome (501 NotImplemented, 400, a write that went through, an error)
 * means no: the store silently ignoring the headers is the case this exists for. The scratch object is deleted.
 */
export async function probeConditionalWrites(context: S3Context, signal?: AbortSignal): Promise<boolean> {
  const key = keyFor(context, `${PARTIAL_PREFIX}${randomBytes(8).toString('hex')}`);
  const options = signal === undefined ? {} : { abortSignal: signal };
  const put = (condition: WriteCondition): Promise<unknown> =>
    context.client.send(
      new PutObjectCommand({ Bucket: context.bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0, ...condition }),
      options,
    );
  const refused = async (condition: WriteCondition): Promise<boolean> => {
    try {
      await put(condition);
      return false;
    } catch (error) {
      if (signal?.aborted === true) throw error;
      return s3FailureOf(error).status === 412;
    }
  };
  try {
    await put({ IfNoneMatch: '*' });
    return (await refused({ IfNoneMatch: '*' })) && (await refused({ IfMatch: IMPOSSIBLE_ETAG }));
  } catch (error) {
    if (signal?.aborted === true) throw error;
    return false;
  } finally {
    // A refused creation may still have left something behind (a store that wrote then complained).
    await context.client.send(new DeleteObjectCommand({ Bucket: context.bucket, Key: key })).catch(() => undefined);
  }
}

/**
 * `probeConditionalWrites`, asked once per endpoint: the first write that needs the answer runs the probe and
 * every later one shares it. A probe that was cancelled is forgotten, so the next sync asks again.
 */
export function memoizedProbe(
  probe: (signal?: AbortSignal) => Promise<boolean>,
): (signal?: AbortSignal) => Promise<boolean> {
  let verdict: Promise<boolean> | undefined;
  return (signal) => {
    if (verdict === undefined) {
      const started = probe(signal);
      verdict = started;
      started.catch(() => {
        if (verdict === started) verdict = undefined;
      });
    }
    return verdict;
  };
}

/**
 * Runs `write` (a PutObject or CompleteMultipartUpload) so that it cannot overwrite what the scan did not see
 * at the key: with the scan's condition when the store enforces them, else after a HEAD check (`checkReplaces`,
 * which leaves a short window between check and write). A refusal is returned as the problem to report; other
 * errors are thrown.
 */
export async function writeUnlessChanged<T>(
  context: S3Context,
  request: WriteRequest,
  signal: AbortSignal | undefined,
  write: (condition: WriteCondition) => Promise<T>,
): Promise<{ readonly written: T } | { readonly refusal: string }> {
  if (!(await context.conditionalWrites(signal))) {
    const refusal = await checkReplaces(context, request);
    return refusal === undefined ? { written: await write({}) } : { refusal };
  }
  const condition = conditionFor(context, request);
  try {
    return { written: await write(condition) };
  } catch (error) {
    const refusal = refusalOf(context, request, error);
    if (refusal !== undefined) return { refusal };
    if (!isDeletedSinceScan(condition, error)) throw error;
  }
  // Deleted since the scan: writing it again is what the sync asked for, as long as nothing new is there.
  try {
    return { written: await write({ IfNoneMatch: '*' }) };
  } catch (error) {
    const refusal = refusalOf(context, request, error);
    if (refusal !== undefined) return { refusal };
    throw error;
  }
}
