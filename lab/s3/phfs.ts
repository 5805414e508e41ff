import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import S3rver from '@20minutes/s3rver';
import type { FilesystemStore } from '@20minutes/s3rver';
import { LabFaults } from '../faults.js';
import { AwsChunkedDecoder, isAwsChunked } from './awsChunked.js';
import { checkConditions, KeyLocks, writeConditions } from './conditionalWrites.js';
import type { ConditionalWriteMode } from './conditionalWrites.js';
import { abortPendingUpload, listPendingUploads, listUploadsXml } from './multipartUploads.js';
import {
  fixDelimitedListing,
  fixMultipartEtags,
  limitMetadataReads,
  v1ResultToV2,
  v2QueryToV1,
} from './s3rverFixes.js';
import { classify, isAllowed, keysOfDeleteRequest } from './permissions.js';
import type { S3Grant } from './permissions.js';
import { v2QueryParameters, verifySigV2 } from './sigv2.js';
import { authQueryParameters, queryPairs, verifySigV4 } from './sigv4.js';
import type { S3ErrorCode } from './sigv4.js';

/**
 * The PHFS object store: s3rver (a maintained S3 emulator, filesystem-backed) on a private Unix socket, behind
 * the lab's own front door on 127.0.0.1, which checks SigV4 signatures against the lab's credentials, applies
 * each credential's group permissions, decodes aws-chunked uploads, and injects the faults tests ask for.
 */
export interface PhfsCredential {
  readonly user: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly grant: S3Grant;
}

export interface PhfsOptions {
  /** Where s3rver keeps the bucket (`<dataDir>/<bucket>/…`) and its socket. */
  readonly dataDir: string;
  readonly bucket: string;
  readonly region: string;
  readonly host: string;
  readonly port: number;
  readonly credentials: readonly PhfsCredential[];
  readonly faults: LabFaults;
  readonly log?: (line: string) => void;
  /** How conditional writes (`If-None-Match: *`, `If-Match`) are answered; default `enforce`, as S3 does. */
  readonly conditionalWrites?: ConditionalWriteMode;
}

export function newCredential(user: string, grant: S3Grant): PhfsCredential {
  const id = `LAB${user.toUpperCase().replace(/[^A-Z0-9]/g, '')}${randomBytes(6).toString('hex').toUpperCase()}`.slice(
    0,
    20,
  );
  return { user, accessKeyId: id, secretAccessKey: randomBytes(30).toString('base64url'), grant };
}

/**
 * A store of its own on loopback, outside a lab (bucket `phfs`, region us-east-1, a free port): for tests and
 * benchmarks that need only the object store. Faults start cleared unless `faults` is given.
 */
