import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';

/** How to start one of this folder's worker modules: the file, and the Node options it needs. */
export interface WorkerScript {
  readonly filename: string;
  /** The tsx CommonJS hook when running from source, else undefined. */
  readonly tsxHook: string | undefined;
  readonly execArgv: string[];
}

/**
 * Locates a worker module that sits beside this file. Built code (`dist/…/*.js`) runs the compiled sibling
 * as is. Source code run by Vitest or tsx (`*.ts`) cannot be loaded by a plain Node 20 worker, so there the
 * worker preloads tsx's CommonJS hook (the only loader hook Node 20 applies inside worker threads) and
 * `require`s the module through it.
 */
export function workerScript(baseName: string): WorkerScript {
  const here = import.meta.url;
  const extension = here.endsWith('.ts') ? '.ts' : '.js';
  const filename = fileURLToPath(new URL(`./${baseName}${extension}`, here));
  if (extension === '.js') return { filename, tsxHook: undefined, execArgv: [] };
  const tsxHook = createRequire(here).resolve('tsx/cjs');
  return { filename, tsxHook, execArgv: ['--require', tsxHook] };
}

/** Starts a worker thread running the module `baseName` beside this file. */
export function startWorker(baseName: string, options: WorkerOptions): Worker {
  const script = workerScript(baseName);
  if (script.tsxHook === undefined) return new Worker(script.filename, options);
  // An ESM `.ts` file would go to Node's ESM loader, which ignores the hook in workers: require it instead.
  // The bootstrap runs as CommonJS or as ESM (under `--input-type=module`), so it makes its own `require`.
  const bootstrap = [
    `const load = process.getBuiltinModule('node:module').createRequire(${JSON.stringify(script.filename)});`,
    `load(${JSON.stringify(script.tsxHook)});`,
    `load(${JSON.stringify(script.filename)});`,
  ].join('\n');
  return new Worker(bootstrap, { ...options, eval: true });
}
