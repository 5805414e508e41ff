import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * The demo's process plumbing: the steps it shows (each a child in the demo's own process group, so a Ctrl-C in
 * the terminal reaches them too), the services it keeps running behind them (the lab, the app: each in its own
 * process group, so a Ctrl-C reaches only the demo, which stops them in order: app first, then the lab), and
 * the signals that end it.
 */
export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Shell-style quoting for display only (nothing here runs through a shell). */
export function quoted(args: readonly string[]): string {
  return args.map((a) => (/[\s'"$;|*]/.test(a) ? `'${a.replaceAll("'", "'\\''")}'` : a)).join(' ');
}

/** Thrown by a step that ran while, or after, the demo was asked to stop. */
export class Interrupted extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * SIGINT, SIGTERM and SIGHUP, from the start of the demo to its end. The first one asks the demo to stop (the
 * running step is ended, the app and the lab are stopped); the handlers stay installed until `release()`, so a
 * second Ctrl-C during shutdown cannot leave the lab's sandboxes behind.
 */
export class Interruption {
  #signal: string | undefined;
  #resolve: (signal: string) => void = () => undefined;
  readonly #children = new Set<ChildProcess>();
  readonly #listening: boolean;
  /** Resolves with the first signal's name. */
  readonly received: Promise<string> = new Promise((resolve) => (this.#resolve = resolve));
  readonly #on = (signal: string): void => {
    if (this.#signal !== undefined) {
      process.stderr.write(`demo: ${signal} again; still stopping the app and the lab\n`);
      return;
    }
    this.#signal = signal;
    for (const child of this.#children) child.kill('SIGTERM');
    this.#resolve(signal);
  };

  /** `listen: false` leaves the process's signals alone: only `interrupt()` stops the demo (tests). */
  constructor(options: { readonly listen?: boolean } = {}) {
    this.#listening = options.listen ?? true;
    if (this.#listening) for (const signal of SIGNALS) process.on(signal, this.#on);
  }

  /** What a signal does: ends the running step and resolves `received`. */
  interrupt(signal: string): void {
    this.#on(signal);
  }

  get signal(): string | undefined {
    return this.#signal;
  }

  /** Throws `Interrupted` once a signal arrived. */
  check(): void {
    if (this.#signal !== undefined) throw new Interrupted(this.#signal);
  }

  /** Ends `child` (SIGTERM) when a signal arrives while it runs. */
  track(child: ChildProcess): void {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
  }

  release(): void {
    if (this.#listening) for (const signal of SIGNALS) process.off(signal, this.#on);
  }
}

export interface Completed {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs one step to completion (no shell), collecting its output; a command that cannot start ends with code
 * null and says why on stderr. Throws `Interrupted` if a signal came, unless `interruption` is undefined (the
 * checks the demo makes while it stops).
 */
export async function runStep(
  interruption: Interruption | undefined,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Completed> {
  interruption?.check();
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  interruption?.track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => {
    // A tool that is not installed is a failed step with a message, as a shell would show it.
    child.once('error', (error) => {
      stderr += `${command}: ${error.message}\n`;
      resolve(null);
    });
    child.once('close', (exitCode) => resolve(exitCode));
  });
  interruption?.check();
  return { code, stdout, stderr };
}

/** A service the demo keeps running behind its steps: in its own process group, stopped by the demo. */
export interface Service {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits up to `graceMs` (then SIGKILL, reported). Resolves with its exit code. */
  stop(graceMs: number): Promise<number | null>;
}

const running = new Set<ChildProcess>();
// Last resort for an exit the demo did not plan (an uncaught error): ask every service to stop on its own.
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

export function startService(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { readonly forwardStderr?: boolean } = {},
): Service {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (options.forwardStderr === true) process.stderr.write(d);
  });
  const exited = new Promise<number | null>((resolve) => {
    // A binary that cannot be started ends the same way as one that exits at once: the caller reads stderr.
    child.once('error', (error) => {
      stderr += `${error.message}\n`;
      running.delete(child);
      resolve(null);
    });
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  return {
    child,
    exited,
    stderr: () => stderr,
    async stop(graceMs) {
      if (!running.has(child)) return exited;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (late) {
        process.stderr.write(
          `demo: ${command} (pid ${String(child.pid)}) did not stop in ${graceMs / 1000} s; killing it\n`,
        );
        child.kill('SIGKILL');
      }
      return exited;
    },
  };
}

/**
 * Waits for the first line of `service`'s stdout that matches `pattern`; undefined when the service exits, the
 * demo is interrupted or `timeoutMs` passes first (the caller says which, from `service.stderr()`).
 */
export async function waitForLine(
  service: Service,
  pattern: RegExp,
  interruption: Interruption,
  timeoutMs: number,
): Promise<RegExpExecArray | undefined> {
  const stdout = service.child.stdout;
  if (stdout === null) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const lines = createInterface({ input: stdout });
  try {
    return await Promise.race([
      (async () => {
        for await (const line of lines) {
          const match = pattern.exec(line);
          if (match !== null) return match;
        }
        return undefined;
      })(),
      service.exited.then(() => undefined),
      interruption.received.then(() => undefined),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
    // The rest of its output is not needed; keep draining it so the service never blocks on a full pipe.
    lines.close();
    stdout.resume();
  }
}

/**
 * Live processes with an argument that contains `text` (the lab's sandboxes name its folder), from /proc;
 * undefined where there is no /proc to ask.
 */
export function processesMentioning(text: string): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue; // exited, not yet reaped
      if (
        readFileSync(`/proc/${entry}/cmdline`, 'utf8')
          .split('\0')
          .some((arg) => arg.includes(text))
      ) {
        found.push(Number(entry));
      }
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}

/** Mount points under `dir` (the lab mounts volumes when it runs as root), from /proc; [] where there is none. */
export function mountsUnder(dir: string): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point === dir || point.startsWith(`${dir}/`));
  } catch {
    return [];
  }
}
