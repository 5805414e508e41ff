import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Entry, Problem, Tree } from '../core/entry.js';
import { createIgnoreMatcher } from '../core/ignore.js';
import { narrowListing, whyNotNarrow, type NarrowScope, type ScanFindings } from '../core/narrowScope.js';
import type { Conflict, Plan, Side } from '../core/plan.js';
import { reconcile } from '../core/reconcile.js';
import { checkDeleteLimit, checkRootsNotEmptied, parseMaxDelete } from '../core/safety.js';
import type { Endpoint, ScanResult } from '../endpoints/endpoint.js';
import { openEndpoints } from '../endpoints/open.js';
import { TetherError, type TetherErrorCode } from '../errors.js';
import { askFreeSpace, refuseIfPlanDoesNotFit } from '../quota/capacityCheck.js';
import type { PairRecord, StateStore } from '../state/store.js';
import { applyPlan, transferTotals } from './applyPlan.js';
import { closeBoth, type EndpointCache } from './endpointCache.js';
import type { ActivityEvent, StreamThrottle } from './applyPlan.js';
import { attachHashes } from './hashing.js';
import { ProgressTracker } from './progress.js';
import type { RetryPolicy } from '../core/retry.js';
import type { SyncProgress } from './progress.js';

export interface SyncOptions {
  readonly dryRun?: boolean;
  /** Go past safety halts (emptied root, too many deletions). */
  readonly force?: boolean;
  /** Overrides the pair's delete limit for this run (`200` or `10%`). */
  readonly maxDelete?: string;
  /** Parallel transfers (default: the pair's `concurrency` option, else 4). */
  readonly concurrency?: number;
  /** How batches cut by a dropped stream are retried within the sync (tests shorten the waits). */
  readonly retry?: RetryPolicy;
  /** Wait this long for another sync of the same pair to finish instead of refusing at once. */
  readonly waitForLockMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: SyncProgress) => void;
  /**
   * Live sync: paths to leave out of reach for this run (nothing happens at or below them on either side), decided
   * from the scanned trees: remote files still being written, older checkpoints, folders outside the selection.
   */
  readonly outOfReach?: (trees: {
    readonly local: Tree;
    readonly remote: Tree;
    readonly ancestor: Tree;
  }) => Iterable<string>;
  /**
   * Live sync: the local paths changed since the last sync (from the watcher). Only they, what lies below them and
   * their parent folders are scanned and planned; a plan that would delete, rename or keep a conflict copy is made
   * again from full scans (see `core/narrowScope.ts`). Ignored where either side folds case.
   */
  readonly narrow?: NarrowScope;
  /** Live sync: keeps the pair's endpoints open from one sync to the next (see `EndpointCache`). */
  readonly endpointCache?: EndpointCache;
  /** Live sync: wraps every transferred file's stream (bandwidth limits). */
  readonly throttle?: StreamThrottle;
  /**
   * What the pair's lock names as syncing it, so that a second sync refused by the lock (and `tether status`) says
   * who holds it: default `tether sync` (`tether sync --dry-run` for a dry run); live sync passes its own.
   */
  readonly purpose?: string;
  /** Injectable for tests: host name in conflict names, and the clock. */
  readonly host?: string;
  readonly now?: () => number;
}

export interface PlannedAction {
  readonly side: Side;
  readonly kind: string;
  readonly path: string;
  readonly bytes?: number;
  readonly to?: string;
}

/** What `tether sync --json` prints. */
export interface SyncSummary {
  readonly pair: string;
  readonly dryRun: boolean;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly deletedLocal: number;
  readonly deletedRemote: number;
  readonly conflicts: number;
  readonly bytes: number;
  /** Actions that could not be applied this time (listed in `problems`; retried at the next sync). */
  readonly failed: number;
  readonly problems: Problem[];
  readonly conflictList: Conflict[];
  /** Every action of the plan, for dry runs (what was applied is in the activity log). */
  readonly actions?: PlannedAction[];
  readonly hashed: number;
  /**
   * Given `narrow`: how the sync ended. `assumed`: narrowed, the remote taken as last synced (not listed);
   * `listed`: narrowed, the scope listed on both sides; false: planned again from full scans.
   */
  readonly narrowed?: 'assumed' | 'listed' | false;
  /** Strict mode: what was downloaded only to hash it (remote objects without a stored SHA-256). */
  readonly hashDownloaded?: { readonly bytes: number; readonly files: number };
  readonly durationMs: number;
}

