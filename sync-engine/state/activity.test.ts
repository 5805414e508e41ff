import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActivityInput, ActivityLevel, ActivityQuery } from './activity.js';
import type { StateStore } from './store.js';
import { countRows, pairConfig, tempState, type TempState } from './testSupport.js';

let state: TempState;
let store: StateStore;
let a: number;
let b: number;
let now: number;
beforeEach(() => {
  state = tempState();
  now = 1_000;
  store = state.open({ now: () => now++, batch: { maxOps: 1000, maxDelayMs: 60_000 } });
  a = store.addPair(pairConfig('a')).id;
  b = store.addPair(pairConfig('b')).id;
});
afterEach(() => state.cleanup());

function logFixture(): void {
  const lines: ActivityInput[] = [
    { pairId: a, level: 'info', kind: 'upload', path: 'x.txt', message: 'uploaded x.txt', bytes: 10 },
    { pairId: b, level: 'info', kind: 'download', path: 'y.txt', message: 'downloaded y.txt', bytes: 20 },
    { pairId: a, level: 'warn', kind: 'conflict', path: 'z.txt', message: 'both changed z.txt' },
    { level: 'info', kind: 'sync', message: 'engine started' },
    { pairId: a, level: 'error', kind: 'halt', message: 'remote listing came back empty' },
    { pairId: b, level: 'warn', kind: 'problem', path: 'bad\\name', message: 'invalid name' },
  ];
  for (const line of lines) store.logActivity(line);
}

describe('activity log', () => {
  it('lists newest first with every field, the pair name, and the time it was logged', () => {
    logFixture();
    const all = store.listActivity();
    expect(all.map((r) => r.message)).toEqual([
      'invalid name',
      'remote listing came back empty',
      'engine started',
      'both changed z.txt',
      'downloaded y.txt',
      'uploaded x.txt',
    ]);
    expect(all.at(-1)).toEqual({
      id: all.at(-1)!.id,
      at: 1_002,
      pairId: a,
      pairName: 'a',
      level: 'info',
      kind: 'upload',
      path: 'x.txt',
      message: 'uploaded x.txt',
      bytes: 10,
    });
    expect(all[2]).toEqual({ id: all[2]!.id, at: 1_005, level: 'info', kind: 'sync', message: 'engine started' });
  });

  it.each<[string, () => ActivityQuery, string[]]>([
    ['one pair', () => ({ pairId: a }), ['remote listing came back empty', 'both changed z.txt', 'uploaded x.txt']],
    ['one level', () => ({ level: 'warn' }), ['invalid name', 'both changed z.txt']],
    [
      'several levels',
      () => ({ level: ['warn', 'error'] }),
      ['invalid name', 'remote listing came back empty', 'both changed z.txt'],
    ],
    ['no level at all', () => ({ level: [] }), []],
    ['one kind', () => ({ kind: 'download' }), ['downloaded y.txt']],
    ['pair and level', () => ({ pairId: b, level: 'warn' }), ['invalid name']],
    ['a limit', () => ({ limit: 2 }), ['invalid name', 'remote listing came back empty']],
  ])('filters by %s', (_what, query, messages) => {
    logFixture();
    expect(store.listActivity(query()).map((r) => r.message)).toEqual(messages);
  });

  it('pages back with beforeId', () => {
    for (let i = 0; i < 25; i++) store.logActivity({ pairId: a, level: 'info', kind: 'upload', message: `m${i}` });
    const seen: string[] = [];
    let beforeId: number | undefined;
    for (;;) {
      const page = store.listActivity({ pairId: a, limit: 10, ...(beforeId === undefined ? {} : { beforeId }) });
      if (page.length === 0) break;
      seen.push(...page.map((r) => r.message));
      beforeId = page.at(-1)!.id;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `m${24 - i}`));
  });

  it('batches writes, and a reader through the store still sees them at once', () => {
    const raw = state.raw();
    store.logActivity({ pairId: a, level: 'info', kind: 'upload', message: 'one' });
    expect(countRows(raw, 'activity', a)).toBe(0);
    expect(store.listActivity({ pairId: a })).toHaveLength(1);
    expect(countRows(raw, 'activity', a)).toBe(1);
  });

  it('keeps the newest entries of each pair up to the cap, pruning as entries arrive', () => {
    const capped = state.open({ activityCap: 50, batch: { maxOps: 7, maxDelayMs: 60_000 } });
    for (let i = 0; i < 300; i++) capped.logActivity({ pairId: a, level: 'info', kind: 'upload', message: `a${i}` });
    for (let i = 0; i < 20; i++) capped.logActivity({ pairId: b, level: 'info', kind: 'upload', message: `b${i}` });
    for (let i = 0; i < 60; i++) capped.logActivity({ level: 'info', kind: 'sync', message: `g${i}` });
    capped.flush();
    const raw = state.raw();
    expect(countRows(raw, 'activity', a)).toBe(50);
    expect(countRows(raw, 'activity', b)).toBe(20);
    expect(raw.prepare('SELECT count(*) FROM activity WHERE pair_id IS NULL').pluck().get()).toBe(50);
    const kept = capped.listActivity({ pairId: a, limit: 1000 }).map((r) => r.message);
    expect(kept).toEqual(Array.from({ length: 50 }, (_, i) => `a${299 - i}`));
  });

  it('prunes on demand, e.g. after the cap was lowered', () => {
    for (let i = 0; i < 30; i++) store.logActivity({ pairId: a, level: 'info', kind: 'upload', message: `a${i}` });
    for (let i = 0; i < 5; i++) store.logActivity({ pairId: b, level: 'info', kind: 'upload', message: `b${i}` });
    store.flush();
    const capped = state.open({ activityCap: 10 });
    expect(capped.listActivity({ pairId: a, limit: 100 })).toHaveLength(30);
    expect(capped.pruneActivity()).toBe(20);
    expect(capped.listActivity({ pairId: a, limit: 100 }).map((r) => r.message)).toEqual(
      Array.from({ length: 10 }, (_, i) => `a${29 - i}`),
    );
    expect(capped.listActivity({ pairId: b, limit: 100 })).toHaveLength(5);
  });

  it.each<[string, ActivityInput, string]>([
    [
      'an unknown level',
      { level: 'debug', kind: 'x', message: 'm' } as unknown as ActivityInput,
      'unknown activity level "debug"',
    ],
    ['an empty kind', { level: 'info', kind: '', message: 'm' }, 'an activity entry needs a kind and a message'],
    ['a negative byte count', { level: 'info', kind: 'upload', message: 'm', bytes: -1 }, 'invalid byte count -1'],
  ])('refuses %s', (_what, input, message) => {
    expect(() => store.logActivity(input)).toThrow(
      expect.objectContaining({ code: 'bad-argument', message: expect.stringContaining(message) as unknown }),
    );
  });

  it('refuses a limit out of range', () => {
    expect(() => store.listActivity({ limit: 0 })).toThrow('activity limit must be between 1 and 10000, not 0');
    expect(() => store.listActivity({ level: JSON.parse('["loud"]') as ActivityLevel[] })).toThrow(
      'unknown activity level loud',
    );
  });
});
