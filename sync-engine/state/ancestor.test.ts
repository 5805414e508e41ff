import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../core/entry.js';
import type { StateStore } from './store.js';
import { countRows, numberedEntry, pairConfig, tempState, type TempState } from './testSupport.js';

let state: TempState;
beforeEach(() => {
  state = tempState();
});
afterEach(() => state.cleanup());

const sample: Entry[] = [
  { path: 'docs', kind: 'dir', size: 0, mtimeMs: 1_700_000_000_000, executable: false },
  { path: 'docs/readme.md', kind: 'file', size: 42, mtimeMs: 1_700_000_000_123.456, executable: false },
  {
    path: 'bin/run.sh',
    kind: 'file',
    size: 9_007_199_254_740_991,
    mtimeMs: 1,
    executable: true,
    sha256: 'ab'.repeat(32),
  },
  { path: 'ünïcödé/ファイル 名.txt', kind: 'file', size: 0, mtimeMs: 0, executable: false, sha256: 'cd'.repeat(32) },
  { path: 'emoji/😀\nnewline "quoted"', kind: 'file', size: 3, mtimeMs: -5, executable: false },
  { path: 'links/latest', kind: 'symlink', size: 0, mtimeMs: 1_700_000_000_000, executable: false, target: '../v2' },
  {
    path: 'links/odd',
    kind: 'symlink',
    size: 0,
    mtimeMs: 2,
    executable: false,
    target: 'ünï/ファ',
    sha256: 'ef'.repeat(32),
  },
];

function openWithPair(options: Parameters<TempState['open']>[0] = {}): { store: StateStore; pairId: number } {
  const store = state.open(options);
  return { store, pairId: store.addPair(pairConfig('p')).id };
}

describe('ancestor', () => {
  it('round-trips every Entry field exactly (absent optional fields stay absent)', () => {
    const { store, pairId } = openWithPair();
    const writer = store.ancestorWriter(pairId);
    for (const entry of sample) writer.put(entry);
    writer.close();
    store.close();
    const loaded = state.open().loadAncestor(pairId);
    expect([...loaded.values()].sort((a, b) => a.path.localeCompare(b.path))).toStrictEqual(
      [...sample].sort((a, b) => a.path.localeCompare(b.path)),
    );
    for (const [path, entry] of loaded) expect(entry.path).toBe(path);
  });

  it('is empty for a pair never synced, and separate per pair', () => {
    const { store, pairId } = openWithPair();
    const other = store.addPair(pairConfig('q')).id;
    expect(store.loadAncestor(pairId).size).toBe(0);
    const writer = store.ancestorWriter(other);
    writer.put(sample[0]!);
    writer.flush();
    expect(store.loadAncestor(pairId).size).toBe(0);
    expect(store.loadAncestor(other).size).toBe(1);
  });

  it('loads the part in a narrowed scope: each root and what is below it, each parent, nothing that only shares a prefix', () => {
    const { store, pairId } = openWithPair({ batch: { maxOps: 1000, maxDelayMs: 60_000 } });
    const writer = store.ancestorWriter(pairId);
    const paths = ['a', 'a/x', 'a/x/y', 'a b', 'a0', 'a.txt', 'ab/c', 'd', 'd/e', 'd/e/f.txt', 'd/e/g.txt', 'd/h'];
    for (const path of paths) writer.put({ path, kind: 'file', size: path.length, mtimeMs: 1, executable: false });
    writer.put(sample[2]!); // a hash survives the narrowed load too
    // Pending writes are seen, as by loadAncestor.
    const narrowed = store.loadAncestorWithin(pairId, {
      roots: ['a', 'bin/run.sh', 'd/e/f.txt'],
      parents: ['d', 'd/e'],
    });
    expect([...narrowed.keys()].sort()).toEqual(['a', 'a/x', 'a/x/y', 'bin/run.sh', 'd', 'd/e', 'd/e/f.txt']);
    expect(narrowed.get('bin/run.sh')).toStrictEqual(sample[2]);
    expect(narrowed.get('a/x/y')).toStrictEqual({
      path: 'a/x/y',
      kind: 'file',
      size: 5,
      mtimeMs: 1,
      executable: false,
    });
    expect(store.loadAncestorWithin(pairId, { roots: ['missing'], parents: ['nope'] }).size).toBe(0);
  });

  it('replaces and deletes entries; the last operation on a path wins', () => {
    const { store, pairId } = openWithPair();
    const writer = store.ancestorWriter(pairId);
    const file: Entry = { path: 'a.txt', kind: 'file', size: 1, mtimeMs: 1, executable: false, sha256: 'a'.repeat(64) };
    writer.put(file);
    writer.flush();
    writer.put({ ...file, size: 2, sha256: 'b'.repeat(64) });
    writer.put({ path: 'b.txt', kind: 'file', size: 1, mtimeMs: 1, executable: false });
    writer.delete('b.txt');
    writer.delete('never-there.txt');
    writer.flush();
    expect([...store.loadAncestor(pairId).values()]).toStrictEqual([{ ...file, size: 2, sha256: 'b'.repeat(64) }]);
    // A replaced entry loses fields it no longer has.
    writer.put({ path: 'a.txt', kind: 'symlink', size: 0, mtimeMs: 3, executable: false, target: 'x' });
    writer.delete('a.txt');
    writer.put({ path: 'a.txt', kind: 'dir', size: 0, mtimeMs: 4, executable: false });
    writer.flush();
    expect(store.loadAncestor(pairId).get('a.txt')).toStrictEqual({
      path: 'a.txt',
      kind: 'dir',
      size: 0,
      mtimeMs: 4,
      executable: false,
    });
  });

  it.each([
    ['/abs', 'absolute path'],
    ['a/../b', 'path has a ".." segment'],
    ['', 'empty path'],
  ])('refuses to record the path %j', (path, reason) => {
    const { store, pairId } = openWithPair();
    const writer = store.ancestorWriter(pairId);
    expect(() => writer.put({ path, kind: 'file', size: 0, mtimeMs: 0, executable: false })).toThrow(
      expect.objectContaining({ code: 'bad-argument', message: expect.stringContaining(reason) as unknown }),
    );
    expect(() => writer.put({ path: 'ok', kind: 'file', size: -1, mtimeMs: 0, executable: false })).toThrow(
      'invalid size or mtime for ok',
    );
  });

  it('refuses a writer for an unknown pair', () => {
    const { store } = openWithPair();
    expect(() => store.ancestorWriter(999)).toThrow(expect.objectContaining({ code: 'unknown-pair' }));
  });

  it('loads 100,000 entries correctly (and fast)', { timeout: 60_000 }, () => {
    const { store, pairId } = openWithPair();
    const writer = store.ancestorWriter(pairId);
    const count = 100_000;
    for (let i = 0; i < count; i++) writer.put(numberedEntry(i));
    writer.close();
    store.close();
    const reopened = state.open();
    reopened.loadAncestor(pairId); // warm the page cache, as a second sync of the pair would find it
    const started = performance.now();
    const loaded = reopened.loadAncestor(pairId);
    const elapsed = performance.now() - started;
    console.log(`loadAncestor: ${count} entries in ${elapsed.toFixed(1)} ms`);
    expect(loaded.size).toBe(count);
    for (let i = 0; i < count; i++) {
      const expected = numberedEntry(i);
      const actual = loaded.get(expected.path);
      if (actual === undefined || JSON.stringify(actual) !== JSON.stringify(expected)) {
        expect(actual).toStrictEqual(expected);
      }
    }
  });
});

