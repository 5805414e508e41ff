import { describe, expect, it } from 'vitest';
import { checkConditions, KeyLocks, writeConditions } from './conditionalWrites.js';
import type { ConditionalWriteMode } from './conditionalWrites.js';

const ETAG = '"9e107d9d372bb6826bd81d3542a419d6"';

describe('checkConditions answers as S3 does', () => {
  const cases: {
    description: string;
    conditions: { ifMatch?: string; ifNoneMatch?: string };
    current: string | undefined;
    mode?: ConditionalWriteMode;
    expected: string;
  }[] = [
    {
      description: 'If-None-Match * on a free key',
      conditions: { ifNoneMatch: '*' },
      current: undefined,
      expected: 'ok',
    },
    {
      description: 'If-None-Match * on a taken key',
      conditions: { ifNoneMatch: '*' },
      current: ETAG,
      expected: 'PreconditionFailed',
    },
    {
      description: 'If-None-Match with an ETag',
      conditions: { ifNoneMatch: ETAG },
      current: undefined,
      expected: 'NotImplemented',
    },
    { description: 'If-Match, same ETag', conditions: { ifMatch: ETAG }, current: ETAG, expected: 'ok' },
    {
      description: 'If-Match, unquoted',
      conditions: { ifMatch: ETAG.replace(/"/g, '') },
      current: ETAG,
      expected: 'ok',
    },
    {
      description: 'If-Match, other ETag',
      conditions: { ifMatch: '"abc"' },
      current: ETAG,
      expected: 'PreconditionFailed',
    },
    {
      description: 'If-Match on a missing key',
      conditions: { ifMatch: ETAG },
      current: undefined,
      expected: 'NoSuchKey',
    },
    { description: 'a multipart ETag', conditions: { ifMatch: '"abc-3"' }, current: '"abc-3"', expected: 'ok' },
    {
      description: 'ignore mode writes anyway',
      conditions: { ifNoneMatch: '*' },
      current: ETAG,
      mode: 'ignore',
      expected: 'ok',
    },
    {
      description: 'reject mode refuses every condition',
      conditions: { ifNoneMatch: '*' },
      current: undefined,
      mode: 'reject',
      expected: 'NotImplemented',
    },
  ];
  for (const c of cases) {
    it(c.description, () => {
      const verdict = checkConditions(c.conditions, c.current, c.mode ?? 'enforce');
      expect(verdict.ok ? 'ok' : verdict.code).toBe(c.expected);
    });
  }
});

it('reads the conditions from the request headers', () => {
  expect(writeConditions({ 'content-length': '3' })).toBeUndefined();
  expect(writeConditions({ 'if-none-match': '*' })).toEqual({ ifNoneMatch: '*' });
  expect(writeConditions({ 'if-match': ETAG })).toEqual({ ifMatch: ETAG });
});

it('runs writes to one key one at a time, in arrival order, and writes to other keys alongside', async () => {
  const locks = new KeyLocks();
  const events: string[] = [];
  let releaseFirst = (): void => undefined;
  const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
  const first = locks.run('a', async () => {
    events.push('a1 start');
    await firstHeld;
    events.push('a1 end');
  });
  const second = locks.run('a', () => {
    events.push('a2');
    return Promise.resolve();
  });
  const other = locks.run('b', () => {
    events.push('b');
    return Promise.resolve();
  });
  await other;
  expect(events).toEqual(['a1 start', 'b']);
  releaseFirst();
  await Promise.all([first, second]);
  expect(events).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  expect(locks.size).toBe(0);
  // A failing write releases the key for the next one.
  await expect(locks.run('a', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(await locks.run('a', () => Promise.resolve('next'))).toBe('next');
});