const DEFAULT_MAX_DELETE = '50%';

function describePlan(plan: Plan): PlannedAction[] {
  const actions: PlannedAction[] = [];
  for (const side of ['local', 'remote'] as const) {
    for (const action of plan[side]) {
      if (action.kind === 'copy') actions.push({ side, kind: 'copy', path: action.path, bytes: action.source.size });
      else if (action.kind === 'rename') actions.push({ side, kind: 'rename', path: action.path, to: action.to });
      else actions.push({ side, kind: action.kind, path: action.path });
    }
  }
  return actions;
}

async function readTetherIgnore(root: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, '.tetherignore'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TetherError('bad-argument', `cannot read ${join(root, '.tetherignore')}: ${String(error)}`, {
      cause: error,
    });
  }
}

function treeOf(entries: readonly Entry[]): Tree {
  const tree = new Map<string, Entry>();
  for (const entry of entries) tree.set(entry.path, entry);
  return tree;
}

/** The pair's stored `concurrency` option (`tether pair add --concurrency N`), when valid. */
function pairConcurrency(options: Readonly<Record<string, unknown>>): number | undefined {
  const value = Number(options['concurrency']);
  return Number.isInteger(value) && value >= 1 && value <= 64 ? value : undefined;
}

function countFiles(tree: Tree): number {
  let files = 0;
  for (const entry of tree.values()) if (entry.kind === 'file') files++;
  return files;
}

/**
 * One sync of one pair: scan both sides → reconcile against the ancestor → safety → transfer → save.
 * Holds the pair's lock throughout, so two syncs of a pair never interleave.
 */
export async function syncPair(store: StateStore, name: string, options: SyncOptions = {}): Promise<SyncSummary> {
  const started = performance.now();
  const pair = store.getPair(name);
  if (pair === undefined) {
    throw new TetherError('unknown-pair', `no pair named "${name}"; see \`tether pair list\``);
  }
  const owner = {
    pid: process.pid,
    host: hostname(),
    purpose: options.purpose ?? (options.dryRun === true ? 'tether sync --dry-run' : 'tether sync'),
  };
  const release =
    options.waitForLockMs === undefined
      ? store.acquirePairLock(name, owner)
      : await store.waitForPairLock(name, owner, options.waitForLockMs);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  // A signal aborted before this call (or while waiting for the lock) fires no event: carry it over now.
  if (options.signal?.aborted === true) controller.abort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  let endpoints: Record<Side, Endpoint> | undefined;
  let succeeded = false;
  const cache = options.endpointCache;
  const cacheKey = JSON.stringify([pair.localPath, pair.remoteUrl, pair.options]);
  try {
    const open = (): Promise<Record<Side, Endpoint>> =>
      openEndpoints(pair, {
        options: pair.options,
        journal: {
          put: (key, value) => store.journalPut(pair.id, key, value),
          get: (key) => store.journalGet(pair.id, key),
          delete: (key) => void store.journalDelete(pair.id, key),
          list: () => store.journalList(pair.id),
        },
      });
    const passes = async (opened: Record<Side, Endpoint>): Promise<SyncSummary> => {
      let pass = firstPass(pair, opened, options);
      for (;;) {
        const outcome = await runSync(store, pair, opened, options, controller.signal, started, pass);
        if ('pair' in outcome) {
          if (options.narrow === undefined) return outcome;
          return { ...outcome, narrowed: pass.kind === 'narrow' ? pass.remote : false };
        }
        pass = outcome;
      }
    };
    let reused = false;
    if (cache === undefined) endpoints = await open();
    else ({ endpoints, reused } = await cache.take(cacheKey, open));
    let summary: SyncSummary;
    try {
      summary = await passes(endpoints);
    } catch (error) {
      if (!reused || !mayBeStale(error)) throw error;
      // Endpoints kept since the last sync can go stale (the helper pod deleted, a pod replaced): open afresh, once.
      const stale = endpoints;
      endpoints = undefined;
      await closeBoth(stale).catch(() => undefined);
      endpoints = await open();
      summary = await passes(endpoints);
    }
    succeeded = true;
    return summary;
  } catch (error) {
    const flat = error instanceof TetherError ? error : undefined;
    // A cancelled sync (Ctrl-C, a live pair paused mid-transfer) did not fail: what finished is recorded.
    const cancelled = flat?.code === 'cancelled';
    if (flat?.code === 'safety-halt') store.setPairState(name, 'halted', flat.message);
    else if (cancelled) store.setPairState(name, 'idle', 'the last sync was cancelled before it finished');
    else
      store.setPairState(name, 'idle', `last sync failed: ${error instanceof Error ? error.message : String(error)}`);
    store.logActivity({
      pairId: pair.id,
      level: cancelled ? 'info' : 'error',
      kind: flat?.code === 'safety-halt' ? 'halt' : 'sync',
      message: error instanceof Error ? error.message : String(error),
    });
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    try {
      if (endpoints !== undefined && cache !== undefined) await cache.give(cacheKey, endpoints, succeeded);
      else {
        await endpoints?.local.close();
        await endpoints?.remote.close();
      }
    } finally {
      release();
    }
  }
}

