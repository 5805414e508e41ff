import type { KubeConfig } from '@kubernetes/client-node';
import type { Readable, Writable } from 'node:stream';
import { WebSocket } from 'ws';
import type { ClientOptions, RawData } from 'ws';
import { TetherError } from '../../errors.js';

/**
 * A Kubernetes exec client on `ws` with real backpressure both ways (see ../shared/EXEC-STREAMS.md):
 * stdin is sent one bounded message at a time, each awaited until it is written to the socket; stdout is
 * written to a Writable and the socket is paused while that Writable is full. `v5.channel.k8s.io` is
 * preferred; under `v4.channel.k8s.io` stdin cannot be closed, so every command that reads stdin must be
 * length-framed by its caller (`head -c N`).
 */
export const V5 = 'v5.channel.k8s.io';
export const V4 = 'v4.channel.k8s.io';

/** Largest stdin message: well under the apiserver's 32 MiB cap, small enough to interleave. */
const CHUNK = 128 * 1024;
/** Bytes of stdin that may wait in the WebSocket's buffer before sending waits for them to be written. */
const SEND_WINDOW = 1024 * 1024;

export interface ExecTarget {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly pod: string;
  readonly container?: string;
  /** Offer only v4 (tests; clusters known to lack the v5 translation). */
  readonly v4Only?: boolean;
}

export interface ExecRequest {
  /** argv; never a spliced shell string. */
  readonly command: readonly string[];
  /** Bytes for the command's stdin. Under v4 the command must read exactly as many bytes as sent. */
  readonly stdin?: Readable | Buffer;
  /**
   * The stdin stream does not end by itself (a command session's): once the exec is over, do not wait for the
   * next chunk of it. Its owner ends or destroys it.
   */
  readonly stdinOpenEnded?: boolean;
  /** Where stdout goes; when absent it is collected (up to `maxStdoutBytes`) into the result. */
  readonly stdout?: Writable;
  /** Fails the exec when nothing moves for this long (default 60 s). */
  readonly idleTimeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly maxStdoutBytes?: number;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly protocol: string;
}

function execUrl(target: ExecTarget, command: readonly string[]): string {
  const cluster = target.kubeConfig.getCurrentCluster();
  if (cluster === null)
    throw new TetherError('bad-argument', 'the kubeconfig has no current cluster; choose a context with --context');
  const query = new URLSearchParams();
  for (const arg of command) query.append('command', arg);
  if (target.container !== undefined) query.append('container', target.container);
  query.append('stdin', 'true');
  query.append('stdout', 'true');
  query.append('stderr', 'true');
  query.append('tty', 'false');
  const base = cluster.server.replace(/^http/, 'ws').replace(/\/+$/, '');
  return `${base}/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/exec?${query.toString()}`;
}

