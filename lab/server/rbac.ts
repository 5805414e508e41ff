import { objectAt, objectsAt, stringAt, stringsAt } from '../objects/json.js';
import { nameOf, namespaceOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';

/**
 * RBAC evaluation, as the Kubernetes RBAC authorizer does it: a request is allowed when some binding that
 * names the user (or one of the user's groups) refers to a role with a rule covering the request. There is
 * no deny. Pure: it reads a snapshot of the RBAC objects.
 */
export interface UserInfo {
  readonly name: string;
  readonly groups: readonly string[];
}

export interface ResourceAttributes {
  readonly verb: string;
  /** '' for cluster-scoped requests. */
  readonly namespace: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  /** '' when the request names no object (list, create, deletecollection). */
  readonly name: string;
}

export interface NonResourceAttributes {
  readonly verb: string;
  readonly path: string;
}

export type Attributes =
  ({ readonly kind: 'resource' } & ResourceAttributes) | ({ readonly kind: 'nonResource' } & NonResourceAttributes);

export interface PolicyRule {
  readonly verbs: readonly string[];
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
  readonly nonResourceURLs: readonly string[];
}

export interface RbacSnapshot {
  readonly roles: readonly KubeObject[];
  readonly clusterRoles: readonly KubeObject[];
  readonly roleBindings: readonly KubeObject[];
  readonly clusterRoleBindings: readonly KubeObject[];
}

export interface Decision {
  readonly allowed: boolean;
  /** For allowed requests, which binding allowed it (what SelfSubjectAccessReview reports). */
  readonly reason: string;
}

export function rulesOf(role: KubeObject): PolicyRule[] {
  return objectsAt(role, 'rules').map((rule) => ({
    verbs: stringsAt(rule, 'verbs'),
    apiGroups: stringsAt(rule, 'apiGroups'),
    resources: stringsAt(rule, 'resources'),
    resourceNames: stringsAt(rule, 'resourceNames'),
    nonResourceURLs: stringsAt(rule, 'nonResourceURLs'),
  }));
}

function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.includes('*') || rule.verbs.includes(verb);
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  return rule.resources.some(
    (r) => r === '*' || r === combined || (subresource !== '' && (r === `${resource}/*` || r === `*/${subresource}`)),
  );
}

export function ruleAllows(rule: PolicyRule, attributes: Attributes): boolean {
  if (!verbMatches(rule, attributes.verb)) return false;
  if (attributes.kind === 'nonResource') {
    return rule.nonResourceURLs.some(
      (url) =>
        url === '*' || url === attributes.path || (url.endsWith('*') && attributes.path.startsWith(url.slice(0, -1))),
    );
  }
  if (!(rule.apiGroups.includes('*') || rule.apiGroups.includes(attributes.apiGroup))) return false;
  if (!resourceMatches(rule, attributes.resource, attributes.subresource)) return false;
  // Rules with resourceNames only cover requests that name an object.
  return rule.resourceNames.length === 0 || rule.resourceNames.includes(attributes.name);
}

interface Subject {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

function subjectsOf(binding: KubeObject): Subject[] {
  return objectsAt(binding, 'subjects').map((subject) => ({
    kind: stringAt(subject, 'kind') ?? '',
    name: stringAt(subject, 'name') ?? '',
    namespace: stringAt(subject, 'namespace') ?? '',
  }));
}

function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const namespace = subject.namespace === '' ? bindingNamespace : subject.namespace;
      return user.name === `system:serviceaccount:${namespace}:${subject.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(subject: Subject): string {
  return subject.kind === 'ServiceAccount'
    ? `ServiceAccount "${subject.name}/${subject.namespace}"`
    : `${subject.kind} "${subject.name}"`;
}

interface ApplicableRules {
  readonly binding: string;
  readonly role: string;
  readonly subject: string;
  readonly rules: readonly PolicyRule[];
}

/** The rule sets that apply to a user in a namespace ('' for cluster scope only), with where they come from. */
function applicableRules(user: UserInfo, namespace: string, snapshot: RbacSnapshot): ApplicableRules[] {
  const clusterRole = (name: string): KubeObject | undefined => snapshot.clusterRoles.find((r) => nameOf(r) === name);
  const result: ApplicableRules[] = [];
  for (const binding of snapshot.clusterRoleBindings) {
    const ref = objectAt(binding, 'roleRef');
    if (stringAt(ref, 'kind') !== 'ClusterRole') continue;
    const subject = subjectsOf(binding).find((s) => subjectMatches(s, user, ''));
    const role = clusterRole(stringAt(ref, 'name') ?? '');
    if (subject === undefined || role === undefined) continue;
    result.push({
      binding: `ClusterRoleBinding "${nameOf(binding)}"`,
      role: `ClusterRole "${nameOf(role)}"`,
      subject: describeSubject(subject),
      rules: rulesOf(role),
    });
  }
  if (namespace === '') return result;
  for (const binding of snapshot.roleBindings) {
    if (namespaceOf(binding) !== namespace) continue;
    const ref = objectAt(binding, 'roleRef');
    const subject = subjectsOf(binding).find((s) => subjectMatches(s, user, namespace));
    if (subject === undefined) continue;
    const refName = stringAt(ref, 'name') ?? '';
    const role =
      stringAt(ref, 'kind') === 'ClusterRole'
        ? clusterRole(refName)
        : snapshot.roles.find((r) => namespaceOf(r) === namespace && nameOf(r) === refName);
    if (role === undefined) continue;
    result.push({
      binding: `RoleBinding "${nameOf(binding)}/${namespace}"`,
      role: `${stringAt(ref, 'kind') === 'ClusterRole' ? 'ClusterRole' : 'Role'} "${refName}"`,
      subject: describeSubject(subject),
      rules: rulesOf(role),
    });
  }
  return result;
}

export function authorize(attributes: Attributes, user: UserInfo, snapshot: RbacSnapshot): Decision {
  const namespace = attributes.kind === 'resource' ? attributes.namespace : '';
  for (const source of applicableRules(user, namespace, snapshot)) {
    if (source.rules.some((rule) => ruleAllows(rule, attributes))) {
      return { allowed: true, reason: `RBAC: allowed by ${source.binding} of ${source.role} to ${source.subject}` };
    }
  }
  return { allowed: false, reason: '' };
}

/** Every rule that applies to the user in a namespace (what SelfSubjectRulesReview reports). */
export function rulesFor(user: UserInfo, namespace: string, snapshot: RbacSnapshot): PolicyRule[] {
  return applicableRules(user, namespace, snapshot).flatMap((source) => source.rules);
}

/** The sentence after "is forbidden: " in a 403, exactly as the RBAC authorizer words it. */
export function forbiddenReason(attributes: Attributes, user: UserInfo): string {
  if (attributes.kind === 'nonResource') {
    return `User "${user.name}" cannot ${attributes.verb} path "${attributes.path}"`;
  }
  const resource =
    attributes.subresource === '' ? attributes.resource : `${attributes.resource}/${attributes.subresource}`;
  const scope = attributes.namespace === '' ? 'at the cluster scope' : `in the namespace "${attributes.namespace}"`;
  return `User "${user.name}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.apiGroup}" ${scope}`;
}
