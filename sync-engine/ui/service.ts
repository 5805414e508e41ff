import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { SyncProgress } from '../controller/progress.js';
import type { SyncSummary } from '../controller/syncPair.js';
import { formatRemoteUrl, parseRemoteUrl } from '../endpoints/remoteUrl.js';
import { flattenError, TetherError } from '../errors.js';
import type { PairRecord, StateStore } from '../state/store.js';
import { setPaused } from '../live/liveService.js';
import { pairStatuses, type LiveStatus, type PairStatusView } from '../live/status.js';
import { listConflicts, resolveConflict } from './conflicts.js';
import type {
  ActivityView,
  EventName,
  LastResult,
  MethodArgs,
  MethodName,
  MethodResult,
  PairView,
  Progress,
  RemoteRef,
  Settings,
  SyncResult,
  TetherApi,
  TetherEvents,
} from './contract.js';
import { kubeContexts, listNamespaces, listPvcs } from './kube.js';
import { AppLive } from './liveHost.js';
import { quotaPage, refreshUsage } from './quotas.js';
import { parseArgs, parseTransferQuery } from './schemas.js';
import { loadSettings, saveSettings, NO_VAULT, type SecretVault } from './settings.js';
import { StorageBrowser } from './storage.js';
import type { DownloadInfo } from './transfers.js';
import { DiskTransfers } from './diskTransfers.js';
import type { DiskDialogs } from './diskTransfers.js';

export type { DiskDialogs } from './diskTransfers.js';

export interface UiServiceOptions {
  readonly store: StateStore;
  /** `$TETHER_HOME`: settings.json lives there. */
  readonly home: string;
  readonly vault?: SecretVault;
  /** The native folder picker (Electron); absent in the browser host. */
  readonly pickFolder?: (title: string | undefined) => Promise<string | undefined>;
  readonly storage?: StorageBrowser;
  /** Native file dialogs (Electron): enables `uploadFromDisk` and `downloadToDisk`. */
  readonly disk?: DiskDialogs;
  /** Run live sync for the pairs marked live (the hosts do; unit tests of other methods leave it off). */
  readonly live?: boolean;
}

type Listener = <E extends EventName>(event: E, data: TetherEvents[E]) => void;

function lastResultOf(value: unknown): LastResult | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const n = (key: string): number => (typeof v[key] === 'number' ? v[key] : 0);
  return {
    uploaded: n('uploaded'),
    downloaded: n('downloaded'),
    deletedLocal: n('deletedLocal'),
    deletedRemote: n('deletedRemote'),
    conflicts: n('conflicts'),
    bytes: n('bytes'),
    problems: n('problems'),
    durationMs: n('durationMs'),
  };
}

function resultOf(summary: SyncSummary): SyncResult {
  return {
    pair: summary.pair,
    dryRun: summary.dryRun,
    uploaded: summary.uploaded,
    downloaded: summary.downloaded,
    deletedLocal: summary.deletedLocal,
    deletedRemote: summary.deletedRemote,
    conflicts: summary.conflicts,
    bytes: summary.bytes,
    failed: summary.failed,
    problems: summary.problems.slice(0, 1000),
    ...(summary.actions === undefined ? {} : { actions: summary.actions.slice(0, 10_000) }),
    durationMs: summary.durationMs,
  };
}

/**
 * The engine side of the UI contract, over the state store, the controller and the endpoints. Hosts (the
 * browser host's WebSocket, Electron's IPC) call `call(method, args)`, which validates the argument, runs the
 * method and flattens any error to `{ code, message }`.
 */
export class UiService implements TetherApi {
  readonly #store: StateStore;
  readonly #home: string;
  readonly #vault: SecretVault;
  readonly #pickFolder: UiServiceOptions['pickFolder'];
  readonly #storage: StorageBrowser;
  readonly #disk: DiskTransfers | undefined;
  readonly #listeners = new Set<Listener>();
  readonly #running = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  readonly #progress = new Map<string, Progress>();
  readonly #live: AppLive | undefined;
  /** The last state and reason reported per live pair: a change refetches the list, progress alone does not. */
  readonly #liveSeen = new Map<string, string>();

