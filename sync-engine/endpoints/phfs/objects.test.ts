import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { truncateSync, utimesSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingFile } from '../endpoint.js';
import { canReadDirectly } from '../endpoint.js';
import type { LocalEndpoint } from '../local/localEndpoint.js';
import { createLocalEndpoint } from '../local/localEndpoint.js';
import { TempDirs, writeFile } from '../local/testFixtures.js';
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

describe('ChunkReader over a local file (read straight into its buffers)', () => {
  const dirs = new TempDirs();
  afterEach(() => dirs.cleanup());
  const SIZE = 3 * 1024 * 1024 + 17; // above the local endpoint's small-file size: a file read as it goes
  const DATA = Buffer.alloc(SIZE, 'tether ');

  async function open(
    change?: (abs: string) => void,
  ): Promise<{ file: IncomingFile; abs: string; endpoint: LocalEndpoint }> {
    const root = dirs.make();
    const abs = writeFile(root, 'data.bin', DATA, { mtimeMs: 1_700_000_000_000 });
    const endpoint = await createLocalEndpoint(root);
    const { entries } = await endpoint.scan();
    const entry = entries.find((e) => e.path === 'data.bin')!;
    change?.(abs);
    for await (const file of endpoint.readFiles([{ path: 'data.bin', entry, offset: 0 }]))
      return { file, abs, endpoint };
    throw new Error('no file');
  }

  it('hands out the same pieces and hash as reading the stream, in buffers from allocate, and closes the file', async () => {
    const { file, endpoint } = await open();
    expect(canReadDirectly(file.stream)).toBe(true);
    const hash = createHash('sha256');
    const allocated: Buffer[] = [];
    const reader = new ChunkReader(
      file.stream,
      hash,
      () => undefined,
      (size) => {
        const made = Buffer.alloc(size);
        allocated.push(made);
        return made;
      },
    );
    const pieces: Buffer[] = [];
    for (let piece = await reader.read(1024 * 1024); piece.length > 0; piece = await reader.read(1024 * 1024)) {
      expect(allocated.some((b) => b.buffer === piece.buffer)).toBe(true);
      pieces.push(Buffer.from(piece));
    }
    expect(await reader.atEnd()).toBe(true);
    expect(pieces.map((p) => p.length)).toEqual([1048576, 1048576, 1048576, 17]);
    expect(Buffer.concat(pieces).equals(DATA)).toBe(true);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(DATA).digest('hex'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(file.stream.destroyed).toBe(true); // its file handle closed
    await endpoint.close();
  });

  it('fails at the end, naming the change, when the file was modified while it was read', async () => {
    const { file, abs, endpoint } = await open();
    const reader = new ChunkReader(file.stream, undefined, () => undefined);
    expect((await reader.read(SIZE)).length).toBe(SIZE);
    utimesSync(abs, new Date(), new Date(1_800_000_000_000));
    await expect(reader.atEnd()).rejects.toThrow(
      /cannot read data\.bin: it changed while it was read \(it was modified/,
    );
    file.stream.destroy();
    await endpoint.close();
  });

  it('fails, saying how, when the file shrank while it was read', async () => {
    const { file, abs, endpoint } = await open();
    const reader = new ChunkReader(file.stream, undefined, () => undefined);
    expect((await reader.read(1024)).length).toBe(1024);
    truncateSync(abs, 2048);
    await expect(reader.read(SIZE)).rejects.toThrow(
      /cannot read data\.bin: it changed while it was read \(its size is now 2048 bytes/,
    );
    file.stream.destroy();
    await endpoint.close();
  });

  it('reads the stream as chunks when something has started reading it', async () => {
    const { file, endpoint } = await open();
    const first = (await file.stream[Symbol.asyncIterator]().next()) as { value: Buffer };
    expect(canReadDirectly(file.stream)).toBe(false);
    const reader = new ChunkReader(file.stream, undefined, () => undefined);
    const rest = await reader.read(SIZE);
    expect(Buffer.concat([first.value, rest]).equals(DATA)).toBe(true);
    file.stream.destroy();
    await endpoint.close();
  });
});
