import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { Entry } from '../../core/entry.js';
import type { WriteRequest } from '../endpoint.js';
import type { S3Context } from './context.js';
import { keyFor } from './context.js';
import { META_MTIME, META_SHA256, formatMtime } from './listing.js';
import { isNotFound } from './s3Errors.js';

/** Reads a stream in pieces of exactly `size` bytes (the last one shorter), hashing as it goes. */
export class ChunkReader {
  private readonly iterator: AsyncIterator<unknown>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  constructor(
    stream: Readable,
    private readonly hash: Hash | undefined,
    private readonly onBytes: (bytes: number) => void,
  ) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  /** Up to `size` bytes; fewer only at the end of the stream. */
  async read(size: number): Promise<Buffer> {
    while (this.pendingBytes < size && !this.done) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.done = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
      this.hash?.update(chunk);
      this.onBytes(chunk.length);
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const all = Buffer.concat(this.pending, this.pendingBytes);
    const out = all.subarray(0, Math.min(size, all.length));
    const rest = all.subarray(out.length);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }

  /** True when the stream has no byte left. */
  async atEnd(): Promise<boolean> {
    if (this.pendingBytes > 0) return false;
    const extra = await this.read(1);
    if (extra.length === 0) return true;
    this.pending = [extra];
    this.pendingBytes = extra.length;
    return false;
  }
}

/** Metadata Tether writes on every object: rclone's mtime, and the content's SHA-256 when known. */
export function metadataFor(entry: Entry, sha256: string | undefined): Record<string, string> {
  return { [META_MTIME]: formatMtime(entry.mtimeMs), ...(sha256 === undefined ? {} : { [META_SHA256]: sha256 }) };
}

/**
 * Refuses to overwrite what the scan did not see: nothing may be at the key when `replaces` is undefined, and
 * the object there must still be the version the scan listed (same ETag) otherwise.
 */
export async function checkReplaces(context: S3Context, request: WriteRequest): Promise<string | undefined> {
  const key = keyFor(context, request.path);
  let etag: string | undefined;
  try {
    const head = await context.client.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key }));
    etag = head.ETag ?? '';
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (etag === undefined) return undefined;
  if (request.replaces === undefined)
    return `${request.path} appeared on ${context.displayName} since the scan; not overwritten`;
  const seen = context.known.get(request.path);
  if (seen !== undefined && seen.etag !== etag) {
    return `${request.path} changed on ${context.displayName} since the scan; not overwritten`;
  }
  return undefined;
}
