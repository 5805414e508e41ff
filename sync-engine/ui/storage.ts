import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { baseName, parentOf } from '../core/entry.js';
import type { Entry, Problem } from '../core/entry.js';
import type { Endpoint, IncomingFile } from '../endpoints/endpoint.js';
import { openRemote } from '../endpoints/open.js';
import { formatRemoteUrl, parseRemoteUrl } from '../endpoints/remoteUrl.js';
import { TetherError } from '../errors.js';
import type { BrowseEntry, RemoteAccess } from './contract.js';
import { readOnlyMessage, remoteAccess } from './storageAccess.js';

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
  /** Decides the user's rights on a remote (default: `remoteAccess`, RBAC for PVCs). */
  readonly access?: (url: string, options: Record<string, unknown>) => Promise<RemoteAccess>;
  /** How long an answer of `access` is reused (default 30 s: a role granted meanwhile shows soon). */
  readonly accessTtlMs?: number;
}

export class StorageBrowser {
  readonly #remotes = new Map<string, Promise<OpenRemote>>();
  readonly #idleMs: number;
  readonly #open: (url: string, options: Record<string, unknown>) => Promise<Endpoint>;
  readonly #access: (url: string, options: Record<string, unknown>) => Promise<RemoteAccess>;
  readonly #accessTtlMs: number;
  readonly #accessCache = new Map<string, { at: number; answer: Promise<RemoteAccess> }>();

  constructor(options: StorageBrowserOptions = {}) {
    this.#idleMs = options.idleMs ?? 60_000;
    this.#open = options.open ?? ((url, opts) => openRemote(url, { options: opts }));
    this.#access = options.access ?? remoteAccess;
    this.#accessTtlMs = options.accessTtlMs ?? 30_000;
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

  /** Refuses a change up front, with one clear error, where the user's rights say it cannot work. */
  async #assertWritable(url: string, options: Record<string, unknown>, what: string): Promise<void> {
    const access = await this.access(url, options);
    if (access.canWrite !== false) return;
    throw new TetherError('permission-denied', readOnlyMessage(what, formatRemoteUrl(parseRemoteUrl(url)), access));
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

  async upload(
    url: string,
    options: Record<string, unknown>,
    path: string,
    content: Buffer,
    mtimeMs: number,
  ): Promise<void> {
    await this.#assertWritable(url, options, `upload ${path}`);
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

  /**
   * A file's content, or for a folder a tar archive of everything below it (paths relative to the folder's
   * parent, so it unpacks into a folder of the same name). At most `maxBytes` of content either way.
   */
  async download(
    url: string,
    options: Record<string, unknown>,
    path: string,
    maxBytes = 64 * 1024 * 1024,
  ): Promise<{ content: Buffer; fileName: string }> {
    return this.#use(url, options, async (remote) => {
      const index = await this.#listing(remote);
      const entry = index.get(parentOf(path))?.find((e) => e.path === path);
      if (entry === undefined || entry.kind === 'symlink') {
        throw new TetherError('not-found', `${path} is not a file or folder in ${remote.endpoint.displayName}`);
      }
      const files: Entry[] = [];
      const dirs: Entry[] = [];
      const walk = (e: Entry): void => {
        if (e.kind === 'file') files.push(e);
        if (e.kind !== 'dir') return;
        dirs.push(e);
        for (const child of index.get(e.path) ?? []) walk(child);
      };
      walk(entry);
      const total = files.reduce((sum, f) => sum + f.size, 0);
      if (total > maxBytes) {
        throw new TetherError(
          'bad-argument',
          `${path} holds ${total} bytes, more than the ${maxBytes} a download here may carry; pair it with a local folder instead`,
        );
      }
      const contents = new Map<string, Buffer>();
      for await (const file of remote.endpoint.readFiles(files.map((f) => ({ path: f.path, entry: f, offset: 0 })))) {
        const chunks: Buffer[] = [];
        for await (const chunk of file.stream) chunks.push(chunk as Buffer);
        contents.set(file.path, Buffer.concat(chunks));
      }
      if (entry.kind === 'file') return { content: contents.get(path) ?? Buffer.alloc(0), fileName: baseName(path) };
      const strip = parentOf(path) === '' ? 0 : parentOf(path).length + 1;
      const pack = tar.pack();
      const archive = new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
        pack.on('end', () => resolve(Buffer.concat(chunks)));
        pack.on('error', reject);
      });
      for (const dir of dirs) {
        pack.entry({ name: `${dir.path.slice(strip)}/`, type: 'directory', mode: 0o755, mtime: new Date(dir.mtimeMs) });
      }
      for (const file of files) {
        pack.entry(
          { name: file.path.slice(strip), mode: file.executable ? 0o755 : 0o644, mtime: new Date(file.mtimeMs) },
          contents.get(file.path) ?? Buffer.alloc(0),
        );
      }
      pack.finalize();
      return { content: await archive, fileName: `${baseName(path)}.tar` };
    });
  }

  async delete(url: string, options: Record<string, unknown>, paths: readonly string[]): Promise<number> {
    await this.#assertWritable(
      url,
      options,
      `delete ${paths.length === 1 ? (paths[0] ?? '') : `${paths.length} items`}`,
    );
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
