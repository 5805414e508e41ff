import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { PassThrough, Writable, type Readable } from 'node:stream';

import type { SandboxProcess } from './contract.js';

/** A started bwrap process: the contract's view plus what the runtime needs to stop it. */
export interface RunningProcess extends SandboxProcess {
  readonly pid: number | undefined;
  /** True once the process has exited. */
  readonly hasExited: () => boolean;
}

export interface SpawnOptions {
  /**
   * `pipe`: stdin/stdout/stderr are pipes the caller must consume (exec processes).
   * `pod`: the pod's main process: stdin is /dev/null, as for a container without `stdin: true`, and its output
   * is read all the time so a pod never blocks on a full pipe; `stdout`/`stderr` pass it on to whoever reads
   * them, dropping output beyond `podLogBufferBytes` that nobody has read (as a log buffer does).
   */
  readonly stdio: 'pipe' | 'pod';
}

/** Output of a main process kept for a reader that has not read it yet; beyond this, output is dropped. */
export const podLogBufferBytes = 1024 * 1024;

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal !== null) return 128 + constants.signals[signal];
  return 1;
}

function drainingTap(source: Readable): Readable {
  const tap = new PassThrough({ highWaterMark: podLogBufferBytes });
  source.on('data', (chunk: Buffer) => {
    if (tap.writableLength < podLogBufferBytes) tap.write(chunk);
  });
  source.on('end', () => tap.end());
  source.on('error', () => tap.end());
  return tap;
}

/** Discards what is written: the stdin of a pod's main process, which reads /dev/null. */
function nullWritable(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

/** How long `kill()` waits for the sandbox to die through its init before it kills bwrap's process group too. */
const killFallbackMs = 2_000;

/**
 * Starts `bwrap args…` in its own process group. Arguments go to the kernel as a vector: no shell is involved.
 *
 * bwrap reports the host PID of the sandbox's init (PID 1 of its namespace) on `--json-status-fd`. `kill()`
 * kills that init: the kernel then kills everything in the namespace, and only after that does bwrap exit, so
 * `exited` resolves once no process of the sandbox is left. Before the PID is known (or if that fails), it
 * kills bwrap's process group, and `--die-with-parent` takes the sandbox down a moment later.
 */
export function spawnSandboxProcess(bwrapPath: string, args: readonly string[], options: SpawnOptions): RunningProcess {
  const child = spawn(bwrapPath, ['--json-status-fd', '3', ...args], {
    stdio: [options.stdio === 'pod' ? 'ignore' : 'pipe', 'pipe', 'pipe', 'pipe'],
    detached: true,
    env: {},
  });
  let initPid: number | undefined;
  let killRequested = false;
  const status = child.stdio[3] as Readable | null;
  let statusText = '';
  status?.on('data', (chunk: Buffer) => {
    statusText += chunk.toString('utf8');
    const match = /"child-pid"\s*:\s*(\d+)/.exec(statusText);
    if (initPid === undefined && match?.[1] !== undefined) {
      initPid = Number(match[1]);
      if (killRequested) killInit();
    }
  });
  status?.on('error', () => undefined);
  let exited = false;
  const exitedPromise = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(exitCodeOf(code, signal));
    });
    // bwrap could not be started at all (it was checked at runtime creation, so this is rare): "command not found".
    child.once('error', () => {
      exited = true;
      resolve(127);
    });
  });
  // A write to the stdin of a process that has exited fails with EPIPE; the exit code already tells that story,
  // and an unhandled 'error' would crash the lab.
  child.stdin?.on('error', () => undefined);

  // Both are pipes (stdio above), so Node always creates them.
  if (child.stdout === null || child.stderr === null) throw new Error('bwrap was spawned without output pipes');
  const stdout = options.stdio === 'pod' ? drainingTap(child.stdout) : child.stdout;
  const stderr = options.stdio === 'pod' ? drainingTap(child.stderr) : child.stderr;
  const stdin = child.stdin ?? nullWritable();

  return {
    pid: child.pid,
    stdin,
    stdout,
    stderr,
    exited: exitedPromise,
    hasExited: () => exited,
    kill(): void {
      if (exited || killRequested) return;
      killRequested = true;
      if (initPid !== undefined) killInit();
      setTimeout(killGroup, initPid === undefined ? 100 : killFallbackMs).unref();
    },
  };

  function killInit(): void {
    // While bwrap runs, its child (the init) is alive or an unreaped zombie: the PID cannot have been reused.
    if (exited || initPid === undefined) return;
    try {
      process.kill(initPid, 'SIGKILL');
    } catch {
      killGroup();
    }
  }

  function killGroup(): void {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}