const STALE_CODES: readonly TetherErrorCode[] = [
  'remote-unreachable',
  'not-found',
  'transfer-failed',
  'listing-failed',
];

/** Whether a sync through kept endpoints may have failed only because they went stale. */
function mayBeStale(error: unknown): boolean {
  if (!(error instanceof TetherError)) return false;
  return STALE_CODES.includes(error.code);
}

/**
 * How one pass of a sync looks at the pair. A narrowed sync may take up to three: the remote as last synced
 * (`assumed`), then listed, then full; each later pass starts from what the earlier ones finished.
 */
type Pass =
  | { readonly kind: 'full'; readonly carried?: Carried }
  | { readonly kind: 'narrow'; readonly scope: NarrowScope; readonly remote: 'assumed' | 'listed' };

/** What an earlier pass of the same sync applied, counted into the summary of the pass that finishes it. */
interface Carried {
  readonly uploaded: number;
  readonly downloaded: number;
  readonly bytes: number;
}

/**
 * A narrowed plan that takes the remote as last synced writes at most this much: beyond it, a refusal found only
 * when the file is committed would waste the transfer, and the remote is listed first.
 */
const ASSUMED_MAX_BYTES = 1024 * 1024;

/**
 * The first pass: full without a scope, or where either side folds case (names are matched across the sides
 * there, which a narrowed scan cannot do). With a scope, the remote is first taken as it was at the last sync (no
 * remote listing: one exec less on a PVC) when that is safe: the plan can only write to the remote, and every
 * remote write checks that its target is still what the plan expected (`Endpoint.writeFiles`), so a remote
 * changed meanwhile refuses the write and the sync goes on to a full pass. Only where the remote checks its
 * targets itself (`EndpointCapabilities.checksTargetOnWrite`: not S3); not in strict mode (a remote hash
 * would be cached under the size and time assumed), nor in the pull modes, whose plans write here.
 */
function firstPass(pair: PairRecord, endpoints: Record<Side, Endpoint>, options: SyncOptions): Pass {
  const scope = options.narrow;
  if (
    scope === undefined ||
    !endpoints.local.capabilities.caseSensitive ||
    !endpoints.remote.capabilities.caseSensitive
  )
    return { kind: 'full' };
  const assume =
    options.dryRun !== true &&
    endpoints.remote.capabilities.checksTargetOnWrite === true &&
    pair.compare !== 'sha256' &&
    (pair.mode === 'push' || pair.mode === 'mirror-push' || pair.mode === 'two-way');
  return { kind: 'narrow', scope, remote: assume ? 'assumed' : 'listed' };
}

