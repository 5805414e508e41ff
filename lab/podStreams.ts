import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { acceptExec, parseExecQuery, respondNotWebSocket } from './exec/index.js';
import { badRequest, notFound, statusOf } from './objects/apiError.js';
import { objectAt, objectsAt, stringAt } from './objects/json.js';
import { K } from './objects/kinds.js';
import type { KubeObject } from './objects/meta.js';
import type { ObjectStore } from './objects/store.js';
import type { ExecFaults } from './runtime/contract.js';
import { containerOf, phaseOf } from './controllers/podStatus.js';
import type { Kubelet } from './controllers/kubelet.js';
import type { PodStreamHandlers } from './server/apiServer.js';
import { sendStatusOnSocket } from './server/apiServer.js';
import { parseBoolean } from './server/requestInfo.js';

/**
 * `kubectl exec` and `kubectl logs` for the lab's pods: finds the pod's running sandbox and hands the
 * WebSocket to the exec server, or streams the container's log file.
 */
export interface PodStreamOptions {
  readonly store: ObjectStore;
  readonly kubelet: Kubelet;
  readonly execFaults: () => ExecFaults;
}

function requirePod(store: ObjectStore, namespace: string, name: string): KubeObject {
  const pod = store.get(K.pods, namespace, name);
  if (pod === undefined) throw notFound({ group: '', resource: 'pods' }, name);
  return pod;
}

function checkContainer(pod: KubeObject, requested: string | null | undefined): string {
  const container = containerOf(pod).name;
  if (requested !== undefined && requested !== null && requested !== '' && requested !== container) {
    throw badRequest(`container ${requested} is not valid for pod ${stringAt(pod.metadata, 'name') ?? ''}`);
  }
  return container;
}

function waitingReason(pod: KubeObject): string | undefined {
  const state = objectAt(objectsAt(objectAt(pod, 'status'), 'containerStatuses')[0], 'state');
  return stringAt(objectAt(state, 'waiting'), 'reason');
}

function integerQuery(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (!/^[0-9]+$/.test(text))
    throw badRequest(`${name}: Invalid value: ${JSON.stringify(text)}: must be a non-negative integer`);
  return Number(text);
}

/** The last `lines` lines of a buffer. */
function tail(data: Buffer, lines: number): Buffer {
  if (lines === 0) return Buffer.alloc(0);
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--;
  let count = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (data[i] === 0x0a && ++count === lines) return data.subarray(i + 1);
  }
  return data;
}

export function podStreamHandlers(options: PodStreamOptions): PodStreamHandlers {
  const { store, kubelet } = options;
  return {
    exec(req: IncomingMessage, socket: Duplex, head: Buffer, info, query): void {
      try {
        const parsed = parseExecQuery(query);
        if (!parsed.ok) throw badRequest(parsed.message);
        const pod = requirePod(store, info.namespace, info.name);
        const container = checkContainer(pod, parsed.container);
        const phase = phaseOf(pod);
        if (phase === 'Succeeded' || phase === 'Failed') {
          throw badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
        }
        const sandbox = kubelet.sandboxOf(info.namespace, info.name);
        if (sandbox === undefined)
          throw badRequest(`unable to upgrade connection: container not found ("${container}")`);
        acceptExec(req, socket, head, parsed.params, () => sandbox.exec(parsed.params.command), options.execFaults);
      } catch (error) {
        sendStatusOnSocket(socket, statusOf(error));
      }
    },

    rejectExec(req: IncomingMessage, res: ServerResponse): void {
      respondNotWebSocket(req, res);
    },

    async logs(req: IncomingMessage, res: ServerResponse, info, query): Promise<void> {
      const pod = requirePod(store, info.namespace, info.name);
      const container = checkContainer(pod, query.get('container'));
      const previous = parseBoolean(query.get('previous')) === true;
      const follow = parseBoolean(query.get('follow')) === true;
      const tailLines = integerQuery(query, 'tailLines');
      const limitBytes = integerQuery(query, 'limitBytes');
      const file = kubelet.logPath(pod, previous);
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch {
        if (previous) throw badRequest(`previous terminated container "${container}" in pod "${info.name}" not found`);
        const reason = waitingReason(pod) ?? 'ContainerCreating';
        const detail =
          reason === 'ErrImagePull' || reason === 'ImagePullBackOff' ? 'trying and failing to pull image' : reason;
        throw badRequest(`container "${container}" in pod "${info.name}" is waiting to start: ${detail}`);
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
      let sent = 0;
      const limit = limitBytes ?? Number.POSITIVE_INFINITY;
      let offset = 0;
      if (tailLines !== undefined) {
        const handle = await open(file, 'r');
        try {
          const data = Buffer.alloc(size);
          await handle.read(data, 0, size, 0);
          const lastLines = tail(data, tailLines);
          offset = size - lastLines.length;
        } finally {
          await handle.close();
        }
      }
      const copy = async (from: number, to: number): Promise<void> => {
        if (to <= from || sent >= limit) return;
        const end = Math.min(to, from + (limit - sent)) - 1;
        for await (const chunk of createReadStream(file, { start: from, end })) {
          const buffer = chunk as Buffer;
          sent += buffer.length;
          if (!res.write(buffer)) await new Promise((resolve) => res.once('drain', resolve));
          if (res.destroyed) return;
        }
      };
      await copy(offset, size);
      offset = size;
      const closed = (): boolean => res.destroyed || res.writableEnded;
      while (follow && !closed() && sent < limit) {
        const current = store.get(K.pods, info.namespace, info.name);
        const open_ = current !== undefined && kubelet.isLogOpen(current);
        const nowSize = await stat(file).then(
          (s) => s.size,
          () => offset,
        );
        await copy(offset, nowSize);
        offset = Math.max(offset, nowSize);
        if (!open_) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      res.end();
    },
  };
}
