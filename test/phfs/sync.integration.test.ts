import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import type { StateStore } from '../../sync-engine/state/store.js';
import { TetherError } from '../../sync-engine/errors.js';
import { parseMtime } from '../../sync-engine/endpoints/phfs/listing.js';
import { snapshot } from '../helpers/trees.js';
import { startPhfsLab } from './helpers.js';
import type { PhfsLab } from './helpers.js';

/** Keys that break naive S3 code: spaces, unicode (NFC and NFD), `+`, `%`, `#`, `?`, `=`, `&`, `'`, `<>`. */
const HOSTILE = [
  'with space.txt',
  'plus+sign.txt',
  'per%25cent %41.txt',
  'hash#tag.txt',
  'what?.txt',
  'a=b.txt',
  'this&that.txt',
  "it's <here>.txt",
  'unicodé ü.txt',
  'cafe\u0301.txt',
  '日本語/ファイル.txt',
];

let lab: PhfsLab;
let store: StateStore;
let work: string;
let counter = 0;

beforeAll(async () => {
  lab = await startPhfsLab();
  lab.useUser('alice');
  store = lab.openStore();
}, 60_000);
afterAll(async () => {
  await lab.stop();
});
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'tether-phfs-sync-'));
  await lab.setFaults({ s3: {} });
  lab.useUser('alice');
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function failureOf(promise: Promise<unknown>): Promise<TetherError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TetherError) return error;
    throw error;
  }
  throw new Error('expected the sync to fail');
}

async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

function newPair(
  mode: 'two-way' | 'push' | 'pull' | 'mirror-push' | 'mirror-pull',
  compare: 'size-mtime' | 'sha256' = 'size-mtime',
) {
  const name = `p${++counter}`;
  const local = join(work, 'local');
  const remoteUrl = `phfs://vision/tests/${name}`;
  return {
    name,
    local,
    prefix: `groups/vision/tests/${name}/`,
    add: () => store.addPair({ name, localPath: local, remoteUrl, mode, compare, ignore: [] }),
  };
}

