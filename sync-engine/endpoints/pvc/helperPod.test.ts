/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node's generated V1* model
   classes are plain data shapes without behaviour; the API returns object literals of that shape too. */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { EXPIRES_ANNOTATION, helperLabels, labelValue, MANAGED_BY, orphansAmong, startFailure } from './helperPod.js';
import type { HelperOwner } from './helperPod.js';

describe('labelValue', () => {
  const cases: [string, string][] = [
    ['alice', 'alice'],
    ['My Pair/ü', 'My-Pair'],
    ['oidc:alice@example.com', 'oidc-alice-example.com'],
    ['-lead and trail-', 'lead-and-trail'],
    ['ü', ''],
    ['a'.repeat(70), 'a'.repeat(63)],
    [`${'b'.repeat(62)}.x`, 'b'.repeat(62)],
  ];
  for (const [input, expected] of cases)
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      const value = labelValue(input);
      expect(value).toBe(expected);
      expect(value).toMatch(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/);
      expect(value.length).toBeLessThanOrEqual(63);
    });
});

const owner: HelperOwner = { user: 'alice', pair: 'datasets', key: 'o0123456789abcdef' };

function pod(
  name: string,
  labels: Record<string, string>,
  options: { phase?: string; expiresAt?: number } = {},
): V1Pod {
  return {
    metadata: {
      name,
      labels,
      ...(options.expiresAt === undefined
        ? {}
        : { annotations: { [EXPIRES_ANNOTATION]: new Date(options.expiresAt).toISOString() } }),
    },
    ...(options.phase === undefined ? {} : { status: { phase: options.phase } }),
  };
}

describe('orphansAmong', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  const mine = helperLabels(owner);
  const otherPair = helperLabels({ ...owner, pair: 'other', key: 'ofedcba9876543210' });
  const bobs = helperLabels({ user: 'bob', pair: 'datasets', key: 'o1111111111111111' });
  const cases: { description: string; pods: V1Pod[]; expected: string[] }[] = [
    {
      description: 'this pair’s helper left by a crash, whatever its state',
      pods: [pod('a', mine, { phase: 'Running', expiresAt: now + 3600_000 })],
      expected: ['a'],
    },
    {
      description: 'another pair’s live helper is in use: kept',
      pods: [pod('b', otherPair, { phase: 'Running', expiresAt: now + 60_000 })],
      expected: [],
    },
    {
      description: 'another pair’s helper that ended (idle timeout)',
      pods: [pod('c', otherPair, { phase: 'Succeeded' })],
      expected: ['c'],
    },
    {
      description: 'another pair’s helper past its expiry',
      pods: [pod('d', otherPair, { phase: 'Running', expiresAt: now - 1 })],
      expected: ['d'],
    },
    {
      description: 'another user’s helpers are theirs: kept even when ended',
      pods: [pod('e', bobs, { phase: 'Failed', expiresAt: now - 1 })],
      expected: [],
    },
    {
      description: 'a pod not managed by Tether: never',
      pods: [pod('f', { ...mine, [MANAGED_BY]: 'helm' })],
      expected: [],
    },
  ];
  for (const c of cases)
    it(c.description, () => {
      expect(orphansAmong(c.pods, owner, now)).toEqual(c.expected);
    });
});

describe('startFailure', () => {
  it('names an image that cannot be pulled and the option to change it', () => {
    const failure = startFailure({
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'helper',
            image: 'registry.example/x:1',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ImagePullBackOff', message: 'not found' } },
          },
        ],
      },
    });
    expect(failure).toMatch(
      /registry\.example\/x:1 cannot be pulled \(ImagePullBackOff\): not found; .*--helper-image/,
    );
    expect(startFailure({ status: { phase: 'Pending' } })).toBeUndefined();
  });
});
