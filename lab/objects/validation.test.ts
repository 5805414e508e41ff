import { describe, expect, it } from 'vitest';
import { K } from './kinds.js';
import type { KindInfo } from './kinds.js';
import type { KubeObject } from './meta.js';
import { prepareForCreate, validateObject, validateUpdate } from './validation.js';

const meta = (name: string): KubeObject['metadata'] => ({ name, namespace: 'ml' });

function errors(kind: KindInfo, obj: KubeObject): string[] {
  prepareForCreate(kind, obj);
  return validateObject(kind, obj).map((e) => `${e.field}: ${e.message}`);
}

const pod = (spec: object, name = 'p'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: meta(name),
  spec: spec as KubeObject['metadata'],
});
const claim = (spec: object): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: meta('c'),
  spec: spec as KubeObject['metadata'],
});

describe('validateObject', () => {
  it.each<[string, KindInfo, KubeObject, string[]]>([
    ['a good pod', K.pods, pod({ containers: [{ name: 'c', image: 'busybox' }] }), []],
    ['no containers', K.pods, pod({}), ['spec.containers: Required value']],
    [
      'a bad name',
      K.pods,
      pod({ containers: [{ name: 'c', image: 'i' }] }, 'Bad_Name'),
      [
        "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    ],
    [
      'two containers',
      K.pods,
      pod({
        containers: [
          { name: 'a', image: 'i' },
          { name: 'b', image: 'i' },
        ],
      }),
      ['spec.containers: Too many: 2: must have at most 1 items (the lab runs one container per pod)'],
    ],
    [
      'a mount of no volume',
      K.pods,
      pod({ containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'x', mountPath: '/x' }] }] }),
      ['spec.containers[0].volumeMounts[0].name: Not found: "x"'],
    ],
    [
      'a relative mount path',
      K.pods,
      pod({
        volumes: [{ name: 'v', emptyDir: {} }],
        containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'v', mountPath: 'x' }] }],
      }),
      ['spec.containers[0].volumeMounts[0].mountPath: Invalid value: "x": must be an absolute path without ".."'],
    ],
    [
      'a bad restart policy',
      K.pods,
      pod({ restartPolicy: 'Sometimes', containers: [{ name: 'c', image: 'i' }] }),
      ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    ],
    [
      'a good claim',
      K.claims,
      claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }),
      [],
    ],
    [
      'a claim without size',
      K.claims,
      claim({ accessModes: ['ReadWriteOnce'] }),
      ['spec.resources[storage]: Required value'],
    ],
    [
      'a zero-size claim',
      K.claims,
      claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '0' } } }),
      ['spec.resources[storage]: Invalid value: "0": must be greater than zero'],
    ],
    [
      'a job that restarts always',
      K.jobs,
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: meta('j'),
        spec: { template: { spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'i' }] } } },
      },
      ['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'],
    ],
    [
      'a namespaced rule on URLs',
      K.roles,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta('r'),
        rules: [{ verbs: ['get'], nonResourceURLs: ['/x'] }],
      },
      ['rules[0].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs'],
    ],
    [
      'a binding to a pod',
      K.roleBindings,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta('b'),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Pod', name: 'x' },
      },
      ['roleRef.kind: Unsupported value: "Pod": supported values: "Role", "ClusterRole"'],
    ],
  ])('%s', (_name, kind, obj, expected) => {
    expect(errors(kind, obj)).toEqual(expected);
  });
});

describe('validateUpdate', () => {
  it('allows a pod image change but not a command change', () => {
    const old = pod({ containers: [{ name: 'c', image: 'busybox:1', command: ['a'] }] });
    prepareForCreate(K.pods, old);
    const newImage = structuredClone(old);
    (newImage.spec as { containers: { image: string }[] }).containers[0]!.image = 'busybox:2';
    expect(validateUpdate(K.pods, newImage, old)).toEqual([]);
    const newCommand = structuredClone(old);
    (newCommand.spec as { containers: { command: string[] }[] }).containers[0]!.command = ['b'];
    expect(validateUpdate(K.pods, newCommand, old).map((e) => e.field)).toEqual(['spec']);
  });

  it('lets a bound claim grow but not shrink, and an unbound one not change size', () => {
    const old = claim({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } });
    prepareForCreate(K.claims, old);
    const resized = (size: string, phase: string): string[] => {
      const before: KubeObject = { ...structuredClone(old), status: { phase } };
      const after = structuredClone(before);
      (after.spec as { resources: { requests: { storage: string } } }).resources.requests.storage = size;
      return validateUpdate(K.claims, after, before).map((e) => e.message);
    };
    expect(resized('4Gi', 'Bound')).toEqual([]);
    expect(resized('1Gi', 'Bound')).toEqual(['Forbidden: field can not be less than status.capacity']);
    expect(resized('4Gi', 'Pending')[0]).toMatch(/^Forbidden: only dynamically provisioned pvc can be resized/);
  });
});
