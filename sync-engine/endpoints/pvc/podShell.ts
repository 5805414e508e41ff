import type { Readable, Writable } from 'node:stream';
import type { RetryPolicy } from '../../core/retry.js';
import { backoff, DEFAULT_RETRY, nextRetry } from '../../core/retry.js';
import { TetherError } from '../../errors.js';
import type { ExecResult, ExecTarget } from './execClient.js';
import { execInPod } from './execClient.js';
import { PodSession } from './podSession.js';

/**
 * Shell scripts run in the pod, rooted at the endpoint's folder. Every path travels as an argv element
 * (`"$@"`), always as `./relative` so a name such as `-rf` is never read as an option; scripts never contain
 * user data. The first argument of every script is the root; the prelude changes into it or exits 3.
 */
/** Read-only commands are tried up to three times when their stream is cut. */
const READ_RETRY: RetryPolicy = { ...DEFAULT_RETRY, maxStalledAttempts: 3 };

const prelude = 'cd "$1" 2>/dev/null || { echo "tether: cannot enter $1" >&2; exit 3; }; shift; ';

export interface RunOptions {
  readonly stdin?: Readable | Buffer;
  readonly stdout?: Writable;
  readonly signal?: AbortSignal;
  readonly idleTimeoutMs?: number;
}

export class PodShell {
  /** A shell kept running in the pod for commands that fit (see podSession.ts); only while live sync keeps it. */
  #session: PodSession | undefined;

  constructor(
    readonly target: ExecTarget,
    /** The folder in the pod that is the endpoint's root (mountPath + subpath). */
    readonly root: string,
    readonly displayName: string,
  ) {}

  /** Runs `script` (a constant) with `sh -c`, the root and `args` as positional parameters. */
  run(script: string, args: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
    if (this.#session !== undefined && options.stdout === undefined && !isReadable(options.stdin)) {
      const viaSession = this.#session.run([prelude + script, this.root, ...args], options.stdin, options);
      if (viaSession !== undefined) return viaSession;
    }
    return execInPod(this.target, {
      command: ['sh', '-c', prelude + script, 'sh', this.root, ...args],
      ...options,
    });
  }

  /**
   * Starts a session (see podSession.ts) that later commands go through when it is free and they fit; resolves
   * once it is ready, or failed to start (then commands keep using execs). A session that ended is replaced.
   */
  async openSession(): Promise<void> {
    const current = this.#session;
    if (current?.ended === false) {
      await current.ready;
      return;
    }
    const session = new PodSession(this.target);
    this.#session = session;
    if (!(await session.ready) && this.#session === session) this.#session = undefined;
  }

  /** Ends the session, if one is open. */
  async closeSession(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.close();
  }

  /**
   * Like `run`, for commands that only read (listings, hashes, sizes): a cut stream is retried with backoff,
   * since running them again is harmless. Never for commands that change the volume or read stdin.
   */
  async runRead(script: string, args: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
    for (let attempts = 1; ; attempts++) {
      try {
        return await this.run(script, args, options);
      } catch (error) {
        const next = nextRetry(READ_RETRY, { attempts, stalled: attempts }, error);
        if (!next.retry || options.signal?.aborted === true) throw error;
        await backoff(next.delayMs, options.signal ?? new AbortController().signal);
      }
    }
  }

  /** Like `run`, but a non-zero exit is an error naming `what` with the exit code and stderr. */
  async runOk(what: string, script: string, args: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
    const result = await this.run(script, args, options);
    if (result.exitCode !== 0) throw commandError(this.displayName, what, result);
    return result;
  }
}

function isReadable(stdin: RunOptions['stdin']): stdin is Readable {
  return stdin !== undefined && !Buffer.isBuffer(stdin);
}

/** A failed command as a TetherError: exit 3 is a missing root; ENOSPC and read-only filesystems are named. */
export function commandError(displayName: string, what: string, result: ExecResult): TetherError {
  const stderr = result.stderr.trim();
  const detail = `exit code ${result.exitCode}${stderr ? `: ${stderr.slice(0, 500)}` : ''}`;
  if (result.exitCode === 3 && stderr.includes('tether: cannot enter'))
    return new TetherError(
      'listing-failed',
      `unable to ${what} on ${displayName}: the folder does not exist in the volume; create it or fix the path (${detail})`,
    );
  if (/no space left/i.test(stderr))
    return new TetherError(
      'no-space',
      `unable to ${what} on ${displayName}: no space left on the volume; free space or grow the claim (${detail})`,
    );
  if (/read-only file system/i.test(stderr))
    return new TetherError(
      'read-only',
      `unable to ${what} on ${displayName}: the volume is mounted read-only (${detail})`,
    );
  if (/permission denied/i.test(stderr))
    return new TetherError(
      'permission-denied',
      `unable to ${what} on ${displayName}: permission denied in the pod (${detail})`,
    );
  return new TetherError('transfer-failed', `unable to ${what} on ${displayName}: ${detail}`);
}

/** `./path` for a validated relative path, so it can never be read as an option. */
export function dotted(path: string): string {
  return `./${path}`;
}

/** Splits NUL-terminated records. */
export function nulRecords(buffer: Buffer): string[] {
  const text = buffer.toString('utf8');
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * Splits items into batches whose exec arguments stay small: every argument travels in the exec URL's query,
 * and API servers refuse long request lines (HTTP 431/414), so a batch carries at most `maxBytes` of them.
 */
export function argBatches<T>(
  items: readonly T[],
  argsOf: (item: T) => readonly string[],
  maxBytes = 6000,
  maxItems = 400,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = argsOf(item).reduce((sum, arg) => sum + encodeURIComponent(arg).length + 9, 0);
    if (current.length > 0 && (bytes + size > maxBytes || current.length >= maxItems)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
