import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLab } from '../../lab/lab.js';
import type { Lab, LabOptions } from '../../lab/lab.js';

/** Shared plumbing for the lab's conformance tests: a lab per test file, and the real CLIs as clients. */
export interface TestLab {
  readonly lab: Lab;
  readonly dir: string;
  /** Runs kubectl against the lab (as `context`, default admin) with its own cache dir. */
  kubectl(
    args: readonly string[],
    options?: { context?: string; input?: string; timeoutMs?: number },
  ): Promise<RunResult>;
  /** Runs the aws CLI against the PHFS store with the given user's credentials (default admin). */
  aws(args: readonly string[], options?: { user?: string; env?: Record<string, string> }): Promise<RunResult>;
  stop(): Promise<void>;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      [...args],
      {
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

export async function startTestLab(options: Partial<LabOptions> = {}): Promise<TestLab> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tether-lab-test-'));
  const lab = await startLab({ dir: path.join(dir, 'lab'), ...options });
  let cacheCounter = 0;
  return {
    lab,
    dir,
    kubectl(args, runOptions = {}) {
      const cacheDir = path.join(dir, `kubectl-cache-${cacheCounter++}`);
      return run(
        'kubectl',
        ['--kubeconfig', lab.kubeconfig, '--cache-dir', cacheDir, '--context', runOptions.context ?? 'admin', ...args],
        {
          ...(runOptions.input === undefined ? {} : { input: runOptions.input }),
          ...(runOptions.timeoutMs === undefined ? {} : { timeoutMs: runOptions.timeoutMs }),
        },
      );
    },
    aws(args, awsOptions = {}) {
      const user = lab.user(awsOptions.user ?? 'admin');
      return run('aws', ['--endpoint-url', lab.s3.endpoint, ...args], {
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          AWS_ACCESS_KEY_ID: user.s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: user.s3.secretAccessKey,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
          ...awsOptions.env,
        },
      });
    },
    async stop() {
      await lab.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Mount points under a directory that are still mounted (a clean stop leaves none). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`) || mountPoint === dir);
}

/** Polls until `check` returns a value (not undefined), or fails with `what` after the timeout. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A @kubernetes/client-node model from plain JSON. Its models are classes without behaviour (the API takes
 * and returns JSON of their shape), so a literal of the right shape is what a request body really is.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the model type
export function model<T>(json: object): T {
  return json as T;
}
