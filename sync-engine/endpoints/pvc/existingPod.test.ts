/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node's V1* model classes are plain
   data shapes; a pod spec as an object literal is how the API takes it. */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { mountOf, podPathFor } from './existingPod.js';

function pod(mount: { mountPath: string; subPath?: string; readOnly?: boolean }, claimReadOnly = false): V1Pod {
  return {
    metadata: { name: 'notebook' },
    spec: {
      containers: [
        { name: 'sidecar', image: 'x' },
        { name: 'main', image: 'y', volumeMounts: [{ name: 'work', ...mount }] },
      ],
      volumes: [{ name: 'work', persistentVolumeClaim: { claimName: 'data', readOnly: claimReadOnly } }],
    },
  };
}

describe('mountOf and podPathFor', () => {
  it('finds the container and mount path of the claim, and its read-only flags', () => {
    expect(mountOf(pod({ mountPath: '/home/jovyan/' }), 'data')).toEqual({
      pod: 'notebook',
      container: 'main',
      mountPath: '/home/jovyan',
      subPath: '',
      readOnly: false,
    });
    expect(mountOf(pod({ mountPath: '/d', readOnly: true }), 'data')?.readOnly).toBe(true);
    expect(mountOf(pod({ mountPath: '/d' }, true), 'data')?.readOnly).toBe(true);
    expect(mountOf(pod({ mountPath: '/d' }), 'other')).toBeUndefined();
  });

  it.each([
    ['whole claim, root', { mountPath: '/d' }, '', '/d'],
    ['whole claim, subfolder', { mountPath: '/d' }, 'a/b', '/d/a/b'],
    ['subPath mount, that folder', { mountPath: '/w', subPath: 'users/al' }, 'users/al', '/w'],
    ['subPath mount, below it', { mountPath: '/w', subPath: 'users/al' }, 'users/al/x', '/w/x'],
    ['subPath mount, elsewhere', { mountPath: '/w', subPath: 'users/al' }, 'users/alice', undefined],
  ])('%s', (_what, mount, subpath, expected) => {
    const found = mountOf(pod(mount), 'data');
    expect(found).toBeDefined();
    if (found !== undefined) expect(podPathFor(found, subpath)).toBe(expected);
  });
});
