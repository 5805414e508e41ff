import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kubeContexts, laneOf } from './kube.js';

describe('storage lanes', () => {
  it.each([
    ['shared-rwx', 'juicefs-rwx'],
    ['juicefs-sc', 'juicefs-rwx'],
    ['legacy-rwx', 'legacy-nfs-rwx'],
    ['nfs-client', 'legacy-nfs-rwx'],
    ['fast-rwo', 'longhorn-fast-rwo'],
    ['longhorn', 'longhorn-fast-rwo'],
    ['standard', 'other'],
    [undefined, 'other'],
  ] as const)('storage class %s is lane %s', (storageClass, lane) => {
    expect(laneOf(storageClass)).toBe(lane);
  });
});

describe('kube contexts', () => {
  it('lists the contexts of a kubeconfig with their namespaces, and says which file could not be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-kube-'));
    try {
      const file = join(dir, 'config');
      writeFileSync(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: alice',
          'clusters: [{ name: lab, cluster: { server: "https://127.0.0.1:1" } }]',
          'users: [{ name: alice, user: { token: t } }, { name: bob, user: { token: u } }]',
          'contexts:',
          '  - { name: alice, context: { cluster: lab, user: alice, namespace: group-vision } }',
          '  - { name: bob, context: { cluster: lab, user: bob } }',
        ].join('\n'),
      );
      expect(kubeContexts(file)).toEqual({
        kubeconfig: file,
        current: 'alice',
        contexts: [
          { name: 'alice', namespace: 'group-vision', user: 'alice' },
          { name: 'bob', user: 'bob' },
        ],
      });
      expect(() => kubeContexts(join(dir, 'missing'))).toThrow(/cannot read the kubeconfig .*missing.*Settings/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
