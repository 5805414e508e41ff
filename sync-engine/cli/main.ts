#!/usr/bin/env node
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { COMPARE_MODES, SYNC_MODES } from '../core/plan.js';
import type { CompareMode, SyncMode } from '../core/plan.js';
import { parseMaxDelete } from '../core/safety.js';
import type { S3Flags } from '../endpoints/phfs/pairOptions.js';
import { s3PairOptions } from '../endpoints/phfs/pairOptions.js';
import type { PvcFlags } from '../endpoints/pvc/pairOptions.js';
import { pvcPairOptions } from '../endpoints/pvc/pairOptions.js';
import { formatRemoteUrl, parseRemoteUrl } from '../endpoints/remoteUrl.js';
import { TetherError } from '../errors.js';
import { StateStore } from '../state/store.js';
import { pairStatuses } from '../live/status.js';
import { databasePath, ensureTetherHome } from './home.js';
import { registerLiveCommands } from './liveCommands.js';
import { registerQuotaCommand } from '../quota/command.js';
import { pairLine, progressLine, summaryText } from './output.js';

/** Exit codes scripts can rely on. */
const EXIT = { ok: 0, error: 1, usage: 2, halted: 3, problems: 4 } as const;

function openStore(): StateStore {
  return StateStore.open(databasePath(ensureTetherHome()));
}

