import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TETHER_BIN = fileURLToPath(new URL('../../bin/tether.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the real `tether` CLI (the built one, as a user runs it) with its own TETHER_HOME. */
export function startTether(args: readonly string[], home: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [TETHER_BIN, ...args], {
    env: { ...process.env, TETHER_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function tether(args: readonly string[], home: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return finished(startTether(args, home, env));
}
