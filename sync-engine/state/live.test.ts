import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateStore } from './store.js';
import { pairConfig, tempState, type TempState } from './testSupport.js';

let state: TempState;
let store: StateStore;
let a: number;
let b: number;
beforeEach(() => {
  state = tempState();
  store = state.open();
  a = store.addPair(pairConfig('a')).id;
  b = store.addPair(pairConfig('b')).id;
});
afterEach(() => state.cleanup());

describe('live state', () => {
  it('pauses and resumes pairs; another connection to the file sees it at once', () => {
    const other = state.open();
    store.live.pause([a], 1);
    expect(other.live.pausedPairIds()).toEqual(new Set([a]));
    store.live.pause([a, b], 2);
    expect(other.live.pausedPairIds()).toEqual(new Set([a, b]));
    other.live.resume([a]);
    expect(store.live.pausedPairIds()).toEqual(new Set([b]));
  });

  it('replaces the observations of one pair, leaving the others', () => {
    store.live.replaceObservations(a, new Map([['x', { size: 1, mtimeMs: 1.5, since: 10 }]]));
    store.live.replaceObservations(b, new Map([['y', { size: 2, mtimeMs: 2, since: 20 }]]));
    store.live.replaceObservations(a, new Map([['z', { size: 3, mtimeMs: 3, since: 30 }]]));
    expect(state.open().live.loadObservations(a)).toEqual(new Map([['z', { size: 3, mtimeMs: 3, since: 30 }]]));
    expect(store.live.loadObservations(b).size).toBe(1);
  });

  it('records the watcher of a pair; only its own process clears it', () => {
    store.live.reportWatcher(a, { pid: 42, host: 'h', detail: { state: 'idle' } }, 5);
    expect(store.live.watcher(a)).toEqual({ pid: 42, host: 'h', detail: { state: 'idle' }, updatedAt: 5 });
    store.live.clearWatcher(a, { pid: 43, host: 'h' });
    expect(store.live.watcher(a)).toBeDefined();
    store.live.clearWatcher(a, { pid: 42, host: 'h' });
    expect(store.live.watcher(a)).toBeUndefined();
  });

  it('removing a pair removes its live rows', () => {
    store.live.pause([a], 1);
    store.live.replaceObservations(a, new Map([['x', { size: 1, mtimeMs: 1, since: 1 }]]));
    store.live.reportWatcher(a, { pid: 1, host: 'h', detail: null }, 1);
    store.removePair('a');
    const raw = state.raw();
    for (const table of ['live_pauses', 'live_observations', 'live_watchers']) {
      expect(raw.prepare(`SELECT count(*) AS n FROM ${table} WHERE pair_id = ?`).get(a)).toEqual({ n: 0 });
    }
  });
});
