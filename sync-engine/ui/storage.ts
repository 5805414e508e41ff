import type { Readable, Writable } from 'node:stream';
import pLimit from 'p-limit';
import { baseName, parentOf } from '../core/entry.js';
import type { Entry, Problem } from '../core/entry.js';
import type { Endpoint, IncomingFile } from '../endpoints/endpoint.js';
import { openRemote } from '../endpoints/open.js';
import { formatRemoteUrl, parseRemoteUrl } from '../endpoints/remoteUrl.js';
import { flattenError, TetherError } from '../errors.js';
import type { BrowseEntry, RemoteAccess } from './contract.js';
import { readOnlyMessage, remoteAccess } from './storageAccess.js';
import { exactLength, streamFile, streamFolderTar } from './transfers.js';
import type { DownloadInfo } from './transfers.js';

/**
 * The storage browser's engine side: one open endpoint per remote (a PVC's helper pod is slow to start, so it is
 * kept while the user browses and closed after `idleMs` without use). Browsing lists one folder at a time with
 * the endpoint's `listFolder`; an endpoint without it is scanned whole once, and that listing is indexed by
 * folder and dropped by every change made here, so the next `browse` shows the truth.
 */
interface OpenRemote {
  readonly endpoint: Endpoint;
  /** The whole-tree listing, only for endpoints without `listFolder`. */
  listing: Promise<Map<string, Entry[]>> | undefined;
  timer: NodeJS.Timeout | undefined;
  busy: number;
}

export interface StorageBrowserOptions {
  /** Close a remote after this long unused (default 60 s). */
  readonly idleMs?: number;
  /** Opens an endpoint (default: `openRemote` with the given pair-style options). */
  readonly open?: (url: string, options: Record<string, unknown>) => Promise<Endpoint>;
  /** Decides the user's rights on a remote (default: `remoteAccess`, RBAC for PVCs). */
  readonly access?: (url: string, options: Record<string, unknown>) => Promise<RemoteAccess>;
  /** How long an answer of `access` is reused (default 30 s: a role granted meanwhile shows soon). */
  readonly accessTtlMs?: number;
  /** Folders listed at once when walking a subtree for a delete or a download (default 4). */
  readonly walkConcurrency?: number;
}

export interface TransferHooks {
  readonly signal?: AbortSignal;
  /** Bytes moved so far, in increments. */
  readonly onBytes?: (bytes: number) => void;
}

export class StorageBrowser {
  readonly #remotes = new Map<string, Promise<OpenRemote>>();
  readonly #idleMs: number;
  readonly #open: (url: string, options: Record<string, unknown>) => Promise<Endpoint>;
  readonly #access: (url: string, options: Record<string, unknown>) => Promise<RemoteAccess>;
  readonly #accessTtlMs: number;
  readonly #accessCache = new Map<string, { at: number; answer: Promise<RemoteAccess> }>();
  readonly #walkConcurrency: number;

  constructor(options: StorageBrowserOptions = {}) {
    this.#idleMs = options.idleMs ?? 60_000;
    this.#open = options.open ?? ((url, opts) => openRemote(url, { options: opts }));
    this.#access = options.access ?? remoteAccess;
    this.#accessTtlMs = options.accessTtlMs ?? 30_000;
    this.#walkConcurrency = options.walkConcurrency ?? 4;
  }

  /** The user's rights on a remote (see `remoteAccess`), reused for `accessTtlMs`. */
  access(url: string, options: Record<string, unknown>): Promise<RemoteAccess> {
    const canonical = formatRemoteUrl(parseRemoteUrl(url));
    const key = `${canonical}\n${JSON.stringify(options)}`;
    const cached = this.#accessCache.get(key);
    if (cached !== undefined && Date.now() - cached.at < this.#accessTtlMs) return cached.answer;
    const answer = this.#access(canonical, options);
    this.#accessCache.set(key, { at: Date.now(), answer });
    answer.catch(() => this.#accessCache.delete(key));
    return answer;
  }

  async browse(url: string, options: Record<string, unknown>, path: string): Promise<BrowseEntry[]> {
    return this.#use(url, options, async (remote) => {
      const children = [...(await this.#children(remote, path))];
      children.sort((a, b) =>
        a.kind === b.kind ? (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) : a.kind === 'dir' ? -1 : 1,
      );
      return children.map((e) => ({
        name: baseName(e.path),
        path: e.path,
        kind: e.kind,
        size: e.size,
        mtimeMs: e.mtimeMs,
      }));
    });
  }

  /** The entry at `path` (a file or folder), as its parent folder lists it now; undefined when there is none. */
  async stat(url: string, options: Record<string, unknown>, path: string): Promise<Entry | undefined> {
    return this.#use(url, options, (remote) => this.#entryAt(remote, path));
  }

  /** Every entry below the remote's root, listed now (the Quotas page's drill-down). */
  async listAll(url: string, options: Record<string, unknown>): Promise<Entry[]> {
    return this.#use(url, options, async (remote) => (await remote.endpoint.scan()).entries);
  }

  async makeFolder(url: string, options: Record<string, unknown>, path: string): Promise<void> {
    await this.#assertWritable(url, options, `create the folder ${path}`);
    await this.#use(url, options, async (remote) => {
      const entry: Entry = { path, kind: 'dir', size: 0, mtimeMs: Date.now(), executable: false };
      remote.listing = undefined;
      failOnProblems(`create folder ${path}`, await remote.endpoint.mkdirs([entry]));
    });
  }

