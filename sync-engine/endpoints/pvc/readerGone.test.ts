import { Writable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { drained } from './execClient.js';
import { feedOf } from './tarDownload.js';

/**
 * An exec's output whose reader stops early (a pull that has every file it asked for and returns the
 * archive's iterator) must not hold the exec open: a wait for a 'drain' that can no longer come kept a
 * finished `tether sync` process alive, its idle timer ticking, until killed.
 */

/** Settles with 'settled', or 'still waiting' after `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise<string>((resolve) => setTimeout(resolve, ms, 'still waiting')),
  ]);
}

/** A sink whose writes never complete: full after the first one. */
function stuckSink(): Writable {
  const sink = new Writable({ highWaterMark: 1, write: () => undefined });
  sink.on('error', () => undefined);
  sink.write(Buffer.from('x'));
  return sink;
}

describe('an exec whose output reader stops', () => {
  it('waits for a full sink to drain, and no longer once it is destroyed', async () => {
    const sink = stuckSink();
    expect(sink.writableNeedDrain).toBe(true);
    const waiting = drained(sink, undefined);
    expect(await within(waiting, 50)).toBe('still waiting');
    sink.destroy();
    expect(await within(waiting, 1000)).toBe('settled');
  });

  it('stops waiting for a full sink when the exec is cancelled', async () => {
    const sink = stuckSink();
    const cancel = new AbortController();
    const waiting = drained(sink, cancel.signal);
    expect(await within(waiting, 50)).toBe('still waiting');
    cancel.abort();
    expect(await within(waiting, 1000)).toBe('settled');
  });

  it('does not wait on a sink that has room', async () => {
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    expect(await within(drained(sink, undefined), 50)).toBe('settled');
  });

  it("fails a write into the archive reader once that reader is destroyed, instead of waiting for its 'drain'", async () => {
    const extract = tar.extract();
    extract.on('error', () => undefined);
    const feed = feedOf(extract);
    const failed = new Promise<Error>((resolve) => feed.once('error', resolve));
    // A header and more content than the extractor buffers, with nobody reading its entries: it pushes back.
    const pack = tar.pack();
    pack.entry({ name: 'a', size: 1024 * 1024 }, Buffer.alloc(1024 * 1024));
    pack.finalize();
    for await (const chunk of pack) {
      if (!feed.write(chunk)) break;
    }
    expect(feed.writableNeedDrain).toBe(true);
    extract.destroy();
    expect(await within(failed, 1000)).toBe('settled');
    expect((await failed).message).toMatch(/archive reader stopped/);
  });
});
