/**
 * The resource types the lab serves, with what discovery advertises for each (names, verbs, subresources).
 * This table drives routing, discovery, RBAC resource names and the store's buckets.
 */
export interface KindInfo {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** The URL segment and RBAC resource name: `pods`. */
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly verbs: readonly string[];
  /** Subresources served: `status`, `exec`, `log`. */
  readonly subresources: readonly string[];
  readonly categories: readonly string[];
  /** Review kinds are answered on create and never stored. */
  readonly stored: boolean;
  /** Whether `?watch=true` and list are served. */
  readonly watchable: boolean;
}

const crud = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function kind(
  group: string,
  version: string,
  kindName: string,
  plural: string,
  options: Partial<Omit<KindInfo, 'group' | 'version' | 'kind' | 'plural'>> = {},
): KindInfo {
  return {
    group,
    version,
    kind: kindName,
    plural,
    singular: options.singular ?? kindName.toLowerCase(),
    namespaced: options.namespaced ?? true,
    shortNames: options.shortNames ?? [],
    verbs: options.verbs ?? crud,
    subresources: options.subresources ?? [],
    categories: options.categories ?? [],
    stored: options.stored ?? true,
    watchable: options.watchable ?? true,
  };
}

export const kinds: readonly KindInfo[] = [
  kind('', 'v1', 'Namespace', 'namespaces', {
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status', 'finalize'],
  }),
  kind('', 'v1', 'Pod', 'pods', {
    shortNames: ['po'],
    subresources: ['status', 'exec', 'log'],
    categories: ['all'],
  }),
  kind('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', {
    shortNames: ['pvc'],
    subresources: ['status'],
  }),
  kind('', 'v1', 'PersistentVolume', 'persistentvolumes', {
    namespaced: false,
    shortNames: ['pv'],
    subresources: ['status'],
  }),
  kind('', 'v1', 'ResourceQuota', 'resourcequotas', { shortNames: ['quota'], subresources: ['status'] }),
  kind('', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  kind('', 'v1', 'Node', 'nodes', { namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  kind('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  kind('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  kind('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', { namespaced: false }),
  kind('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  kind('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', { namespaced: false }),
  kind('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', {
    namespaced: false,
    verbs: ['create'],
    stored: false,
    watchable: false,
  }),
  kind('authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', {
    namespaced: false,
    verbs: ['create'],
    stored: false,
    watchable: false,
  }),
  kind('batch', 'v1', 'Job', 'jobs', { subresources: ['status'], categories: ['all'] }),
  kind('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', { namespaced: false, shortNames: ['sc'] }),
];

export function apiVersionOf(info: Pick<KindInfo, 'group' | 'version'>): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** The kind served at `/api/v1/…` or `/apis/<group>/<version>/…` under `plural`, if any. */
export function findKind(group: string, version: string, plural: string): KindInfo | undefined {
  return kinds.find((k) => k.group === group && k.version === version && k.plural === plural);
}

export function kindByName(group: string, kindName: string): KindInfo | undefined {
  return kinds.find((k) => k.group === group && k.kind === kindName);
}

/** The kind an object's `apiVersion` and `kind` name (`batch/v1` + `Job`). */
export function kindOfManifest(apiVersion: string, kindName: string): KindInfo | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash === -1 ? '' : apiVersion.slice(0, slash);
  const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
  return kinds.find((k) => k.group === group && k.version === version && k.kind === kindName);
}

/** Groups with their versions, in the order discovery lists them. */
export function servedGroups(): { group: string; version: string }[] {
  const seen = new Map<string, string>();
  for (const k of kinds) if (k.group !== '' && !seen.has(k.group)) seen.set(k.group, k.version);
  return [...seen].map(([group, version]) => ({ group, version }));
}

export function kindKey(info: Pick<KindInfo, 'group' | 'plural'>): string {
  return info.group === '' ? info.plural : `${info.plural}.${info.group}`;
}

function mustFind(group: string, plural: string): KindInfo {
  const found = kinds.find((k) => k.group === group && k.plural === plural);
  if (found === undefined) throw new Error(`lab kinds table lacks ${plural}.${group}`);
  return found;
}

/** The kinds the controllers work with, by name. */
export const K = {
  namespaces: mustFind('', 'namespaces'),
  pods: mustFind('', 'pods'),
  claims: mustFind('', 'persistentvolumeclaims'),
  volumes: mustFind('', 'persistentvolumes'),
  quotas: mustFind('', 'resourcequotas'),
  events: mustFind('', 'events'),
  nodes: mustFind('', 'nodes'),
  configMaps: mustFind('', 'configmaps'),
  roles: mustFind('rbac.authorization.k8s.io', 'roles'),
  clusterRoles: mustFind('rbac.authorization.k8s.io', 'clusterroles'),
  roleBindings: mustFind('rbac.authorization.k8s.io', 'rolebindings'),
  clusterRoleBindings: mustFind('rbac.authorization.k8s.io', 'clusterrolebindings'),
  jobs: mustFind('batch', 'jobs'),
  storageClasses: mustFind('storage.k8s.io', 'storageclasses'),
} as const;
