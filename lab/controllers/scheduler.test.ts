import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../objects/meta.js';
import { decide } from './scheduler.js';
import type { SchedulingInput } from './scheduler.js';

const node = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, zone: name === 'node-c' ? 'b' : 'a' } },
  ...extra,
});
const nodes = [node('node-a'), node('node-b'), node('node-c')];

const claim = (name: string, phase: string, deleting = false): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) },
  status: { phase },
});

const pod = (spec: object = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [], ...spec },
});
const withClaim = (claimName: string): KubeObject =>
  pod({ volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] });

const claims = new Map([
  ['bound', claim('bound', 'Bound')],
  ['pending', claim('pending', 'Pending')],
  ['going', claim('going', 'Bound', true)],
]);

const input = (p: KubeObject, overrides: Partial<SchedulingInput> = {}): SchedulingInput => ({
  pod: p,
  nodes,
  claims,
  load: new Map([
    ['node-a', 2],
    ['node-b', 1],
    ['node-c', 1],
  ]),
  ...overrides,
});

const tail = ' preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.';

describe('decide', () => {
  it.each<[string, SchedulingInput, object]>([
    ['least loaded node, ties by name', input(pod()), { node: 'node-b' }],
    ['bound claims are fine', input(withClaim('bound')), { node: 'node-b' }],
    [
      'a pending claim blocks',
      input(withClaim('pending')),
      { unschedulable: `0/3 nodes are available: persistentvolumeclaim "pending" is not bound.${tail}` },
    ],
    [
      'a missing claim blocks',
      input(withClaim('nope')),
      { unschedulable: `0/3 nodes are available: persistentvolumeclaim "nope" not found.${tail}` },
    ],
    [
      'a claim being deleted blocks',
      input(withClaim('going')),
      { unschedulable: `0/3 nodes are available: persistentvolumeclaim "going" is being deleted.${tail}` },
    ],
    [
      'the nodeSelector picks',
      input(pod({ nodeSelector: { 'kubernetes.io/hostname': 'node-a' } })),
      { node: 'node-a' },
    ],
    ['labels shared by several nodes', input(pod({ nodeSelector: { zone: 'b' } })), { node: 'node-c' }],
    [
      'no node matches',
      input(pod({ nodeSelector: { zone: 'z' } })),
      { unschedulable: `0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.${tail}` },
    ],
    [
      'cordoned nodes are skipped',
      input(pod(), { nodes: [node('node-a'), node('node-b', { spec: { unschedulable: true } })] }),
      { node: 'node-a' },
    ],
    [
      'the fault refuses everything',
      input(pod(), { fault: 'lab.tether.dev/fault: NoSchedule' }),
      {
        unschedulable: `0/3 nodes are available: 3 node(s) had untolerated taint {lab.tether.dev/fault: NoSchedule}.${tail}`,
      },
    ],
    ['no nodes at all', input(pod(), { nodes: [] }), { unschedulable: 'no nodes available to schedule pods' }],
  ])('%s', (_name, given, expected) => {
    expect(decide(given)).toEqual(expected);
  });
});
