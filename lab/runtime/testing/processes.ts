import { readdirSync, readFileSync } from 'node:fs';

import type { Sandbox, SandboxProcess } from '../contract.js';

export interface HostProcess {
  readonly pid: number;
  readonly argv: readonly string[];
}

function argvOf(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name in parentheses; zombies (Z) are dead, only not yet reaped.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  } catch {
    return undefined; // exited while we looked
  }
}

function liveProcesses(): HostProcess[] {
  const found: HostProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const argv = argvOf(entry);
    if (argv !== undefined) found.push({ pid: Number(entry), argv });
  }
  return found;
}

/** Live host processes whose argv starts with `prefix` (e.g. `['sleep', marker]`: the sleep, not the bwrap around it). */
export function processesWith(prefix: readonly string[]): HostProcess[] {
  return liveProcesses().filter(({ argv }) => prefix.every((arg, index) => argv[index] === arg));
}

/** Live host processes with an argument containing `text` (e.g. a state directory: every bwrap of a runtime). */
export function processesMentioning(text: string): HostProcess[] {
  return liveProcesses().filter(({ argv }) => argv.some((arg) => arg.includes(text)));
}

/** Polls `check` until it returns true or the time is up; returns its last answer. */
export async function eventually(check: () => boolean, timeoutMs = 5_000, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A unique `sleep` argument that marks a process so a test can find it on the host. */
export function uniqueSleepSeconds(): string {
  return String(2_000_000_000 + Math.floor(Math.random() * 100_000_000));
}

export interface Completed {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Waits for a process and collects its output. */
export async function complete(child: SandboxProcess, stdin?: string | Buffer): Promise<Completed> {
  child.stdin.end(stdin);
  const [code, stdout, stderr] = await Promise.all([child.exited, collect(child.stdout), collect(child.stderr)]);
  return { code, stdout, stderr };
}

/** Runs argv in the sandbox to completion. */
export function run(sandbox: Sandbox, argv: readonly string[], stdin?: string | Buffer): Promise<Completed> {
  return complete(sandbox.exec(argv), stdin);
}
