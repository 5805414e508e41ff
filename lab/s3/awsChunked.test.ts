import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder, isAwsChunked } from './awsChunked.js';

function encodeSigned(data: Buffer, chunkSize: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) {
    const chunk = data.subarray(i, i + chunkSize);
    parts.push(
      Buffer.from(`${chunk.length.toString(16)};chunk-signature=${'a'.repeat(64)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`0;chunk-signature=${'b'.repeat(64)}\r\n\r\n`));
  return Buffer.concat(parts);
}

function encodeTrailer(data: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`${data.length.toString(16)}\r\n`),
    data,
    Buffer.from('\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'),
  ]);
}

async function decode(encoded: Buffer, pieceSize: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < encoded.length; i += pieceSize) pieces.push(encoded.subarray(i, i + pieceSize));
  return buffer(Readable.from(pieces).pipe(new AwsChunkedDecoder()));
}

describe('AwsChunkedDecoder', () => {
  const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));

  it.each([1, 7, 1000, 100_000])('decodes signed chunks delivered %d bytes at a time', async (pieceSize) => {
    expect((await decode(encodeSigned(data, 8192), pieceSize)).equals(data)).toBe(true);
  });

  it('decodes the unsigned form with a trailing checksum', async () => {
    expect((await decode(encodeTrailer(data), 4096)).equals(data)).toBe(true);
  });

  it('decodes an empty body', async () => {
    expect((await decode(Buffer.from('0\r\n\r\n'), 3)).length).toBe(0);
  });

  it.each([
    ['a bad size', Buffer.from('zz\r\nabc\r\n0\r\n\r\n')],
    ['a missing CRLF after data', Buffer.from('3\r\nabcX\r\n0\r\n\r\n')],
    ['a truncated body', Buffer.from('10\r\nabc')],
  ])('fails on %s', async (_name, encoded) => {
    await expect(decode(encoded, 2)).rejects.toThrow(/aws-chunked/);
  });
});

describe('isAwsChunked', () => {
  it.each([
    ['aws-chunked', undefined, true],
    ['gzip,aws-chunked', undefined, true],
    [undefined, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', true],
    [undefined, 'UNSIGNED-PAYLOAD', false],
    ['gzip', 'abc', false],
  ])('%s / %s → %s', (encoding, hash, expected) => {
    expect(isAwsChunked(encoding, hash)).toBe(expected);
  });
});
