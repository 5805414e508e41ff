import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Side } from '../core/plan.js';
import type { StateStore } from './store.js';
import { countRows, pairConfig, tempState, type TempState } from './testSupport.js';

let state: TempState;
let store: StateStore;
let pairId: number;
beforeEach(() => {
  state = tempState();
  store = state.open({ batch: { maxOps: 1000, maxDelayMs: 60_000 } });
  pairId = store.addPair(pairConfig('p')).id;
});
afterEach(() => state.cleanup());

const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);

describe('hash cache', () => {
  it.each<[string, number, number, string | undefined]>([
    ['the same size and mtime', 10, 1000.5, H1],
    ['another size', 11, 1000.5, undefined],
    ['another mtime', 10, 1000.25, undefined],
    ['an mtime rounded to the second', 10, 1000, undefined],
  ])('answers for %s', (_what, size, mtimeMs, expected) => {
    store.putCachedHash(pairId, 'local', 'a/b.bin', 10, 1000.5, H1);
    // Pending in the batch and committed to disk must answer alike.
    expect(store.getCachedHash(pairId, 'local', 'a/b.bin', size, mtimeMs)).toBe(expected);
    store.flush();
    expect(store.getCachedHash(pairId, 'local', 'a/b.bin', size, mtimeMs)).toBe(expected);
  });

  it('keeps sides and pairs apart', () => {
    const other = store.addPair(pairConfig('q')).id;
    store.putCachedHash(pairId, 'local', 'f', 1, 1, H1);
    store.putCachedHash(pairId, 'remote', 'f', 1, 1, H2);
    store.flush();
    expect(store.getCachedHash(pairId, 'local', 'f', 1, 1)).toBe(H1);
    expect(store.getCachedHash(pairId, 'remote', 'f', 1, 1)).toBe(H2);
    expect(store.getCachedHash(other, 'local', 'f', 1, 1)).toBeUndefined();
    expect(store.getCachedHash(pairId, 'local', 'g', 1, 1)).toBeUndefined();
  });

  it('replaces the hash when the file changes', () => {
    store.putCachedHash(pairId, 'local', 'f', 1, 1, H1);
    store.flush();
    store.putCachedHash(pairId, 'local', 'f', 2, 2, H2);
    store.flush();
    expect(store.getCachedHash(pairId, 'local', 'f', 1, 1)).toBeUndefined();
    expect(store.getCachedHash(pairId, 'local', 'f', 2, 2)).toBe(H2);
    expect(countRows(state.raw(), 'hash_cache', pairId)).toBe(1);
  });

  it('batches writes: nothing reaches the file until a flush', () => {
    const raw = state.raw();
    store.putCachedHashes(pairId, 'remote', [
      { path: 'x', size: 1, mtimeMs: 1, sha256: H1 },
      { path: 'y', size: 2, mtimeMs: 2, sha256: H2 },
    ]);
    expect(countRows(raw, 'hash_cache', pairId)).toBe(0);
    store.flush();
    expect(countRows(raw, 'hash_cache', pairId)).toBe(2);
  });

  it('loads a whole side at once, including pending hashes', () => {
    store.putCachedHash(pairId, 'remote', 'x', 1, 1.5, H1);
    store.putCachedHash(pairId, 'remote', 'ünï/y', 2, 2, H2);
    store.putCachedHash(pairId, 'local', 'z', 3, 3, H1);
    const remote = store.loadHashCache(pairId, 'remote');
    expect(remote).toEqual(
      new Map([
        ['x', { size: 1, mtimeMs: 1.5, sha256: H1 }],
        ['ünï/y', { size: 2, mtimeMs: 2, sha256: H2 }],
      ]),
    );
  });

  it('prunes hashes of files that no longer exist', () => {
    for (const path of ['a', 'b', 'c']) store.putCachedHash(pairId, 'local', path, 1, 1, H1);
    store.putCachedHash(pairId, 'remote', 'a', 1, 1, H1);
    expect(store.pruneHashCache(pairId, 'local', new Set(['b']))).toBe(2);
    expect([...store.loadHashCache(pairId, 'local').keys()]).toEqual(['b']);
    expect([...store.loadHashCache(pairId, 'remote').keys()]).toEqual(['a']);
  });

  it.each<[string, Side, string, string, string]>([
    ['a hash that is not hex SHA-256', 'local', 'f', 'ABC', 'not a lower-case hex SHA-256 for f'],
    ['an upper-case hash', 'local', 'f', 'A'.repeat(64), 'not a lower-case hex SHA-256'],
    ['a path that escapes', 'local', '../f', H1, 'cannot cache a hash for "../f": path has a ".." segment'],
    ['an unknown side', 'middle' as Side, 'f', H1, 'side must be "local" or "remote", not "middle"'],
  ])('refuses %s', (_what, side, path, sha256, message) => {
    expect(() => store.putCachedHash(pairId, side, path, 1, 1, sha256)).toThrow(
      expect.objectContaining({ code: 'bad-argument', message: expect.stringContaining(message) as unknown }),
    );
  });

  it('survives a restart', () => {
    store.putCachedHash(pairId, 'local', 'f', 5, 6, H1);
    store.close();
    expect(state.open().getCachedHash(pairId, 'local', 'f', 5, 6)).toBe(H1);
  });
});
