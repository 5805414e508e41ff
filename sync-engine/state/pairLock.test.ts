import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError } from '../errors.js';
import { isProcessAlive, lockedMessage, type LockOwner } from './pairLock.js';
import type { StateStoreOptions } from './store.js';
import { countRows, pairConfig, tempState, type TempState } from './testSupport.js';

let state: TempState;
/** Pids the fake process table reports as running. */
let alive: Set<number>;
beforeEach(() => {
  state = tempState();
  alive = new Set([101, 202]);
});
afterEach(() => state.cleanup());

const at = (h: number, m: number, s: number): number => new Date(2026, 4, 6, h, m, s).getTime();

function open(extra: StateStoreOptions = {}) {
  let now = at(12, 3, 4);
  const store = state.open({ locks: { host: 'here', isAlive: (pid) => alive.has(pid) }, now: () => now, ...extra });
  return { store, advance: (ms: number) => (now += ms) };
}

const sync: LockOwner = { pid: 101, host: 'here', purpose: 'tether sync' };
const app: LockOwner = { pid: 202, host: 'here', purpose: 'desktop live sync' };

function lockError(run: () => unknown): TetherError {
  try {
    run();
  } catch (error) {
    if (error instanceof TetherError) return error;
    throw error;
  }
  throw new Error('expected the lock to be refused');
}

describe('pair lock', () => {
  it('refuses a second holder, naming the first, until it releases', () => {
    const { store } = open();
    store.addPair(pairConfig('x'));
    const release = store.acquirePairLock('x', sync);
    const error = lockError(() => store.acquirePairLock('x', app));
    expect(error.code).toBe('pair-locked');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      'pair "x" is being synced by pid 101 (tether sync), started 12:03:04; wait for it to finish or stop it',
    );
    // The same owner twice is refused too: two syncs of one pair in one process would corrupt it as well.
    expect(lockError(() => store.acquirePairLock('x', sync)).code).toBe('pair-locked');
    release();
    store.acquirePairLock('x', app)();
  });

  it('locks each pair separately', () => {
    const { store } = open();
    store.addPair(pairConfig('x'));
    store.addPair(pairConfig('y'));
    store.acquirePairLock('x', sync);
    expect(() => store.acquirePairLock('y', app)).not.toThrow();
  });

  it('is seen by another store on the same file', () => {
    const first = open().store;
    first.addPair(pairConfig('x'));
    first.acquirePairLock('x', sync);
    const second = open().store;
    expect(lockError(() => second.acquirePairLock('x', app)).code).toBe('pair-locked');
    expect(second.pairLockHolder('x')).toEqual({
      pairId: 1,
      pid: 101,
      host: 'here',
      purpose: 'tether sync',
      acquiredAt: at(12, 3, 4),
      stale: false,
    });
  });

  it('takes over a lock whose holder on this host is gone, and logs it', () => {
    const { store } = open();
    const { id } = store.addPair(pairConfig('x'));
    store.acquirePairLock('x', { pid: 303, host: 'here', purpose: 'tether sync' });
    expect(store.pairLockHolder('x')?.stale).toBe(true);
    const release = store.acquirePairLock('x', app);
    expect(store.pairLockHolder('x')).toMatchObject({ pid: 202, stale: false });
    expect(store.listActivity({ pairId: id, kind: 'lock' }).map((r) => [r.level, r.message])).toEqual([
      ['warn', 'took over the lock of pair "x" left by pid 303 (tether sync), which is no longer running'],
    ]);
    release();
    expect(store.pairLockHolder('x')).toBeUndefined();
  });

  it('never takes over a lock held on another host (its pid cannot be checked)', () => {
    const { store } = open();
    store.addPair(pairConfig('x'));
    store.acquirePairLock('x', { pid: 999, host: 'build-box', purpose: 'tether sync' });
    expect(lockError(() => store.acquirePairLock('x', app)).message).toBe(
      'pair "x" is being synced by pid 999 on build-box (tether sync), started 12:03:04; wait for it to finish or stop it',
    );
  });

  it('does not let a stale holder release the lock its successor took over', () => {
    const { store } = open();
    store.addPair(pairConfig('x'));
    const releaseDead = store.acquirePairLock('x', { pid: 303, host: 'here', purpose: 'tether sync' });
    store.acquirePairLock('x', app);
    releaseDead();
    releaseDead();
    expect(store.pairLockHolder('x')?.pid).toBe(202);
  });

  it('is released when the store closes', () => {
    const { store } = open();
    const { id } = store.addPair(pairConfig('x'));
    const release = store.acquirePairLock('x', sync);
    store.close();
    expect(countRows(state.raw(), 'pair_locks', id)).toBe(0);
    expect(() => release()).not.toThrow();
  });

  it('names the day too when the lock is older than today', () => {
    const holder = { pairId: 1, pid: 7, host: 'h', purpose: 'tether sync', acquiredAt: at(23, 59, 1) };
    const nextMorning = at(23, 59, 1) + 60_000;
    expect(lockedMessage('p', holder, 'h', nextMorning)).toContain('started 2026-05-06 23:59:01;');
    expect(lockedMessage('p', holder, 'h', at(23, 59, 30))).toContain('started 23:59:01;');
  });

  it.each<[string, LockOwner, string]>([
    ['pid 0', { pid: 0, host: 'h', purpose: 'p' }, 'a lock owner needs a positive pid, not 0'],
    ['an empty host', { pid: 1, host: '', purpose: 'p' }, 'a lock owner needs a host name'],
    ['an empty purpose', { pid: 1, host: 'h', purpose: '' }, 'a lock owner needs a purpose'],
  ])('refuses an owner with %s', (_what, owner, message) => {
    const { store } = open();
    store.addPair(pairConfig('x'));
    expect(() => store.acquirePairLock('x', owner)).toThrow(
      expect.objectContaining({ code: 'bad-argument', message: expect.stringContaining(message) as unknown }),
    );
  });
});

describe('waitForPairLock', () => {
  it('gets the lock once the holder releases it', async () => {
    const { store } = open();
    store.addPair(pairConfig('x'));
    const release = store.acquirePairLock('x', sync);
    setTimeout(release, 120);
    const started = Date.now();
    const mine = await store.waitForPairLock('x', app, 5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(store.pairLockHolder('x')?.pid).toBe(202);
    mine();
  });

  it('gives up after the timeout with the holder in the message', async () => {
    const { store } = open();
    store.addPair(pairConfig('x'));
    store.acquirePairLock('x', sync);
    const started = Date.now();
    const error: unknown = await store.waitForPairLock('x', app, 200).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).code).toBe('pair-locked');
    expect((error as TetherError).message).toBe(
      'pair "x" is being synced by pid 101 (tether sync), started 12:03:04; wait for it to finish or stop it ' +
        '(still locked after waiting 200 ms)',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('stops when cancelled', async () => {
    const { store } = open();
    store.addPair(pairConfig('x'));
    store.acquirePairLock('x', sync);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(store.waitForPairLock('x', app, 10_000, controller.signal)).rejects.toMatchObject({
      code: 'cancelled',
    });
  });

  it('fails at once for an unknown pair', async () => {
    const { store } = open();
    await expect(store.waitForPairLock('nope', app, 10_000)).rejects.toMatchObject({ code: 'unknown-pair' });
  });
});

describe('isProcessAlive', () => {
  it('sees this process', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
  });
});
