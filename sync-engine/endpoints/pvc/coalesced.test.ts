import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { coalesced } from './execClient.js';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

describe('coalesced (stdin chunks joined into WebSocket messages)', () => {
  it('joins what is ready into messages of at most about max bytes, in order, losing nothing', async () => {
    // A tar stream of small files: header, content, padding, header, ...
    const parts = Array.from({ length: 300 }, (_, i) => Buffer.alloc(i % 3 === 0 ? 512 : 4096, i % 251));
    const messages = await collect(coalesced(Readable.from(parts), 64 * 1024));
    expect(Buffer.concat(messages).equals(Buffer.concat(parts))).toBe(true);
    expect(messages.length).toBeLessThan(parts.length / 10);
    for (const message of messages.slice(0, -1)) expect(message.length).toBeGreaterThanOrEqual(64 * 1024);
    for (const message of messages) expect(message.length).toBeLessThan(64 * 1024 + 4096);
  });

  it('sends what it has instead of waiting for a slow source', async () => {
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('first');
      await new Promise((resolve) => setTimeout(resolve, 400));
      yield Buffer.from('second');
    }
    const seen: string[] = [];
    const started = Date.now();
    for await (const chunk of coalesced(slow(), 1024))
      seen.push(`${chunk.toString()}@${Date.now() - started < 250 ? 'early' : 'late'}`);
    expect(seen).toEqual(['first@early', 'second@late']);
  });

  it('passes a large chunk through whole', async () => {
    const big = Buffer.alloc(1024 * 1024, 7);
    const messages = await collect(coalesced(Readable.from([big]), 128 * 1024));
    expect(messages).toHaveLength(1);
    expect(messages[0]?.length).toBe(big.length);
  });
});

describe('coalesced when the consumer stops early', () => {
  it('a source destroyed under a pending read is no unhandled rejection; the next read reports it', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const source = new PassThrough();
      // A chunk of at least max bytes is passed on at once, with the read for the next one already pending.
      source.write(Buffer.alloc(2048, 1));
      const messages = coalesced(source, 1024);
      const first = await messages.next();
      expect(first.done === true ? 0 : first.value.length).toBe(2048);
      // The stream is cut while that message is being sent: the upload destroys its source before the sender
      // comes back for the next message, with the read for it already pending.
      source.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      // The consumer that does come back learns of it then.
      await expect(messages.next()).rejects.toThrow(/premature close/i);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
