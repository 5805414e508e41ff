import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startExecTestServer, type ExecTestServer } from './testing/execTestServer.js';

let lab: ExecTestServer;
let kubeConfig: KubeConfig;

beforeAll(async () => {
  lab = await startExecTestServer();
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'lab', server: lab.url, skipTLSVerify: true }],
    users: [{ name: 'alice', token: 'not-checked-here' }],
    contexts: [{ name: 'lab', cluster: 'lab', user: 'alice' }],
    currentContext: 'lab',
  });
});

afterAll(() => lab.close());

interface Outcome {
  readonly protocol: string;
  readonly status: V1Status;
  readonly stdout: string;
  readonly stderr: string;
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/** Runs a command with client-node's Exec and waits for the status and the socket to close. */
async function execWithClientNode(command: string[], stdin?: Readable): Promise<Outcome> {
  const stdout = sink();
  const stderr = sink();
  let resolveStatus: (status: V1Status) => void = () => undefined;
  const status = new Promise<V1Status>((resolve) => (resolveStatus = resolve));
  const ws = await new Exec(kubeConfig).exec(
    'lab',
    'pod',
    'main',
    command,
    stdout.stream,
    stderr.stream,
    stdin ?? null,
    false,
    resolveStatus,
  );
  const closed = new Promise((resolve) => ws.once('close', resolve));
  const [finalStatus] = await Promise.all([status, closed]);
  return { protocol: ws.protocol, status: finalStatus, stdout: stdout.text(), stderr: stderr.text() };
}

describe('@kubernetes/client-node Exec against the lab', () => {
  it('v5: streams stdout and stderr and reports success', async () => {
    const outcome = await execWithClientNode(['sh', '-c', 'echo "$1"; echo warn >&2', 'sh', 'hello world']);
    expect(outcome).toEqual({
      protocol: 'v5.channel.k8s.io',
      status: { metadata: {}, status: 'Success' },
      stdout: 'hello world\n',
      stderr: 'warn\n',
    });
  });

  it('v5: reports a non-zero exit code the way client-go reads it', async () => {
    const outcome = await execWithClientNode(['sh', '-c', 'exit 3']);
    expect(outcome.status.status).toBe('Failure');
    expect(outcome.status.reason).toBe('NonZeroExitCode');
    expect(outcome.status.details?.causes?.[0]).toEqual({ reason: 'ExitCode', message: '3' });
  });

  it('v5: stdin ends with a CLOSE frame, so the command sees end-of-file', async () => {
    const input = Buffer.alloc(3 * 1024 * 1024, 'x');
    const outcome = await execWithClientNode(
      ['sh', '-c', 'wc -c'],
      Readable.from([input.subarray(0, 1000), input.subarray(1000)]),
    );
    expect(outcome.stdout.trim()).toBe(String(input.length));
    expect(outcome.status.status).toBe('Success');
  });

  it('v4 (v4Only fault): still streams output and the status', async () => {
    lab.faults = { v4Only: true };
    try {
      const outcome = await execWithClientNode(['sh', '-c', 'echo on v4; exit 2']);
      expect(outcome.protocol).toBe('v4.channel.k8s.io');
      expect(outcome.stdout).toBe('on v4\n');
      expect(outcome.status.details?.causes?.[0]).toEqual({ reason: 'ExitCode', message: '2' });
    } finally {
      lab.faults = {};
    }
  });
});
