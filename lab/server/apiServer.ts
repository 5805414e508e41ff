import { createServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  ApiError,
  forbidden,
  forbiddenPath,
  statusOf,
  tooLarge,
  unauthorized,
  badRequest,
  resourceNotFound,
} from '../objects/apiError.js';
import type { Status } from '../objects/apiError.js';
import type { JsonObject } from '../objects/json.js';
import { findKind } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import type { ObjectStore } from '../objects/store.js';
import { maxBodyBytes, requireFormat, serialise } from './api.js';
import type { ApiCore } from './api.js';
import { anonymousUser } from './auth.js';
import type { TokenAuthenticator } from './auth.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, serverVersion } from './discovery.js';
import { negotiate } from './negotiation.js';
import { openApiFor } from './openapi.js';
import { authorize, forbiddenReason } from './rbac.js';
import type { Attributes, RbacSnapshot, UserInfo } from './rbac.js';
import { parseRequestInfo } from './requestInfo.js';
import type { RequestInfo, ResourceRequest } from './requestInfo.js';
import { serveWatch } from './watch.js';

/** What the lab plugs into the API server for pod streams (exec, logs) and its own admin endpoint. */
export interface PodStreamHandlers {
  /** An authorized exec upgrade; answers on the socket (101 and the stream, or an HTTP error). */
  exec(req: IncomingMessage, socket: Duplex, head: Buffer, info: ResourceRequest, query: URLSearchParams): void;
  /** A non-upgrade exec request (SPDY POST or a plain GET): must be answered with a 400 Status. */
  rejectExec(req: IncomingMessage, res: ServerResponse): void;
  /** `GET …/pods/NAME/log`. */
  logs(req: IncomingMessage, res: ServerResponse, info: ResourceRequest, query: URLSearchParams): Promise<void>;
}

export interface AdminHandler {
  /** Handles `/lab/v1/…` for an authorized user; returns the JSON answer. */
  handle(method: string, path: string, body: JsonObject | undefined): Promise<{ status: number; body: JsonObject }>;
}

export interface ApiServerOptions {
  readonly core: ApiCore;
  readonly store: ObjectStore;
  readonly authenticator: TokenAuthenticator;
  readonly rbac: () => RbacSnapshot;
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly host: string;
  readonly port: number;
  readonly pods?: PodStreamHandlers;
  readonly admin?: AdminHandler;
  /** Request log lines (never carry tokens). */
  readonly log?: (line: string) => void;
}

const publicPaths = new Set(['/healthz', '/livez', '/readyz', '/version', '/version/']);

export function sendStatus(res: ServerResponse, status: Status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(status);
  res.writeHead(status.code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...(status.code === 413 ? { Connection: 'close' } : {}),
  });
  res.end(body);
}

