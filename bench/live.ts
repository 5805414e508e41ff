import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Measurement } from './measure.js';

export interface LiveChangeOptions {
  /** The built CLI. */
  readonly tether: string;
  readonly env: NodeJS.ProcessEnv;
  readonly pair: string;
  /** The pair's local folder, and where its remote's files can be read on this machine. */
  readonly local: string;
  readonly remote: string;
  readonly rounds: number;
}

/** The watcher's `--json` lines, one status each. */
interface StatusLine {
  readonly state: string;
  readonly cycles: number;
}

/**
 * A re-sync as live sync does it: `tether watch PAIR` runs; each round changes one file of the pair's first
 * folder and times from the write until the new content can be read on the remote, then waits for the watcher
 * to be idle again. Reports the median round and the watcher's peak RSS (VmHWM).
 */
export async function liveChange(options: LiveChangeOptions): Promise<Measurement> {
  const child = spawn(process.execPath, [options.tether, 'watch', options.pair, '--json'], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  let latest: StatusLine = { state: 'starting', cycles: 0 };
  let changed: (() => void) | undefined;
  lines.on('line', (line) => {
    latest = JSON.parse(line) as StatusLine;
    changed?.();
  });
  const until = async (what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`tether watch: no ${what}`);
      await new Promise<void>((resolve) => {
        changed = resolve;
        setTimeout(resolve, 1);
      });
    }
  };
  try {
    await until('first sync', () => latest.state === 'idle' && latest.cycles >= 1);
    const times: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const path = join('d0', `f${round + 1}.dat`);
      const content = `changed live, round ${round}`;
      const cycles = latest.cycles;
      const started = performance.now();
      writeFileSync(join(options.local, path), content);
      await until(`arrival of ${path}`, () => {
        try {
          return readFileSync(join(options.remote, path), 'utf8') === content;
        } catch {
          return false;
        }
      });
      times.push((performance.now() - started) / 1000);
      await until('idle after the change', () => latest.state === 'idle' && latest.cycles > cycles);
      // Let the events of the sync's own work settle before the next round.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] ?? 0;
    console.log(`live re-sync rounds: ${times.map((t) => `${(t * 1000).toFixed(0)} ms`).join(', ')}`);
    return hwm === null ? { seconds: median } : { seconds: median, peakRssMb: Number(hwm[1]) / 1024 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('close', resolve));
  }
}