function withStore<T>(run: (store: StateStore) => T): T {
  const store = openStore();
  try {
    return run(store);
  } finally {
    store.close();
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function checkMaxDelete(value: string): string {
  try {
    parseMaxDelete(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return value;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function buildProgram(): Command {
  const program = new Command('tether')
    .description('Sync a local folder with a Kubernetes PVC or a PHFS (S3) prefix')
    .version('0.1.0')
    .showSuggestionAfterError()
    .exitOverride();

  const pair = program.command('pair').description('add, list and remove pairs');

  pair
    .command('add <name>')
    .description('pair a local folder with a remote')
    .requiredOption('--local <dir>', 'the local folder')
    .requiredOption(
      '--remote <url>',
      'file:///PATH, pvc://[CONTEXT@]NS/PVC[/SUBPATH], phfs://GROUP[/PATH], s3://BUCKET/PREFIX',
    )
    .addOption(new Option('--mode <mode>', 'how changes move').choices(SYNC_MODES).default('two-way'))
    .addOption(new Option('--compare <how>', 'how files are judged equal').choices(COMPARE_MODES).default('size-mtime'))
    .option('--ignore <pattern>', 'gitignore-style pattern (repeatable)', collect, [])
    .option(
      '--max-delete <limit>',
      'halt when a sync would delete more than N files or P% (default 50%)',
      checkMaxDelete,
    )
    .option('--s3-endpoint <url>', 'phfs:// and s3://: the S3 endpoint (default: AWS_ENDPOINT_URL, else AWS)')
    .option('--s3-bucket <name>', 'phfs://: the bucket PHFS keeps groups in (default phfs)')
    .option('--s3-region <region>', 'phfs:// and s3://: the region (default: AWS_REGION, else us-east-1)')
    .option('--s3-path-style', 'phfs:// and s3://: path-style URLs (default with --s3-endpoint)')
    .option('--no-s3-path-style', 'phfs:// and s3://: virtual-hosted URLs')
    .option('--aws-profile <name>', 'phfs:// and s3://: the AWS profile with the credentials (default: the SDK chain)')
    .option('--kubeconfig <file>', 'pvc://: the kubeconfig (default: $KUBECONFIG, else ~/.kube/config)')
    .option('--helper-image <image>', 'pvc://: the helper pod image (default busybox:1.36)')
    .option(
      '--helper-idle <seconds>',
      'pvc://: how long the helper pod waits unused for the next sync to reuse it (default 600; 0: delete it after each sync; ReadWriteOnce claims: always 0)',
    )
    .option('--pod <name>', 'pvc://: exec into this Running pod that mounts the claim instead of a helper pod')
    .option('--exec-protocol <auto|v4>', 'pvc://: v4 for clusters without the v5 exec protocol (default auto)')
    .option('--concurrency <n>', 'parallel transfers and exec sessions for this pair (default 4)')
    .action(
      (
        name: string,
        opts: S3Flags &
          PvcFlags & {
            local: string;
            remote: string;
            mode: SyncMode;
            compare: CompareMode;
            ignore: string[];
            maxDelete?: string;
          },
      ) => {
        const localPath = resolve(opts.local);
        const isDir = statSync(localPath, { throwIfNoEntry: false })?.isDirectory();
        if (isDir === undefined) {
          throw new TetherError(
            'local-missing',
            `local folder ${localPath} does not exist; create it first or pick another folder`,
          );
        }
        if (!isDir) throw new TetherError('local-missing', `${localPath} is not a folder`);
        const remoteUrl = formatRemoteUrl(parseRemoteUrl(opts.remote));
        withStore((store) => {
          const record = store.addPair({
            name,
            localPath,
            remoteUrl,
            mode: opts.mode,
            compare: opts.compare,
            ignore: opts.ignore,
            ...(opts.maxDelete === undefined ? {} : { maxDelete: opts.maxDelete }),
            options: { ...s3PairOptions(opts), ...pvcPairOptions(opts) },
          });
          print(
            `added pair ${record.name}: ${record.localPath} ⇄ ${record.remoteUrl} [${record.mode}, ${record.compare}]`,
          );
          print(`next: tether sync ${record.name} --dry-run   (preview), then tether sync ${record.name}`);
        });
      },
    );

  pair
    .command('list')
    .description('list pairs')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      withStore((store) => {
        const pairs = store.listPairs();
        if (opts.json === true) print(JSON.stringify(pairs, null, 2));
        else if (pairs.length === 0)
          print('no pairs yet; add one with `tether pair add NAME --local DIR --remote URL`');
        else for (const p of pairs) print(pairLine(p));
      });
    });

  pair
    .command('remove <name>')
    .description('forget a pair (files on both sides stay as they are)')
    .action((name: string) => {
      withStore((store) => {
        if (!store.removePair(name)) {
          throw new TetherError('unknown-pair', `no pair named "${name}"; see \`tether pair list\``);
        }
        print(`removed pair ${name}; no files were touched`);
      });
    });

  program
    .command('sync <name>')
    .description('sync a pair once')
    .option('--dry-run', 'print the plan; change nothing')
    .option('--force', 'go past safety halts (emptied root, too many deletions)')
    .option('--max-delete <limit>', 'delete limit for this run: N files or P%', checkMaxDelete)
    .option('--wait [seconds]', 'wait for another sync of this pair to finish instead of refusing')
    .option('--concurrency <n>', 'parallel transfers', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('a whole number from 1 to 64');
      return n;
    })
    .option('--json', 'print one JSON object with the result')
    .action(
      async (
        name: string,
        opts: {
          dryRun?: boolean;
          force?: boolean;
          maxDelete?: string;
          wait?: string | boolean;
          concurrency?: number;
          json?: boolean;
        },
      ) => {
        const store = openStore();
        const abort = new AbortController();
        const onSignal = (): void => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const tty = process.stderr.isTTY && opts.json !== true;
        try {
          const waitSeconds = opts.wait === undefined ? undefined : opts.wait === true ? 3600 : Number(opts.wait);
          // Loaded on demand: the engine's modules are the bulk of start-up time, and other commands need none.
          const { syncPair } = await import('../controller/syncPair.js');
          const summary = await syncPair(store, name, {
            signal: abort.signal,
            ...(opts.dryRun === true ? { dryRun: true } : {}),
            ...(opts.force === true ? { force: true } : {}),
            ...(opts.maxDelete === undefined ? {} : { maxDelete: opts.maxDelete }),
            ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
            ...(waitSeconds === undefined ? {} : { waitForLockMs: waitSeconds * 1000 }),
            ...(tty ? { onProgress: (p) => process.stderr.write(`\r\x1b[K${progressLine(p)}`) } : {}),
          });
          if (tty) process.stderr.write('\r\x1b[K');
          print(opts.json === true ? JSON.stringify(summary) : summaryText(summary));
          if (summary.failed > 0) process.exitCode = EXIT.problems;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          store.close();
        }
      },
    );

  program
    .command('status [name]')
    .description('show the state of one pair or all')
    .option('--json', 'print JSON')
    .action((name: string | undefined, opts: { json?: boolean }) => {
      withStore((store) => {
        let pairs = store.listPairs();
        if (name !== undefined) {
          const one = store.getPair(name);
          if (one === undefined)
            throw new TetherError('unknown-pair', `no pair named "${name}"; see \`tether pair list\``);
          pairs = [one];
        }
        // Live state as any process sees it: paused, and what a running `tether watch` reports.
        const views = pairStatuses(store, pairs);
        const shown = pairs.map((p, i) => {
          const view = views[i];
          if (view === undefined) return p;
          const { stateMessage: _old, ...rest } = p;
          return {
            ...rest,
            state: view.state,
            ...(view.reason === undefined ? {} : { stateMessage: view.reason }),
            paused: view.paused,
            ...(view.watcher === undefined ? {} : { watcher: view.watcher }),
            ...(view.live === undefined ? {} : { liveStatus: view.live }),
          };
        });
        if (opts.json === true) print(JSON.stringify(name === undefined ? shown : shown[0], null, 2));
        else if (shown.length === 0) print('no pairs yet');
        else for (const p of shown) print(pairLine(p));
      });
    });

  registerLiveCommands(program, { openStore, print });
  registerQuotaCommand(program, { openStore, print, home: ensureTetherHome });

  // ---- tether ui (issue #7): the desktop UI in a browser ----
  program
    .command('ui')
    .description('serve the Tether UI on 127.0.0.1 for a browser; prints the URL with its access token')
    .option('--port <n>', 'the port (default: a free one)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number from 0 to 65535');
      return n;
    })
    .action(async (opts: { port?: number }) => {
      const { runUiHost } = await import('../ui/runHost.js');
      await runUiHost({ home: ensureTetherHome(), ...(opts.port === undefined ? {} : { port: opts.port }) });
    });

  const lab = program
    .command('lab')
    .description(
      'the local lab: a loopback Kubernetes API with real pods and a PHFS object store, for tests and demos',
    );
  lab
    .command('start')
    .description('start the lab in the foreground until Ctrl-C (see `tether lab start --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]', '--dir DIR [--fixture FILE]...')
    .action(async (args: string[]) => {
      const { runLabStart } = await import('../../lab/cli.js');
      process.exitCode = await runLabStart(args);
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the message (or help/version, which exit 0).
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof TetherError) {
      process.stderr.write(`tether: ${error.message}\n`);
      return error.code === 'safety-halt'
        ? EXIT.halted
        : error.code === 'bad-url' || error.code === 'bad-argument'
          ? EXIT.usage
          : EXIT.error;
    }
    process.stderr.write(
      `tether: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.error;
  }
}

// `tether pair list | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2));
