import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Measurement {
  readonly seconds: number;
  /** Peak resident set size in MB, when GNU time is available. */
  readonly peakRssMb?: number;
}

const GNU_TIME = '/usr/bin/time';

/** Runs a command to completion and reports wall time and peak RSS (through GNU time when installed). */
export async function measure(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Measurement> {
  const withTime = existsSync(GNU_TIME);
  const argv = withTime ? ['-f', 'TETHER_BENCH %e %M', command, ...args] : [...args];
  const started = performance.now();
  const child = spawn(withTime ? GNU_TIME : command, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${String(code)}): ${stderr.slice(-2000)}`);
  const match = /TETHER_BENCH ([\d.]+) (\d+)/.exec(stderr);
  return match === null ? { seconds } : { seconds, peakRssMb: Number(match[2]) / 1024 };
}

export function fmtSeconds(s: number): string {
  return s < 10 ? s.toFixed(2) : s.toFixed(1);
}

export function fmtRss(m: Measurement): string {
  return m.peakRssMb === undefined ? 'n/a' : `${Math.round(m.peakRssMb)} MB`;
}
