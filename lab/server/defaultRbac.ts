import type { KubeObject } from '../objects/meta.js';

/**
 * The ClusterRoles and ClusterRoleBindings every cluster has (a faithful subset of what the API server
 * bootstraps): cluster-admin for `system:masters`, the user-facing admin/edit/view roles to bind in
 * namespaces, and what every authenticated user may do (discovery, self reviews).
 */
const rbacVersion = 'rbac.authorization.k8s.io/v1';

interface Rule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

function clusterRole(name: string, rules: readonly Rule[]): KubeObject {
  return {
    apiVersion: rbacVersion,
    kind: 'ClusterRole',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules: rules.map((rule) => ({
      ...(rule.apiGroups === undefined ? {} : { apiGroups: [...rule.apiGroups] }),
      ...(rule.resources === undefined ? {} : { resources: [...rule.resources] }),
      ...(rule.nonResourceURLs === undefined ? {} : { nonResourceURLs: [...rule.nonResourceURLs] }),
      verbs: [...rule.verbs],
    })),
  };
}

function clusterRoleBinding(
  name: string,
  role: string,
  ...subjects: { kind: 'User' | 'Group'; name: string }[]
): KubeObject {
  return {
    apiVersion: rbacVersion,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects.map((subject) => ({ apiGroup: 'rbac.authorization.k8s.io', ...subject })),
  };
}

const read = ['get', 'list', 'watch'];
const write = ['create', 'delete', 'deletecollection', 'patch', 'update'];

const viewRules: Rule[] = [
  {
    apiGroups: [''],
    resources: [
      'pods',
      'pods/log',
      'pods/status',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'resourcequotas',
      'resourcequotas/status',
      'events',
      'configmaps',
      'namespaces',
      'namespaces/status',
    ],
    verbs: read,
  },
  { apiGroups: ['batch'], resources: ['jobs', 'jobs/status'], verbs: read },
];

const editRules: Rule[] = [
  ...viewRules,
  { apiGroups: [''], resources: ['pods', 'persistentvolumeclaims', 'configmaps'], verbs: write },
  { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward'], verbs: ['create', 'get'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: write },
];

const adminRules: Rule[] = [
  ...editRules,
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...read, ...write] },
];

export function defaultClusterRoles(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ]),
    clusterRole('admin', adminRules),
    clusterRole('edit', editRules),
    clusterRole('view', viewRules),
    clusterRole('system:basic-user', [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
    ]),
    clusterRole('system:discovery', [
      {
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/readyz',
          '/openapi',
          '/openapi/*',
          '/version',
          '/version/',
        ],
        verbs: ['get'],
      },
    ]),
    clusterRole('system:public-info-viewer', [
      { nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] },
    ]),
    // Nodes and storage classes are public knowledge on most platforms: users pick a class and see nodes.
    clusterRole('lab:platform-viewer', [
      { apiGroups: [''], resources: ['nodes'], verbs: read },
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: read },
    ]),
  ];
}

export function defaultClusterRoleBindings(): KubeObject[] {
  return [
    clusterRoleBinding('cluster-admin', 'cluster-admin', { kind: 'Group', name: 'system:masters' }),
    clusterRoleBinding('system:basic-user', 'system:basic-user', { kind: 'Group', name: 'system:authenticated' }),
    clusterRoleBinding('system:discovery', 'system:discovery', { kind: 'Group', name: 'system:authenticated' }),
    clusterRoleBinding(
      'system:public-info-viewer',
      'system:public-info-viewer',
      { kind: 'Group', name: 'system:authenticated' },
      { kind: 'Group', name: 'system:unauthenticated' },
    ),
    clusterRoleBinding('lab:platform-viewer', 'lab:platform-viewer', { kind: 'Group', name: 'system:authenticated' }),
  ];
}