export async function startStandalonePhfs(
  dataDir: string,
  credentials: readonly PhfsCredential[],
  options: Partial<Pick<PhfsOptions, 'faults' | 'conditionalWrites' | 'log'>> = {},
): Promise<{ server: PhfsServer; endpoint: string }> {
  const server = new PhfsServer({
    dataDir,
    bucket: 'phfs',
    region: 'us-east-1',
    host: '127.0.0.1',
    port: 0,
    credentials,
    faults: options.faults ?? new LabFaults(),
    ...(options.conditionalWrites === undefined ? {} : { conditionalWrites: options.conditionalWrites }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  return { server, endpoint: await server.start() };
}

/**
 * Environment that gives `rclone` a remote named `lab` for this store (no config file needed beyond an empty
 * `configFile`): `rclone lsf lab:BUCKET/prefix`.
 */
export function rcloneLabEnv(endpoint: string, credential: PhfsCredential, configFile: string): NodeJS.ProcessEnv {
  return {
    RCLONE_CONFIG: configFile,
    RCLONE_CONFIG_LAB_TYPE: 's3',
    RCLONE_CONFIG_LAB_PROVIDER: 'Other',
    RCLONE_CONFIG_LAB_ENDPOINT: endpoint,
    RCLONE_CONFIG_LAB_ACCESS_KEY_ID: credential.accessKeyId,
    RCLONE_CONFIG_LAB_SECRET_ACCESS_KEY: credential.secretAccessKey,
    RCLONE_CONFIG_LAB_REGION: 'us-east-1',
    RCLONE_CONFIG_LAB_FORCE_PATH_STYLE: 'true',
  };
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const statusOfCode: Readonly<
  Record<
    | S3ErrorCode
    | 'SlowDown'
    | 'InternalError'
    | 'MalformedXML'
    | 'IncompleteBody'
    | 'NoSuchUpload'
    | 'NoSuchKey'
    | 'PreconditionFailed'
    | 'NotImplemented',
    number
  >
> = {
  AccessDenied: 403,
  InvalidAccessKeyId: 403,
  SignatureDoesNotMatch: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  RequestTimeTooSkewed: 403,
  InvalidRequest: 400,
  SlowDown: 503,
  InternalError: 500,
  MalformedXML: 400,
  IncompleteBody: 400,
  NoSuchUpload: 404,
  NoSuchKey: 404,
  PreconditionFailed: 412,
  NotImplemented: 501,
};

function sendError(res: ServerResponse, code: keyof typeof statusOfCode, message: string, resource: string): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(statusOfCode[code], {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    ...(code === 'SlowDown' || code === 'InternalError' ? { Connection: 'close' } : {}),
  });
  res.end(body);
}

async function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** A short name for what a request does, for `requestCounts`: `PUT object`, `PUT part`, `GET list`, …. */
export function operationName(method: string, kind: string, pairs: readonly [string, string][], copy: boolean): string {
  const has = (name: string): boolean => pairs.some(([k]) => k === name);
  if (kind === 'listObjects') return `${method} ${has('uploads') ? 'uploads' : 'list'}`;
  if (kind !== 'read' && kind !== 'write') return `${method} ${kind}`;
  if (has('partNumber')) return `${method} part`;
  if (has('uploads') || has('uploadId')) return `${method} upload`;
  return `${method} ${copy ? 'copy' : 'object'}`;
}

export class PhfsServer {
  private readonly options: PhfsOptions;
  private readonly byKey: Map<string, PhfsCredential>;
  private readonly socketPath: string;
  private readonly sockets = new Set<Socket>();
  private front: Server | undefined;
  private store: FilesystemStore | undefined;
  /** Object writes (PUT, copy, complete, DELETE) one at a time per key, so a condition holds until its write. */
  private readonly keyLocks = new KeyLocks();
  private back: Server | undefined;
  /**
   * Requests answered since start, by operation (`PUT object`, `HEAD object`, `GET list`, …): what tests and
   * benchmarks read to see how many round trips a client spent.
   */
  readonly requestCounts = new Map<string, number>();
  /** s3rver's folder of pending multipart uploads in the bucket (set by `start`). */
  private uploadsDir = '';

  constructor(options: PhfsOptions) {
    this.options = options;
    this.byKey = new Map(options.credentials.map((c) => [c.accessKeyId, c]));
    this.socketPath = path.join(options.dataDir, '.s3rver.sock');
  }

  /** Starts both servers; returns the endpoint URL (`http://127.0.0.1:PORT`). */
  async start(): Promise<string> {
    const { dataDir, bucket } = this.options;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await rm(this.socketPath, { force: true });
    const s3rver = new S3rver({
      directory: dataDir,
      silent: true,
      resetOnClose: false,
      allowMismatchedSignatures: true,
      vhostBuckets: false,
      configureBuckets: [{ name: bucket }],
    });
    fixDelimitedListing(s3rver.store);
    fixMultipartEtags(s3rver.store);
    limitMetadataReads(s3rver.store);
    this.uploadsDir = s3rver.store.getResourcePath(bucket, undefined, 'uploads');
    this.store = s3rver.store;
    await s3rver.configureBuckets();
    this.back = await s3rver.listen(this.socketPath);
    const front = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.options.log?.(
          `lab s3: ${req.method ?? ''} ${req.url ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        sendError(res, 'InternalError', 'We encountered an internal error. Please try again.', req.url ?? '/');
      });
    });
    front.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.front = front;
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.listen(this.options.port, this.options.host, () => resolve());
    });
    const { port } = front.address() as AddressInfo;
    return `http://${this.options.host}:${port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      [this.front, this.back].map(
        (server) =>
          new Promise<void>((resolve) => {
            if (server === undefined) resolve();
            else {
              server.closeAllConnections();
              server.close(() => resolve());
            }
          }),
      ),
    );
    await rm(this.socketPath, { force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const question = url.indexOf('?');
    const rawPath = question === -1 ? url : url.slice(0, question);
    // The authentication parameters of presigned URLs stay here; s3rver sees the request unsigned.
    const pairs = queryPairs(question === -1 ? '' : url.slice(question + 1)).filter(
      ([key]) => !authQueryParameters.has(key) && !v2QueryParameters.has(key),
    );
    const resource = rawPath;
    const signing = { method, url, rawHeaders: req.rawHeaders };
    const verifyOptions = {
      region: this.options.region,
      secretOf: (id: string) => this.byKey.get(id)?.secretAccessKey,
    };
    const verdict = verifySigV2(signing, verifyOptions) ?? verifySigV4(signing, verifyOptions);
    if (!verdict.ok) {
      req.resume();
      sendError(res, verdict.code, verdict.message, resource);
      return;
    }
    const credential = this.byKey.get(verdict.accessKeyId);
    if (credential === undefined) {
      sendError(
        res,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        resource,
      );
      return;
    }
    const { faults } = this.options;
    const latency = faults.s3LatencyMs();
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const failure = faults.takeS3Failure();
    if (failure !== undefined) {
      req.resume();
      if (failure === 503) sendError(res, 'SlowDown', 'Please reduce your request rate. (lab fault)', resource);
      else sendError(res, 'InternalError', 'We encountered an internal error. Please try again. (lab fault)', resource);
      return;
    }
    const copySource = req.headers['x-amz-copy-source'];
    const action = classify(method, rawPath, new Map(pairs), typeof copySource === 'string' ? copySource : undefined);
    const operation = operationName(method, action.kind, pairs, typeof copySource === 'string');
    this.requestCounts.set(operation, (this.requestCounts.get(operation) ?? 0) + 1);
    let body: Buffer | undefined;
    let keys: string[] = [];
    if (action.kind === 'deleteObjects') {
      body = await readSmallBody(req, 2 * 1024 * 1024);
      if (body === undefined) {
        sendError(res, 'MalformedXML', 'The XML you provided was too large.', resource);
        return;
      }
      keys = keysOfDeleteRequest(body.toString('utf8'));
    }
    if (!isAllowed(credential.grant, action, keys)) {
      req.resume();
      this.options.log?.(`lab s3: ${credential.user} denied ${method} ${rawPath}`);
      sendError(res, 'AccessDenied', 'Access Denied', resource);
      return;
    }
    const query = new Map(pairs);
    if (method === 'GET' && action.kind === 'listObjects' && query.has('uploads')) {
      const prefix = query.get('prefix') ?? '';
      const uploads = await listPendingUploads(this.uploadsDir, prefix);
      const xml = listUploadsXml(this.options.bucket, prefix, uploads, query.get('encoding-type') === 'url');
      res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
      res.end(xml);
      return;
    }
    const uploadId = query.get('uploadId');
    if (method === 'DELETE' && action.kind === 'write' && uploadId !== undefined) {
      req.resume();
      if (await abortPendingUpload(this.uploadsDir, action.key, uploadId)) {
        res.writeHead(204);
        res.end();
      } else {
        sendError(res, 'NoSuchUpload', 'The specified upload does not exist.', resource);
      }
      return;
    }
    if (method === 'GET' && action.kind === 'listObjects' && pairs.some(([k, v]) => k === 'list-type' && v === '2')) {
      await this.listV2(req, res, rawPath, pairs);
      return;
    }
    const objectWrite =
      (method === 'PUT' && !query.has('partNumber')) ||
      (method === 'POST' && uploadId !== undefined) ||
      method === 'DELETE';
    if (action.kind === 'write' && objectWrite) {
      const { bucket, key } = action;
      await this.keyLocks.run(`${bucket}/${key}`, async () => {
        const conditions = method === 'DELETE' ? undefined : writeConditions(req.headers);
        if (conditions !== undefined) {
          const etag = await this.currentEtag(bucket, key);
          const verdict = checkConditions(conditions, etag, this.options.conditionalWrites ?? 'enforce');
          if (!verdict.ok) {
            req.resume();
            sendError(res, verdict.code, verdict.message, resource);
            return;
          }
        }
        await this.forward(req, res, method, rawPath, pairs, body);
      });
      return;
    }
    await this.forward(req, res, method, rawPath, pairs, body);
  }

  /** The ETag of the object at `key` (quoted, as S3 gives it), or undefined when there is none. */
  private async currentEtag(bucket: string, key: string): Promise<string | undefined> {
    if (this.store === undefined || bucket !== this.options.bucket) return undefined;
    try {
      return (await this.store.getMetadata(bucket, key)).etag;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
        return undefined;
      throw error;
    }
  }

  /** ListObjectsV2, served from s3rver's V1 listing (see listing.ts). */
  private async listV2(
    req: IncomingMessage,
    res: ServerResponse,
    rawPath: string,
    pairs: [string, string][],
  ): Promise<void> {
    const v1 = v2QueryToV1(pairs);
    const query = v1.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const upstream = httpRequest({
        socketPath: this.socketPath,
        method: 'GET',
        path: query === '' ? rawPath : `${rawPath}?${query}`,
        headers: { host: req.headers.host ?? 'localhost', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      });
      upstream.on('response', resolve);
      upstream.on('error', reject);
      upstream.end();
    });
    const chunks: Buffer[] = [];
    for await (const chunk of answer) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = answer.statusCode === 200 ? v1ResultToV2(text, pairs) : text;
    res.writeHead(answer.statusCode ?? 502, {
      'Content-Type': 'application/xml',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  /** Passes an authorised request to s3rver: auth stripped, aws-chunked bodies decoded, streaming both ways. */
  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    rawPath: string,
    pairs: [string, string][],
    body: Buffer | undefined,
  ): Promise<void> {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      if (['authorization', 'connection', 'keep-alive', 'transfer-encoding', 'expect'].includes(name)) continue;
      headers[name] = value;
    }
    const contentEncoding = req.headers['content-encoding'];
    const payloadHash = req.headers['x-amz-content-sha256'];
    const chunked = isAwsChunked(contentEncoding, typeof payloadHash === 'string' ? payloadHash : undefined);
    if (chunked) {
      const decoded = req.headers['x-amz-decoded-content-length'];
      const rest = (contentEncoding ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '' && e !== 'aws-chunked');
      if (rest.length > 0) headers['content-encoding'] = rest.join(',');
      else delete headers['content-encoding'];
      delete headers['x-amz-trailer'];
      delete headers['x-amz-decoded-content-length'];
      if (typeof decoded === 'string') headers['content-length'] = decoded;
      else delete headers['content-length'];
    }
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    if (body !== undefined) headers['content-length'] = String(body.length);
    const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const upstream = httpRequest({
      socketPath: this.socketPath,
      method,
      path: query === '' ? rawPath : `${rawPath}?${query}`,
      headers,
    });
    const answered = new Promise<void>((resolve, reject) => {
      upstream.on('response', (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        pipeline(answer, res).then(resolve, reject);
      });
      upstream.on('error', reject);
    });
    // If the client dies mid-upload, the pipeline below throws first and `answered` is never awaited: mark it
    // handled so its later rejection cannot take the whole lab down (the request's own handler reports the error).
    answered.catch(() => undefined);
    if (body !== undefined) upstream.end(body);
    else if (chunked) await pipeline(req, new AwsChunkedDecoder(), upstream);
    else await pipeline(req, upstream);
    await answered;
  }
}
