import { forbidden, notFound } from '../objects/apiError.js';
import { jsonText, objectAt, stringAt } from '../objects/json.js';
import { K, kinds } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import { annotationsOf, deletionTimestampOf, finalizersOf, nameOf, namespaceOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';
import type { AdmissionPlugin } from '../server/api.js';
import { authorize, rulesOf } from '../server/rbac.js';
import type { Attributes, RbacSnapshot, UserInfo } from '../server/rbac.js';
import { checkQuota, deltaOf } from './quotaUsage.js';
import type { NamespaceObjects } from './quotaUsage.js';

/** The admission plugins of a typical cluster, in the order the API server runs them. */
export const pvcProtectionFinalizer = 'kubernetes.io/pvc-protection';

const protectedNamespaces = new Set(['default', 'kube-system', 'kube-public']);

/** NamespaceLifecycle: no new objects in missing or terminating namespaces; system namespaces stay. */
export function namespaceLifecycle(store: ObjectStore): AdmissionPlugin {
  return ({ operation, kind, object }) => {
    const gr = { group: kind.group, resource: kind.plural };
    if (operation === 'DELETE' && kind.kind === 'Namespace' && protectedNamespaces.has(nameOf(object))) {
      throw forbidden(gr, nameOf(object), 'this namespace may not be deleted');
    }
    if (operation !== 'CREATE' || !kind.namespaced) return;
    const namespace = store.get(K.namespaces, '', namespaceOf(object));
    if (namespace === undefined) throw notFound({ group: '', resource: 'namespaces' }, namespaceOf(object));
    if (deletionTimestampOf(namespace) !== undefined && kind.kind !== 'Event') {
      throw forbidden(
        gr,
        nameOf(object),
        `unable to create new content in namespace ${namespaceOf(object)} because it is being terminated`,
      );
    }
  };
}

/** DefaultStorageClass and StorageObjectInUseProtection for new claims. */
export function claimDefaults(store: ObjectStore): AdmissionPlugin {
  return ({ operation, kind, object }) => {
    if (operation !== 'CREATE' || kind.kind !== 'PersistentVolumeClaim') return;
    const spec = objectAt(object, 'spec');
    if (spec !== undefined && spec.storageClassName === undefined) {
      const defaultClass = store
        .list(K.storageClasses)
        .find((sc) => annotationsOf(sc)['storageclass.kubernetes.io/is-default-class'] === 'true');
      if (defaultClass !== undefined) spec.storageClassName = nameOf(defaultClass);
    }
    const finalizers = finalizersOf(object);
    if (!finalizers.includes(pvcProtectionFinalizer))
      object.metadata.finalizers = [...finalizers, pvcProtectionFinalizer];
  };
}

export function namespaceObjects(store: ObjectStore, namespace: string): NamespaceObjects {
  const counted = new Map<string, number>();
  for (const kind of kinds) {
    if (!kind.stored || !kind.namespaced) continue;
    const key = kind.group === '' ? `count/${kind.plural}` : `count/${kind.plural}.${kind.group}`;
    counted.set(key, store.list(kind, namespace).length);
  }
  return { claims: store.list(K.claims, namespace), pods: store.list(K.pods, namespace), counted };
}

/** ResourceQuota: a new claim or pod (or a grown claim) must fit every quota of its namespace. */
export function resourceQuota(store: ObjectStore): AdmissionPlugin {
  return ({ operation, kind, object, old, subresource }) => {
    if (subresource !== '') return;
    if (kind.kind !== 'PersistentVolumeClaim' && kind.kind !== 'Pod') return;
    if (operation === 'DELETE' || (operation === 'UPDATE' && kind.kind === 'Pod')) return;
    const namespace = namespaceOf(object);
    const quotas = store.list(K.quotas, namespace);
    if (quotas.length === 0) return;
    const objects = namespaceObjects(store, namespace);
    const delta = deltaOf(kind.kind, object, operation === 'UPDATE' ? old : undefined);
    for (const quota of quotas) {
      const hardObject = objectAt(objectAt(quota, 'spec'), 'hard') ?? {};
      const hard: Record<string, string> = {};
      for (const [key, value] of Object.entries(hardObject)) hard[key] = jsonText(value);
      const violation = checkQuota(hard, objects, delta);
      if (violation !== undefined) {
        throw forbidden(
          { group: kind.group, resource: kind.plural },
          nameOf(object),
          `exceeded quota: ${nameOf(quota)}, requested: ${violation.requested}, used: ${violation.used}, limited: ${violation.limited}`,
        );
      }
    }
  };
}

function ruleText(rule: ReturnType<typeof rulesOf>[number]): string {
  const list = (values: readonly string[]): string => `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
  const parts: string[] = [];
  if (rule.apiGroups.length > 0) parts.push(`APIGroups:${list(rule.apiGroups)}`);
  if (rule.resources.length > 0) parts.push(`Resources:${list(rule.resources)}`);
  if (rule.resourceNames.length > 0) parts.push(`ResourceNames:${list(rule.resourceNames)}`);
  if (rule.nonResourceURLs.length > 0) parts.push(`NonResourceURLs:${list(rule.nonResourceURLs)}`);
  parts.push(`Verbs:${list(rule.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** The rules of `role` the user does not hold in `namespace` ('' for cluster-wide). */
function ungranted(
  role: KubeObject,
  namespace: string,
  user: UserInfo,
  snapshot: RbacSnapshot,
): ReturnType<typeof rulesOf> {
  return rulesOf(role).filter((rule) => {
    const checks: Attributes[] = [];
    for (const verb of rule.verbs) {
      for (const url of rule.nonResourceURLs) checks.push({ kind: 'nonResource', verb, path: url });
      for (const apiGroup of rule.apiGroups) {
        for (const resourceText of rule.resources) {
          const [resource = '', subresource = ''] = resourceText.split('/');
          const names = rule.resourceNames.length > 0 ? rule.resourceNames : [''];
          for (const name of names)
            checks.push({ kind: 'resource', verb, namespace, apiGroup, resource, subresource, name });
        }
      }
    }
    return !checks.every((attributes) => authorize(attributes, user, snapshot).allowed);
  });
}

/**
 * RBAC's escalation check: a user may create a role, or bind one, only with permissions they hold
 * themselves, unless they have `escalate` (roles) or `bind` (bindings) on it.
 */
export function rbacEscalation(store: ObjectStore, rbac: () => RbacSnapshot): AdmissionPlugin {
  return ({ operation, kind, object, user }) => {
    if (operation === 'DELETE' || kind.group !== 'rbac.authorization.k8s.io') return;
    const snapshot = rbac();
    const namespace = kind.namespaced ? namespaceOf(object) : '';
    const can = (verb: string, resource: string, name: string): boolean =>
      authorize(
        { kind: 'resource', verb, namespace, apiGroup: kind.group, resource, subresource: '', name },
        user,
        snapshot,
      ).allowed;
    let role: KubeObject | undefined;
    if (kind.kind === 'Role' || kind.kind === 'ClusterRole') {
      if (can('escalate', kind.plural, nameOf(object))) return;
      role = object;
    } else {
      const ref = objectAt(object, 'roleRef');
      const refKind = stringAt(ref, 'kind');
      const refName = stringAt(ref, 'name') ?? '';
      const refKindInfo: KindInfo = refKind === 'ClusterRole' ? K.clusterRoles : K.roles;
      if (can('bind', refKindInfo.plural, refName)) return;
      role = store.get(refKindInfo, namespace, refName);
      if (role === undefined) return;
    }
    const missing = ungranted(role, namespace, user, snapshot);
    if (missing.length === 0) return;
    const groups = user.groups.map((g) => JSON.stringify(g)).join(' ');
    throw forbidden(
      { group: kind.group, resource: kind.plural },
      nameOf(object),
      `user ${JSON.stringify(user.name)} (groups=[${groups}]) is attempting to grant RBAC permissions not currently held:\n${missing.map(ruleText).join('\n')}`,
    );
  };
}
