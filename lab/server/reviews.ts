import { fieldError, invalid } from '../objects/apiError.js';
import { isJsonObject, objectAt, stringAt } from '../objects/json.js';
import type { JsonObject } from '../objects/json.js';
import type { KubeObject } from '../objects/meta.js';
import { authorize, rulesFor } from './rbac.js';
import type { Attributes, RbacSnapshot, UserInfo } from './rbac.js';

/**
 * SelfSubjectAccessReview ("can I?") and SelfSubjectRulesReview ("what can I do here?"), answered from the
 * same RBAC evaluation that guards every request. Neither is stored.
 */
export function selfSubjectAccessReview(review: KubeObject, user: UserInfo, snapshot: RbacSnapshot): JsonObject {
  const spec = objectAt(review, 'spec');
  const resource = objectAt(spec, 'resourceAttributes');
  const nonResource = objectAt(spec, 'nonResourceAttributes');
  if ((resource === undefined) === (nonResource === undefined)) {
    throw invalid({ group: 'authorization.k8s.io', kind: 'SelfSubjectAccessReview' }, '', [
      fieldError.invalid(
        'spec.resourceAttributes',
        resource ?? null,
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    ]);
  }
  const attributes: Attributes =
    resource !== undefined
      ? {
          kind: 'resource',
          verb: stringAt(resource, 'verb') ?? '',
          namespace: stringAt(resource, 'namespace') ?? '',
          apiGroup: stringAt(resource, 'group') ?? '',
          resource: stringAt(resource, 'resource') ?? '',
          subresource: stringAt(resource, 'subresource') ?? '',
          name: stringAt(resource, 'name') ?? '',
        }
      : { kind: 'nonResource', verb: stringAt(nonResource, 'verb') ?? '', path: stringAt(nonResource, 'path') ?? '' };
  const decision = authorize(attributes, user, snapshot);
  const status: JsonObject = { allowed: decision.allowed };
  if (decision.reason !== '') status.reason = decision.reason;
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: spec ?? {},
    status,
  };
}

export function selfSubjectRulesReview(review: KubeObject, user: UserInfo, snapshot: RbacSnapshot): JsonObject {
  const spec = objectAt(review, 'spec');
  const namespace = stringAt(spec, 'namespace') ?? '';
  const rules = rulesFor(user, namespace, snapshot);
  const resourceRules = rules
    .filter((rule) => rule.nonResourceURLs.length === 0)
    .map((rule) => {
      const out: JsonObject = {
        verbs: [...rule.verbs],
        apiGroups: [...rule.apiGroups],
        resources: [...rule.resources],
      };
      if (rule.resourceNames.length > 0) out.resourceNames = [...rule.resourceNames];
      return out;
    });
  const nonResourceRules = rules
    .filter((rule) => rule.nonResourceURLs.length > 0)
    .map((rule) => ({ verbs: [...rule.verbs], nonResourceURLs: [...rule.nonResourceURLs] }));
  return {
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: isJsonObject(spec) ? spec : {},
    status: { resourceRules, nonResourceRules, incomplete: false },
  };
}
