import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { TetherError } from '../errors.js';
import type { LiveStatus } from '../live/status.js';
import type { PairRecord, StateStore } from '../state/store.js';

/** What the live commands need from main.ts. */
export interface LiveCommandContext {
  readonly openStore: () => StateStore;
  readonly print: (text: string) => void;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('a number, 0 or more');
  return n;
}

function keepNewestRule(value: string, previous: { glob: string; count: number }[]): { glob: string; count: number }[] {
  const at = value.lastIndexOf('=');
  const count = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(count) || count < 1) {
    throw new InvalidArgumentError('write GLOB=N, e.g. "checkpoints/checkpoint-*=3"');
  }
  return [...previous, { glob: value.slice(0, at), count }];
}

/** Pair names from the arguments, or every pair with `--all`; one of the two is required. */
function chosenPairs(store: StateStore, names: readonly string[], all: boolean | undefined): PairRecord[] {
  if (all === true && names.length > 0) throw new TetherError('bad-argument', 'name pairs or use --all, not both');
  if (all === true) return store.listPairs();
  if (names.length === 0) throw new TetherError('bad-argument', 'name at least one pair, or use --all');
  return names.map((name) => store.requirePair(name));
}

export function statusLine(name: string, status: LiveStatus): string {
  const p = status.progress;
  const progress =
    p === undefined || (status.state !== 'syncing' && status.state !== 'scanning')
      ? ''
      : p.phase === 'transferring'
        ? ` ${p.filesDone}/${p.filesTotal} files, ${p.bytesDone}/${p.bytesTotal} bytes`
        : ` (${p.phase})`;
  return `${name}: ${status.state}${progress}${status.reason === undefined ? '' : ` (${status.reason})`}`;
}

interface LiveFlags {
  on?: boolean;
  poll?: number;
  rescan?: number;
  debounce?: number;
  quiet?: number;
  marker: string[];
  gate: string[];
  keepNewest: { glob: string; count: number }[];
  include: string[];
  exclude: string[];
  clearFilters?: boolean;
}

