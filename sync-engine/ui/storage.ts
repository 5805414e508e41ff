import { Readable } from 'node:stream';
import { baseName, parentOf } from '../core/entry.js';
import type { Entry, Problem } from '../core/entry.js';
import type { Endpoint, IncomingFile } from '../endpoints/endpoint.js';
import { openRemote } from '../endpoints/open.js';
import { formatRemoteUrl, parseRemoteUrl } from '../endpoints/remoteUrl.js';
import { TetherError } from '../errors.js';
import type { BrowseEntry } from './contract.js';

/**
 * The storage browser's engine side: one open endpoint per remote (a PVC's helper pod is slow to start, so it is
 * kept while the user browses and closed after `idleMs` without use), and its last listing, indexed by folder.
 * Every change made here drops the listing, so the next `browse` shows the truth.
 */
interface OpenRemote {
  readonly endpoint: Endpoint;
  listing: Promise<Map<string, Entry[]>> | undefined;
  timer: NodeJS.Timeout | undefined;
  busy: number;
}

export interface StorageBrowserOptions {
  /** Close a remote after this long unused (default 60 s). */
  readonly idleMs?: number;
  /** Opens an endpoint (default: `openRemote` with the given pair-style options). */
  readonly open?: (url: string, options: Record<string, unknown>) => Promise<Endpoint>;
}

export class StorageBrowser {
  readonly #remotes = new Map<string, Promise<OpenRemote>>();
  readonly #idleMs: number;
  readonly #open: (url: string, options: Record<string, unknown>) => Promise<Endpoint>;

  constructor(options: StorageBrowserOptions = {}) {
    this.#idleMs = options.idleMs ?? 60_000;
    this.#open = options.open ?? ((url, opts) => openRemote(url, { options: opts }));
  }

  async browse(url: string, options: Record<string, unknown>, path: string): Promise<BrowseEntry[]> {
    return this.#use(url, options, async (remote) => {
      const index = await this.#listing(remote);
      if (path !== '' && !index.has(path)) {
        throw new TetherError('not-found', `${path} is not a folder in ${remote.endpoint.displayName}`);
      }
      return (index.get(path) ?? []).map((e) => ({
        name: baseName(e.path),
        path: e.path,
        kind: e.kind,
        size: e.size,
        mtimeMs: e.mtimeMs,
      }));
    });
  }

  async makeFolder(url: string, options: Record<string, unknown>, path: string): Promise<void> {
    await this.#use(url, options, async (remote) => {
      const entry: Entry = { path, kind: 'dir', size: 0, mtimeMs: Date.now(), executable: false };
      remote.listing = undefined;
      failOnProblems(`create folder ${path}`, await remote.endpoint.mkdirs([entry]));
    });
  }

  async upload(
    url: string,
    options: Record<string, unknown>,
    path: string,
    content: Buffer,
    mtimeMs: number,
  ): Promise<void> {
    await this.#use(url, options, async (remote) => {
      const index = await this.#listing(remote);
      if ((index.get(parentOf(path)) ?? []).some((e) => e.path === path)) {
        throw new TetherError(
          'bad-argument',
          `${path} already exists in ${remote.endpoint.displayName}; delete it first`,
        );
      }
      const entry: Entry = {
        path,
        kind: 'file',
        size: content.length,
        mtimeMs: Math.floor(mtimeMs),
        executable: false,
      };
      const problems: Problem[] = [];
      remote.listing = undefined;
      async function* incoming(): AsyncGenerator<IncomingFile> {
        yield { path, entry, offset: 0, stream: Readable.from([content]) };
        await Promise.resolve();
      }
      await remote.endpoint.writeFiles([{ path, entry, offset: 0 }], incoming(), {
        onProblem: (problem) => problems.push(problem),
      });
      failOnProblems(`upload ${path}`, problems);
    });
  }

  async download(url: string, options: Record<string, unknown>, path: string): Promise<Buffer> {
    return this.#use(url, options, async (remote) => {
      const entry = (await this.#listing(remote)).get(parentOf(path))?.find((e) => e.path === path);
      if (entry?.kind !== 'file') {
        throw new TetherError('not-found', `${path} is not a file in ${remote.endpoint.displayName}`);
      }
      for await (const file of remote.endpoint.readFiles([{ path, entry, offset: 0 }])) {
        const chunks: Buffer[] = [];
        for await (const chunk of file.stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      }
      throw new TetherError('internal', `reading ${path} returned nothing`);
    });
  }

  async delete(url: string, options: Record<string, unknown>, paths: readonly string[]): Promise<number> {
    return this.#use(url, options, async (remote) => {
      const index = await this.#listing(remote);
      const byPath = new Map<string, Entry>();
      for (const list of index.values()) for (const e of list) byPath.set(e.path, e);
      const doomed = new Map<string, Entry>();
      const add = (entry: Entry): void => {
        doomed.set(entry.path, entry);
        for (const child of index.get(entry.path) ?? []) add(child);
      };
      for (const path of paths) {
        const entry = byPath.get(path);
        if (entry === undefined) throw new TetherError('not-found', `${path} is not in ${remote.endpoint.displayName}`);
        add(entry);
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
      for (const list of index.values()) {
        list.sort((a, b) =>
          a.kind === b.kind ? (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) : a.kind === 'dir' ? -1 : 1,
        );
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
