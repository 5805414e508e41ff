import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startExecTestServer, type ExecTestServer } from './testing/execTestServer.js';

/**
 * The real kubectl (1.32, WebSockets for exec and cp) against the exec server, behind a stub that serves only
 * discovery and the pod. The full API server's kubectl tests live with the API server.
 */

const kubectlPath = '/usr/bin/kubectl';
let lab: ExecTestServer;
let workDir: string;
let kubeconfig: string;
let runs = 0;

beforeAll(async () => {
  lab = await startExecTestServer();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'tether-kubectl-'));
  kubeconfig = path.join(workDir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster: { server: lab.url } }],
      users: [{ name: 'alice', user: { token: 'unchecked' } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'alice', namespace: 'lab' } }],
      'current-context': 'lab',
    }),
  );
});

afterAll(async () => {
  await lab.close();
  rmSync(workDir, { recursive: true, force: true });
});

interface KubectlResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs kubectl with its own cache directory; `input` goes to its stdin. */
function kubectl(args: string[], input?: Buffer): Promise<KubectlResult> {
  runs += 1;
  const child = spawn(
    kubectlPath,
    ['--kubeconfig', kubeconfig, '--cache-dir', path.join(workDir, `cache-${runs}`), ...args],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.end(input);
  return new Promise((resolve) => {
    child.once('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString() }),
    );
  });
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

if (!existsSync(kubectlPath))
  console.log(`skipped: kubectl is not installed at ${kubectlPath} (.ci/run expects it preinstalled)`);
describe.skipIf(!existsSync(kubectlPath))('kubectl 1.32 against the exec server', () => {
  it('kubectl version is a WebSocket-exec client', async () => {
    const { stdout: version } = await promisify(execFile)(kubectlPath, ['version', '--client', '-o', 'json']);
    const minor = Number(
      (JSON.parse(version) as { clientVersion: { minor: string } }).clientVersion.minor.replace('+', ''),
    );
    expect(minor).toBeGreaterThanOrEqual(30);
  });

  it('exec: stdout, stderr and the exit code', async () => {
    const result = await kubectl(['exec', 'pod', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result.stdout.toString()).toBe('out\n');
    // kubectl may add its own klog lines (seen once under load: "Unknown stream id 1, discarding message");
    // the pod's stderr must still come through first among the rest.
    const podStderr = result.stderr
      .split('\n')
      .filter((line) => !/^[EWI]\d{4} /.test(line))
      .join('\n');
    expect(podStderr).toMatch(/^err\n/);
    expect(result.stderr).toMatch(/command terminated with exit code 3/);
    expect(result.code).toBe(3);
  });

  it('exec -i: 20 MiB of stdin through sha256sum (v5 CLOSE ends it)', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const result = await kubectl(['exec', '-i', 'pod', '--', 'sha256sum'], data);
    expect(result.stdout.toString()).toBe(`${sha256(data)}  -\n`);
    expect(result.code).toBe(0);
  });

  it('cp: a file into the pod and back, byte for byte', async () => {
    const data = randomBytes(8 * 1024 * 1024 + 123);
    const local = path.join(workDir, 'upload.bin');
    writeFileSync(local, data);
    const up = await kubectl(['cp', local, 'lab/pod:/tmp/upload.bin']);
    expect(up.code).toBe(0);
    const remote = await kubectl(['exec', 'pod', '--', 'sha256sum', '/tmp/upload.bin']);
    expect(remote.stdout.toString()).toBe(`${sha256(data)}  /tmp/upload.bin\n`);
    const back = path.join(workDir, 'download.bin');
    const down = await kubectl(['cp', 'lab/pod:/tmp/upload.bin', back]);
    expect(down.code).toBe(0);
    expect(sha256(readFileSync(back))).toBe(sha256(data));
  });

  it('with the v4Only fault, fails loudly with a BadRequest instead of hanging', async () => {
    lab.faults = { v4Only: true };
    try {
      const result = await kubectl(['exec', 'pod', '--request-timeout=20s', '--', 'echo', 'hi']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/BadRequest.*v4Only fault is on/);
      expect(result.stdout.toString()).toBe('');
    } finally {
      lab.faults = {};
    }
  });
});