describe('phfs:// endpoint against the lab store', () => {
  it('push uploads every file under its exact key, with rclone-style mtime and sha256 metadata, and re-syncs as a no-op', async () => {
    const pair = newPair('two-way');
    const files: Record<string, string> = { 'top.txt': 'top', 'deep/er/file.bin': 'x'.repeat(5000) };
    for (const name of HOSTILE) files[`names/${name}`] = `content of ${name}`;
    await writeTree(pair.local, files);
    await mkdir(join(pair.local, 'empty dir'), { recursive: true });
    await utimes(join(pair.local, 'top.txt'), 1_700_000_000.25, 1_700_000_000.25);
    pair.add();

    const first = await syncPair(store, pair.name);
    expect(first.problems).toEqual([]);
    expect(first.uploaded).toBe(Object.keys(files).length);

    const keys = await lab.keys(pair.prefix);
    const expected = [...Object.keys(files).map((p) => pair.prefix + p), `${pair.prefix}empty dir/`];
    for (const key of expected) expect(keys).toContain(key);
    for (const [path, content] of Object.entries(files))
      expect((await lab.get(pair.prefix + path)).toString()).toBe(content);
    const meta = await lab.metadata(`${pair.prefix}top.txt`);
    expect(meta.mtime).toBe('1700000000.250000000');
    expect(meta.sha256).toMatch(/^[0-9a-f]{64}$/);

    const again = await syncPair(store, pair.name);
    expect(again).toMatchObject({ uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, problems: [] });
  }, 120_000);

  it('pull downloads objects other tools wrote (no metadata: LastModified is the mtime), hostile names included', async () => {
    const pair = newPair('pull');
    const files: Record<string, string> = {};
    for (const name of HOSTILE) files[name] = `pulled ${name}`;
    files['sub/dir/x.txt'] = 'x';
    for (const [path, content] of Object.entries(files)) await lab.put(pair.prefix + path, content);
    await lab.put(`${pair.prefix}only marker/`, '');
    await mkdir(pair.local, { recursive: true });
    pair.add();

    const result = await syncPair(store, pair.name);
    expect(result.problems).toEqual([]);
    expect(result.downloaded).toBe(Object.keys(files).length);
    for (const [path, content] of Object.entries(files))
      expect(await readFile(join(pair.local, path), 'utf8')).toBe(content);
    expect((await stat(join(pair.local, 'only marker'))).isDirectory()).toBe(true);
    const again = await syncPair(store, pair.name);
    expect(again).toMatchObject({ downloaded: 0, uploaded: 0, problems: [] });
  }, 120_000);

  it('two-way carries edits and deletions both ways (DeleteObjects) and strict mode compares by stored sha256', async () => {
    const pair = newPair('two-way', 'sha256');
    await writeTree(pair.local, { 'a.txt': 'a', 'b.txt': 'b', 'gone/c.txt': 'c', 'keep.txt': 'k' });
    pair.add();
    expect((await syncPair(store, pair.name)).uploaded).toBe(4);

    await rm(join(pair.local, 'gone'), { recursive: true });
    await writeFile(join(pair.local, 'a.txt'), 'a changed locally');
    await lab.put(`${pair.prefix}b.txt`, 'b changed remotely');
    await lab.put(`${pair.prefix}new remote.txt`, 'new');
    const result = await syncPair(store, pair.name);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ uploaded: 1, downloaded: 2, deletedRemote: 1 });
    expect(await lab.keys(pair.prefix)).toEqual(
      ['a.txt', 'b.txt', 'keep.txt', 'new remote.txt'].map((p) => pair.prefix + p),
    );
    expect(await readFile(join(pair.local, 'b.txt'), 'utf8')).toBe('b changed remotely');
    expect((await lab.get(`${pair.prefix}a.txt`)).toString()).toBe('a changed locally');
    expect(await syncPair(store, pair.name)).toMatchObject({ uploaded: 0, downloaded: 0, problems: [] });
  }, 120_000);

  it('a large file goes up in parts, comes back down intact, with the mtime the local file had', async () => {
    const pair = newPair('two-way');
    const big = Buffer.alloc(20 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    await writeTree(pair.local, { 'big.bin': big });
    pair.add();
    const result = await syncPair(store, pair.name);
    expect(result.problems).toEqual([]);
    expect((await lab.get(`${pair.prefix}big.bin`)).equals(big)).toBe(true);
    const localMtime = (await stat(join(pair.local, 'big.bin'))).mtimeMs;
    expect(Math.abs(parseMtime((await lab.metadata(`${pair.prefix}big.bin`)).mtime)! - localMtime)).toBeLessThan(1);

    const pullPair = newPair('pull');
    await lab.put(`${pullPair.prefix}copy.bin`, await lab.get(`${pair.prefix}big.bin`));
    await mkdir(pullPair.local, { recursive: true });
    await rm(join(pair.local), { recursive: true });
    await mkdir(pullPair.local, { recursive: true });
    pullPair.add();
    const pulled = await syncPair(store, pullPair.name);
    expect(pulled.problems).toEqual([]);
    expect((await readFile(join(pullPair.local, 'copy.bin'))).equals(big)).toBe(true);
  }, 180_000);

  it('rides out injected 500 and 503 (SlowDown) answers', async () => {
    const pair = newPair('push');
    await writeTree(pair.local, { 'one.txt': '1', 'two.txt': '2', 'three/four.txt': '4' });
    pair.add();
    await lab.setFaults({ s3: { failNext: 3, failStatus: 503 } });
    const first = await syncPair(store, pair.name);
    expect(first.problems).toEqual([]);
    expect(first.uploaded).toBe(3);
    await writeFile(join(pair.local, 'one.txt'), 'one again');
    await lab.setFaults({ s3: { failNext: 3, failStatus: 500 } });
    const second = await syncPair(store, pair.name);
    expect(second.problems).toEqual([]);
    expect((await lab.get(`${pair.prefix}one.txt`)).toString()).toBe('one again');
  }, 120_000);

  it('a read-only group is a clear permission error, and an unknown bucket or dead endpoint says what to check', async () => {
    const pair = newPair('push');
    await writeTree(pair.local, { 'x.txt': 'x' });
    pair.add();
    lab.useUser('bob');
    const result = await syncPair(store, pair.name).then(
      (summary) => summary,
      (error: unknown) => error,
    );
    if (result instanceof TetherError) {
      expect(result.code).toBe('permission-denied');
      expect(result.message).toMatch(/access denied/);
    } else {
      expect(JSON.stringify(result)).toMatch(/access denied/);
    }

    lab.useUser('alice');
    const noBucket = newPair('push');
    store.addPair({
      name: noBucket.name,
      localPath: pair.local,
      remoteUrl: 's3://no-such-bucket/x',
      mode: 'push',
      compare: 'size-mtime',
      ignore: [],
    });
    const missing = await failureOf(syncPair(store, noBucket.name));
    expect(['not-found', 'permission-denied']).toContain(missing.code);

    const dead = newPair('push');
    store.addPair({
      name: dead.name,
      localPath: pair.local,
      remoteUrl: 'phfs://vision/x',
      mode: 'push',
      compare: 'size-mtime',
      ignore: [],
      options: { s3: { endpoint: 'http://127.0.0.1:9' } },
    });
    const unreachable = await failureOf(syncPair(store, dead.name));
    expect(unreachable.code).toBe('remote-unreachable');
    expect(unreachable.message).toMatch(/unreachable.*--s3-endpoint/);
  }, 180_000);

  it('leaves the local tree identical to the bucket after mirror-pull', async () => {
    const pair = newPair('mirror-pull');
    await lab.put(`${pair.prefix}m/1.txt`, 'one');
    await writeTree(pair.local, { 'extra.txt': 'local only' });
    pair.add();
    const result = await syncPair(store, pair.name, { force: true });
    expect(result.problems).toEqual([]);
    const snap = await snapshot(pair.local);
    expect([...snap.keys()].sort()).toEqual(['m', 'm/1.txt']);
  }, 120_000);
});
