import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Entry, Problem } from '../../core/entry.js';
import { parentOf } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import { messageOf } from './fsUtil.js';
import type { HashOutcome, HashTask } from './hashWorker.js';
import type { Resolved, RootedPaths } from './paths.js';
import { workerScript } from './workerScript.js';

/** Read through a function: TypeScript would otherwise keep the narrowing from before the awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * SHA-256 of local files on several cores: a Piscina pool of `hashWorker` threads, created on first use and
 * destroyed by `close()`. Each worker streams one file at a time through a fixed buffer.
 */
export class HashPool {
  private pool: Piscina<HashTask, HashOutcome> | undefined;
  private readonly threads: number;

  constructor(
    private readonly paths: RootedPaths,
    private readonly displayName: string,
    concurrency?: number,
  ) {
    this.threads = Math.max(1, concurrency ?? Math.min(4, availableParallelism()));
  }

  async hash(
    entries: readonly Entry[],
    signal?: AbortSignal,
  ): Promise<{ hashes: Map<string, string>; problems: Problem[] }> {
    const hashes = new Map<string, string>();
    const problems: Problem[] = [];
    if (signal?.aborted === true) throw this.cancelled();
    const pool = this.started();
    // Check each folder once, one after the other (not 100,000 concurrent lstats of the same parents).
    const folders = new Map<string, Resolved | undefined>();
    const verified = new Set<string>();
    const jobs: Promise<void>[] = [];
    for (const entry of entries) {
      const syntax = this.paths.syntax(entry.path);
      if (!syntax.ok || entry.kind !== 'file') {
        const why = syntax.ok ? `it is a ${entry.kind}, not a file` : syntax.reason;
        problems.push({ path: entry.path, message: `could not hash: ${why}` });
        continue;
      }
      const parent = parentOf(entry.path);
      if (!folders.has(parent)) folders.set(parent, await this.paths.checkFolder(parent, verified));
      const refusal = folders.get(parent);
      if (refusal !== undefined && !refusal.ok) {
        const why = refusal.missing ? 'the file vanished since the scan' : refusal.reason;
        problems.push({ path: entry.path, message: `could not hash: ${why}` });
        continue;
      }
      const task: HashTask = { abs: syntax.abs, size: entry.size, mtimeMs: entry.mtimeMs };
      jobs.push(
        pool.run(task, signal === undefined ? {} : { signal }).then((outcome) => {
          if ('sha256' in outcome) hashes.set(entry.path, outcome.sha256);
          else problems.push({ path: entry.path, message: outcome.problem });
        }),
      );
    }
    const settled = await Promise.allSettled(jobs);
    if (isAborted(signal)) throw this.cancelled();
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      throw new TetherError('internal', `hashing files in ${this.displayName} failed: ${messageOf(failed.reason)}`, {
        cause: failed.reason,
      });
    }
    return { hashes, problems };
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined) await pool.destroy();
  }

  private started(): Piscina<HashTask, HashOutcome> {
    if (this.pool === undefined) {
      const script = workerScript('hashWorker');
      this.pool = new Piscina<HashTask, HashOutcome>({
        filename: script.filename,
        execArgv: script.execArgv,
        minThreads: 0,
        maxThreads: this.threads,
        idleTimeout: 5_000,
      });
    }
    return this.pool;
  }

  private cancelled(): TetherError {
    return new TetherError('cancelled', `hashing files in ${this.displayName} cancelled`);
  }
}
