import type { Readable, Writable } from 'node:stream';
import type { WebSocket } from 'ws';

import type { ExecFaults, SandboxProcess } from '../runtime/contract.js';
import {
  channels,
  encodeFrame,
  encodeStatus,
  internalErrorStatus,
  parseClientMessage,
  splitPayload,
  statusForExit,
  type ExecProtocol,
  type KubernetesStatus,
} from './frames.js';
import type { ExecParams } from './query.js';
import { TokenBucket, burstFor } from './tokenBucket.js';

/**
 * One exec session: a WebSocket on one side, a sandbox process on the other, with backpressure both ways.
 *
 * Out (process → client): output chunks wait in `outQueue` (for latency and bandwidth faults) and then in the
 * socket (`outInFlight`, bytes handed to `ws.send` whose callback has not fired yet). While the two together
 * exceed `outHighWater`, the process's stdout and stderr are paused; below `outLowWater` they resume.
 *
 * In (client → process): stdin frames wait in `inQueue`; the pump writes one at a time and, when `write()`
 * returns false, waits for 'drain'. While the queue exceeds `inHighWater` the WebSocket is paused (its socket
 * stops reading, so TCP pushes back on the client).
 */

export const outHighWater = 1024 * 1024;
export const outLowWater = 256 * 1024;
export const inHighWater = 1024 * 1024;
export const inLowWater = 256 * 1024;

type OutItem =
  | { readonly kind: 'data'; readonly channel: number; readonly data: Buffer; readonly due: number }
  | { readonly kind: 'status'; readonly status: KubernetesStatus; readonly due: number };

type InItem =
  | { readonly kind: 'data'; readonly data: Buffer; readonly due: number }
  | { readonly kind: 'end'; readonly due: number };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The lowest channel the server writes on: where the initial empty frame goes (stdout unless not requested). */
function firstOutputChannel(params: ExecParams): number {
  if (params.stdout || params.tty) return channels.stdout;
  return params.stderr ? channels.stderr : channels.status;
}

export class ExecSession {
  private process: SandboxProcess | undefined;
  private readonly outQueue: OutItem[] = [];
  private outQueuedBytes = 0;
  private outInFlight = 0;
  private outPumping = false;
  private readonly inQueue: InItem[] = [];
  private inQueuedBytes = 0;
  private inPumping = false;
  private readonly sources: Readable[] = [];
  private sourcesPaused = false;
  private openOutputs = 0;
  private exitCode: number | undefined;
  private stdinClosed = false;
  private statusQueued = false;
  /** The socket is gone (closed by either side, or cut): nothing more is sent or written. */
  private closed = false;
  private transferred = 0;
  private readonly outBucket: TokenBucket | undefined;
  private readonly inBucket: TokenBucket | undefined;
  private readonly latencyMs: number;

  constructor(
    private readonly ws: WebSocket,
    private readonly protocol: ExecProtocol,
    private readonly params: ExecParams,
    private readonly faults: ExecFaults,
  ) {
    const rate = faults.bandwidthBytesPerSecond;
    if (rate !== undefined && rate > 0) {
      this.outBucket = new TokenBucket(rate, burstFor(rate));
      this.inBucket = new TokenBucket(rate, burstFor(rate));
    }
    this.latencyMs = Math.max(0, faults.latencyMs ?? 0);
  }

  /** Sends the initial frame, starts the process and wires both directions. */
  run(start: () => SandboxProcess): void {
    this.ws.on('error', () => undefined); // 'close' follows; the session cleans up there.
    this.ws.on('close', () => this.onSocketClosed());
    this.ws.on('message', (data, _isBinary) => this.onMessage(toBuffer(data)));
    this.ws.send(encodeFrame(firstOutputChannel(this.params)));
    try {
      this.process = start();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.queueStatus(internalErrorStatus(`error executing command in container: ${message}`));
      return;
    }
    this.wire(this.process);
  }

