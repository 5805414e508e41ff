import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StateStore } from '../state/store.js';
import { startBrowserHost } from './browserHost.js';
import type { BrowserHost } from './browserHost.js';
import type { ServerMessage } from './contract.js';
import { UiService } from './service.js';
import { untar } from './testing/untar.js';

let dir: string;
let store: StateStore;
let service: UiService;
let host: BrowserHost;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tether-ui-host-'));
  await mkdir(join(dir, 'renderer'));
  await writeFile(join(dir, 'renderer', 'index.html'), '<!doctype html><title>Tether</title>');
  await writeFile(join(dir, 'renderer', 'app.js'), 'console.log(1)');
  store = StateStore.open(join(dir, 'state.db'));
  service = new UiService({ store, home: dir });
  host = await startBrowserHost({ service, rendererDir: join(dir, 'renderer') });
});
afterAll(async () => {
  await host.close();
  await service.close();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A transfer route's URL with the host's token (or `token`), for `remoteUrl` and `path`. */
function transferUrl(route: string, remoteUrl: string, path: string, token = host.token): string {
  const query = new URLSearchParams({ token, remoteUrl, path });
  return `http://127.0.0.1:${host.port}${route}?${query.toString()}`;
}

function connect(options: { token?: string; origin?: string; path?: string } = {}): Promise<WebSocket> {
  const ws = new WebSocket(
    `ws://127.0.0.1:${host.port}${options.path ?? '/api'}?token=${options.token ?? host.token}`,
    {
      origin: options.origin ?? `http://127.0.0.1:${host.port}`,
    },
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

function client(ws: WebSocket) {
  let next = 1;
  const waiting = new Map<number, (m: ServerMessage) => void>();
  const events: ServerMessage[] = [];
  ws.on('message', (raw: Buffer) => {
    const message = JSON.parse(raw.toString()) as ServerMessage;
    if ('id' in message) waiting.get(message.id)?.(message);
    else events.push(message);
  });
  return {
    events,
    call(method: string, args: unknown): Promise<ServerMessage> {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, method, args }));
      });
    },
  };
}

