import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { processesWith } from '../runtime/testing/processes.js';
import { execUrl } from './testing/execTestServer.js';
import { channelText, connect, statusOf, v5 } from './testing/rawClient.js';

/**
 * A slow reader or a slow process must not make the lab buffer a whole transfer in memory. The exec server
 * runs in a child process so its resident memory can be measured while 300 MiB wait to be read.
 */

const here = path.dirname(new URL(import.meta.url).pathname);
let server: ChildProcessByStdio<null, Readable, null>;
let url: string;

function rssBytes(): number {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (match?.[1] === undefined) throw new Error('no VmRSS for the server process');
  return Number(match[1]) * 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const MiB = 1024 * 1024;
/** What the server may grow by while a transfer is held up: queues of ~1 MiB each way plus GC slack. */
const allowedGrowth = 64 * MiB;

beforeAll(async () => {
  server = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'testing', 'execServerProcess.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  url = await new Promise<string>((resolve, reject) => {
    server.stdout.once('data', (chunk: Buffer) => resolve((JSON.parse(chunk.toString()) as { url: string }).url));
    server.once('exit', (code) => reject(new Error(`the exec server exited with ${code}`)));
  });
  // Warm up (JIT, first sandbox process) so the baseline is fair.
  for (let i = 0; i < 3; i += 1) await (await connect(execUrl(url, ['head', '-c', '5000000', '/dev/zero']))).closed;
});

afterAll(async () => {
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
});

describe('memory under backpressure', () => {
  it('a slow reader of 300 MiB of stdout keeps the server within bounds, and still gets every byte', async () => {
    const total = 300 * MiB;
    const baseline = rssBytes();
    let peak = baseline;
    const session = await connect(execUrl(url, ['head', '-c', String(total), '/dev/zero']), [v5]);
    session.ws.pause();
    let received = 0;
    session.ws.on('message', (data: Buffer) => {
      if (data[0] === 1) received += data.length - 1;
    });

    // Not reading at all for 2 s, then reading in short bursts for 2 s.
    for (let i = 0; i < 20; i += 1) {
      await sleep(100);
      peak = Math.max(peak, rssBytes());
    }
    // Backpressure reaches the process: it is still there, blocked writing to its pipe.
    const heldUp = processesWith(['head', '-c', String(total)]).length;
    for (let i = 0; i < 8; i += 1) {
      session.ws.resume();
      await sleep(20);
      session.ws.pause();
      await sleep(230);
      peak = Math.max(peak, rssBytes());
    }
    expect(heldUp).toBe(1);
    expect(received).toBeLessThan(total);

    // Then read at full speed to the end.
    session.ws.resume();
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes())), 50);
    const { frames, code } = await session.closed;
    clearInterval(sampler);
    expect(received).toBe(total);
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
    expect(code).toBe(1000);
    expect(peak - baseline).toBeLessThan(allowedGrowth);
  });

  it('a slow process reading 200 MiB of stdin holds the client back instead of filling the server', async () => {
    const total = 200 * MiB;
    const baseline = rssBytes();
    let peak = baseline;
    const session = await connect(execUrl(url, ['sh', '-c', 'sleep 2; wc -c'], { stdin: true }), [v5]);
    const chunk = Buffer.alloc(256 * 1024 - 1, 's');
    let sent = 0;
    const started = performance.now();
    let sentDuringSleep = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes());
      if (performance.now() - started < 1_800) sentDuringSleep = sent;
    }, 50);
    while (sent < total) {
      const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
      await session.send(piece);
      sent += piece.length;
    }
    await session.closeStdin();
    const { frames } = await session.closed;
    clearInterval(sampler);
    expect(channelText(frames, 1).trim()).toBe(String(total));
    expect(sentDuringSleep).toBeLessThan(32 * MiB);
    expect(peak - baseline).toBeLessThan(allowedGrowth);
  });
});
