import { describe, expect, it } from 'vitest';
import { unknownFields } from './knownFields.js';

describe('unknownFields', () => {
  it('finds misspelt fields at any depth, with Kubernetes-style paths', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', lables: { a: 'b' } },
      spec: {
        contianers: [],
        containers: [
          {
            name: 'c',
            imge: 'busybox',
            volumeMounts: [{ name: 'd', mountpath: '/d' }],
            env: [{ name: 'A', valeu: '1' }],
          },
        ],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'x', anything: 'goes inside a source' } }],
      },
    };
    expect(unknownFields('Pod', pod)).toEqual([
      'metadata.lables',
      'spec.contianers',
      'spec.containers[0].imge',
      'spec.containers[0].volumeMounts[0].mountpath',
      'spec.containers[0].env[0].valeu',
    ]);
  });

  it('accepts complete, valid objects and open parts', () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j', labels: { a: 'b' } },
      spec: {
        backoffLimit: 1,
        template: {
          metadata: { labels: {} },
          spec: {
            restartPolicy: 'Never',
            affinity: { whatever: 1 },
            containers: [{ name: 'c', image: 'i', securityContext: { x: 1 } }],
          },
        },
      },
      status: { anything: true },
    };
    expect(unknownFields('Job', job)).toEqual([]);
    expect(unknownFields('Event', { reason: 'x', anything: 1 })).toEqual([]);
    expect(unknownFields('RoleBinding', { roleRef: { kind: 'Role', nme: 'x' }, subjects: [{ knd: 'User' }] })).toEqual([
      'roleRef.nme',
      'subjects[0].knd',
    ]);
  });
});
