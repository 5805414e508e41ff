import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { eventually, processesWith, uniqueSleepSeconds } from '../runtime/testing/processes.js';
import { execUrl, startExecTestServer, type ExecTestServer } from './testing/execTestServer.js';
import { channelText, connect, refusal, statusOf, v4, v5, type Frame, type Session } from './testing/rawClient.js';

let lab: ExecTestServer;

beforeAll(async () => {
  lab = await startExecTestServer();
});

afterEach(() => {
  lab.faults = {};
});

afterAll(() => lab.close());

const payloadBytes = (frames: readonly Frame[], channel: number): number =>
  frames.filter((frame) => frame.channel === channel).reduce((sum, frame) => sum + frame.payload.length, 0);

async function upload(session: Session, size: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 'u');
  for (let sent = 0; sent < size; sent += chunk.length) await session.send(chunk);
}

describe('cutAfterBytes', () => {
  it('drops the connection without a status after that many stdout bytes, and kills the process', async () => {
    lab.faults = { cutAfterBytes: 1024 * 1024 };
    const marker = uniqueSleepSeconds();
    const session = await connect(execUrl(lab.url, ['sh', '-c', `head -c 10000000 /dev/zero; sleep ${marker}`]));
    const { code, frames } = await session.closed;
    expect(code).toBe(1006); // abnormal: no close frame
    expect(payloadBytes(frames, 1)).toBeLessThanOrEqual(1024 * 1024);
    expect(payloadBytes(frames, 1)).toBeGreaterThan(0);
    expect(frames.filter((frame) => frame.channel === 3)).toEqual([]);
    expect(await eventually(() => processesWith(['sleep', marker]).length === 0)).toBe(true);
  });

  it('counts stdin bytes too', async () => {
    lab.faults = { cutAfterBytes: 1024 * 1024 };
    const marker = uniqueSleepSeconds();
    const session = await connect(execUrl(lab.url, ['sh', '-c', `cat > /dev/null; sleep ${marker}`], { stdin: true }));
    await upload(session, 4 * 1024 * 1024).catch(() => undefined);
    const { code, frames } = await session.closed;
    expect(code).toBe(1006);
    expect(frames.filter((frame) => frame.channel === 3)).toEqual([]);
    expect(await eventually(() => processesWith(['sleep', marker]).length === 0)).toBe(true);
  });

  it('lets a session that stays under the limit finish normally', async () => {
    lab.faults = { cutAfterBytes: 1024 * 1024 };
    const { code, frames } = await (await connect(execUrl(lab.url, ['head', '-c', '1000', '/dev/zero']))).closed;
    expect(code).toBe(1000);
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
  });
});

describe('bandwidthBytesPerSecond', () => {
  async function timed(run: () => Promise<void>): Promise<number> {
    const started = performance.now();
    await run();
    return (performance.now() - started) / 1000;
  }

  it('measurably slows a download', async () => {
    const command = ['head', '-c', String(4 * 1024 * 1024), '/dev/zero'];
    const fast = await timed(async () => {
      await (
        await connect(execUrl(lab.url, command))
      ).closed;
    });
    lab.faults = { bandwidthBytesPerSecond: 2 * 1024 * 1024 };
    let received = 0;
    const slow = await timed(async () => {
      const { frames } = await (await connect(execUrl(lab.url, command))).closed;
      received = payloadBytes(frames, 1);
    });
    expect(received).toBe(4 * 1024 * 1024);
    // 4 MiB at 2 MiB/s, less a burst of 0.1 s: at least 1.8 s.
    expect(slow).toBeGreaterThan(1.75);
    expect(slow).toBeLessThan(6);
    expect(fast).toBeLessThan(1);
  });

  it('measurably slows an upload', async () => {
    lab.faults = { bandwidthBytesPerSecond: 2 * 1024 * 1024 };
    let counted = '';
    const elapsed = await timed(async () => {
      const session = await connect(execUrl(lab.url, ['wc', '-c'], { stdin: true }), [v5]);
      await upload(session, 3 * 1024 * 1024);
      await session.closeStdin();
      counted = channelText((await session.closed).frames, 1).trim();
    });
    expect(counted).toBe(String(3 * 1024 * 1024));
    expect(elapsed).toBeGreaterThan(1.25);
  });
});

describe('latencyMs', () => {
  it('delays every frame each way', async () => {
    lab.faults = { latencyMs: 300 };
    const session = await connect(execUrl(lab.url, ['cat'], { stdin: true }), [v5]);
    const started = performance.now();
    await session.send('ping');
    expect(await eventually(() => channelText(session.frames, 1) === 'ping', 5_000, 5)).toBe(true);
    const roundTrip = performance.now() - started;
    await session.closeStdin();
    await session.closed;
    // 300 ms in, 300 ms out; Node's timers fire on whole milliseconds, so a delay can measure a little short.
    expect(roundTrip).toBeGreaterThanOrEqual(600 - 5);
    expect(roundTrip).toBeLessThan(2_000);
  });
});

describe('v4Only', () => {
  it('negotiates v4 even when v5 is offered', async () => {
    lab.faults = { v4Only: true };
    const session = await connect(execUrl(lab.url, ['echo', 'ok']), [v5, v4]);
    expect(session.protocol).toBe(v4);
    expect(channelText((await session.closed).frames, 1)).toBe('ok\n');
  });

  it('refuses a client that offers v5 only, as kubectl 1.32 does, with a 400 Status', async () => {
    lab.faults = { v4Only: true };
    const { status, body } = await refusal(execUrl(lab.url, ['true']), [v5]);
    expect(status).toBe(400);
    expect(JSON.parse(body)).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(body).toMatch(/accepts v4.channel.k8s.io/);
  });

  it('is read per session: turning it off takes effect for the next one', async () => {
    lab.faults = { v4Only: true };
    expect((await connect(execUrl(lab.url, ['true']), [v5, v4])).protocol).toBe(v4);
    lab.faults = {};
    expect((await connect(execUrl(lab.url, ['true']), [v5, v4])).protocol).toBe(v5);
  });
});
