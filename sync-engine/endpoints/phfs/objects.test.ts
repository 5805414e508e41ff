import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChunkReader } from './objects.js';

const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) % 251));

describe('ChunkReader', () => {
  const cases: { description: string; chunks: number[]; piece: number }[] = [
    { description: 'one chunk holding exactly one piece', chunks: [10], piece: 10 },
    { description: 'one chunk holding several pieces', chunks: [25], piece: 10 },
    { description: 'pieces gathered from small chunks', chunks: [3, 3, 3, 3, 3, 3, 3], piece: 10 },
    { description: 'chunks straddling piece boundaries', chunks: [7, 9, 2, 13, 1], piece: 5 },
    { description: 'empty chunks on the way', chunks: [0, 4, 0, 0, 6, 0], piece: 4 },
    { description: 'a stream shorter than one piece', chunks: [2, 1], piece: 8 },
    { description: 'an empty stream', chunks: [], piece: 8 },
  ];
  for (const c of cases) {
    it(c.description, async () => {
      const total = c.chunks.reduce((a, b) => a + b, 0);
      const data = bytes(total);
      const chunks: Buffer[] = [];
      let at = 0;
      for (const n of c.chunks) {
        chunks.push(data.subarray(at, at + n));
        at += n;
      }
      const hash = createHash('sha256');
      let counted = 0;
      const reader = new ChunkReader(Readable.from(chunks), hash, (n) => (counted += n));
      const pieces: Buffer[] = [];
      for (;;) {
        const piece = await reader.read(c.piece);
        if (piece.length === 0) break;
        pieces.push(Buffer.from(piece));
        if (piece.length < c.piece) break;
      }
      expect(await reader.atEnd()).toBe(true);
      expect(pieces.slice(0, -1).every((p) => p.length === c.piece)).toBe(true);
      expect(Buffer.concat(pieces).equals(data)).toBe(true);
      expect(counted).toBe(total);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    });
  }

  it('atEnd sees a byte left without losing it', async () => {
    const reader = new ChunkReader(Readable.from([Buffer.from('abc'), Buffer.from('d')]), undefined, () => undefined);
    expect((await reader.read(3)).toString()).toBe('abc');
    expect(await reader.atEnd()).toBe(false);
    expect((await reader.read(5)).toString()).toBe('d');
    expect(await reader.atEnd()).toBe(true);
  });
});