  private wire(child: SandboxProcess): void {
    child.stdin.on('error', () => undefined); // EPIPE after the process exits: the exit code tells the story.
    if (!this.params.stdin) child.stdin.end();
    const stdoutChannel = this.params.stdout || this.params.tty ? channels.stdout : undefined;
    // A TTY merges stderr into stdout (kubectl asks for stderr=false with -t).
    const stderrChannel = this.params.stderr ? channels.stderr : this.params.tty ? channels.stdout : undefined;
    this.wireOutput(child.stdout, stdoutChannel);
    this.wireOutput(child.stderr, stderrChannel);
    void child.exited.then((code) => this.onExit(code));
  }

  private wireOutput(stream: Readable, channel: number | undefined): void {
    this.openOutputs += 1;
    let ended = false;
    const onEnd = (): void => {
      if (ended) return;
      ended = true;
      this.openOutputs -= 1;
      this.maybeFinish();
    };
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.on('error', onEnd);
    if (channel === undefined) {
      stream.resume(); // not requested: discard
      return;
    }
    this.sources.push(stream);
    stream.on('data', (chunk: Buffer) => this.queueOutput(channel, chunk));
    if (this.sourcesPaused) stream.pause();
  }

  private queueOutput(channel: number, chunk: Buffer): void {
    if (this.closed) return;
    const due = performance.now() + this.latencyMs;
    for (const piece of splitPayload(chunk)) {
      this.outQueue.push({ kind: 'data', channel, data: piece, due });
      this.outQueuedBytes += piece.length;
    }
    this.updateSourceFlow();
    void this.pumpOut();
  }

  private queueStatus(status: KubernetesStatus): void {
    if (this.statusQueued || this.closed) return;
    this.statusQueued = true;
    this.outQueue.push({ kind: 'status', status, due: performance.now() + this.latencyMs });
    void this.pumpOut();
  }

  /** Pauses or resumes the process's output according to what waits in the queue and in the socket. */
  private updateSourceFlow(): void {
    const pending = this.outQueuedBytes + this.outInFlight;
    if (!this.sourcesPaused && pending >= outHighWater && !this.closed) {
      this.sourcesPaused = true;
      for (const source of this.sources) source.pause();
    } else if (this.sourcesPaused && (pending <= outLowWater || this.closed)) {
      this.sourcesPaused = false;
      for (const source of this.sources) source.resume();
    }
  }

  private async pumpOut(): Promise<void> {
    if (this.outPumping) return;
    this.outPumping = true;
    try {
      for (let item = this.outQueue[0]; item !== undefined && !this.closed; item = this.outQueue[0]) {
        const wait = item.due - performance.now();
        if (wait > 0) await sleep(wait);
        if (this.isClosed()) break;
        if (item.kind === 'status') {
          this.outQueue.shift();
          this.ws.send(encodeStatus(item.status));
          this.ws.close(1000);
          this.closed = true;
          break;
        }
        const delay = this.outBucket?.take(item.data.length) ?? 0;
        if (delay > 0) await sleep(delay);
        if (this.isClosed()) break;
        this.outQueue.shift();
        this.outQueuedBytes -= item.data.length;
        const allowed = this.allowance(item.data.length);
        if (allowed > 0) this.send(encodeFrame(item.channel, item.data.subarray(0, allowed)), allowed);
        if (this.cutReached()) {
          this.cut();
          break;
        }
        this.updateSourceFlow();
      }
    } finally {
      this.outPumping = false;
    }
  }

  /** A method, not the field, so that checks after an `await` are not narrowed away by the compiler. */
  private isClosed(): boolean {
    return this.closed;
  }

  private send(frame: Buffer, payloadBytes: number): void {
    this.outInFlight += payloadBytes;
    this.ws.send(frame, (_error) => {
      this.outInFlight -= payloadBytes;
      this.updateSourceFlow();
    });
  }

  /** How many of the next `bytes` may pass before the `cutAfterBytes` fault; counts them as transferred. */
  private allowance(bytes: number): number {
    const limit = this.faults.cutAfterBytes;
    const allowed = limit === undefined ? bytes : Math.max(0, Math.min(bytes, limit - this.transferred));
    this.transferred += allowed;
    return allowed;
  }

  private cutReached(): boolean {
    const limit = this.faults.cutAfterBytes;
    return limit !== undefined && this.transferred >= limit;
  }

