import { request } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventually, processesWith, uniqueSleepSeconds } from '../runtime/testing/processes.js';
import { execPath, execUrl, startExecTestServer, type ExecTestServer } from './testing/execTestServer.js';
import { parseExecQuery } from './query.js';
import { acceptExec } from './server.js';
import { channelText, connect, refusal, statusOf, v4, v5 } from './testing/rawClient.js';

let lab: ExecTestServer;

beforeAll(async () => {
  lab = await startExecTestServer();
});

afterAll(() => lab.close());

describe('the handshake', () => {
  it('picks v5 when offered, sends the initial empty stdout frame first, and streams stdout and stderr', async () => {
    const session = await connect(execUrl(lab.url, ['sh', '-c', 'echo out; echo err >&2']), [v4, v5]);
    expect(session.protocol).toBe(v5);
    const { code, frames } = await session.closed;
    expect(frames[0]).toEqual({ channel: 1, payload: Buffer.alloc(0) });
    expect(channelText(frames, 1)).toBe('out\n');
    expect(channelText(frames, 2)).toBe('err\n');
    expect(code).toBe(1000);
  });

  it('falls back to v4 when only v4 is offered', async () => {
    const session = await connect(execUrl(lab.url, ['echo', 'hi']), [v4, 'v3.channel.k8s.io']);
    expect(session.protocol).toBe(v4);
    const { code, frames } = await session.closed;
    expect(channelText(frames, 1)).toBe('hi\n');
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
    expect(code).toBe(1000);
  });

  const refused: { offered: string[]; why: RegExp }[] = [
    { offered: ['v3.channel.k8s.io', 'channel.k8s.io'], why: /offered only v3.channel.k8s.io, channel.k8s.io/ },
    { offered: [], why: /offered no subprotocol/ },
  ];
  for (const { offered, why } of refused) {
    it(`answers [${offered.join(', ')}] with a 400 Status instead of upgrading`, async () => {
      const { status, body } = await refusal(execUrl(lab.url, ['true']), offered);
      expect(status).toBe(400);
      const parsed = JSON.parse(body) as Record<string, unknown>;
      expect(parsed).toMatchObject({
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'BadRequest',
        code: 400,
      });
      expect(parsed['message']).toMatch(why);
    });
  }

  it("answers kubectl's SPDY fallback (a POST upgrading to SPDY/3.1) with a 400 Status", async () => {
    const url = new URL(`${lab.url}${execPath}?command=true&stdout=true`);
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('upgrade', () => reject(new Error('upgraded to SPDY')));
      req.on('error', reject);
      req.end();
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(response.body).toMatch(/does not speak SPDY/);
  });

  it('answers a plain POST to the exec endpoint with a 400 Status', async () => {
    const response = await fetch(`${lab.url}${execPath}?command=true&stdout=true`, { method: 'POST' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect(body['message']).toMatch(/plain POST/);
  });
});

describe('the status frame', () => {
  it('is Success for exit 0, sent once, last, then a normal close', async () => {
    const session = await connect(execUrl(lab.url, ['sh', '-c', 'exit 0']));
    const { code, frames } = await session.closed;
    expect(frames.map((frame) => frame.channel)).toEqual([1, 3]);
    expect(frames[1]!.payload.toString()).toBe('{"metadata":{},"status":"Success"}');
    expect(code).toBe(1000);
  });

  it('is NonZeroExitCode with the ExitCode cause for exit 3', async () => {
    const session = await connect(execUrl(lab.url, ['sh', '-c', 'echo bad >&2; exit 3']));
    const { code, frames } = await session.closed;
    expect(frames.at(-1)!.payload.toString()).toBe(
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3",' +
        '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
    expect(channelText(frames, 2)).toBe('bad\n');
    expect(code).toBe(1000);
  });

  it('is an InternalError when the process cannot be started', async () => {
    const original = lab.start;
    lab.start = () => {
      throw new Error('container not running');
    };
    try {
      const session = await connect(execUrl(lab.url, ['true']));
      const { code, frames } = await session.closed;
      expect(statusOf(frames)).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
      expect(JSON.stringify(statusOf(frames))).toMatch(/container not running/);
      expect(code).toBe(1000);
    } finally {
      lab.start = original;
    }
  });
});

describe('stdin', () => {
  it('v5: CLOSE ends the process stdin', async () => {
    const session = await connect(execUrl(lab.url, ['sh', '-c', 'cat; echo done'], { stdin: true }));
    await session.send('line one\n');
    await session.send('line two\n');
    await session.closeStdin();
    const { code, frames } = await session.closed;
    expect(channelText(frames, 1)).toBe('line one\nline two\ndone\n');
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
    expect(code).toBe(1000);
  });

  it('v4: CLOSE is not a thing; stdin stays open until the process exits', async () => {
    const session = await connect(execUrl(lab.url, ['sh', '-c', 'head -c 6; echo; echo done'], { stdin: true }), [v4]);
    await session.send('abc');
    await session.sendRaw(Buffer.from([0xff, 0])); // ignored under v4
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(session.frames.filter((frame) => frame.channel === 3)).toEqual([]);
    await session.send('defghi');
    const { frames } = await session.closed;
    expect(channelText(frames, 1)).toBe('abcdef\ndone\n');
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
  });

  it('without stdin=true the process reads end-of-file at once and stdin frames are ignored', async () => {
    const session = await connect(execUrl(lab.url, ['sh', '-c', 'cat; echo eof']));
    await session.send('ignored').catch(() => undefined);
    const { frames } = await session.closed;
    expect(channelText(frames, 1)).toBe('eof\n');
  });
});

describe('output', () => {
  it('streams large output in messages of at most 256 KiB', async () => {
    const session = await connect(
      execUrl(lab.url, ['sh', '-c', 'head -c 5000000 /dev/zero; head -c 1000000 /dev/zero >&2']),
    );
    const { frames } = await session.closed;
    expect(frames.every((frame) => frame.payload.length + 1 <= 256 * 1024)).toBe(true);
    const bytes = (channel: number): number =>
      frames.filter((frame) => frame.channel === channel).reduce((sum, frame) => sum + frame.payload.length, 0);
    expect(bytes(1)).toBe(5_000_000);
    expect(bytes(2)).toBe(1_000_000);
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
  });

  it('with tty=true sends stderr on stdout, as a terminal would', async () => {
    const url = execUrl(lab.url, ['sh', '-c', 'echo out; echo err >&2'], { tty: true, stderr: false });
    const { frames } = await (await connect(url)).closed;
    expect(channelText(frames, 1).split('\n').sort()).toEqual(['', 'err', 'out']);
    expect(frames.filter((frame) => frame.channel === 2)).toEqual([]);
  });

  it('sends the initial frame on stderr when stdout was not requested', async () => {
    const url = execUrl(lab.url, ['sh', '-c', 'echo out; echo err >&2'], { stdout: false });
    const { frames } = await (await connect(url)).closed;
    expect(frames[0]).toEqual({ channel: 2, payload: Buffer.alloc(0) });
    expect(channelText(frames, 1)).toBe('');
    expect(channelText(frames, 2)).toBe('err\n');
  });
});

describe('bad clients', () => {
  it('ignores malformed frames, unknown channels and resizes, and carries on', async () => {
    const session = await connect(execUrl(lab.url, ['cat'], { stdin: true }));
    await session.sendRaw(Buffer.alloc(0));
    await session.sendRaw(Buffer.from([9, 1, 2, 3]));
    await session.sendRaw(Buffer.from([1, 0x78]));
    await session.sendRaw(Buffer.from([3, 0x7b]));
    await session.sendRaw(Buffer.from([0xff]));
    await session.sendRaw(Buffer.from([0xff, 7, 7]));
    await session.sendRaw(Buffer.concat([Buffer.from([4]), Buffer.from('not json')]));
    await session.sendRaw('text frame');
    await session.send('still works');
    await session.closeStdin();
    const { code, frames } = await session.closed;
    // A text message is read like a binary one: "t" (0x74) is no known channel.
    expect(channelText(frames, 1)).toBe('still works');
    expect(code).toBe(1000);
  });

  it('kills the process when the client disconnects mid-stream, and keeps serving', async () => {
    const marker = uniqueSleepSeconds();
    const session = await connect(execUrl(lab.url, ['sh', '-c', `echo started; sleep ${marker}`]));
    await eventually(() => processesWith(['sleep', marker]).length === 1);
    expect(processesWith(['sleep', marker])).toHaveLength(1);
    session.ws.terminate();
    expect(await eventually(() => processesWith(['sleep', marker]).length === 0)).toBe(true);
    const next = await connect(execUrl(lab.url, ['echo', 'alive']));
    expect(channelText((await next.closed).frames, 1)).toBe('alive\n');
  });

  it('kills the process when the client closes cleanly before it exits', async () => {
    const marker = uniqueSleepSeconds();
    const session = await connect(execUrl(lab.url, ['sleep', marker]));
    await eventually(() => processesWith(['sleep', marker]).length === 1);
    session.ws.close(1000);
    expect(await eventually(() => processesWith(['sleep', marker]).length === 0)).toBe(true);
  });

  it('survives a client that disconnects while output is piling up', async () => {
    const session = await connect(execUrl(lab.url, ['head', '-c', '50000000', '/dev/zero']));
    session.ws.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    session.ws.terminate();
    expect(await eventually(() => processesWith(['head', '-c', '50000000']).length === 0)).toBe(true);
    const next = await connect(execUrl(lab.url, ['echo', 'alive']));
    expect(channelText((await next.closed).frames, 1)).toBe('alive\n');
  });

  it('closes a session whose client sends a message larger than 32 MiB', async () => {
    const marker = uniqueSleepSeconds();
    const session = await connect(execUrl(lab.url, ['sh', '-c', `sleep ${marker}`], { stdin: true }));
    await session.send(Buffer.alloc(33 * 1024 * 1024)).catch(() => undefined);
    const { code } = await session.closed;
    expect(code).toBe(1009);
    expect(await eventually(() => processesWith(['sleep', marker]).length === 0)).toBe(true);
  });
});

describe('a process that stops reading stdin', () => {
  it('holds the client back until it exits, then reports its exit and lets the client finish', async () => {
    // bwrap keeps its own copy of the pipe, so the client's data waits (as with a container runtime's stdin pipe).
    const session = await connect(execUrl(lab.url, ['sh', '-c', 'exec 0<&-; sleep 1; echo finished'], { stdin: true }));
    const chunk = Buffer.alloc(256 * 1024 - 1, 'z');
    const sending = (async () => {
      for (let i = 0; i < 64; i += 1) await session.send(chunk); // 16 MiB: more than any buffer on the way
    })().catch(() => undefined);
    const { frames, code } = await session.closed;
    await sending;
    expect(channelText(frames, 1)).toBe('finished\n');
    expect(statusOf(frames)).toEqual({ metadata: {}, status: 'Success' });
    expect(code).toBe(1000);
  });
});

describe('over TLS, as the lab serves it', () => {
  it('upgrades and streams the same way', async () => {
    const pems = await generate([{ name: 'commonName', value: 'lab' }], {
      keySize: 2048,
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const server = createServer({ key: pems.private, cert: pems.cert });
    server.on('upgrade', (req, socket, head: Buffer) => {
      const parsed = parseExecQuery(new URL(req.url ?? '/', 'https://lab').searchParams);
      if (!parsed.ok) throw new Error(parsed.message);
      acceptExec(
        req,
        socket,
        head,
        parsed.params,
        () => lab.sandbox.exec(parsed.params.command),
        () => ({}),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const url = execUrl(`https://127.0.0.1:${port}`, ['sh', '-c', 'echo secure; exit 5']);
      const session = await connect(url, [v5], { ca: pems.cert });
      expect(session.protocol).toBe(v5);
      const { frames, code } = await session.closed;
      expect(channelText(frames, 1)).toBe('secure\n');
      expect(statusOf(frames)).toMatchObject({ reason: 'NonZeroExitCode' });
      expect(code).toBe(1000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