  constructor(options: UiServiceOptions) {
    this.#store = options.store;
    this.#home = options.home;
    this.#vault = options.vault ?? NO_VAULT;
    this.#pickFolder = options.pickFolder;
    this.#storage = options.storage ?? new StorageBrowser();
    this.#disk =
      options.disk === undefined
        ? undefined
        : new DiskTransfers(this.#storage, options.disk, (progress) => this.#emit('transfer', progress));
    this.#live =
      options.live === true ? new AppLive(this.#store, (name, status) => this.#onLive(name, status)) : undefined;
  }

  /** Starts live sync for the pairs marked live (when the service was made with `live: true`). */
  startLive(): Promise<void> {
    return this.#live?.update(loadSettings(this.#home)) ?? Promise.resolve();
  }

  #onLive(name: string, status: LiveStatus): void {
    if (status.progress !== undefined) this.#emit('progress', { pair: name, progress: status.progress });
    const seen = `${status.state}|${status.reason ?? ''}|${String(status.lastSyncAt)}`;
    if (this.#liveSeen.get(name) === seen) return;
    this.#liveSeen.set(name, seen);
    if (status.state === 'halted')
      this.#emit('notice', { pair: name, level: 'error', message: status.reason ?? `${name} halted` });
    this.#emit('pairsChanged', {});
  }

  /** Subscribes to events; returns the unsubscribe function. */
  on(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Validates and runs one call from the UI; resolves to the result or a flattened error, never rejects. */
  async call(
    method: MethodName,
    args: unknown,
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: { code: string; message: string } }> {
    try {
      const parsed = parseArgs(method, args);
      // Called at once with `this`: the method table is this class's own methods, keyed by the contract's names.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      const fn = this[method] as (a: MethodArgs<typeof method>) => Promise<MethodResult<typeof method>>;
      return { ok: true, result: await fn.call(this, parsed) };
    } catch (error) {
      return { ok: false, error: flattenError(error) };
    }
  }

  async close(): Promise<void> {
    for (const run of this.#running.values()) run.abort.abort();
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
    await this.#live?.close();
    await this.#storage.close();
  }

  #emit<E extends EventName>(event: E, data: TetherEvents[E]): void {
    for (const listener of this.#listeners) listener(event, data);
  }

  #view(pair: PairRecord, status?: PairStatusView): PairView {
    const lastResult = lastResultOf(pair.lastResult);
    const progress = this.#progress.get(pair.name) ?? status?.live?.progress;
    // A sync this app runs is the freshest news; else what the state store says (a live watcher's report,
    // a pause from any process, the pair's own state).
    const running = this.#running.has(pair.name);
    const state = running || status === undefined ? pair.state : status.state;
    const stateMessage = running || status === undefined ? pair.stateMessage : status.reason;
    return {
      name: pair.name,
      localPath: pair.localPath,
      remoteUrl: pair.remoteUrl,
      mode: pair.mode,
      compare: pair.compare,
      ignore: pair.ignore,
      state,
      running,
      live: pair.live,
      paused: status?.paused ?? pair.state === 'paused',
      ...(status?.watcher === undefined ? {} : { watcher: { pid: status.watcher.pid, host: status.watcher.host } }),
      ...(stateMessage === undefined ? {} : { stateMessage }),
      ...(pair.lastSyncAt === undefined ? {} : { lastSyncAt: pair.lastSyncAt }),
      ...(lastResult === undefined ? {} : { lastResult }),
      ...(progress === undefined ? {} : { progress }),
    };
  }

  /** Pair options for a remote: where its kubeconfig, helper image and S3 endpoint are (never secrets). */
  #remoteOptions(remoteUrl: string, kubeconfig: string | undefined): Record<string, unknown> {
    const settings = loadSettings(this.#home);
    const remote = parseRemoteUrl(remoteUrl);
    if (remote.scheme === 'pvc') {
      const file = kubeconfig ?? settings.kubeconfig;
      return { ...(file === undefined ? {} : { kubeconfig: file }), helperImage: settings.helperImage };
    }
    if (remote.scheme === 'phfs' || remote.scheme === 's3') {
      const s3 = {
        ...(settings.phfsEndpoint === undefined ? {} : { endpoint: settings.phfsEndpoint }),
        ...(settings.phfsBucket === undefined || remote.scheme === 's3' ? {} : { bucket: settings.phfsBucket }),
      };
      return Object.keys(s3).length === 0 ? {} : { s3 };
    }
    return {};
  }

  #applyCredentials(): void {
    const credentials = this.#vault.load();
    if (credentials === undefined) return;
    // The AWS SDK's default chain reads these; they live only in this process's memory.
    process.env['AWS_ACCESS_KEY_ID'] = credentials.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = credentials.secretAccessKey;
  }

  listPairs(): Promise<PairView[]> {
    const pairs = this.#store.listPairs();
    const statuses = new Map(pairStatuses(this.#store, pairs).map((s) => [s.name, s]));
    return Promise.resolve(pairs.map((p) => this.#view(p, statuses.get(p.name))));
  }

  addPair(args: MethodArgs<'addPair'>): Promise<PairView> {
    const localPath = resolve(args.localPath);
    const isDir = statSync(localPath, { throwIfNoEntry: false })?.isDirectory();
    if (isDir !== true) {
      throw new TetherError(
        'local-missing',
        `local folder ${localPath} does not exist or is not a folder; create it first`,
      );
    }
    const remoteUrl = formatRemoteUrl(parseRemoteUrl(args.remoteUrl));
    const record = this.#store.addPair({
      name: args.name,
      localPath,
      remoteUrl,
      mode: args.mode,
      compare: args.compare,
      ignore: args.ignore,
      options: this.#remoteOptions(remoteUrl, args.kubeconfig),
    });
    this.#emit('pairsChanged', {});
    return Promise.resolve(this.#view(record));
  }

  async removePair({ name }: MethodArgs<'removePair'>): Promise<void> {
    const running = this.#running.get(name);
    if (running !== undefined) {
      running.abort.abort();
      await running.done.catch(() => undefined);
    }
    const wasLive = this.#store.getPair(name)?.live === true;
    if (wasLive) {
      // Stop watching it first: the live service must not sync a pair that is being forgotten.
      this.#store.updatePairConfig(name, { live: false });
      await this.startLive();
    }
    if (!this.#store.removePair(name)) throw new TetherError('unknown-pair', `no pair named "${name}"`);
    this.#emit('pairsChanged', {});
  }

  async syncNow({ name, dryRun, force }: MethodArgs<'syncNow'>): Promise<SyncResult> {
    const pair = this.#store.requirePair(name);
    if (pair.state === 'paused' || this.#store.live.pausedPairIds().has(pair.id))
      throw new TetherError('bad-argument', `pair "${name}" is paused; resume it first`);
    if (this.#running.has(name)) throw new TetherError('pair-locked', `pair "${name}" is already syncing`);
    this.#applyCredentials();
    const abort = new AbortController();
    const settings = loadSettings(this.#home);
    const { syncPair } = await import('../controller/syncPair.js');
    const onProgress = (progress: SyncProgress): void => {
      this.#progress.set(name, progress);
      this.#emit('progress', { pair: name, progress });
    };
    const done = syncPair(this.#store, name, {
      signal: abort.signal,
      concurrency: settings.concurrency,
      ...(dryRun === true ? { dryRun: true } : { onProgress }),
      ...(force === true ? { force: true } : {}),
    });
    this.#running.set(name, { abort, done });
    this.#emit('pairsChanged', {});
    try {
      const summary = await done;
      if (summary.conflicts > 0 && !summary.dryRun) {
        this.#emit('notice', {
          pair: name,
          level: 'warn',
          message: `${summary.conflicts} conflict(s) in ${name}: both versions were kept; see Conflicts`,
        });
      }
      return resultOf(summary);
    } catch (error) {
      const flat = flattenError(error);
      if (flat.code === 'safety-halt') this.#emit('notice', { pair: name, level: 'error', message: flat.message });
      throw error;
    } finally {
      this.#running.delete(name);
      this.#progress.delete(name);
      this.#emit('pairsChanged', {});
    }
  }

  async pausePair({ name }: MethodArgs<'pausePair'>): Promise<void> {
    this.#store.requirePair(name);
    const running = this.#running.get(name);
    if (running !== undefined) {
      running.abort.abort();
      await running.done.catch(() => undefined);
    }
    // The same request `tether pause` writes: a `tether watch` in another process (and this app's own live
    // service) stops within its control interval.
    setPaused(this.#store, [name], true);
    this.#emit('pairsChanged', {});
  }

  resumePair({ name }: MethodArgs<'resumePair'>): Promise<void> {
    setPaused(this.#store, [name], false);
    this.#emit('pairsChanged', {});
    return Promise.resolve();
  }

  async setLive({ name, live }: MethodArgs<'setLive'>): Promise<PairView> {
    const pair = this.#store.requirePair(name);
    const settings = loadSettings(this.#home);
    const stored = (pair.options['live'] ?? {}) as Record<string, unknown>;
    // A pair without its own poll interval (`tether live --poll`) takes the one in Settings.
    const options =
      live && stored['pollIntervalMs'] === undefined
        ? { ...pair.options, live: { ...stored, pollIntervalMs: settings.pollIntervalSeconds * 1000 } }
        : pair.options;
    this.#store.updatePairConfig(name, { live, options });
    await this.startLive();
    this.#emit('pairsChanged', {});
    return (await this.listPairs()).find((p) => p.name === name) ?? this.#view(this.#store.requirePair(name));
  }

  quotaReport(args: MethodArgs<'quotaReport'>): Promise<MethodResult<'quotaReport'>> {
    return quotaPage(this.#store, this.#home, loadSettings(this.#home), args);
  }

  async largestFolders(args: MethodArgs<'largestFolders'>): Promise<MethodResult<'largestFolders'>> {
    const url = `pvc://${args.context === undefined ? '' : `${args.context}@`}${args.namespace}/${args.pvc}`;
    const entries = await this.#storage.listAll(
      ...this.#remote({ remoteUrl: url, ...(args.kubeconfig === undefined ? {} : { kubeconfig: args.kubeconfig }) }),
    );
    const { largestFolders } = await import('../quota/folders.js');
    return largestFolders(entries, { depth: args.depth ?? 2, limit: args.limit ?? 20 });
  }

  refreshUsage(args: MethodArgs<'refreshUsage'>): Promise<MethodResult<'refreshUsage'>> {
    return refreshUsage(this.#home, loadSettings(this.#home), args);
  }

  kubeContexts({ kubeconfig }: MethodArgs<'kubeContexts'>): Promise<MethodResult<'kubeContexts'>> {
    return Promise.resolve(kubeContexts(kubeconfig ?? loadSettings(this.#home).kubeconfig));
  }

  listNamespaces({ kubeconfig, context }: MethodArgs<'listNamespaces'>): Promise<string[]> {
    return listNamespaces(kubeconfig ?? loadSettings(this.#home).kubeconfig, context);
  }

  listPvcs({ kubeconfig, context, namespace }: MethodArgs<'listPvcs'>): Promise<MethodResult<'listPvcs'>> {
    return listPvcs(kubeconfig ?? loadSettings(this.#home).kubeconfig, context, namespace);
  }

  #remote(remote: RemoteRef): [string, Record<string, unknown>] {
    this.#applyCredentials();
    return [remote.remoteUrl, this.#remoteOptions(remote.remoteUrl, remote.kubeconfig)];
  }

  browse({ remote, path }: MethodArgs<'browse'>): Promise<MethodResult<'browse'>> {
    return this.#storage.browse(...this.#remote(remote), path);
  }

  storageAccess({ remote }: MethodArgs<'storageAccess'>): Promise<MethodResult<'storageAccess'>> {
    return this.#storage.access(...this.#remote(remote));
  }

  makeFolder({ remote, path }: MethodArgs<'makeFolder'>): Promise<void> {
    return this.#storage.makeFolder(...this.#remote(remote), path);
  }

  /** A browser's upload (`TRANSFER_ROUTES.upload`): `query` unchecked from the URL, `source` the request body. */
  async uploadStream(query: URLSearchParams, source: Readable, size: number, signal?: AbortSignal): Promise<void> {
    const { remote, path, mtimeMs } = parseTransferQuery('upload', query);
    await this.#storage.upload(...this.#remote(remote), path, source, size, mtimeMs ?? Date.now(), {
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /** A browser's download (`TRANSFER_ROUTES.download`) into the sink `start` returns once name and size are known. */
  async downloadStream(
    query: URLSearchParams,
    start: (info: DownloadInfo) => Writable,
    signal?: AbortSignal,
  ): Promise<void> {
    const { remote, path } = parseTransferQuery('download', query);
    await this.#storage.download(...this.#remote(remote), path, start, signal === undefined ? {} : { signal });
  }

  uploadFromDisk({ remote, folder, localPaths }: MethodArgs<'uploadFromDisk'>): Promise<{ uploaded: string[] }> {
    return this.#diskTransfers().upload(...this.#remote(remote), folder, localPaths);
  }

  downloadToDisk({ remote, path }: MethodArgs<'downloadToDisk'>): Promise<{ savedTo?: string }> {
    return this.#diskTransfers().download(...this.#remote(remote), path);
  }

  #diskTransfers(): DiskTransfers {
    if (this.#disk === undefined)
      throw new TetherError(
        'bad-argument',
        'this host has no native file dialogs: in a browser, files go up and down through the page itself',
      );
    return this.#disk;
  }

  async deleteEntries({ remote, paths }: MethodArgs<'deleteEntries'>): Promise<{ removed: number }> {
    return { removed: await this.#storage.delete(...this.#remote(remote), paths) };
  }

  listActivity({ pair, level, kind, limit }: MethodArgs<'listActivity'>): Promise<ActivityView[]> {
    const pairId = pair === undefined ? undefined : this.#store.requirePair(pair).id;
    const records = this.#store.listActivity({
      limit: limit ?? 500,
      ...(pairId === undefined ? {} : { pairId }),
      ...(level === undefined ? {} : { level }),
      ...(kind === undefined ? {} : { kind }),
    });
    return Promise.resolve(
      records.map((r) => ({
        id: r.id,
        at: r.at,
        level: r.level,
        kind: r.kind,
        message: r.message,
        ...(r.pairName === undefined ? {} : { pair: r.pairName }),
        ...(r.path === undefined ? {} : { path: r.path }),
        ...(r.bytes === undefined ? {} : { bytes: r.bytes }),
      })),
    );
  }

  listConflicts({ pair }: MethodArgs<'listConflicts'>): Promise<MethodResult<'listConflicts'>> {
    this.#store.flush();
    const pairs = pair === undefined ? this.#store.listPairs() : [this.#store.requirePair(pair)];
    return listConflicts(this.#store, pairs);
  }

  async resolveConflict({ pair, path, conflictPath, choice }: MethodArgs<'resolveConflict'>): Promise<void> {
    const record = this.#store.requirePair(pair);
    await resolveConflict(this.#store, record, path, conflictPath, choice);
    if (choice !== 'keep-both') await this.syncNow({ name: pair });
  }

  getSettings(): Promise<Settings> {
    return Promise.resolve(loadSettings(this.#home));
  }

  async saveSettings(settings: MethodArgs<'saveSettings'>): Promise<Settings> {
    const before = loadSettings(this.#home);
    const saved = saveSettings(this.#home, settings);
    // Live pairs that follow the app's poll interval (theirs equals the old setting) follow the new one.
    if (saved.pollIntervalSeconds !== before.pollIntervalSeconds) {
      for (const pair of this.#store.listPairs()) {
        const stored = (pair.options['live'] ?? {}) as Record<string, unknown>;
        if (pair.live && stored['pollIntervalMs'] === before.pollIntervalSeconds * 1000) {
          const live = { ...stored, pollIntervalMs: saved.pollIntervalSeconds * 1000 };
          this.#store.updatePairConfig(pair.name, { options: { ...pair.options, live } });
        }
      }
    }
    await this.#live?.update(saved);
    return saved;
  }

  credentialsStatus(): Promise<MethodResult<'credentialsStatus'>> {
    const stored = this.#vault.load();
    return Promise.resolve({
      supported: this.#vault.supported,
      hasSecret: stored !== undefined,
      ...(stored === undefined ? {} : { s3AccessKeyId: stored.accessKeyId }),
    });
  }

  saveCredentials(args: MethodArgs<'saveCredentials'>): Promise<MethodResult<'credentialsStatus'>> {
    this.#vault.save({ accessKeyId: args.s3AccessKeyId, secretAccessKey: args.s3SecretAccessKey });
    return this.credentialsStatus();
  }

  async pickFolder({ title }: MethodArgs<'pickFolder'>): Promise<{ path?: string }> {
    if (this.#pickFolder === undefined) return {};
    const path = await this.#pickFolder(title);
    return path === undefined ? {} : { path };
  }
}
