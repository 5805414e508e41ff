import { parseArgs } from 'node:util';
import { TetherError } from '../sync-engine/errors.js';
import { startLab } from './lab.js';

/**
 * `tether lab start --dir DIR [--fixture FILE]...`: starts the lab in the foreground, prints one line when
 * it is ready, and stops everything it started on SIGINT or SIGTERM (exit 0). Returns the exit code.
 */
export interface LabStartIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Resolves when the lab should stop; defaults to SIGINT/SIGTERM. */
  readonly stopSignal?: Promise<unknown>;
}

export const labStartUsage = `usage: tether lab start --dir DIR [--fixture FILE]... [--host 127.0.0.1] [--api-port N] [--s3-port N] [--verbose]

Starts a local Kubernetes API (TLS) and a PHFS (S3) store for tests and demos, writes DIR/kubeconfig and
DIR/lab.json, prints one line when ready, and runs until interrupted. Without --fixture it loads the
default fixture (--fixture default names it explicitly, to combine it with your own files).`;

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535)
    throw new TetherError('bad-argument', `${flag} must be a port number (0-65535), not ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * Resolves on the first SIGINT or SIGTERM. The handlers stay installed until `release()`, so a second signal
 * during shutdown (a process group getting it twice, an impatient Ctrl-C) cannot kill the lab half-way and
 * leave mounts or sandboxes behind.
 */
function signals(stderr: (line: string) => void): { received: Promise<string>; release: () => void } {
  let first = true;
  let resolve: (signal: string) => void = () => undefined;
  const received = new Promise<string>((r) => (resolve = r));
  const on = (signal: string): void => {
    if (first) {
      first = false;
      resolve(signal);
    } else {
      stderr(`tether lab start: ${signal} again; still stopping the lab's sandboxes and mounts`);
    }
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    received,
    release: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

export async function runLabStart(args: readonly string[], io?: Partial<LabStartIo>): Promise<number> {
  const stdout = io?.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stderr = io?.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  let values: {
    dir?: string;
    fixture?: string[];
    host?: string;
    'api-port'?: string;
    's3-port'?: string;
    verbose?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        dir: { type: 'string' },
        fixture: { type: 'string', multiple: true },
        host: { type: 'string' },
        'api-port': { type: 'string' },
        's3-port': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    stderr(`tether lab start: ${(error as Error).message}\n${labStartUsage}`);
    return 2;
  }
  if (values.help === true) {
    stdout(labStartUsage);
    return 0;
  }
  if (values.dir === undefined || values.dir === '') {
    stderr(`tether lab start: --dir is required\n${labStartUsage}`);
    return 2;
  }
  // Listen for signals before starting, so an early SIGTERM still stops what was started.
  const handlers = io?.stopSignal === undefined ? signals(stderr) : undefined;
  const stopSignal = io?.stopSignal ?? handlers?.received;
  let lab;
  try {
    const apiPort = port(values['api-port'], '--api-port');
    const s3Port = port(values['s3-port'], '--s3-port');
    lab = await startLab({
      dir: values.dir,
      ...(values.fixture === undefined ? {} : { fixtures: values.fixture }),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(apiPort === undefined ? {} : { apiPort }),
      ...(s3Port === undefined ? {} : { s3Port }),
      ...(values.verbose === true
        ? { log: stderr }
        : { log: (line: string) => (line.startsWith('lab api:') ? undefined : stderr(line)) }),
    });
  } catch (error) {
    handlers?.release();
    stderr(`tether lab start: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof TetherError && error.code === 'bad-argument' ? 2 : 1;
  }
  stdout(`lab ready: api ${lab.apiServer}, s3 ${lab.s3.endpoint}, kubeconfig ${lab.kubeconfig}`);
  await stopSignal;
  try {
    await lab.stop();
  } catch (error) {
    stderr(`tether lab start: stopping failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    handlers?.release();
  }
  return 0;
}
