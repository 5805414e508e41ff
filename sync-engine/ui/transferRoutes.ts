import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { flattenError } from '../errors.js';
import type { TetherErrorCode } from '../errors.js';
import { TRANSFER_ROUTES } from './contract.js';
import type { UiService } from './service.js';
import { contentDisposition } from './transfers.js';

/**
 * The browser host's streaming transfer routes (`TRANSFER_ROUTES`): an upload's request body streams into the
 * remote, a download streams out of it, so neither is held in memory and neither has a size cap of its own.
 * Guarded like the socket: the token, a loopback Host (checked by the caller), and no foreign Origin.
 */
export function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const STATUS: Partial<Record<TetherErrorCode, number>> = {
  'bad-argument': 400,
  'bad-url': 400,
  'not-found': 404,
  'permission-denied': 403,
  'read-only': 403,
  'no-space': 507,
  'remote-unreachable': 502,
  cancelled: 499,
};

function answer(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response
    .writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
    .end(JSON.stringify(body));
}

function fail(response: ServerResponse, error: unknown): void {
  const flat = flattenError(error);
  answer(response, STATUS[flat.code] ?? 500, { ok: false, error: flat });
}

export async function serveTransfer(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  host: { service: UiService; token: string; port: number },
): Promise<void> {
  const origin = request.headers.origin;
  const foreign =
    (origin !== undefined &&
      origin !== `http://127.0.0.1:${host.port}` &&
      origin !== `http://localhost:${host.port}`) ||
    request.headers['sec-fetch-site'] === 'cross-site';
  if (!sameToken(url.searchParams.get('token'), host.token) || foreign) {
    request.resume();
    answer(response, 403, {
      ok: false,
      error: { code: 'permission-denied', message: 'transfers need the token of the page `tether ui` printed' },
    });
    return;
  }
  // A transfer stops when its client goes away (a cancelled download, a closed tab).
  const abort = new AbortController();
  response.once('close', () => {
    if (!response.writableFinished) abort.abort();
  });
  if (url.pathname === TRANSFER_ROUTES.upload) {
    if (request.method !== 'PUT') {
      request.resume();
      response.writeHead(405, { Allow: 'PUT' }).end();
      return;
    }
    const length = request.headers['content-length'];
    const size = length === undefined ? NaN : Number(length);
    if (!Number.isSafeInteger(size) || size < 0) {
      request.resume();
      answer(response, 411, {
        ok: false,
        error: { code: 'bad-argument', message: 'an upload needs its Content-Length (the size of the file)' },
      });
      return;
    }
    try {
      await host.service.uploadStream(url.searchParams, request, size, abort.signal);
      answer(response, 200, { ok: true });
    } catch (error) {
      // The body may be unread (a refusal before the first byte): discard it so the answer reaches the client.
      request.resume();
      fail(response, error);
    }
    return;
  }
  if (request.method !== 'GET') {
    response.writeHead(405, { Allow: 'GET' }).end();
    return;
  }
  try {
    await host.service.downloadStream(
      url.searchParams,
      (info) => {
        response.writeHead(200, {
          'Content-Type': info.kind === 'folder' ? 'application/x-tar' : 'application/octet-stream',
          'Content-Disposition': contentDisposition(info.fileName),
          ...(info.size === undefined ? {} : { 'Content-Length': String(info.size) }),
          'Last-Modified': new Date(info.mtimeMs).toUTCString(),
          'X-Content-Type-Options': 'nosniff',
          'Content-Security-Policy': "default-src 'none'; sandbox",
          'Cache-Control': 'no-store',
        });
        return response;
      },
      abort.signal,
    );
  } catch (error) {
    // Before the first byte the client gets the reason; after it, a cut download (the browser marks it failed).
    fail(response, error);
  }
}