/** `tether watch`, `pause`, `resume` and `live` (configure a pair's live sync). */
export function registerLiveCommands(program: Command, context: LiveCommandContext): void {
  const { openStore, print } = context;

  program
    .command('watch [names...]')
    .description('keep pairs in sync continuously until Ctrl-C (local changes, remote polling, pause/resume)')
    .option('--all', 'every pair marked live (`tether live NAME`)')
    .option('--upload-limit <rate>', 'upload bandwidth for all pairs together, e.g. 10MiB/s')
    .option('--download-limit <rate>', 'download bandwidth for all pairs together, e.g. 500k')
    .option('--json', 'print each status change as one JSON line')
    .action(
      async (
        names: string[],
        opts: { all?: boolean; uploadLimit?: string; downloadLimit?: string; json?: boolean },
      ) => {
        const { parseRate } = await import('../live/settings.js');
        const { LiveService } = await import('../live/liveService.js');
        const store = openStore();
        const stopped = new AbortController();
        const last = new Map<string, string>();
        const onSignal = (): void => stopped.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const service = new LiveService({
          store,
          sync: { purpose: 'tether watch' },
          bandwidth: {
            ...(opts.uploadLimit === undefined ? {} : { uploadBytesPerSecond: parseRate(opts.uploadLimit) }),
            ...(opts.downloadLimit === undefined ? {} : { downloadBytesPerSecond: parseRate(opts.downloadLimit) }),
          },
          onStatus: (name, status) => {
            // One line per change of state or reason (progress and heartbeats are in `tether status`).
            const { progress: _progress, ...steady } = status;
            const line = statusLine(name, steady);
            if (last.get(name) === line) return;
            last.set(name, line);
            print(opts.json === true ? JSON.stringify({ pair: name, ...status }) : line);
          },
        });
        try {
          const pairs =
            opts.all === true && names.length === 0
              ? store.listPairs().filter((p) => p.live)
              : chosenPairs(store, names, opts.all);
          if (pairs.length === 0) {
            throw new TetherError('bad-argument', 'no pair is marked live; mark one with `tether live NAME --on`');
          }
          await service.start(pairs.map((p) => p.name));
          if (opts.json !== true) print(`watching ${pairs.map((p) => p.name).join(', ')}; Ctrl-C stops`);
          if (!stopped.signal.aborted) {
            await new Promise((resolve) => stopped.signal.addEventListener('abort', resolve, { once: true }));
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await service.stop();
          store.close();
        }
      },
    );

  for (const [command, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    program
      .command(`${command} [names...]`)
      .description(
        paused
          ? 'pause live sync of pairs (a running transfer stops at once; finished files stay done)'
          : 'resume live sync of pairs (also lifts a safety halt: the next sync checks again)',
      )
      .option('--all', 'every pair')
      .action(async (names: string[], opts: { all?: boolean }) => {
        const { setPaused } = await import('../live/liveService.js');
        const store = openStore();
        try {
          const pairs = chosenPairs(store, names, opts.all);
          const touched = setPaused(
            store,
            pairs.map((p) => p.name),
            paused,
          );
          print(`${paused ? 'paused' : 'resumed'} ${touched.length === 0 ? 'no pairs' : touched.join(', ')}`);
        } finally {
          store.close();
        }
      });
  }

  program
    .command('live <name>')
    .description('configure live sync of a pair: polling, checkpoint-aware pulls, selective sync')
    .option('--on', 'mark the pair live (`tether watch --all` and the app watch it)')
    .option('--off', 'unmark it')
    .option('--poll <seconds>', 'list the remote this often (default 30)', nonNegative)
    .option('--rescan <seconds>', 'full sync this often even without events (default 600)', nonNegative)
    .option('--debounce <ms>', 'gather local events until none came for this long (default 500)', nonNegative)
    .option('--quiet <seconds>', 'pull a new remote file only once unchanged this long (0: off)', nonNegative)
    .option('--marker <pattern>', 'or once a marker file appears, e.g. "*.done", COMPLETE (repeatable)', collect, [])
    .option('--gate <glob>', 'apply --quiet/--marker only below matching folders (repeatable)', collect, [])
    .option('--keep-newest <glob=n>', 'pull only the newest N matches, e.g. "checkpoint-*=3"', keepNewestRule, [])
    .option('--include <dir>', 'sync only these folders (repeatable)', collect, [])
    .option('--exclude <dir>', 'leave these folders alone (repeatable)', collect, [])
    .option('--clear-filters', 'drop every marker, gate, keep-newest, include and exclude first')
    .action(async (name: string, opts: LiveFlags & { off?: boolean }) => {
      const { liveSettingsOf } = await import('../live/settings.js');
      const store = openStore();
      try {
        const pair = store.requirePair(name);
        const stored = (pair.options['live'] ?? {}) as Record<string, unknown>;
        const cp = opts.clearFilters === true ? {} : ((stored['checkpoints'] ?? {}) as Record<string, unknown>);
        const sel = opts.clearFilters === true ? {} : ((stored['selection'] ?? {}) as Record<string, unknown>);
        const list = (old: unknown, added: readonly unknown[]): unknown[] => [
          ...(Array.isArray(old) ? (old as unknown[]) : []),
          ...added,
        ];
        const live = {
          ...stored,
          ...(opts.poll === undefined ? {} : { pollIntervalMs: opts.poll * 1000 }),
          ...(opts.rescan === undefined ? {} : { rescanIntervalMs: opts.rescan * 1000 }),
          ...(opts.debounce === undefined ? {} : { debounceMs: opts.debounce }),
          checkpoints: {
            ...cp,
            ...(opts.quiet === undefined ? {} : { quietMs: opts.quiet * 1000 }),
            markers: list(cp['markers'], opts.marker),
            gatedPaths: list(cp['gatedPaths'], opts.gate),
            keepNewest: list(cp['keepNewest'], opts.keepNewest),
          },
          selection: { include: list(sel['include'], opts.include), exclude: list(sel['exclude'], opts.exclude) },
        };
        const options = { ...pair.options, live };
        liveSettingsOf(options); // refuses bad settings before they are stored
        const updated = store.updatePairConfig(name, {
          options,
          ...(opts.on === true ? { live: true } : opts.off === true ? { live: false } : {}),
        });
        print(`live settings of ${name}${updated.live ? ' (live)' : ''}: ${JSON.stringify(live)}`);
      } finally {
        store.close();
      }
    });
}
