import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import type { ExecFaults, PodRuntime, Sandbox, SandboxProcess } from '../../runtime/contract.js';
import { createPodRuntime } from '../../runtime/podRuntime.js';
import { httpErrorStatus } from '../frames.js';
import { parseExecQuery, type ExecParams } from '../query.js';
import { acceptExec, rejectUpgrade, respondNotWebSocket } from '../server.js';

/**
 * A tiny stand-in for the lab's API server, for the exec tests: one BusyBox pod (`lab/pod`, which `GET` returns)
 * and its exec endpoint, no authentication. Faults can be changed between sessions.
 */
export interface ExecTestServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly sandbox: Sandbox;
  faults: ExecFaults;
  /** Replaces how a session starts its process (default: `sandbox.exec(params.command)`). */
  start: (params: ExecParams) => SandboxProcess;
  close(): Promise<void>;
}

export const podPath = '/api/v1/namespaces/lab/pods/pod';
export const execPath = `${podPath}/exec`;

/** Just enough discovery for kubectl to map `pods` and `pods/exec`. */
const discovery: Readonly<Record<string, unknown>> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
  '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] },
      { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
    ],
  },
};

const podObject = {
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: { name: 'pod', namespace: 'lab', uid: '00000000-0000-4000-8000-000000000001' },
  spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] },
  status: { phase: 'Running', containerStatuses: [{ name: 'main', ready: true, state: { running: {} } }] },
};

export async function startExecTestServer(): Promise<ExecTestServer> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tether-exec-'));
  const runtime: PodRuntime = createPodRuntime({ stateDir });
  const sandbox = await runtime.start({ id: 'lab/pod', image: 'busybox:1.36', command: [], env: {}, volumes: [] });
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://lab');
    if (url.pathname === execPath) {
      respondNotWebSocket(request, response, state.faults.v4Only === true);
      return;
    }
    const discovered = discovery[url.pathname];
    if (discovered !== undefined && request.method === 'GET') {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(discovered));
      return;
    }
    if (url.pathname === podPath && request.method === 'GET') {
      // What `kubectl exec` reads before it upgrades: the pod, its containers and phase.
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(podObject));
      return;
    }
    response.writeHead(404).end();
  });
  const state: ExecTestServer = {
    url: '',
    sandbox,
    faults: {},
    start: (params) => sandbox.exec(params.command),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await runtime.stopAll();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  server.on('upgrade', (request, socket, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://lab');
    if (url.pathname !== execPath) {
      rejectUpgrade(socket, httpErrorStatus(404, 'NotFound', `the server could not find ${url.pathname}`));
      return;
    }
    const parsed = parseExecQuery(url.searchParams);
    if (!parsed.ok) {
      rejectUpgrade(socket, httpErrorStatus(400, 'BadRequest', parsed.message));
      return;
    }
    acceptExec(
      request,
      socket,
      head,
      parsed.params,
      () => state.start(parsed.params),
      () => state.faults,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}` });
}

/** The exec URL for argv, as client-go builds it. */
export function execUrl(
  base: string,
  command: readonly string[],
  flags: { stdin?: boolean; stdout?: boolean; stderr?: boolean; tty?: boolean } = {},
): string {
  const query = new URLSearchParams();
  for (const arg of command) query.append('command', arg);
  query.set('stdin', String(flags.stdin ?? false));
  query.set('stdout', String(flags.stdout ?? true));
  query.set('stderr', String(flags.stderr ?? true));
  query.set('tty', String(flags.tty ?? false));
  return `${base.replace(/^http/, 'ws')}${execPath}?${query.toString()}`;
}