describe('browser host', () => {
  it('serves the page only with the token, and only the renderer files', async () => {
    const base = `http://127.0.0.1:${host.port}`;
    expect((await fetch(`${base}/`)).status).toBe(403);
    expect((await fetch(`${base}/?token=wrong`)).status).toBe(403);
    const page = await fetch(host.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<title>Tether</title>');
    expect((await fetch(`${base}/app.js`)).status).toBe(200);
    expect((await fetch(`${base}/../state.db`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/state.db`)).status).toBe(404);
    expect((await fetch(`${base}/state.db`)).status).toBe(404);
  });

  it('answers nothing to a request under another host name (DNS rebinding)', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: host.port, path: `/?token=${host.token}`, headers: { host: 'evil.example' } },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
  });

  it('rejects sockets without the token, with a wrong one, or from a foreign origin', async () => {
    await expect(connect({ token: '' })).rejects.toThrow('HTTP 403');
    await expect(connect({ token: `${host.token}x` })).rejects.toThrow('HTTP 403');
    await expect(connect({ origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect({ origin: `http://127.0.0.1:${host.port + 1}` })).rejects.toThrow('HTTP 403');
    await expect(connect({ path: '/other' })).rejects.toThrow('HTTP 403');
    const ws = await connect();
    ws.close();
  });

  it('answers calls, flattens errors, and validates arguments', async () => {
    const ws = await connect();
    const api = client(ws);
    expect(await api.call('listPairs', {})).toEqual({ id: 1, ok: true, result: [] });
    expect(await api.call('nope', {})).toMatchObject({ ok: false, error: { code: 'bad-argument' } });
    expect(await api.call('removePair', { name: 'ghost' })).toMatchObject({
      ok: false,
      error: { code: 'unknown-pair', message: 'no pair named "ghost"' },
    });
    expect(await api.call('browse', { remote: { remoteUrl: 'file:///tmp' }, path: '../etc' })).toMatchObject({
      ok: false,
      error: { code: 'bad-argument' },
    });
    ws.close();
  });

  it('adds a pair, previews and syncs it with progress, and browses, uploads, downloads and deletes', async () => {
    const local = join(dir, 'local');
    const remote = join(dir, 'remote');
    await mkdir(local);
    await mkdir(remote);
    await writeFile(join(local, 'a.txt'), 'hello');
    const ws = await connect();
    const api = client(ws);
    const added = await api.call('addPair', {
      name: 'files',
      localPath: local,
      remoteUrl: `file://${remote}`,
      mode: 'two-way',
      compare: 'size-mtime',
      ignore: [],
    });
    expect(added).toMatchObject({ ok: true, result: { name: 'files', state: 'idle' } });
    const preview = await api.call('syncNow', { name: 'files', dryRun: true });
    expect(preview).toMatchObject({
      ok: true,
      result: { dryRun: true, uploaded: 1, actions: [{ kind: 'copy', path: 'a.txt' }] },
    });
    const synced = await api.call('syncNow', { name: 'files' });
    expect(synced).toMatchObject({ ok: true, result: { uploaded: 1, bytes: 5 } });
    expect(await readFile(join(remote, 'a.txt'), 'utf8')).toBe('hello');
    expect(api.events.some((e) => 'event' in e && e.event === 'progress')).toBe(true);

    const ref = { remoteUrl: `file://${remote}` };
    expect(await api.call('makeFolder', { remote: ref, path: 'new' })).toMatchObject({ ok: true });
    const put = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(transferUrl('/transfer/upload', ref.remoteUrl, path), { method: 'PUT', body, headers });
    const uploaded = await put('new/b.txt', 'uploaded');
    expect(uploaded.status).toBe(200);
    expect(await uploaded.json()).toEqual({ ok: true });
    expect(await readFile(join(remote, 'new', 'b.txt'), 'utf8')).toBe('uploaded');
    const again = await put('new/b.txt', 'uploaded');
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('already exists') as unknown },
    });
    const listed = await api.call('browse', { remote: ref, path: '' });
    expect(listed).toMatchObject({
      ok: true,
      result: [
        { name: 'new', kind: 'dir' },
        { name: 'a.txt', kind: 'file', size: 5 },
      ],
    });
    const file = await fetch(transferUrl('/transfer/download', ref.remoteUrl, 'new/b.txt'));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="b.txt"; filename*=UTF-8''b.txt`);
    expect(file.headers.get('content-length')).toBe('8');
    expect(await file.text()).toBe('uploaded');
    // A folder comes as a tar archive that unpacks into a folder of the same name.
    const folder = await fetch(transferUrl('/transfer/download', ref.remoteUrl, 'new'));
    expect(folder.headers.get('content-type')).toBe('application/x-tar');
    expect(folder.headers.get('content-disposition')).toContain('filename="new.tar"');
    expect(await untar(Buffer.from(await folder.arrayBuffer()))).toEqual([
      ['new/', ''],
      ['new/b.txt', 'uploaded'],
    ]);
    expect(await api.call('deleteEntries', { remote: ref, paths: ['new'] })).toMatchObject({
      ok: true,
      result: { removed: 2 },
    });
    expect(await api.call('browse', { remote: ref, path: '' })).toMatchObject({
      ok: true,
      result: [{ name: 'a.txt' }],
    });
    const activity = await api.call('listActivity', { pair: 'files' });
    expect(activity).toMatchObject({
      ok: true,
      result: expect.arrayContaining([expect.objectContaining({ kind: 'upload', path: 'a.txt' })]) as unknown,
    });
    ws.close();
  });

  it('guards the transfer routes like the socket: token, origin, method, length and every argument', async () => {
    const remote = join(dir, 'guarded');
    await mkdir(remote);
    await writeFile(join(remote, 'secret.txt'), 'secret');
    const remoteUrl = `file://${remote}`;
    expect((await fetch(transferUrl('/transfer/download', remoteUrl, 'secret.txt', ''))).status).toBe(403);
    expect((await fetch(transferUrl('/transfer/download', remoteUrl, 'secret.txt', `${host.token}x`))).status).toBe(
      403,
    );
    const foreign = await fetch(transferUrl('/transfer/download', remoteUrl, 'secret.txt'), {
      headers: { origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const escape = await fetch(transferUrl('/transfer/download', remoteUrl, '../state.db'));
    expect(escape.status).toBe(400);
    expect(await escape.json()).toMatchObject({ ok: false, error: { code: 'bad-argument' } });
    const missing = await fetch(transferUrl('/transfer/download', remoteUrl, 'nope.txt'));
    expect(missing.status).toBe(404);
    expect((await fetch(transferUrl('/transfer/download', remoteUrl, 'secret.txt'), { method: 'POST' })).status).toBe(
      405,
    );
    // A refused upload is answered with the reason, even when its large body was never read.
    const refused = await fetch(transferUrl('/transfer/upload', remoteUrl, 'secret.txt'), {
      method: 'PUT',
      body: Buffer.alloc(5 * 1024 * 1024),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: { message: expect.stringContaining('already exists') as unknown },
    });
    // An upload without a Content-Length (chunked) is refused: the remote needs the real size.
    const chunked = await fetch(transferUrl('/transfer/upload', remoteUrl, 'c.txt'), {
      method: 'PUT',
      body: new Blob(['x']).stream(),
      duplex: 'half',
    });
    expect(chunked.status).toBe(411);
    // A body shorter than announced stores nothing under the name.
    const short = await new Promise<number | undefined>((resolve) => {
      const url = new URL(transferUrl('/transfer/upload', remoteUrl, 'short.txt'));
      const req = request(
        {
          host: '127.0.0.1',
          port: host.port,
          method: 'PUT',
          path: `${url.pathname}${url.search}`,
          headers: { 'content-length': '10' },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      req.on('error', () => resolve(undefined));
      req.write('12345');
      setImmediate(() => req.destroy());
    });
    expect(short === undefined || short >= 400).toBe(true);
    await expect.poll(async () => (await readdir(remote)).sort()).toEqual(['secret.txt']);
    expect(await readFile(join(remote, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('pauses a pair: a paused pair refuses to sync until resumed', async () => {
    const ws = await connect();
    const api = client(ws);
    expect(await api.call('pausePair', { name: 'files' })).toMatchObject({ ok: true });
    expect(await api.call('syncNow', { name: 'files' })).toMatchObject({
      ok: false,
      error: { message: 'pair "files" is paused; resume it first' },
    });
    expect(await api.call('resumePair', { name: 'files' })).toMatchObject({ ok: true });
    expect(await api.call('syncNow', { name: 'files' })).toMatchObject({ ok: true, result: { uploaded: 0 } });
    ws.close();
  });
});
