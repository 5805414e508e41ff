import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../core/entry.js';
import type { Endpoint } from '../endpoints/endpoint.js';
import { openRemote } from '../endpoints/open.js';
import type { RemoteAccess } from './contract.js';
import { StorageBrowser } from './storage.js';
import { untar } from './testing/untar.js';
import type { DownloadInfo } from './transfers.js';

/**
 * The storage browser over a real folder (file://), its endpoint wrapped to record what it was asked: browsing
 * lists one folder, never the whole tree; deleting or downloading a folder lists only that folder's subtree.
 */
let dir: string;
let remote: string;
let listed: string[];
let scans: number;
let browser: StorageBrowser;
let access: RemoteAccess;

async function recordingEndpoint(url: string): Promise<Endpoint> {
  const inner = await openRemote(url);
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'scan') {
        return () => {
          scans++;
          return target.scan();
        };
      }
      if (key === 'listFolder') {
        return (path: string) => {
          listed.push(path);
          return target.listFolder?.(path);
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tether-storage-'));
  remote = join(dir, 'remote');
  for (const folder of ['a/a1/a2', 'b/b1', 'c']) await mkdir(join(remote, folder), { recursive: true });
  await writeFile(join(remote, 'a', 'one.txt'), 'one');
  await writeFile(join(remote, 'a', 'a1', 'two.txt'), 'two');
  await writeFile(join(remote, 'a', 'a1', 'a2', 'three.txt'), 'three');
  await writeFile(join(remote, 'b', 'b1', 'other.txt'), 'other');
  await writeFile(join(remote, 'top.txt'), 'top');
  listed = [];
  scans = 0;
  access = { level: 'Write', canWrite: true, note: 'test' };
  browser = new StorageBrowser({ open: recordingEndpoint, access: () => Promise.resolve(access), accessTtlMs: 0 });
});
afterEach(async () => {
  await browser.close();
  await rm(dir, { recursive: true, force: true });
});

const url = () => `file://${remote}`;

function collect(): { sink: Writable; body: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { sink, body: () => Buffer.concat(chunks) };
}

