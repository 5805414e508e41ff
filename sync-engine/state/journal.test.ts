import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateStore } from './store.js';
import { pairConfig, tempState, type TempState } from './testSupport.js';

let state: TempState;
let store: StateStore;
let pairId: number;
let now: number;
beforeEach(() => {
  state = tempState();
  now = 1_000;
  store = state.open({ now: () => now });
  pairId = store.addPair(pairConfig('p')).id;
});
afterEach(() => state.cleanup());

describe('transfer journal', () => {
  it('stores, replaces, lists and deletes JSON values by key, committed at once', () => {
    const upload = { uploadId: 'abc', partSize: 8_388_608, parts: [{ n: 1, etag: '"e1"' }] };
    store.journalPut(pairId, 'upload:big.bin', upload);
    expect(state.open().journalGet(pairId, 'upload:big.bin')).toEqual(upload);

    now = 2_000;
    const more = { ...upload, parts: [...upload.parts, { n: 2, etag: '"e2"' }] };
    store.journalPut(pairId, 'upload:big.bin', more);
    store.journalPut(pairId, 'download:ünï.txt', 12345);
    expect(store.journalList(pairId)).toEqual([
      { key: 'download:ünï.txt', value: 12345, updatedAt: 2_000 },
      { key: 'upload:big.bin', value: more, updatedAt: 2_000 },
    ]);

    expect(store.journalDelete(pairId, 'upload:big.bin')).toBe(true);
    expect(store.journalDelete(pairId, 'upload:big.bin')).toBe(false);
    expect(store.journalGet(pairId, 'upload:big.bin')).toBeUndefined();
    expect(store.journalList(pairId).map((r) => r.key)).toEqual(['download:ünï.txt']);
  });

  it('keeps pairs apart', () => {
    const other = store.addPair(pairConfig('q')).id;
    store.journalPut(pairId, 'k', 'mine');
    store.journalPut(other, 'k', 'theirs');
    expect(store.journalGet(pairId, 'k')).toBe('mine');
    expect(store.journalGet(other, 'k')).toBe('theirs');
    store.journalDelete(other, 'k');
    expect(store.journalGet(pairId, 'k')).toBe('mine');
  });

  it('round-trips null, false and nested values', () => {
    for (const value of [null, false, 0, '', [], { a: { b: [null, true] } }]) {
      store.journalPut(pairId, 'v', value);
      expect(store.journalGet(pairId, 'v')).toEqual(value);
    }
  });

  it.each<[string, unknown, string]>([
    ['undefined', undefined, 'is not JSON-serializable (undefined)'],
    ['a function', () => 1, 'is not JSON-serializable (function)'],
    ['a BigInt', 1n, 'is not JSON-serializable: TypeError'],
  ])('refuses %s as a value', (_what, value, message) => {
    expect(() => store.journalPut(pairId, 'k', value)).toThrow(
      expect.objectContaining({ code: 'bad-argument', message: expect.stringContaining(message) as unknown }),
    );
  });

  it('refuses an empty key and an unknown pair', () => {
    expect(() => store.journalPut(pairId, '', 1)).toThrow('a transfer journal key must be a string of 1 to 4096');
    expect(() => store.journalPut(4242, 'k', 1)).toThrow(
      expect.objectContaining({
        code: 'unknown-pair',
        message: expect.stringContaining('the pair does not exist') as unknown,
      }),
    );
  });
});
