import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SyncMode } from '../core/plan.js';
import type { PairConfig } from './pairs.js';
import type { StateStore } from './store.js';
import { countRows, pairConfig, tempState, type TempState } from './testSupport.js';

let state: TempState;
let store: StateStore;
let now: number;
beforeEach(() => {
  state = tempState();
  now = Date.UTC(2026, 0, 2, 3, 4, 5);
  store = state.open({ now: () => now });
});
afterEach(() => state.cleanup());

describe('pairs', () => {
  it('adds a pair and reads it back with defaults and status fields', () => {
    const added = store.addPair(pairConfig('photos'));
    expect(added).toEqual({
      id: added.id,
      name: 'photos',
      localPath: '/home/me/photos',
      remoteUrl: 'pvc://ml/photos',
      mode: 'two-way',
      compare: 'size-mtime',
      ignore: ['*.tmp', 'node_modules/'],
      live: false,
      options: {},
      createdAt: now,
      state: 'idle',
    });
    expect(store.getPair('photos')).toEqual(added);
    expect(store.getPairById(added.id)).toEqual(added);
    expect(store.requirePair('photos')).toEqual(added);
  });

  it('keeps optional fields exactly', () => {
    const config = pairConfig('data', {
      mode: 'mirror-push',
      compare: 'sha256',
      maxDelete: '10%',
      live: true,
      options: { partSizeMiB: 16, region: 'eu', nested: { a: [1, 2] } },
      ignore: [],
    });
    const added = store.addPair(config);
    expect(added).toMatchObject({ ...config, live: true });
    expect(store.getPair('data')?.options).toEqual({ partSizeMiB: 16, region: 'eu', nested: { a: [1, 2] } });
  });

  it('refuses a second pair with the same name', () => {
    store.addPair(pairConfig('photos'));
    expect(() => store.addPair(pairConfig('photos', { remoteUrl: 'phfs://bucket/x' }))).toThrow(
      expect.objectContaining({
        code: 'pair-exists',
        message: 'a pair named "photos" already exists; choose another name or remove it first',
      }),
    );
    expect(store.listPairs()).toHaveLength(1);
  });

  it.each([
    ['', 'a pair name cannot be empty'],
    ['a'.repeat(65), 'is longer than 64 characters'],
    ['my pair', 'may only contain letters, digits, ".", "_" and "-"'],
    ['../x', 'may only contain letters, digits'],
    ['ünï', 'may only contain letters, digits'],
  ])('rejects the name %j', (name, message) => {
    expect(() => store.addPair(pairConfig(name))).toThrow(
      expect.objectContaining({ code: 'bad-argument', message: expect.stringContaining(message) as unknown }),
    );
  });

  it.each(['a', 'A.b_c-9', 'x'.repeat(64)])('accepts the name %j', (name) => {
    expect(store.addPair(pairConfig(name)).name).toBe(name);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an unknown mode', { mode: 'sideways' }, 'unknown sync mode "sideways"; use two-way, push, pull'],
    ['an unknown compare mode', { compare: 'crc' }, 'unknown compare mode "crc"'],
    ['an empty local path', { localPath: '' }, 'localPath must be a non-empty string'],
    ['a NUL in the remote', { remoteUrl: 'pvc://a\0b' }, 'remoteUrl must be a non-empty string without NUL bytes'],
    ['ignore rules that are not strings', { ignore: [1] }, 'ignore must be a list of strings'],
    ['options that are a list', { options: [] }, 'options must be an object'],
  ])('rejects %s', (_what, overrides, message) => {
    // Values a caller outside TypeScript (a config file, the UI) could send.
    const config: PairConfig = Object.assign({}, pairConfig('bad'), overrides);
    expect(() => store.addPair(config)).toThrow(
      expect.objectContaining({ code: 'bad-argument', message: expect.stringContaining(message) as unknown }),
    );
    expect(store.getPair('bad')).toBeUndefined();
  });

  it('lists pairs by name and removes them', () => {
    store.addPair(pairConfig('b'));
    store.addPair(pairConfig('a'));
    store.addPair(pairConfig('c'));
    expect(store.listPairs().map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(store.removePair('b')).toBe(true);
    expect(store.removePair('b')).toBe(false);
    expect(store.listPairs().map((p) => p.name)).toEqual(['a', 'c']);
    expect(store.getPair('b')).toBeUndefined();
  });

  it('never reuses the id of a removed pair', () => {
    const first = store.addPair(pairConfig('a')).id;
    store.removePair('a');
    expect(store.addPair(pairConfig('a')).id).not.toBe(first);
  });

  it('names the missing pair in errors', () => {
    const unknown: unknown = expect.objectContaining({
      code: 'unknown-pair',
      message: 'there is no pair named "ghost"; see `tether pair list` for the pairs',
    });
    expect(() => store.requirePair('ghost')).toThrow(unknown);
    expect(() => store.setPairState('ghost', 'idle')).toThrow(unknown);
    expect(() => store.recordSyncResult('ghost', {})).toThrow(unknown);
    expect(() => store.updatePairConfig('ghost', { live: true })).toThrow(unknown);
    expect(() => store.acquirePairLock('ghost', { pid: process.pid, host: 'h', purpose: 'p' })).toThrow(unknown);
  });

  it('tracks state and the last result', () => {
    store.addPair(pairConfig('p'));
    store.setPairState('p', 'halted', 'the remote listing came back empty');
    expect(store.getPair('p')).toMatchObject({ state: 'halted', stateMessage: 'the remote listing came back empty' });
    store.setPairState('p', 'idle');
    expect(store.getPair('p')?.stateMessage).toBeUndefined();
    now += 60_000;
    store.recordSyncResult('p', { uploaded: 3, bytes: 1234, conflicts: [] });
    expect(store.getPair('p')).toMatchObject({
      state: 'idle',
      lastSyncAt: now,
      lastResult: { uploaded: 3, bytes: 1234, conflicts: [] },
    });
    expect(() => store.setPairState('p', 'sleeping' as 'idle')).toThrow('unknown pair state "sleeping"');
    expect(() => store.recordSyncResult('p', undefined)).toThrow('the sync summary is not JSON-serializable');
  });

  it('patches the configuration: absent fields kept, maxDelete null removes the guard', () => {
    store.addPair(pairConfig('p', { maxDelete: '50', options: { a: 1 } }));
    const updated = store.updatePairConfig('p', { mode: 'pull', live: true, ignore: ['x/'] });
    expect(updated).toMatchObject({
      mode: 'pull',
      live: true,
      ignore: ['x/'],
      maxDelete: '50',
      compare: 'size-mtime',
      options: { a: 1 },
    });
    const cleared = store.updatePairConfig('p', { maxDelete: null, compare: 'none' });
    expect(cleared.maxDelete).toBeUndefined();
    expect(cleared.compare).toBe('none');
    expect(() => store.updatePairConfig('p', { mode: 'both' as SyncMode })).toThrow('unknown sync mode "both"');
    expect(store.getPair('p')?.mode).toBe('pull');
  });
});

describe('what a pair owns', () => {
  function populate(name: string): number {
    const { id } = store.addPair(pairConfig(name));
    const writer = store.ancestorWriter(id);
    writer.put({ path: 'a.txt', kind: 'file', size: 1, mtimeMs: 1, executable: false });
    writer.flush();
    store.putCachedHash(id, 'local', 'a.txt', 1, 1, 'a'.repeat(64));
    store.putCachedHash(id, 'remote', 'a.txt', 1, 1, 'b'.repeat(64));
    store.journalPut(id, 'upload:a.txt', { uploadId: 'u1', parts: [1] });
    store.logActivity({ pairId: id, level: 'info', kind: 'upload', path: 'a.txt', message: 'uploaded' });
    store.acquirePairLock(name, { pid: process.pid, host: 'here', purpose: 'test' });
    store.flush();
    return id;
  }

  it('goes with it when the pair is removed, and nothing of the other pairs does', () => {
    const gone = populate('gone');
    const kept = populate('kept');
    const raw = state.raw();
    const tables = ['ancestor', 'hash_cache', 'transfer_journal', 'activity', 'pair_locks'];
    for (const table of tables) expect(countRows(raw, table, gone)).toBeGreaterThan(0);
    expect(store.removePair('gone')).toBe(true);
    for (const table of tables) {
      expect(countRows(raw, table, gone), table).toBe(0);
      expect(countRows(raw, table, kept), table).toBeGreaterThan(0);
    }
  });

  it('drops writes that arrive for a removed pair instead of failing', () => {
    const { id } = store.addPair(pairConfig('p'));
    const writer = store.ancestorWriter(id);
    writer.put({ path: 'late.txt', kind: 'file', size: 1, mtimeMs: 1, executable: false });
    store.putCachedHash(id, 'local', 'late.txt', 1, 1, 'c'.repeat(64));
    store.logActivity({ pairId: id, level: 'info', kind: 'upload', message: 'late' });
    store.removePair('p');
    writer.flush();
    store.flush();
    const raw = state.raw();
    for (const table of ['ancestor', 'hash_cache', 'activity']) expect(countRows(raw, table, id)).toBe(0);
  });

  it('is cleared when the remote moves (a new remote has no common history), but not on other changes', () => {
    const id = populate('p');
    const raw = state.raw();
    store.updatePairConfig('p', { mode: 'push', ignore: [] });
    expect(countRows(raw, 'ancestor', id)).toBe(1);
    store.updatePairConfig('p', { remoteUrl: 'pvc://ml/elsewhere' });
    expect(countRows(raw, 'ancestor', id)).toBe(0);
    expect(countRows(raw, 'transfer_journal', id)).toBe(0);
    expect(store.loadHashCache(id, 'remote').size).toBe(0);
    expect(store.loadHashCache(id, 'local').size).toBe(1);
    expect(countRows(raw, 'activity', id)).toBe(1);
  });

  it('is cleared when the local folder moves, keeping the remote hashes', () => {
    const id = populate('p');
    store.updatePairConfig('p', { localPath: '/elsewhere' });
    expect(store.loadAncestor(id).size).toBe(0);
    expect(store.loadHashCache(id, 'local').size).toBe(0);
    expect(store.loadHashCache(id, 'remote').size).toBe(1);
  });
});
