import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { Entry } from '../../core/entry.js';
import type { DirectRead, WriteRequest } from '../endpoint.js';
import { canReadDirectly } from '../endpoint.js';
import type { S3Context } from './context.js';
import { keyFor } from './context.js';
import { META_MTIME, META_SHA256, formatMtime } from './listing.js';
import { isNotFound } from './s3Errors.js';

/**
 * Reads a stream in pieces of exactly `size` bytes (the last one shorter), hashing as it goes. Each piece is
 * copied once into a buffer of its own size as the chunks arrive (never the chunks gathered, then joined: that
 * held every part twice at its peak), or handed out without a copy when one chunk already holds all of it.
 * A stream that can fill buffers itself (a local file's, `canReadDirectly`) reads each piece straight into its
 * buffer: no chunks at all.
 */
export class ChunkReader {
  private readonly direct: DirectRead | undefined;
  private iterator: AsyncIterator<unknown> | undefined;
  /** Chunks read from the stream and not handed out yet, oldest first. */
  private readonly pending: Buffer[] = [];
  private done = false;
  constructor(
    private readonly stream: Readable,
    private readonly hash: Hash | undefined,
    private readonly onBytes: (bytes: number) => void,
    /** Where pieces that need a buffer of their own get it (a multipart upload reuses its parts' buffers). */
    private readonly allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size),
  ) {
    this.direct = canReadDirectly(stream) ? stream : undefined;
  }

  private async nextChunk(): Promise<Buffer | undefined> {
    const queued = this.pending.shift();
    if (queued !== undefined || this.done) return queued;
    this.iterator ??= this.stream[Symbol.asyncIterator]();
    const next = await this.iterator.next();
    if (next.done === true) {
      this.done = true;
      return undefined;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
    this.hash?.update(chunk);
    this.onBytes(chunk.length);
    return chunk;
  }

  /** Up to `size` bytes; fewer only at the end of the stream. */
  async read(size: number): Promise<Buffer> {
    if (this.direct !== undefined) return this.readDirectly(this.direct, size);
    let out: Buffer | undefined;
    let filled = 0;
    while (filled < size) {
      const chunk = await this.nextChunk();
      if (chunk === undefined) break;
      const need = size - filled;
      if (out === undefined && chunk.length >= need) {
        // The whole piece is in this one chunk: no copy.
        if (chunk.length > need) this.pending.unshift(chunk.subarray(need));
        return chunk.subarray(0, need);
      }
      out ??= this.allocate(size);
      const take = Math.min(need, chunk.length);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (take < chunk.length) this.pending.unshift(chunk.subarray(take));
    }
    return out === undefined ? Buffer.alloc(0) : out.subarray(0, filled);
  }

  private async readDirectly(source: DirectRead, size: number): Promise<Buffer> {
    const queued = this.pending.shift(); // what `atEnd` read ahead
    if (queued !== undefined) return queued;
    if (this.done || size === 0) return Buffer.alloc(0);
    const out = this.allocate(size);
    let filled = 0;
    while (filled < size) {
      const bytesRead = await source.readInto(out.subarray(filled, size));
      if (bytesRead === 0) {
        // The end, the source found whole: nothing more to read from it.
        this.done = true;
        this.stream.destroy();
        break;
      }
      const piece = out.subarray(filled, filled + bytesRead);
      this.hash?.update(piece);
      this.onBytes(bytesRead);
      filled += bytesRead;
    }
    return out.subarray(0, filled);
  }

  /** True when the stream has no byte left. */
  async atEnd(): Promise<boolean> {
    if (this.pending.some((chunk) => chunk.length > 0)) return false;
    const extra = await this.read(1);
    if (extra.length === 0) return true;
    this.pending.unshift(extra);
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