/** The exit code a v4/v5 status frame reports (0 for Success), or an error for any other failure. */
export function exitCodeOfStatus(text: string): { exitCode: number } | { error: string } {
  let status: unknown;
  try {
    status = JSON.parse(text);
  } catch {
    return { error: `unreadable exec status: ${text.slice(0, 200)}` };
  }
  if (typeof status !== 'object' || status === null) return { error: `unreadable exec status: ${text.slice(0, 200)}` };
  const s = status as { status?: unknown; reason?: unknown; message?: unknown; details?: { causes?: unknown } };
  if (s.status === 'Success') return { exitCode: 0 };
  if (s.reason === 'NonZeroExitCode' && Array.isArray(s.details?.causes)) {
    for (const cause of s.details.causes as { reason?: unknown; message?: unknown }[]) {
      if (cause.reason === 'ExitCode' && typeof cause.message === 'string' && /^\d+$/.test(cause.message))
        return { exitCode: Number(cause.message) };
    }
  }
  return { error: typeof s.message === 'string' ? s.message : text.slice(0, 200) };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

const sessions = { active: 0, peak: 0, started: 0 };

/**
 * Exec sessions open now in this process, the most open at once and how many were started since the last reset
 * (diagnostics, tests).
 */
export function execSessionCounts(reset = false): {
  readonly active: number;
  readonly peak: number;
  readonly started: number;
} {
  const counts = { ...sessions };
  if (reset) {
    sessions.peak = sessions.active;
    sessions.started = 0;
  }
  return counts;
}

/** Runs one command in a pod and resolves with its exit code once the server sent the status and closed. */
export async function execInPod(target: ExecTarget, request: ExecRequest): Promise<ExecResult> {
  sessions.active++;
  sessions.started++;
  sessions.peak = Math.max(sessions.peak, sessions.active);
  try {
    return await execSession(target, request);
  } finally {
    sessions.active--;
  }
}

async function execSession(target: ExecTarget, request: ExecRequest): Promise<ExecResult> {
  const url = execUrl(target, request.command);
  const options: ClientOptions = {
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
    // Client frames are masked so that a browser script cannot make bytes that a cleartext proxy on the way
    // mistakes for HTTP. Inside TLS no intermediary reads the frames, so the mask protects nothing there, and
    // masking every byte in JavaScript was a third of the CPU of an upload: wss:// uses the all-zero mask
    // (which ws then skips). Cleartext ws:// keeps random masks.
    ...(url.startsWith('wss:') ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {}),
  };
  await target.kubeConfig.applyToHTTPSOptions(options);
  const what = `exec in pod ${target.namespace}/${target.pod}`;
  const ws = new WebSocket(url, target.v4Only === true ? [V4] : [V5, V4], options);
  const idleMs = request.idleTimeoutMs ?? 60_000;
  const stdoutChunks: Buffer[] = [];
  let stdoutBytes = 0;
  const stderrChunks: Buffer[] = [];
  let statusText: string | undefined;
  let failure: Error | undefined;
  let lastActivity = Date.now();
  const touch = (): void => {
    lastActivity = Date.now();
  };
  const fail = (error: Error): void => {
    failure ??= error;
    ws.terminate();
  };
  // Read through a function: TypeScript would keep a narrowing of `failure` across the awaits below.
  const failureSoFar = (): Error | undefined => failure;

  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        let message = body.slice(0, 300);
        try {
          const parsed = JSON.parse(body) as { message?: unknown };
          if (typeof parsed.message === 'string') message = parsed.message;
        } catch {
          // not JSON: keep the raw text
        }
        const code = response.statusCode ?? 0;
        reject(
          new TetherError(
            code === 401 || code === 403 ? 'permission-denied' : code === 404 ? 'not-found' : 'remote-unreachable',
            `${what} was refused (HTTP ${code}): ${message}`,
            { retryable: code >= 500 },
          ),
        );
      });
    });
    ws.once('error', (error) =>
      reject(
        new TetherError('remote-unreachable', `${what} failed: ${error.message}`, { cause: error, retryable: true }),
      ),
    );
  });
  ws.on('error', () => undefined);

  const timer = setInterval(
    () => {
      if (Date.now() - lastActivity > idleMs)
        fail(
          new TetherError('remote-unreachable', `${what} timed out: nothing moved for ${idleMs / 1000} s`, {
            retryable: true,
          }),
        );
    },
    Math.min(1000, idleMs),
  );
  const onAbort = (): void => fail(new TetherError('cancelled', `${what} was cancelled`));
  request.signal?.addEventListener('abort', onAbort);
  // Aborted before the listener was there (while the connection was being set up): fail now.
  if (request.signal?.aborted === true) onAbort();

  try {
    await opened;
    const protocol = ws.protocol;
    if (protocol !== V5 && protocol !== V4)
      throw new TetherError(
        'remote-unreachable',
        `${what}: the server chose no supported exec protocol (${protocol || 'none'})`,
      );
    const sink = request.stdout;
    let paused = false;
    sink?.on('drain', () => {
      if (paused) {
        paused = false;
        ws.resume();
      }
    });
    sink?.on('error', (error) => fail(error));
    ws.on('message', (raw: RawData) => {
      touch();
      const data = toBuffer(raw);
      const channel = data[0];
      const payload = data.subarray(1);
      if (channel === 1) {
        if (payload.length === 0) return;
        if (sink !== undefined) {
          if (!sink.write(payload) && !paused) {
            paused = true;
            ws.pause();
          }
        } else {
          stdoutBytes += payload.length;
          if (stdoutBytes > (request.maxStdoutBytes ?? 256 * 1024 * 1024))
            fail(new TetherError('transfer-failed', `${what}: output larger than expected`));
          else stdoutChunks.push(payload);
        }
      } else if (channel === 2) {
        if (stderrChunks.length < 1000) stderrChunks.push(payload);
      } else if (channel === 3) {
        statusText = (statusText ?? '') + payload.toString();
      }
    });

    const sendFrame = (frame: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        if (ws.readyState !== WebSocket.OPEN) {
          reject(
            failure ??
              new TetherError('remote-unreachable', `${what}: the stream closed while sending`, { retryable: true }),
          );
          return;
        }
        let settled = false;
        ws.send(frame, (error) => {
          if (error) {
            // A broken stream also closes the socket, which fails the exec; the rejection matters while waiting.
            if (!settled)
              reject(
                new TetherError('remote-unreachable', `${what}: the stream broke while sending: ${error.message}`, {
                  cause: error,
                  retryable: true,
                }),
              );
          } else if (!settled) resolve();
          settled = true;
        });
        // Up to SEND_WINDOW bytes may wait in the socket's buffer: the next message is read and framed while
        // these are written, instead of one write round trip per message. Memory stays bounded by the window.
        if (ws.bufferedAmount < SEND_WINDOW) {
          settled = true;
          resolve();
        }
      });
    const sendStdin = async (): Promise<void> => {
      const input = request.stdin;
      if (input !== undefined) {
        const source: Iterable<Buffer> | AsyncIterable<Buffer> = Buffer.isBuffer(input)
          ? [input]
          : coalesced(input as AsyncIterable<Buffer>, CHUNK);
        for await (const chunk of source) {
          for (let at = 0; at < chunk.length; at += CHUNK) {
            const part = chunk.subarray(at, at + CHUNK);
            await sendFrame(Buffer.concat([Buffer.from([0]), part]));
            touch();
          }
        }
      }
      if (protocol === V5) await sendFrame(Buffer.from([0xff, 0]));
    };
    const sending = sendStdin().catch((error: unknown) => {
      if (statusText === undefined) fail(error instanceof Error ? error : new Error(String(error)));
    });
    await closed;
    if (request.stdinOpenEnded !== true) await sending;
    if (failure !== undefined) throw failure;
    const stderr = Buffer.concat(stderrChunks).toString();
    if (statusText === undefined)
      throw new TetherError(
        'remote-unreachable',
        `${what}: the stream was cut before the command finished${stderr ? `: ${stderr.trim()}` : ''}`,
        {
          retryable: true,
        },
      );
    const status = exitCodeOfStatus(statusText);
    if ('error' in status) throw new TetherError('remote-unreachable', `${what} failed: ${status.error}`);
    if (sink !== undefined) await drained(sink, request.signal);
    // Cancelled, or the sink failed, while it drained: the output did not all arrive.
    const meanwhile = failureSoFar();
    if (meanwhile !== undefined) throw meanwhile;
    return { exitCode: status.exitCode, stdout: Buffer.concat(stdoutChunks), stderr, protocol };
  } catch (error) {
    ws.terminate();
    throw failure ?? error;
  } finally {
    clearInterval(timer);
    request.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Waits until `sink` has taken what it was given: its 'drain', or its end (destroyed, closed, failed: its reader
 * stopped, which is the reader's to report), or a cancel. Never longer: waiting on a sink nobody reads any
 * more would hold the exec, and its idle timer, forever.
 */
export function drained(sink: Writable, signal: AbortSignal | undefined): Promise<void> {
  if (!sink.writableNeedDrain || sink.destroyed || signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      sink.off('error', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
    sink.on('error', done);
    signal?.addEventListener('abort', done);
  });
}

/**
 * The chunks of `source`, joined up to `max` bytes from what is ready by the next turn of the event loop. A tar
 * stream of small files yields a 512-byte header, a few KiB of content and padding per file: one WebSocket
 * message each (masked, written, awaited) made a push of many small files cost a round trip per chunk.
 */
export async function* coalesced(source: AsyncIterable<Buffer>, max: number): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  // The read for the next chunk is issued before this one is passed on, so it may fail (a source destroyed by
  // a cut upload) while nobody awaits it: marked as handled here, it still rejects for whoever awaits it next.
  const read = (): Promise<IteratorResult<Buffer>> => {
    const next = iterator.next();
    next.catch(() => undefined);
    return next;
  };
  let pending = read();
  try {
    for (;;) {
      const first = await pending;
      if (first.done === true) return;
      const parts = [first.value];
      let size = first.value.length;
      pending = read();
      while (size < max) {
        const turn = new Promise<undefined>((resolve) => setImmediate(resolve, undefined));
        const ready = await Promise.race([pending, turn]);
        if (ready === undefined || ready.done === true) break;
        parts.push(ready.value);
        size += ready.value.length;
        pending = read();
      }
      yield parts.length === 1 ? first.value : Buffer.concat(parts, size);
    }
  } finally {
    // Stopped early (a failed send): let the source release what it holds. Not awaited: an async generator's
    // return() waits behind the read still pending, which a stalled source may never answer.
    void iterator.return?.().catch(() => undefined);
  }
}
