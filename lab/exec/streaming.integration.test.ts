import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { execUrl, startExecTestServer, type ExecTestServer } from './testing/execTestServer.js';
import { channelText, connect, statusOf, v4, v5, type Session } from './testing/rawClient.js';

let lab: ExecTestServer;
const size = 50 * 1024 * 1024;
const data = randomBytes(size);
const digest = createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  lab = await startExecTestServer();
});

afterAll(() => lab.close());

/** Sends `payload` as stdin in 256 KiB messages, each after the previous one reached the socket. */
async function upload(session: Session, payload: Buffer): Promise<void> {
  for (let offset = 0; offset < payload.length; offset += 256 * 1024 - 1) {
    await session.send(payload.subarray(offset, offset + 256 * 1024 - 1));
  }
}

describe('streaming 50 MiB of stdin', () => {
  it('v5: through sha256sum, ended by CLOSE', async () => {
    const session = await connect(execUrl(lab.url, ['sha256sum'], { stdin: true }), [v5]);
    await upload(session, data);
    await session.closeStdin();
    const { frames, code } = await session.closed;
    expect(channelText(frames, 1)).toBe(`${digest}  -\n`);
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
    expect(code).toBe(1000);
  });

  it('v4: through head -c N | sha256sum, without any CLOSE', async () => {
    const script = 'head -c "$1" | sha256sum';
    const session = await connect(execUrl(lab.url, ['sh', '-c', script, 'sh', String(size)], { stdin: true }), [v4]);
    expect(session.protocol).toBe(v4);
    await upload(session, data);
    const { frames, code } = await session.closed;
    expect(channelText(frames, 1)).toBe(`${digest}  -\n`);
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
    expect(code).toBe(1000);
  });

  it('v5: a command that stops reading early still exits cleanly while the client keeps sending', async () => {
    const session = await connect(execUrl(lab.url, ['head', '-c', '10'], { stdin: true }), [v5]);
    const sending = upload(session, data.subarray(0, 8 * 1024 * 1024)).catch(() => undefined);
    const { frames, code } = await session.closed;
    await sending;
    expect(channelText(frames, 1)).toBe(data.subarray(0, 10).toString());
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
    expect(code).toBe(1000);
  });
});