/** Writes an HTTP error with a Status body on a socket that has not been upgraded, then closes it. */
export function sendStatusOnSocket(socket: Duplex, status: Status): void {
  const body = JSON.stringify(status);
  const reason = status.reason.replace(/([a-z])([A-Z])/g, '$1 $2');
  socket.end(
    `HTTP/1.1 ${status.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function sendJson(
  res: ServerResponse,
  code: number,
  body: JsonObject,
  format: 'json' | 'yaml' = 'json',
  warnings: readonly string[] = [],
): void {
  const { contentType, text } = serialise(body, format);
  const headers: Record<string, string | number | string[]> = {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
  };
  // RFC 7234 warnings, as the API server sends them (kubectl prints them as "Warning: …").
  if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a request body up to the API server's limit. */
export function readBody(req: IncomingMessage, limit = maxBodyBytes): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit: answer 413 at once (the connection closes after it) and discard the rest.
      if (size > limit) {
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function attributesOf(info: RequestInfo): Attributes {
  if (!info.isResource) return { kind: 'nonResource', verb: info.verb, path: info.path };
  // Exec over a WebSocket GET is authorized as `create`, as Kubernetes does since 1.30+.
  const verb = info.subresource === 'exec' ? 'create' : info.verb;
  return {
    kind: 'resource',
    verb,
    namespace: info.namespace,
    apiGroup: info.group,
    resource: info.resource,
    subresource: info.subresource,
    name: info.name,
  };
}

/**
 * The lab's Kubernetes API server over HTTPS: authentication (bearer tokens), RBAC authorization on every
 * request, discovery, the resource handlers, watch streams, exec upgrades and the lab's admin endpoint.
 */
export class ApiServer {
  private readonly server: Server;
  private readonly options: ApiServerOptions;
  private readonly sockets = new Set<Socket | Duplex>();

  constructor(options: ApiServerOptions) {
    this.options = options;
    this.server = createServer({
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      keepAliveTimeout: 30_000,
      // Go's default, which the API server keeps: exec URLs carry one parameter per argv element.
      maxHeaderSize: 1024 * 1024,
    });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.onRequest(req, res).catch((error: unknown) => {
        this.logError(req, error);
        sendStatus(res, statusOf(error));
      });
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      try {
        this.onUpgrade(req, socket, head);
      } catch (error) {
        this.logError(req, error);
        sendStatusOnSocket(socket, statusOf(error));
      }
    });
    this.server.on('secureConnection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('tlsClientError', () => undefined);
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  private logError(req: IncomingMessage, error: unknown): void {
    if (error instanceof ApiError && error.code < 500) return;
    this.options.log?.(
      `lab api: ${req.method ?? '?'} ${(req.url ?? '').split('?')[0] ?? ''} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }

  private identify(req: IncomingMessage, path: string): UserInfo {
    const header = req.headers.authorization;
    const user = this.options.authenticator.authenticate(header);
    if (user !== undefined) return user;
    // No credentials at all: only the public health and version paths; bad credentials: always 401.
    if (header === undefined && publicPaths.has(path)) return anonymousUser;
    throw unauthorized();
  }

  private authorizeRequest(info: RequestInfo, user: UserInfo): void {
    const attributes = attributesOf(info);
    if (authorize(attributes, user, this.options.rbac()).allowed) return;
    const why = forbiddenReason(attributes, user);
    if (!info.isResource) throw forbiddenPath(why);
    throw forbidden({ group: info.group, resource: info.resource }, info.name, why);
  }

  private parse(req: IncomingMessage): { url: URL; info: RequestInfo } {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://lab.invalid');
    } catch {
      throw badRequest('the request URL is malformed');
    }
    const info = parseRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
    if (info === undefined) throw badRequest(`the request path is malformed: ${url.pathname}`);
    return { url, info };
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { url, info } = this.parse(req);
    const user = this.identify(req, url.pathname);
    this.authorizeRequest(info, user);
    this.options.log?.(`lab api: ${user.name} UPGRADE ${url.pathname}`);
    if (
      !info.isResource ||
      info.resource !== 'pods' ||
      info.subresource !== 'exec' ||
      info.group !== '' ||
      this.options.pods === undefined
    ) {
      throw badRequest(`the lab upgrades only pod exec requests to WebSockets, not ${url.pathname}`);
    }
    this.options.pods.exec(req, socket, head, info, url.searchParams);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Read the whole body first, whatever the method: a body left unread (a GET with one, a request refused
    // early) would otherwise corrupt the next request on the same keep-alive connection.
    const body = await readBody(req);
    const { url, info } = this.parse(req);
    const user = this.identify(req, url.pathname);
    this.authorizeRequest(info, user);
    res.on('finish', () =>
      this.options.log?.(`lab api: ${user.name} ${req.method ?? ''} ${url.pathname} ${res.statusCode}`),
    );
    if (!info.isResource) {
      await this.nonResource(req, res, url, body);
      return;
    }
    const kind = findKind(info.group, info.version, info.resource);
    if (kind === undefined) throw resourceNotFound();
    if (info.resource === 'pods' && info.subresource === 'exec' && info.extra.length === 0) {
      if (this.options.pods === undefined) throw badRequest('the lab serves no pod streams');
      this.options.pods.rejectExec(req, res);
      return;
    }
    if (info.resource === 'pods' && info.subresource === 'log' && info.extra.length === 0) {
      if (req.method !== 'GET' || this.options.pods === undefined) throw badRequest('pod logs are read with GET');
      await this.options.pods.logs(req, res, info, url.searchParams);
      return;
    }
    const format = requireFormat(negotiate(req.headers.accept));
    if (info.verb === 'watch') {
      this.watch(kind, info, url.searchParams, format, res);
      return;
    }
    const contentType = req.headers['content-type'];
    const response = await this.options.core.handle({
      method: req.method ?? 'GET',
      info,
      kind,
      query: url.searchParams,
      user,
      ...(body.length === 0 ? {} : { body }),
      ...(contentType === undefined ? {} : { contentType }),
      format,
    });
    sendJson(res, response.status, response.body, response.format === 'yaml' ? 'yaml' : 'json', response.warnings);
  }

  private watch(
    kind: KindInfo,
    info: ResourceRequest,
    query: URLSearchParams,
    format: ReturnType<typeof negotiate>,
    res: ServerResponse,
  ): void {
    if (!kind.watchable || info.subresource !== '' || info.extra.length > 0) throw resourceNotFound();
    const watchQuery = new URLSearchParams(query);
    // A watch of one object by name (/watch/namespaces/ns/pods/NAME) is a field-selected watch.
    if (info.name !== '' && !/metadata\.name/.test(query.get('fieldSelector') ?? '')) {
      const selector = query.get('fieldSelector');
      watchQuery.set(
        'fieldSelector',
        `${selector === null || selector === '' ? '' : `${selector},`}metadata.name=${info.name}`,
      );
    }
    serveWatch(
      this.options.store,
      {
        kind,
        namespace: info.namespace,
        query: watchQuery,
        format: format === 'yaml' || format === undefined ? 'json' : format,
      },
      res,
    );
  }

  private async nonResource(req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path.startsWith('/lab/v1/') && this.options.admin !== undefined) {
      let body: JsonObject | undefined;
      if (req.method !== 'GET' && raw.length > 0) {
        try {
          const parsed = JSON.parse(raw.toString('utf8')) as unknown;
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed as JsonObject;
        } catch (error) {
          throw badRequest(
            `the lab admin endpoint takes a JSON object: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      const answer = await this.options.admin.handle(req.method ?? 'GET', path, body);
      sendJson(res, answer.status, answer.body);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 404, '404 page not found\n');
      return;
    }
    const address = req.socket.localAddress ?? '127.0.0.1';
    const port = req.socket.localPort ?? 0;
    const parts = path.split('/').filter((p) => p !== '');
    let body: JsonObject | undefined;
    if (path === '/api') body = apiVersions(`${address}:${port}`);
    else if (path === '/apis') body = apiGroupList();
    else if (parts[0] === 'api' && parts.length === 2) body = apiResourceList('', parts[1] ?? '');
    else if (parts[0] === 'apis' && parts.length === 2) body = apiGroup(parts[1] ?? '');
    else if (parts[0] === 'apis' && parts.length === 3) body = apiResourceList(parts[1] ?? '', parts[2] ?? '');
    else if (path === '/version') body = serverVersion;
    else if (path === '/openapi/v3' || path.startsWith('/openapi/v3/')) body = openApiFor(path);
    else if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      sendText(res, 200, 'ok');
      return;
    }
    if (body === undefined) {
      sendText(res, 404, '404 page not found\n');
      return;
    }
    sendJson(res, 200, body);
  }
}