describe('AncestorWriter batching', () => {
  const entry = (i: number): Entry => ({ path: `f${i}`, kind: 'file', size: i, mtimeMs: i, executable: false });

  it('commits once a batch is full, not before', () => {
    const { store, pairId } = openWithPair({ batch: { maxOps: 3, maxDelayMs: 60_000 } });
    const raw = state.raw();
    const writer = store.ancestorWriter(pairId);
    writer.put(entry(1));
    writer.put(entry(2));
    expect(writer.pendingOps).toBe(2);
    expect(countRows(raw, 'ancestor', pairId)).toBe(0);
    writer.put(entry(3));
    expect(writer.pendingOps).toBe(0);
    expect(countRows(raw, 'ancestor', pairId)).toBe(3);
    writer.put(entry(4));
    expect(countRows(raw, 'ancestor', pairId)).toBe(3);
    writer.flush();
    expect(countRows(raw, 'ancestor', pairId)).toBe(4);
  });

  it('commits a batch that waited long enough, from a timer when the writer is idle', async () => {
    const { store, pairId } = openWithPair({ batch: { maxOps: 1000, maxDelayMs: 30 } });
    const raw = state.raw();
    const writer = store.ancestorWriter(pairId);
    writer.put(entry(1));
    expect(countRows(raw, 'ancestor', pairId)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(countRows(raw, 'ancestor', pairId)).toBe(1);
    expect(writer.pendingOps).toBe(0);
  });

  it('commits on the next operation once the oldest pending one is too old', () => {
    const { store, pairId } = openWithPair({ batch: { maxOps: 1000, maxDelayMs: 20 } });
    const raw = state.raw();
    const writer = store.ancestorWriter(pairId);
    writer.put(entry(1));
    const until = Date.now() + 40;
    while (Date.now() < until) {
      // Busy: the timer cannot run, as in a long synchronous stretch of the controller.
    }
    writer.put(entry(2));
    expect(countRows(raw, 'ancestor', pairId)).toBe(2);
  });

  it('makes its own pending writes visible to loadAncestor, and store.close() commits the rest', () => {
    const { store, pairId } = openWithPair({ batch: { maxOps: 1000, maxDelayMs: 60_000 } });
    const writer = store.ancestorWriter(pairId);
    writer.put(entry(1));
    expect(store.loadAncestor(pairId).has('f1')).toBe(true);
    writer.put(entry(2));
    store.close();
    expect(() => writer.put(entry(3))).toThrow(
      expect.objectContaining({
        code: 'internal',
        message: 'unable to save the ancestor of pair 1: its writer is closed',
      }),
    );
    expect(state.open().loadAncestor(pairId).size).toBe(2);
  });

  it('leaves the last committed batches, never part of a batch, when the process stops without flushing', () => {
    const { store, pairId } = openWithPair({ batch: { maxOps: 4, maxDelayMs: 60_000 } });
    const writer = store.ancestorWriter(pairId);
    for (let i = 0; i < 10; i++) writer.put(entry(i));
    // What another process (the next run) sees now is what survives if this one is killed here.
    const raw = state.raw();
    const committed = raw.prepare<[number], string>('SELECT path FROM ancestor WHERE pair_id = ? ORDER BY path');
    expect(committed.pluck().all(pairId)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7']);
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
  });
});
