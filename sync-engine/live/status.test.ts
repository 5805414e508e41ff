import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pairConfig, tempState, type TempState } from '../state/testSupport.js';
import type { StateStore } from '../state/store.js';
import { pairStatuses, WATCHER_STALE_MS, type LiveStatus } from './status.js';

let state: TempState;
let store: StateStore;
beforeEach(() => {
  state = tempState();
  store = state.open();
});
afterEach(() => state.cleanup());

describe('pairStatuses', () => {
  it('shows the pair state when no watcher runs, and a pause requested meanwhile', () => {
    const a = store.addPair(pairConfig('a'));
    store.addPair(pairConfig('b'));
    store.live.pause([a.id], 1);
    expect(pairStatuses(store, store.listPairs(), 1000)).toEqual([
      { name: 'a', state: 'paused', reason: 'paused by the user', paused: true },
      { name: 'b', state: 'idle', paused: false },
    ]);
  });

  it("shows a live watcher's report, and ignores one that stopped reporting", () => {
    const a = store.addPair(pairConfig('a'));
    const detail: LiveStatus = { state: 'waiting', reason: 'remote unreachable; retrying in 4.0 s', cycles: 3 };
    store.live.reportWatcher(a.id, { pid: 7, host: 'h', detail }, 1000);
    const [live] = pairStatuses(store, [store.requirePair('a')], 1000 + WATCHER_STALE_MS - 1);
    expect(live).toEqual({
      name: 'a',
      state: 'waiting',
      reason: detail.reason,
      paused: false,
      watcher: { pid: 7, host: 'h', updatedAt: 1000 },
      live: detail,
    });
    const [stale] = pairStatuses(store, [store.requirePair('a')], 1000 + WATCHER_STALE_MS);
    expect(stale).toEqual({ name: 'a', state: 'idle', paused: false });
  });
});
