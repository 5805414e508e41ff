import { readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSink } from './fileSink.js';
import { TempDirs } from './testFixtures.js';

/**
 * The sink large downloads are written through: everything it is given lands in order at the right offset,
 * in few writes; what it holds when a transfer breaks off is written before the handle closes.
 */

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** `count` chunks of `size` bytes, each filled with its own number, and all of them joined. */
function chunks(count: number, size: number): { parts: Buffer[]; joined: Buffer } {
  const parts = Array.from({ length: count }, (_, i) => Buffer.alloc(size, i % 251));
  return { parts, joined: Buffer.concat(parts) };
}

/** The real handle, with its `writev` calls counted (and, if asked, cut short to at most `cap` bytes each). */
function counted(handle: FileHandle, cap = Infinity): { handle: FileHandle; calls: () => number } {
  let calls = 0;
  const writev = handle.writev.bind(handle);
  const cut = async (buffers: readonly Buffer[], position?: number): Promise<{ bytesWritten: number }> => {
    calls++;
    let room = cap;
    const taken: Buffer[] = [];
    for (const b of buffers) {
      if (room <= 0) break;
      taken.push(b.subarray(0, Math.min(b.length, room)));
      room -= Math.min(b.length, room);
    }
    return writev(taken, position);
  };
  // The real call, given less than it was asked to write: typed as the method it stands in for.
  handle.writev = cut as unknown as FileHandle['writev'];
  return { handle, calls: () => calls };
}

describe('FileSink', () => {
  it('writes every chunk in order from its start offset, one write per gathered amount', async () => {
    const path = join(dirs.make(), 'f');
    writeFileSync(path, 'PREFIX');
    const { parts, joined } = chunks(100, 64 * 1024);
    const { handle, calls } = counted(await open(path, 'r+'));
    const sink = new FileSink(handle, 6, 1024 * 1024);
    await pipeline(Readable.from(parts), sink);
    expect(readFileSync(path).equals(Buffer.concat([Buffer.from('PREFIX'), joined]))).toBe(true);
    // 6.25 MiB in 1 MiB writes (the last one smaller), not one per 64 KiB chunk.
    expect(calls()).toBe(7);
    expect(sink.bytesWritten).toBe(6 + joined.length);
  });

  it('goes on where a write stopped short until all it held is written', async () => {
    const path = join(dirs.make(), 'f');
    const { parts, joined } = chunks(40, 10_000);
    const { handle, calls } = counted(await open(path, 'w'), 7_777);
    await pipeline(Readable.from(parts), new FileSink(handle, 0, 64 * 1024));
    expect(readFileSync(path).equals(joined)).toBe(true);
    // At most 7,777 bytes a call: each gathered amount took several.
    expect(calls()).toBeGreaterThanOrEqual(Math.ceil(joined.length / 7_777));
  });

  it('fails when the file fails to close, as a share over its quota may say only then', async () => {
    const path = join(dirs.make(), 'f');
    const handle = await open(path, 'w');
    const close = handle.close.bind(handle);
    handle.close = async () => {
      await close();
      throw Object.assign(new Error('EDQUOT: disk quota exceeded, close'), { code: 'EDQUOT' });
    };
    const error = await pipeline(Readable.from(chunks(3, 1000).parts), new FileSink(handle, 0)).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'EDQUOT' });
  });

  it('fails, rather than trying forever, when a write takes none of its bytes', async () => {
    const path = join(dirs.make(), 'f');
    const { handle, calls } = counted(await open(path, 'w'), 0);
    const sink = new FileSink(handle, 0, 1000);
    await expect(pipeline(Readable.from(chunks(3, 1000).parts), sink)).rejects.toThrow('took none of the 1000 bytes');
    await sink.whenClosed();
    expect(calls()).toBe(1);
  });

  it('writes what it holds before closing when the source breaks off, so a resume goes on from there', async () => {
    const path = join(dirs.make(), 'f');
    const { parts, joined } = chunks(5, 1000);
    const source = new Readable({
      read(): void {
        const next = parts.shift();
        if (next !== undefined) this.push(next);
        else this.destroy(new Error('the stream was cut'));
      },
    });
    const handle = await open(path, 'w');
    const sink = new FileSink(handle, 0);
    await expect(pipeline(source, sink)).rejects.toThrow('the stream was cut');
    await sink.whenClosed();
    expect(readFileSync(path).equals(joined)).toBe(true);
    // Closed: the handle's descriptor is gone.
    expect(handle.fd).toBe(-1);
  });

  it('fails with the write error, closes its handle and does not try the write again', async () => {
    const path = join(dirs.make(), 'f');
    writeFileSync(path, '');
    const { handle, calls } = counted(await open(path, 'r'));
    const sink = new FileSink(handle, 0, 1500);
    const error = await pipeline(Readable.from(chunks(4, 1000).parts), sink).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EBADF' });
    await sink.whenClosed();
    expect(calls()).toBe(1);
    expect(handle.fd).toBe(-1);
    expect(readFileSync(path).length).toBe(0);
  });
});