  /**
   * Writes one file from `source`, which must carry exactly `size` bytes (a shorter or longer stream stores
   * nothing). Replaces nothing: an existing entry at `path` is an error. Memory stays bounded whatever the size.
   */
  async upload(
    url: string,
    options: Record<string, unknown>,
    path: string,
    source: Readable,
    size: number,
    mtimeMs: number,
    hooks: TransferHooks = {},
  ): Promise<void> {
    await this.#assertWritable(url, options, `upload ${path}`);
    await this.#use(url, options, async (remote) => {
      let siblings: readonly Entry[];
      try {
        siblings = await this.#children(remote, parentOf(path));
      } catch (error) {
        if (flattenError(error).code !== 'not-found') throw error;
        // A parent folder that does not exist yet holds nothing to clash with: create it (and those above it).
        const chain: Entry[] = [];
        for (let dir = parentOf(path); dir !== ''; dir = parentOf(dir))
          chain.unshift({ path: dir, kind: 'dir', size: 0, mtimeMs: Date.now(), executable: false });
        failOnProblems(`create the folder ${parentOf(path)}`, await remote.endpoint.mkdirs(chain));
        siblings = [];
      }
      if (siblings.some((e) => e.path === path)) {
        throw new TetherError(
          'bad-argument',
          `${path} already exists in ${remote.endpoint.displayName}; delete it first`,
        );
      }
      const entry: Entry = { path, kind: 'file', size, mtimeMs: Math.floor(mtimeMs), executable: false };
      const problems: Problem[] = [];
      remote.listing = undefined;
      const stream = exactLength(source, size, `upload of ${path}`, hooks.onBytes);
      async function* incoming(): AsyncGenerator<IncomingFile> {
        yield { path, entry, offset: 0, stream };
        await Promise.resolve();
      }
      await remote.endpoint.writeFiles([{ path, entry, offset: 0 }], incoming(), {
        onProblem: (problem) => problems.push(problem),
        ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
      });
      failOnProblems(`upload ${path}`, problems);
    });
  }

  /**
   * Streams a file, or a folder as a tar archive of everything below it (paths relative to the folder's parent,
   * so it unpacks into a folder of the same name), into the sink `start` returns once the download's name and
   * size are known. Resolves when the sink has everything; memory stays bounded whatever the size.
   */
  async download(
    url: string,
    options: Record<string, unknown>,
    path: string,
    start: (info: DownloadInfo) => Writable,
    hooks: TransferHooks = {},
  ): Promise<void> {
    await this.#use(url, options, async (remote) => {
      const entry = await this.#entryAt(remote, path);
      if (entry?.kind !== 'file' && entry?.kind !== 'dir') {
        throw new TetherError('not-found', `${path} is not a file or folder in ${remote.endpoint.displayName}`);
      }
      if (entry.kind === 'file') {
        const info: DownloadInfo = { fileName: baseName(path), kind: 'file', size: entry.size, mtimeMs: entry.mtimeMs };
        await streamFile(remote.endpoint, entry, () => start(info), hooks);
        return;
      }
      const tree = await this.#subtree(remote, entry);
      const strip = parentOf(path) === '' ? 0 : parentOf(path).length + 1;
      const sink = start({ fileName: `${baseName(path)}.tar`, kind: 'folder', mtimeMs: entry.mtimeMs });
      await streamFolderTar(
        remote.endpoint,
        { dirs: tree.filter((e) => e.kind === 'dir'), files: tree.filter((e) => e.kind === 'file') },
        strip,
        sink,
        hooks,
      );
    });
  }

  async delete(url: string, options: Record<string, unknown>, paths: readonly string[]): Promise<number> {
    await this.#assertWritable(
      url,
      options,
      `delete ${paths.length === 1 ? (paths[0] ?? '') : `${paths.length} items`}`,
    );
    return this.#use(url, options, async (remote) => {
      const doomed = new Map<string, Entry>();
      for (const path of paths) {
        const entry = await this.#entryAt(remote, path);
        if (entry === undefined) throw new TetherError('not-found', `${path} is not in ${remote.endpoint.displayName}`);
        for (const e of entry.kind === 'dir' ? await this.#subtree(remote, entry) : [entry]) doomed.set(e.path, e);
      }
      // Children before parents, as `remove` requires.
      const ordered = [...doomed.values()].sort((a, b) => b.path.split('/').length - a.path.split('/').length);
      remote.listing = undefined;
      const result = await remote.endpoint.remove(ordered);
      failOnProblems('delete', result.problems);
      return result.removed.length;
    });
  }

  /** Closes every open remote. */
  async close(): Promise<void> {
    const remotes = [...this.#remotes.values()];
    this.#remotes.clear();
    for (const pending of remotes) {
      const remote = await pending.catch(() => undefined);
      if (remote === undefined) continue;
      clearTimeout(remote.timer);
      await remote.endpoint.close().catch(() => undefined);
    }
  }

  /** Refuses a change up front, with one clear error, where the user's rights say it cannot work. */
  async #assertWritable(url: string, options: Record<string, unknown>, what: string): Promise<void> {
    const access = await this.access(url, options);
    if (access.canWrite !== false) return;
    throw new TetherError('permission-denied', readOnlyMessage(what, formatRemoteUrl(parseRemoteUrl(url)), access));
  }

  /** A folder's direct children: `listFolder` where the endpoint has it, else the indexed whole-tree listing. */
  async #children(remote: OpenRemote, path: string): Promise<readonly Entry[]> {
    const endpoint = remote.endpoint;
    if (endpoint.listFolder !== undefined) return endpoint.listFolder(path);
    const index = await this.#listing(remote);
    const children = index.get(path);
    if (children === undefined && path !== '') {
      throw new TetherError('not-found', `${path} is not a folder in ${endpoint.displayName}`);
    }
    return children ?? [];
  }

  /** The entry at `path` as its parent folder lists it, or undefined. */
  async #entryAt(remote: OpenRemote, path: string): Promise<Entry | undefined> {
    try {
      return (await this.#children(remote, parentOf(path))).find((e) => e.path === path);
    } catch (error) {
      if (flattenError(error).code === 'not-found') return undefined;
      throw error;
    }
  }

  /** A folder and everything below it, folder by folder (`walkConcurrency` listings at once), parents first. */
  async #subtree(remote: OpenRemote, root: Entry): Promise<Entry[]> {
    const limit = pLimit(this.#walkConcurrency);
    const found: Entry[] = [root];
    const walk = async (dir: Entry): Promise<void> => {
      const children = await limit(() => this.#children(remote, dir.path));
      found.push(...children);
      await Promise.all(children.filter((c) => c.kind === 'dir').map(walk));
    };
    await walk(root);
    return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async #use<T>(url: string, options: Record<string, unknown>, work: (remote: OpenRemote) => Promise<T>): Promise<T> {
    const canonical = formatRemoteUrl(parseRemoteUrl(url));
    const key = `${canonical}\n${JSON.stringify(options)}`;
    let pending = this.#remotes.get(key);
    if (pending === undefined) {
      pending = this.#open(canonical, options).then((endpoint): OpenRemote => ({
        endpoint,
        busy: 0,
        listing: undefined,
        timer: undefined,
      }));
      this.#remotes.set(key, pending);
      pending.catch(() => this.#remotes.delete(key));
    }
    const remote = await pending;
    clearTimeout(remote.timer);
    remote.busy++;
    try {
      return await work(remote);
    } catch (error) {
      remote.listing = undefined;
      throw error;
    } finally {
      remote.busy--;
      if (remote.busy === 0) {
        remote.timer = setTimeout(() => {
          if (this.#remotes.get(key) !== pending) return;
          this.#remotes.delete(key);
          void remote.endpoint.close().catch(() => undefined);
        }, this.#idleMs);
        remote.timer.unref();
      }
    }
  }

  #listing(remote: OpenRemote): Promise<Map<string, Entry[]>> {
    remote.listing ??= remote.endpoint.scan().then((scan) => {
      const index = new Map<string, Entry[]>([['', []]]);
      for (const entry of scan.entries) {
        if (entry.kind === 'dir' && !index.has(entry.path)) index.set(entry.path, []);
        const parent = parentOf(entry.path);
        let siblings = index.get(parent);
        if (siblings === undefined) index.set(parent, (siblings = []));
        siblings.push(entry);
      }
      return index;
    });
    const listing = remote.listing;
    listing.catch(() => {
      if (remote.listing === listing) remote.listing = undefined;
    });
    return listing;
  }
}

function failOnProblems(what: string, problems: readonly Problem[]): void {
  const first = problems[0];
  if (first === undefined) return;
  throw new TetherError(
    'transfer-failed',
    `unable to ${what}: ${first.path}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
  );
}
