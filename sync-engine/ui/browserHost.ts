import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { TetherError } from '../errors.js';
import { TRANSFER_ROUTES } from './contract.js';
import type { ClientMessage, ServerMessage } from './contract.js';
import { sameToken, serveTransfer } from './transferRoutes.js';
import { isMethodName } from './schemas.js';
import type { UiService } from './service.js';

/**
 * `tether ui`: the renderer served on 127.0.0.1 and the UI contract over a WebSocket at `/api`. A random token in
 * the printed URL guards both the page and the socket; the socket also checks that the page that opens it was
 * served from here (Origin) under a loopback Host name, so another web site, or a DNS-rebound name, gets nothing.
 * File contents never travel over the socket: uploads and downloads stream over `TRANSFER_ROUTES`
 * (`transferRoutes.ts`), guarded by the same token and checks.
 */
export interface BrowserHostOptions {
  readonly service: UiService;
  /** The built renderer (index.html, app.js, app.css). */
  readonly rendererDir: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Tests pass a known token; otherwise 32 random bytes. */
  readonly token?: string;
}

export interface BrowserHost {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** Files the host serves: the renderer's build output and nothing else (no path from the request reaches the disk). */
const FILES = new Set(['/index.html', '/app.js', '/app.css', '/icon.svg']);

function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data: blob:",
      // The socket, and the streaming transfer routes (uploads go up with XHR, for their progress).
      `connect-src ws://127.0.0.1:${port} ws://localhost:${port} http://127.0.0.1:${port} http://localhost:${port}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  };
}

function loopbackHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  let port = 0;

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (!loopbackHost(request.headers.host, port)) {
        response.writeHead(421, { 'Content-Type': 'text/plain' }).end('misdirected request\n');
        return;
      }
      if (url.pathname === TRANSFER_ROUTES.upload || url.pathname === TRANSFER_ROUTES.download) {
        await serveTransfer(request, response, url, { service: options.service, token, port });
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      const path = url.pathname === '/' ? '/index.html' : url.pathname;
      // The page itself needs the token; its script and style are not secret and cannot be given one.
      if (path === '/index.html' && !sameToken(url.searchParams.get('token'), token)) {
        response
          .writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' })
          .end('Tether: open the URL `tether ui` printed (it carries the access token).\n');
        return;
      }
      if (!FILES.has(path)) {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      try {
        const body = await readFile(join(options.rendererDir, path.slice(1)));
        response.writeHead(200, {
          'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream',
          ...securityHeaders(port),
        });
        response.end(request.method === 'HEAD' ? undefined : body);
      } catch {
        response
          .writeHead(500, { 'Content-Type': 'text/plain' })
          .end(`the UI is not built (${path} missing in ${options.rendererDir}); run npm run build\n`);
      }
    })();
  });

  // Calls are small JSON (file contents travel over the transfer routes, never the socket).
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const origin = request.headers.origin;
    const allowed =
      url.pathname === '/api' &&
      sameToken(url.searchParams.get('token'), token) &&
      loopbackHost(request.headers.host, port) &&
      (origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`);
    if (!allowed) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => serve(ws, options.service));
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new TetherError(
          'bad-argument',
          error.code === 'EADDRINUSE'
            ? `port ${options.port ?? 0} is in use; pick another with --port`
            : `cannot listen on 127.0.0.1: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

function serve(ws: WebSocket, service: UiService): void {
  const send = (message: ServerMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const unsubscribe = service.on((event, data) => send({ event, data }));
  ws.on('close', unsubscribe);
  ws.on('message', (raw, isBinary) => {
    let message: Partial<ClientMessage>;
    try {
      if (isBinary) throw new Error('binary frame');
      message = JSON.parse((raw as Buffer).toString('utf8')) as Partial<ClientMessage>;
    } catch {
      ws.close(1003, 'expected JSON text frames');
      return;
    }
    const id = message.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      ws.close(1008, 'a request needs a numeric id');
      return;
    }
    if (!isMethodName(message.method)) {
      send({ id, ok: false, error: { code: 'bad-argument', message: `unknown method ${String(message.method)}` } });
      return;
    }
    void service.call(message.method, message.args).then((answer) => send({ id, ...answer }));
  });
}