describe('StorageBrowser over listFolder', () => {
  it('browses one folder at a time: folders first, and nothing below siblings is listed', async () => {
    expect((await browser.browse(url(), {}, '')).map((e) => [e.name, e.kind])).toEqual([
      ['a', 'dir'],
      ['b', 'dir'],
      ['c', 'dir'],
      ['top.txt', 'file'],
    ]);
    expect(await browser.browse(url(), {}, 'a')).toEqual([
      expect.objectContaining({ name: 'a1', path: 'a/a1', kind: 'dir' }),
      expect.objectContaining({ name: 'one.txt', path: 'a/one.txt', kind: 'file', size: 3 }),
    ]);
    expect(listed).toEqual(['', 'a']);
    expect(scans).toBe(0);
    await expect(browser.browse(url(), {}, 'nope')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('downloads a folder as a tar of its subtree, walking only that subtree', async () => {
    const out = collect();
    let info: DownloadInfo | undefined;
    await browser.download(url(), {}, 'a/a1', (i) => {
      info = i;
      return out.sink;
    });
    expect(info).toMatchObject({ fileName: 'a1.tar', kind: 'folder' });
    expect(await untar(out.body())).toEqual([
      ['a1/', ''],
      ['a1/a2/', ''],
      ['a1/a2/three.txt', 'three'],
      ['a1/two.txt', 'two'],
    ]);
    expect(listed.sort()).toEqual(['a', 'a/a1', 'a/a1/a2']);
    expect(scans).toBe(0);
  });

  it('downloads a file with its size known before the first byte', async () => {
    const out = collect();
    let info: DownloadInfo | undefined;
    await browser.download(url(), {}, 'a/one.txt', (i) => {
      info = i;
      return out.sink;
    });
    expect(info).toMatchObject({ fileName: 'one.txt', kind: 'file', size: 3 });
    expect(out.body().toString()).toBe('one');
  });

  it('deletes a folder with everything below it, listing only its subtree', async () => {
    expect(await browser.delete(url(), {}, ['a'])).toBe(6);
    expect((await readdir(remote)).sort()).toEqual(['b', 'c', 'top.txt']);
    expect(listed.every((p) => p === '' || p === 'a' || p.startsWith('a/'))).toBe(true);
    expect(scans).toBe(0);
    await expect(browser.delete(url(), {}, ['a'])).rejects.toMatchObject({ code: 'not-found' });
  });

  it('uploads a stream of exactly the announced size; refuses an existing name, a short or a long stream', async () => {
    const content = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
    await browser.upload(url(), {}, 'c/new.bin', Readable.from([content]), content.length, 1_700_000_000_000);
    expect(
      createHash('sha256')
        .update(await readFile(join(remote, 'c', 'new.bin')))
        .digest('hex'),
    ).toBe(createHash('sha256').update(content).digest('hex'));
    await expect(
      browser.upload(url(), {}, 'c/new.bin', Readable.from([Buffer.from('x')]), 1, Date.now()),
    ).rejects.toMatchObject({ code: 'bad-argument', message: expect.stringContaining('already exists') as unknown });
    const short = new PassThrough();
    short.end(Buffer.from('12345'));
    await expect(browser.upload(url(), {}, 'c/short.bin', short, 10, Date.now())).rejects.toMatchObject({
      message: expect.stringContaining('ended after 5 of 10 bytes') as unknown,
    });
    await expect(
      browser.upload(url(), {}, 'c/long.bin', Readable.from([Buffer.from('12345')]), 3, Date.now()),
    ).rejects.toMatchObject({ message: expect.stringContaining('more than the announced 3 bytes') as unknown });
    expect((await readdir(join(remote, 'c'))).filter((n) => !n.startsWith('.tether-'))).toEqual(['new.bin']);
    // Into a folder that does not exist yet: created on the way.
    await browser.upload(url(), {}, 'c/fresh/one.txt', Readable.from([Buffer.from('1')]), 1, Date.now());
    expect(await readFile(join(remote, 'c', 'fresh', 'one.txt'), 'utf8')).toBe('1');
  });

  it('refuses writes up front where the user may only read, and still lets them browse and download', async () => {
    access = { level: 'Read', canWrite: false, note: 'Read in group-vision for bob, from RBAC' };
    const refused = {
      code: 'permission-denied',
      message: expect.stringMatching(
        /read-only for you \(Read in group-vision.*\): ask a group admin for Write/,
      ) as unknown,
    };
    await expect(browser.makeFolder(url(), {}, 'd')).rejects.toMatchObject(refused);
    await expect(browser.delete(url(), {}, ['top.txt'])).rejects.toMatchObject(refused);
    await expect(
      browser.upload(url(), {}, 'x.txt', Readable.from([Buffer.from('x')]), 1, Date.now()),
    ).rejects.toMatchObject(refused);
    expect((await readdir(remote)).sort()).toEqual(['a', 'b', 'c', 'top.txt']);
    expect(await browser.browse(url(), {}, '')).toHaveLength(4);
  });

  it('falls back to one whole scan, indexed by folder, for an endpoint without listFolder', async () => {
    const withoutListFolder = async (u: string): Promise<Endpoint> => {
      const inner = await recordingEndpoint(u);
      return new Proxy(inner, {
        get: (target, key, receiver): unknown =>
          key === 'listFolder' ? undefined : Reflect.get(target, key, receiver),
      });
    };
    const fallback = new StorageBrowser({ open: withoutListFolder, access: () => Promise.resolve(access) });
    try {
      expect((await fallback.browse(url(), {}, 'a')).map((e) => e.name)).toEqual(['a1', 'one.txt']);
      expect((await fallback.browse(url(), {}, 'b/b1')).map((e) => e.name)).toEqual(['other.txt']);
      expect(scans).toBe(1);
      await expect(fallback.browse(url(), {}, 'nope')).rejects.toMatchObject({ code: 'not-found' });
      expect(await fallback.delete(url(), {}, ['b'])).toBe(3);
      // A change drops the listing: the next browse scans again and shows the truth.
      expect((await fallback.browse(url(), {}, '')).map((e) => e.name)).toEqual(['a', 'c', 'top.txt']);
      expect(scans).toBe(3);
      expect(listed).toEqual([]);
    } finally {
      await fallback.close();
    }
  });

  it('answers a file that cannot be read with an error before anything is sent', async () => {
    const failing = async (u: string): Promise<Endpoint> => {
      const inner = await recordingEndpoint(u);
      return new Proxy(inner, {
        get: (target, key, receiver): unknown =>
          key === 'readFiles'
            ? async function* (requests: readonly { path: string; entry: Entry; offset: number }[]) {
                const [request] = requests;
                if (request === undefined) return;
                const stream = new PassThrough();
                stream.destroy(new Error(`${request.path} vanished since the listing`));
                yield { ...request, stream };
                await Promise.resolve();
              }
            : Reflect.get(target, key, receiver),
      });
    };
    const broken = new StorageBrowser({ open: failing, access: () => Promise.resolve(access) });
    let started = false;
    try {
      await expect(
        broken.download(url(), {}, 'a/one.txt', () => {
          started = true;
          return collect().sink;
        }),
      ).rejects.toThrow('a/one.txt vanished since the listing');
      expect(started).toBe(false);
    } finally {
      await broken.close();
    }
  });
});