const NO_RETRY: RetryPolicy = { baseDelayMs: 0, maxDelayMs: 0, maxStalledAttempts: 1, maxAttempts: 1 };

const NOTHING_LISTED: ScanResult = { entries: [], problems: [], temporaries: [], unlisted: [] };

async function runSync(
  store: StateStore,
  pair: PairRecord,
  endpoints: Record<Side, Endpoint>,
  options: SyncOptions,
  signal: AbortSignal,
  started: number,
  pass: Pass,
): Promise<SyncSummary | Pass> {
  const narrow = pass.kind === 'narrow' ? pass.scope : undefined;
  const assumed = pass.kind === 'narrow' && pass.remote === 'assumed';
  const progress = new ProgressTracker();
  let timer: NodeJS.Timeout | undefined;
  if (options.onProgress !== undefined) {
    const report = options.onProgress;
    timer = setInterval(() => report(progress.snapshot()), 200);
    timer.unref();
  }
  try {
    store.setPairState(pair.name, 'scanning');
    const ignore = createIgnoreMatcher(pair.ignore, await readTetherIgnore(pair.localPath));
    const scanned = { local: 0, remote: 0 };
    const scanSide = (side: Side): Promise<ScanResult> =>
      endpoints[side].scan({
        signal,
        ignore,
        ...(narrow === undefined ? {} : { within: narrow }),
        onProgress: (count) => {
          scanned[side] = count;
          progress.setScanned(scanned.local + scanned.remote);
        },
      });
    const scans = Promise.all([scanSide('local'), assumed ? Promise.resolve(NOTHING_LISTED) : scanSide('remote')]);
    // A narrowed sync has something to send: the free space is asked for alongside the scans, not after them.
    const spaceAsked =
      narrow === undefined || assumed || options.dryRun === true ? undefined : askFreeSpace(endpoints, signal);
    // Loaded while the scans run: a local scan's find writes on meanwhile (to a spool, not a pipe), a remote's
    // listing waits in its socket, a worker scan runs on in its thread.
    let ancestor: Tree;
    try {
      ancestor = narrow === undefined ? store.loadAncestor(pair.id) : store.loadAncestorWithin(pair.id, narrow);
    } catch (error) {
      await scans.catch(() => undefined);
      throw error;
    }
    const [fullLocalScan, fullRemoteScan] = await scans;
    let local: Tree = fullLocalScan.tree ?? treeOf(fullLocalScan.entries);
    // Taken as last synced: the ancestor's slice (see `firstPass`).
    let remote: Tree = assumed ? new Map(ancestor) : (fullRemoteScan.tree ?? treeOf(fullRemoteScan.entries));
    let localScan: ScanFindings = fullLocalScan;
    let remoteScan: ScanFindings = fullRemoteScan;
    if (narrow !== undefined) {
      // What a full scan would have found in the scope: endpoints that cannot narrow a scan list everything, and
      // those that can look paths up by name, which may pass through a link.
      ({ tree: local, findings: localScan } = narrowListing(local, fullLocalScan, narrow));
      ({ tree: remote, findings: remoteScan } = narrowListing(remote, fullRemoteScan, narrow));
    }
    const problems: Problem[] = [...localScan.problems, ...remoteScan.problems];

    let hashed = 0;
    let hashDownloaded: { bytes: number; files: number } | undefined;
    if (pair.compare === 'sha256') {
      progress.setPhase('hashing');
      // Only files that will be compared need a hash: those present on the other side or in the ancestor.
      const l = local;
      const r = remote;
      const [lh, rh] = await Promise.all([
        attachHashes(store, pair.id, 'local', endpoints.local, l, (p) => r.has(p) || ancestor.has(p), signal),
        attachHashes(store, pair.id, 'remote', endpoints.remote, r, (p) => l.has(p) || ancestor.has(p), signal),
      ]);
      local = lh.tree;
      remote = rh.tree;
      hashed = lh.hashed + rh.hashed;
      const files = lh.downloaded.files + rh.downloaded.files;
      if (files > 0) hashDownloaded = { bytes: lh.downloaded.bytes + rh.downloaded.bytes, files };
      problems.push(...lh.problems, ...rh.problems);
    }

    progress.setPhase('planning');
    const now = options.now ?? Date.now;
    const plan = reconcile(
      {
        ancestor,
        local,
        remote,
        unlisted: {
          local: localScan.unlisted,
          remote: [...remoteScan.unlisted, ...(options.outOfReach?.({ local, remote, ancestor }) ?? [])],
        },
      },
      {
        mode: pair.mode,
        compare: pair.compare,
        mtimePrecisionMs: Math.max(
          endpoints.local.capabilities.mtimePrecisionMs,
          endpoints.remote.capabilities.mtimePrecisionMs,
        ),
        ignoreExecutable: !endpoints.local.capabilities.executableBit || !endpoints.remote.capabilities.executableBit,
        host: options.host ?? hostname(),
        now: now(),
        caseInsensitive: {
          local: !endpoints.local.capabilities.caseSensitive,
          remote: !endpoints.remote.capabilities.caseSensitive,
        },
      },
    );

    // A narrowed plan only adds and updates; anything else is planned again with the whole pair in view.
    if (narrow !== undefined && whyNotNarrow(plan) !== undefined) return { kind: 'full' };
    if (pass.kind === 'narrow' && assumed) {
      // Only writes to the remote, and small ones, are checked at the remote alone; anything else is planned
      // again from a listing of the remote.
      if (plan.local.length > 0 || transferTotals(plan).bytes > ASSUMED_MAX_BYTES)
        return { kind: 'narrow', scope: pass.scope, remote: 'listed' };
    }

    // A narrowed plan deletes nothing (see above), and its trees hold only the scope: an "emptied" side there is
    // a file deleted on one side and edited on the other, not a lost listing.
    if (options.force !== true && narrow === undefined) {
      const emptied = checkRootsNotEmptied(ancestor, local, remote);
      const limit = checkDeleteLimit(
        plan,
        countFiles(ancestor),
        parseMaxDelete(options.maxDelete ?? pair.maxDelete ?? DEFAULT_MAX_DELETE),
      );
      for (const verdict of [emptied, limit]) {
        if (!verdict.ok) throw new TetherError('safety-halt', verdict.message);
      }
    }

    const totals = transferTotals(plan);
    // Refuse a sync that cannot fit before any byte moves (no-op for endpoints that cannot tell their free space).
    // A plan under ASSUMED_MAX_BYTES, taking the remote as last synced, is not checked ahead: a full volume
    // refuses its few writes with the bytes needed and free, as it would a larger plan's.
    if (options.dryRun !== true && !assumed) await refuseIfPlanDoesNotFit(plan, endpoints, signal, spaceAsked);
    if (options.dryRun === true) {
      store.setPairState(pair.name, 'idle');
      return {
        pair: pair.name,
        dryRun: true,
        uploaded: plan.remote.filter((a) => a.kind === 'copy').length,
        downloaded: plan.local.filter((a) => a.kind === 'copy').length,
        deletedLocal: plan.local.filter((a) => a.kind === 'delete' && a.expected.kind !== 'dir').length,
        deletedRemote: plan.remote.filter((a) => a.kind === 'delete' && a.expected.kind !== 'dir').length,
        conflicts: plan.conflicts.length,
        bytes: totals.bytes,
        failed: 0,
        problems: [...problems, ...plan.problems],
        conflictList: plan.conflicts,
        actions: describePlan(plan),
        hashed,
        ...(hashDownloaded === undefined ? {} : { hashDownloaded }),
        durationMs: Math.round(performance.now() - started),
      };
    }

    store.setPairState(pair.name, 'syncing');
    progress.setPhase('transferring');
    progress.setTotals(totals.files, totals.bytes);
    const writer = store.ancestorWriter(pair.id);
    const activity = (event: ActivityEvent): void => {
      // A refusal while the remote was taken as last synced means only that it was not: the next pass decides.
      if (assumed && event.kind === 'problem') return;
      store.logActivity({
        pairId: pair.id,
        level: event.kind === 'problem' ? 'warn' : 'info',
        kind: event.kind,
        path: event.path,
        message: event.message ?? `${event.kind} (${event.side})`,
        ...(event.bytes === undefined ? {} : { bytes: event.bytes }),
      });
    };
    let result;
    try {
      result = await applyPlan(plan, {
        endpoints,
        compare: pair.compare,
        ancestor: writer,
        concurrency: options.concurrency ?? pairConcurrency(pair.options) ?? 4,
        ...(options.throttle === undefined ? {} : { throttle: options.throttle }),
        // Taking the remote as last synced is a shortcut: any trouble goes straight to the next pass, which lists
        // first (and, when the remote is down, fails there at once).
        ...(assumed ? { retry: NO_RETRY } : options.retry === undefined ? {} : { retry: options.retry }),
        progress,
        signal,
        onActivity: activity,
        onHashKnown: (side, entry) =>
          store.putCachedHash(pair.id, side, entry.path, entry.size, entry.mtimeMs, entry.sha256),
      });
    } finally {
      writer.flush();
    }
    if (assumed && (result.failed > 0 || result.problems.length > 0)) {
      // The remote was not as last synced somewhere (or a write failed): what went through is recorded; the
      // rest is planned with the whole pair in view.
      return {
        kind: 'full',
        carried: { uploaded: result.uploaded, downloaded: result.downloaded, bytes: result.bytes },
      };
    }
    for (const conflict of plan.conflicts) {
      store.logActivity({
        pairId: pair.id,
        level: 'warn',
        kind: 'conflict',
        path: conflict.path,
        message: `changed on both sides; the remote version is kept as ${conflict.conflictPath}`,
      });
    }

    progress.setPhase('finishing');
    // Partial files no transfer will resume (older versions, finished transfers) are removed.
    for (const [side, scan] of [
      ['local', localScan],
      ['remote', remoteScan],
    ] as const) {
      const stale = scan.temporaries.filter((t) => !result.keepPartials[side].has(t));
      if (stale.length > 0) await endpoints[side].removeTemporaries(stale);
    }

    const carried = pass.kind === 'full' ? pass.carried : undefined;
    const summary: SyncSummary = {
      pair: pair.name,
      dryRun: false,
      uploaded: result.uploaded + (carried?.uploaded ?? 0),
      downloaded: result.downloaded + (carried?.downloaded ?? 0),
      deletedLocal: result.deletedLocal,
      deletedRemote: result.deletedRemote,
      conflicts: plan.conflicts.length,
      bytes: result.bytes + (carried?.bytes ?? 0),
      failed: result.failed,
      problems: [...problems, ...result.problems],
      conflictList: plan.conflicts,
      hashed,
      ...(hashDownloaded === undefined ? {} : { hashDownloaded }),
      durationMs: Math.round(performance.now() - started),
    };
    store.recordSyncResult(pair.name, {
      uploaded: summary.uploaded,
      downloaded: summary.downloaded,
      deletedLocal: summary.deletedLocal,
      deletedRemote: summary.deletedRemote,
      conflicts: summary.conflicts,
      bytes: summary.bytes,
      problems: summary.problems.length,
      durationMs: summary.durationMs,
    });
    store.setPairState(
      pair.name,
      'idle',
      summary.problems.length > 0 ? `${summary.problems.length} problem(s) at the last sync` : undefined,
    );
    return summary;
  } finally {
    if (timer !== undefined) clearInterval(timer);
    options.onProgress?.(progress.snapshot());
  }
}