  /** The `cutAfterBytes` fault: the connection drops without a close handshake or status, and the process dies. */
  private cut(): void {
    this.ws.terminate();
    this.onSocketClosed();
  }

  private onMessage(message: Buffer): void {
    if (this.closed) return;
    const parsed = parseClientMessage(message, this.protocol);
    const accepting = this.params.stdin && !this.stdinClosed && this.exitCode === undefined;
    if (parsed.kind === 'stdin' && accepting && parsed.data.length > 0) {
      this.inQueue.push({ kind: 'data', data: parsed.data, due: performance.now() + this.latencyMs });
      this.inQueuedBytes += parsed.data.length;
      if (this.inQueuedBytes >= inHighWater && !this.ws.isPaused) this.ws.pause();
      void this.pumpIn();
    } else if (parsed.kind === 'close' && parsed.channel === channels.stdin && accepting) {
      this.stdinClosed = true;
      this.inQueue.push({ kind: 'end', due: performance.now() + this.latencyMs });
      void this.pumpIn();
    }
    // Resize, CLOSE of other channels, frames on server channels and unknown channels are ignored.
  }

  private async pumpIn(): Promise<void> {
    if (this.inPumping) return;
    this.inPumping = true;
    try {
      for (let item = this.inQueue[0]; item !== undefined && this.acceptsInput(); item = this.inQueue[0]) {
        if (this.process === undefined) break;
        const stdin = this.process.stdin;
        const wait = item.due - performance.now();
        if (wait > 0) await sleep(wait);
        if (item.kind === 'end') {
          this.inQueue.shift();
          stdin.end();
          continue;
        }
        const delay = this.inBucket?.take(item.data.length) ?? 0;
        if (delay > 0) await sleep(delay);
        if (!this.acceptsInput()) break;
        this.inQueue.shift();
        this.inQueuedBytes -= item.data.length;
        const allowed = this.allowance(item.data.length);
        // Once the pipe has failed (EPIPE), what the client sends goes nowhere; never wait for a 'drain' then.
        const flowing = allowed === 0 || stdin.destroyed || stdin.write(item.data.subarray(0, allowed));
        if (this.cutReached()) {
          this.cut();
          break;
        }
        if (!flowing) await this.drained(stdin);
        if (this.ws.isPaused && this.inQueuedBytes <= inLowWater) this.ws.resume();
      }
    } finally {
      this.inPumping = false;
    }
  }

  private acceptsInput(): boolean {
    return !this.closed && this.process !== undefined && this.exitCode === undefined;
  }

  /** Resolves when `stdin` drains or fails, or is destroyed (the process exited or the socket closed). */
  private drained(stdin: Writable): Promise<void> {
    if (stdin.destroyed || stdin.writableEnded) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stdin.off('drain', done);
        stdin.off('close', done);
        stdin.off('error', done);
        resolve();
      };
      stdin.once('drain', done);
      stdin.once('close', done);
      stdin.once('error', done);
    });
  }

  private onExit(code: number): void {
    this.exitCode = code;
    // The process cannot read any more: drop what waits for it and let the client's frames flow (and be ignored).
    this.inQueue.length = 0;
    this.inQueuedBytes = 0;
    this.process?.stdin.destroy();
    if (this.ws.isPaused) this.ws.resume();
    this.maybeFinish();
  }

  /** Once the process has exited and all its output is queued, the status frame goes last, then a clean close. */
  private maybeFinish(): void {
    if (this.exitCode === undefined || this.openOutputs > 0) return;
    this.queueStatus(statusForExit(this.exitCode));
  }

  private onSocketClosed(): void {
    this.closed = true;
    this.outQueue.length = 0;
    this.outQueuedBytes = 0;
    this.inQueue.length = 0;
    this.inQueuedBytes = 0;
    if (this.exitCode === undefined && this.process !== undefined) {
      // The client went away (or the fault cut it): nobody will read the output, so the process must not linger.
      this.process.kill();
    }
    this.process?.stdin.destroy();
    this.updateSourceFlow(); // resumes paused output so the pipes drain to nowhere
  }
}
