import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../objects/meta.js';
import { defaultClusterRoleBindings, defaultClusterRoles } from './defaultRbac.js';
import { authorize, forbiddenReason, rulesFor } from './rbac.js';
import type { Attributes, RbacSnapshot, UserInfo } from './rbac.js';

const authenticated = 'system:authenticated';
const admin: UserInfo = { name: 'admin', groups: ['system:masters', authenticated] };
const alice: UserInfo = { name: 'alice', groups: ['vision-team', authenticated] };
const bob: UserInfo = { name: 'bob', groups: [authenticated] };
const carol: UserInfo = { name: 'carol', groups: ['vision-team', authenticated] };

const roleBinding = (
  namespace: string,
  name: string,
  roleKind: string,
  role: string,
  subjects: object[],
): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name, namespace },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
  subjects: subjects as KubeObject[],
});

const snapshot: RbacSnapshot = {
  clusterRoles: defaultClusterRoles(),
  clusterRoleBindings: defaultClusterRoleBindings(),
  roles: [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'reader', namespace: 'group-vision' },
      rules: [
        { apiGroups: [''], resources: ['pods', 'persistentvolumeclaims'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'], resourceNames: ['reader-pod'] },
      ],
    },
  ],
  roleBindings: [
    roleBinding('group-vision', 'team-edit', 'ClusterRole', 'edit', [{ kind: 'Group', name: 'vision-team' }]),
    roleBinding('group-vision', 'bob-read', 'Role', 'reader', [{ kind: 'User', name: 'bob' }]),
    roleBinding('group-vision', 'dangling', 'Role', 'missing', [{ kind: 'User', name: 'bob' }]),
    roleBinding('group-vision', 'robot', 'ClusterRole', 'view', [{ kind: 'ServiceAccount', name: 'robot' }]),
  ],
};

const res = (verb: string, namespace: string, resource: string, extra: Partial<Attributes> = {}): Attributes =>
  ({
    kind: 'resource',
    verb,
    namespace,
    apiGroup: '',
    resource,
    subresource: '',
    name: '',
    ...extra,
  }) as Attributes;

describe('authorize', () => {
  it.each<[string, UserInfo, Attributes, boolean]>([
    ['admin anything anywhere', admin, res('delete', 'kube-system', 'nodes', { name: 'node-a' }), true],
    ['admin any path', admin, { kind: 'nonResource', verb: 'post', path: '/lab/v1/faults' }, true],
    ['alice creates pods in her group', alice, res('create', 'group-vision', 'pods'), true],
    [
      'alice execs in her group',
      alice,
      res('create', 'group-vision', 'pods', { subresource: 'exec', name: 'p' }),
      true,
    ],
    ['alice cannot create pods elsewhere', alice, res('create', 'group-nlp', 'pods'), false],
    [
      'alice cannot create roles (edit has none)',
      alice,
      res('create', 'group-vision', 'roles', { apiGroup: 'rbac.authorization.k8s.io' }),
      false,
    ],
    [
      'carol inherits the group binding',
      carol,
      res('delete', 'group-vision', 'persistentvolumeclaims', { name: 'x' }),
      true,
    ],
    ['bob lists pvcs', bob, res('list', 'group-vision', 'persistentvolumeclaims'), true],
    ['bob cannot create pods', bob, res('create', 'group-vision', 'pods'), false],
    [
      'bob cannot read pod logs (not in his role)',
      bob,
      res('get', 'group-vision', 'pods', { subresource: 'log', name: 'p' }),
      false,
    ],
    [
      'bob execs into the named pod only',
      bob,
      res('create', 'group-vision', 'pods', { subresource: 'exec', name: 'reader-pod' }),
      true,
    ],
    [
      'bob cannot exec into another pod',
      bob,
      res('create', 'group-vision', 'pods', { subresource: 'exec', name: 'other' }),
      false,
    ],
    ['resourceNames never cover a list', bob, res('create', 'group-vision', 'pods', { subresource: 'exec' }), false],
    [
      'everyone may review themselves',
      bob,
      res('create', '', 'selfsubjectaccessreviews', { apiGroup: 'authorization.k8s.io' }),
      true,
    ],
    ['everyone may discover', bob, { kind: 'nonResource', verb: 'get', path: '/apis/batch/v1' }, true],
    ['discovery is read-only', bob, { kind: 'nonResource', verb: 'post', path: '/api' }, false],
    ['bob cannot reach the lab admin path', bob, { kind: 'nonResource', verb: 'post', path: '/lab/v1/faults' }, false],
    [
      'service accounts match by namespace',
      { name: 'system:serviceaccount:group-vision:robot', groups: [authenticated] },
      res('get', 'group-vision', 'pods', { name: 'x' }),
      true,
    ],
    [
      'service accounts of other namespaces do not',
      { name: 'system:serviceaccount:other:robot', groups: [authenticated] },
      res('get', 'group-vision', 'pods', { name: 'x' }),
      false,
    ],
    ['cluster-scoped requests ignore RoleBindings', alice, res('list', '', 'pods'), false],
  ])('%s', (_name, user, attributes, allowed) => {
    expect(authorize(attributes, user, snapshot).allowed).toBe(allowed);
  });

  it('says which binding allowed a request', () => {
    expect(authorize(res('create', 'group-vision', 'pods'), alice, snapshot).reason).toBe(
      'RBAC: allowed by RoleBinding "team-edit/group-vision" of ClusterRole "edit" to Group "vision-team"',
    );
  });

  it('matches wildcard subresource rules', () => {
    const wild: RbacSnapshot = {
      ...snapshot,
      roles: [
        {
          apiVersion: 'v1',
          kind: 'Role',
          metadata: { name: 'r', namespace: 'n' },
          rules: [{ apiGroups: [''], resources: ['pods/*'], verbs: ['*'] }],
        },
      ],
      roleBindings: [roleBinding('n', 'b', 'Role', 'r', [{ kind: 'User', name: 'bob' }])],
    };
    expect(authorize(res('create', 'n', 'pods', { subresource: 'exec' }), bob, wild).allowed).toBe(true);
    expect(authorize(res('create', 'n', 'pods'), bob, wild).allowed).toBe(false);
  });
});

describe('forbiddenReason', () => {
  it('words resource, subresource, scope and paths like Kubernetes', () => {
    expect(forbiddenReason(res('create', 'ml', 'pods'), bob)).toBe(
      'User "bob" cannot create resource "pods" in API group "" in the namespace "ml"',
    );
    expect(forbiddenReason(res('create', 'ml', 'pods', { subresource: 'exec' }), bob)).toBe(
      'User "bob" cannot create resource "pods/exec" in API group "" in the namespace "ml"',
    );
    expect(forbiddenReason(res('list', '', 'jobs', { apiGroup: 'batch' }), bob)).toBe(
      'User "bob" cannot list resource "jobs" in API group "batch" at the cluster scope',
    );
    expect(forbiddenReason({ kind: 'nonResource', verb: 'get', path: '/x' }, bob)).toBe(
      'User "bob" cannot get path "/x"',
    );
  });
});

describe('rulesFor', () => {
  it('collects the cluster-wide and namespace rules of a user', () => {
    const rules = rulesFor(bob, 'group-vision', snapshot);
    expect(rules.some((r) => r.resources.includes('selfsubjectaccessreviews'))).toBe(true);
    expect(rules.some((r) => r.resourceNames.includes('reader-pod'))).toBe(true);
    expect(rulesFor(bob, 'group-nlp', snapshot).some((r) => r.resourceNames.includes('reader-pod'))).toBe(false);
  });
});
