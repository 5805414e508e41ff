import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

import type { ExecFaults, SandboxProcess } from '../runtime/contract.js';
import { httpErrorStatus, type KubernetesStatus } from './frames.js';
import { chooseProtocol, noProtocolMessage, offeredProtocols } from './negotiate.js';
import type { ExecParams } from './query.js';
import { ExecSession } from './session.js';

/** The largest message a client may send, as the API server's WebSocket layer allows (32 MiB). */
export const maxClientMessageBytes = 32 * 1024 * 1024;

function statusBody(status: KubernetesStatus): string {
  return JSON.stringify(status);
}

/** Answers an upgrade request on its raw socket with an HTTP error and a Kubernetes Status body, then closes it. */
export function rejectUpgrade(socket: Duplex, status: KubernetesStatus): void {
  const body = statusBody(status);
  const code = status.code ?? 400;
  const head = [
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  socket.on('error', () => undefined);
  socket.once('finish', () => socket.destroy());
  socket.end(head + body);
}

/**
 * The Status for an exec request that is not a WebSocket upgrade (kubectl's SPDY fallback, a plain POST or GET).
 * Pass `v4Only` when that fault is on: it is then why kubectl (which offers v5 only) fell back to SPDY.
 */
export function notWebSocketStatus(request: IncomingMessage, v4Only = false): KubernetesStatus {
  const upgrade = request.headers.upgrade;
  const what = upgrade === undefined ? `a plain ${request.method ?? 'HTTP'} request` : `an upgrade to ${upgrade}`;
  const advice = v4Only
    ? "the lab's v4Only fault is on, so it accepts v4.channel.k8s.io only, which kubectl 1.30+ does not offer " +
      '(it falls back to SPDY, which the lab does not speak); use a client that offers v4, or turn the fault off'
    : 'the lab does not speak SPDY (use kubectl 1.30 or later, which uses WebSockets for exec)';
  const accepted = v4Only ? 'v4.channel.k8s.io' : 'v5.channel.k8s.io or v4.channel.k8s.io';
  return httpErrorStatus(
    400,
    'BadRequest',
    `exec needs a WebSocket upgrade with subprotocol ${accepted}, but this was ${what}; ${advice}`,
  );
}

/** Answers a non-upgrade exec request (the 'request' event, not 'upgrade') with the 400 Status. */
export function respondNotWebSocket(request: IncomingMessage, response: ServerResponse, v4Only = false): void {
  const body = statusBody(notWebSocketStatus(request, v4Only));
  response.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

function readFaults(faults: () => ExecFaults): ExecFaults {
  try {
    return faults();
  } catch {
    return {};
  }
}

/**
 * Serves one exec request on an `upgrade` event, after the API server has authenticated and authorised it and
 * found a running pod. Negotiates the subprotocol (v5 preferred, v4 accepted, nothing else; v4 only under the
 * `v4Only` fault), refusing with a 400 Status otherwise; then calls `start` and streams until the process exits.
 * Faults are read once, when the request arrives, and hold for the whole session.
 */
export function acceptExec(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  params: ExecParams,
  start: () => SandboxProcess,
  faults: () => ExecFaults,
): void {
  const snapshot = readFaults(faults);
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') {
    rejectUpgrade(socket, notWebSocketStatus(request, snapshot.v4Only === true));
    return;
  }
  const offered = offeredProtocols(request.headers['sec-websocket-protocol']);
  const protocol = chooseProtocol(offered, snapshot.v4Only === true);
  if (protocol === undefined) {
    rejectUpgrade(socket, httpErrorStatus(400, 'BadRequest', noProtocolMessage(offered, snapshot.v4Only === true)));
    return;
  }
  const server = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: maxClientMessageBytes,
    handleProtocols: () => protocol,
  });
  // A malformed handshake (bad key or version) is answered by `ws` itself with a 400 and never reaches the callback.
  server.handleUpgrade(request, socket, head, (ws) => {
    new ExecSession(ws, protocol, params, snapshot).run(start);
  });
}
