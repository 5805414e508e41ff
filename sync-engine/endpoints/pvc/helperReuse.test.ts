/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node's generated V1* model
   classes are plain data shapes without behaviour; the API returns object literals of that shape too. */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { HelperOwner } from './helperPod.js';
import { EXPIRES_ANNOTATION, helperLabels, IDLE_ANNOTATION, KEPT_ANNOTATION } from './helperPod.js';
import { reusableAmong } from './helperReuse.js';
import { keepSecondsFrom } from './pairOptions.js';

const owner: HelperOwner = { user: 'alice', pair: 'ckpt', key: 'o0123456789abcdef' };
const now = Date.parse('2026-11-23T12:00:00Z');
const image = 'busybox:1.36';

interface PodShape {
  readonly name: string;
  readonly labels?: Record<string, string>;
  readonly phase?: string;
  readonly image?: string;
  readonly kept?: boolean;
  readonly expiresInMs?: number;
  readonly idle?: string;
  readonly createdAgoMs?: number;
  readonly deleting?: boolean;
}

function pod(shape: PodShape): V1Pod {
  return {
    metadata: {
      name: shape.name,
      labels: shape.labels ?? helperLabels(owner),
      annotations: {
        [EXPIRES_ANNOTATION]: new Date(now + (shape.expiresInMs ?? 5 * 3600_000)).toISOString(),
        [IDLE_ANNOTATION]: shape.idle ?? '600',
        ...(shape.kept === false ? {} : { [KEPT_ANNOTATION]: 'true' }),
      },
      creationTimestamp: new Date(now - (shape.createdAgoMs ?? 60_000)),
      ...(shape.deleting === true ? { deletionTimestamp: new Date(now) } : {}),
    },
    spec: { containers: [{ name: 'helper', image: shape.image ?? image }] },
    status: { phase: shape.phase ?? 'Running' },
  };
}

describe('reusableAmong', () => {
  const cases: { description: string; pods: PodShape[]; expected: string | undefined }[] = [
    { description: 'the pair’s kept, running helper', pods: [{ name: 'a' }], expected: 'a' },
    { description: 'nothing to take over', pods: [], expected: undefined },
    {
      description: 'another pair’s helper is never taken',
      pods: [{ name: 'b', labels: helperLabels({ ...owner, pair: 'other', key: 'ofedcba9876543210' }) }],
      expected: undefined,
    },
    {
      description: 'another user’s helper with the same pair name is never taken',
      pods: [{ name: 'c', labels: helperLabels({ ...owner, user: 'bob', key: 'o1111111111111111' }) }],
      expected: undefined,
    },
    { description: 'a helper that ended', pods: [{ name: 'd', phase: 'Succeeded' }], expected: undefined },
    { description: 'a helper still starting', pods: [{ name: 'e', phase: 'Pending' }], expected: undefined },
    { description: 'a helper being deleted', pods: [{ name: 'f', deleting: true }], expected: undefined },
    {
      description: 'another image (the pair’s setting changed)',
      pods: [{ name: 'g', image: 'debian:12' }],
      expected: undefined,
    },
    {
      description: 'a helper not made to be kept (a crashed run’s)',
      pods: [{ name: 'h', kept: false }],
      expected: undefined,
    },
    {
      description: 'under an hour before its deadline',
      pods: [{ name: 'i', expiresInMs: 30 * 60_000 }],
      expected: undefined,
    },
    { description: 'no readable idle timeout', pods: [{ name: 'j', idle: 'soon' }], expected: undefined },
    {
      description: 'of two, the newest',
      pods: [
        { name: 'old', createdAgoMs: 600_000 },
        { name: 'new', createdAgoMs: 10_000 },
      ],
      expected: 'new',
    },
  ];
  for (const c of cases)
    it(c.description, () => {
      expect(reusableAmong(c.pods.map(pod), owner, image, now)?.name).toBe(c.expected);
    });

  it('reports the helper’s own idle timeout, which its freshness check uses', () => {
    expect(reusableAmong([pod({ name: 'a', idle: '45' })], owner, image, now)).toEqual({
      name: 'a',
      idleTimeoutSeconds: 45,
    });
  });
});

describe('keepSecondsFrom', () => {
  const cases: [unknown, number | undefined | RegExp][] = [
    [undefined, undefined],
    ['0', 0],
    [0, 0],
    ['600', 600],
    ['21', 21],
    ['20', /above 20/],
    ['5', /above 20/],
    ['-1', /0 \(delete the helper after each sync\)/],
    ['1.5', /whole number/],
    ['ten minutes', /"ten minutes"/],
  ];
  for (const [input, expected] of cases)
    it(`${JSON.stringify(input)} → ${String(expected)}`, () => {
      if (expected instanceof RegExp) expect(() => keepSecondsFrom(input)).toThrow(expected);
      else expect(keepSecondsFrom(input)).toBe(expected);
    });
});
