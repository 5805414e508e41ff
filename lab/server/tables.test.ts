import { describe, expect, it } from 'vitest';
import { K } from '../objects/kinds.js';
import type { KubeObject } from '../objects/meta.js';
import { cellsByColumn, humanDuration, podStatusText, toTable } from './tables.js';

describe('humanDuration', () => {
  it.each([
    [0, '0s'],
    [119_000, '119s'],
    [125_000, '2m5s'],
    [600_000, '10m'],
    [3 * 3600_000 + 60_000, '3h1m'],
    [30 * 3600_000, '30h'],
    [3 * 86400_000 + 3600_000, '3d1h'],
    [400 * 86400_000, '400d'],
    [3 * 365 * 86400_000 + 86400_000, '3y1d'],
  ])('%d ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

const pod = (status: object, extra: object = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', creationTimestamp: new Date(Date.now() - 65_000).toISOString(), ...extra },
  spec: { containers: [{ name: 'c' }], nodeName: 'node-a' },
  status: status as KubeObject['metadata'],
});

describe('podStatusText', () => {
  it.each([
    [{ phase: 'Running', containerStatuses: [{ state: { running: {} } }] }, {}, 'Running'],
    [
      { phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ImagePullBackOff' } } }] },
      {},
      'ImagePullBackOff',
    ],
    [
      { phase: 'Succeeded', containerStatuses: [{ state: { terminated: { reason: 'Completed', exitCode: 0 } } }] },
      {},
      'Completed',
    ],
    [{ phase: 'Failed', containerStatuses: [{ state: { terminated: { exitCode: 2 } } }] }, {}, 'ExitCode:2'],
    [{ phase: 'Failed', reason: 'DeadlineExceeded' }, {}, 'DeadlineExceeded'],
    [{ phase: 'Running' }, { deletionTimestamp: '2025-01-01T00:00:00Z' }, 'Terminating'],
  ])('%j → %s', (status, metadata, text) => {
    expect(podStatusText(pod(status, metadata))).toBe(text);
  });
});

describe('toTable', () => {
  it("prints pods with kubectl's columns and partial metadata", () => {
    const table = toTable(
      K.pods,
      [
        pod({
          phase: 'Running',
          podIP: '10.0.0.9',
          containerStatuses: [{ ready: true, restartCount: 1, state: { running: {} } }],
        }),
      ],
      { includeObject: 'Metadata' },
    );
    expect(cellsByColumn(table)).toEqual({
      Name: 'p',
      Ready: '1/1',
      Status: 'Running',
      Restarts: '1',
      Age: '65s',
      IP: '10.0.0.9',
      Node: 'node-a',
      'Nominated Node': '<none>',
      'Readiness Gates': '<none>',
    });
    expect((table.rows as { object: { kind: string } }[])[0]?.object.kind).toBe('PartialObjectMetadata');
    expect(toTable(K.pods, [], { includeObject: 'None', withColumns: false }).columnDefinitions).toBeNull();
  });
});
