import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/**
 * Decodes `Content-Encoding: aws-chunked` bodies (signed `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` chunks and the
 * unsigned `STREAMING-UNSIGNED-PAYLOAD-TRAILER` form newer SDKs use for checksums) into the plain object
 * bytes, streaming. Chunk signatures and trailing checksums are read and dropped.
 */
type State = 'header' | 'data' | 'dataEnd' | 'trailer' | 'done';

const maxLine = 8 * 1024;

export class AwsChunkedDecoder extends Transform {
  private state: State = 'header';
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done' && !(this.state === 'trailer' && this.pending.length === 0)) {
      callback(new Error('the aws-chunked body ended before its final chunk'));
      return;
    }
    callback();
  }

  private line(): string | undefined {
    const end = this.pending.indexOf('\r\n');
    if (end === -1) {
      if (this.pending.length > maxLine) throw new Error('an aws-chunked chunk header is too long');
      return undefined;
    }
    const text = this.pending.subarray(0, end).toString('latin1');
    this.pending = this.pending.subarray(end + 2);
    return text;
  }

  private drain(): void {
    for (;;) {
      switch (this.state) {
        case 'header': {
          const line = this.line();
          if (line === undefined) return;
          const sizeText = line.split(';')[0]?.trim() ?? '';
          if (!/^[0-9a-fA-F]+$/.test(sizeText))
            throw new Error(`malformed aws-chunked chunk header: ${JSON.stringify(line.slice(0, 80))}`);
          this.remaining = parseInt(sizeText, 16);
          this.state = this.remaining === 0 ? 'trailer' : 'data';
          break;
        }
        case 'data': {
          if (this.pending.length === 0) return;
          const take = Math.min(this.remaining, this.pending.length);
          this.push(this.pending.subarray(0, take));
          this.pending = this.pending.subarray(take);
          this.remaining -= take;
          if (this.remaining > 0) return;
          this.state = 'dataEnd';
          break;
        }
        case 'dataEnd': {
          if (this.pending.length < 2) return;
          if (this.pending[0] !== 0x0d || this.pending[1] !== 0x0a)
            throw new Error('an aws-chunked chunk is not followed by CRLF');
          this.pending = this.pending.subarray(2);
          this.state = 'header';
          break;
        }
        case 'trailer': {
          const line = this.line();
          if (line === undefined) return;
          if (line === '') this.state = 'done';
          break;
        }
        case 'done':
          this.pending = Buffer.alloc(0);
          return;
      }
    }
  }
}

/** Whether a request body is aws-chunked (by its encoding or its declared payload hash). */
export function isAwsChunked(contentEncoding: string | undefined, payloadHash: string | undefined): boolean {
  if (contentEncoding !== undefined && contentEncoding.split(',').some((e) => e.trim() === 'aws-chunked')) return true;
  return payloadHash !== undefined && payloadHash.startsWith('STREAMING-');
}
