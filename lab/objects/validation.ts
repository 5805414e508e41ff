import { fieldError, invalid } from './apiError.js';
import type { StatusCause } from './apiError.js';
import { isJsonObject, objectAt, stringAt } from './json.js';
import type { Json, JsonObject } from './json.js';
import type { KindInfo } from './kinds.js';
import { metadataErrors, nameOf } from './meta.js';
import type { KubeObject, NameRule } from './meta.js';
import { defaultPodSpec, podSpecErrors, podSpecUpdateErrors, setDefault } from './podValidation.js';
import { parseQuantity } from './quantity.js';

/**
 * What the API server's registry strategies do for each kind: defaults on create, validation on create and
 * update, and which part of the object a request may change (spec vs status).
 */
export const accessModes = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;

function nameRule(kind: KindInfo): NameRule {
  if (kind.kind === 'Namespace') return 'label';
  if (kind.group === 'rbac.authorization.k8s.io') return 'pathSegment';
  return 'subdomain';
}

/** Fills in defaults and resets the status of a new object, as PrepareForCreate does. */
export function prepareForCreate(kind: KindInfo, obj: KubeObject): void {
  const spec = objectAt(obj, 'spec');
  switch (kind.kind) {
    case 'Pod':
      if (spec !== undefined) defaultPodSpec(spec);
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    case 'PersistentVolumeClaim':
      if (spec !== undefined) setDefault(spec, 'volumeMode', 'Filesystem');
      obj.status = { phase: 'Pending' };
      break;
    case 'Namespace': {
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
      const labels = isJsonObject(obj.metadata.labels) ? obj.metadata.labels : {};
      labels['kubernetes.io/metadata.name'] = nameOf(obj);
      obj.metadata.labels = labels;
      break;
    }
    case 'ResourceQuota':
      obj.status = {};
      break;
    case 'Job':
      if (spec !== undefined) {
        setDefault(spec, 'parallelism', 1);
        setDefault(spec, 'completions', 1);
        setDefault(spec, 'backoffLimit', 6);
        setDefault(spec, 'completionMode', 'NonIndexed');
        setDefault(spec, 'suspend', false);
        setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
        setDefault(spec, 'manualSelector', false);
        const templateSpec = objectAt(objectAt(spec, 'template'), 'spec');
        if (templateSpec !== undefined) defaultPodSpec(templateSpec);
      }
      obj.status = {};
      break;
    case 'PersistentVolume':
      obj.status = { phase: 'Pending' };
      break;
    default:
      break;
  }
}

function quantityMapErrors(map: Json | undefined, field: string): StatusCause[] {
  if (map === undefined || map === null) return [];
  if (!isJsonObject(map)) return [fieldError.typeInvalid(field, map, 'must be a map of quantities')];
  const errors: StatusCause[] = [];
  for (const [key, value] of Object.entries(map)) {
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || parseQuantity(text) === undefined) {
      errors.push(
        fieldError.invalid(
          `${field}[${key}]`,
          value,
          "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
      );
    } else if ((parseQuantity(text)?.value ?? 0) < 0) {
      errors.push(fieldError.invalid(`${field}[${key}]`, value, 'must be greater than or equal to 0'));
    }
  }
  return errors;
}

function pvcSpecErrors(spec: JsonObject | undefined): StatusCause[] {
  if (spec === undefined) return [fieldError.required('spec')];
  const errors: StatusCause[] = [];
  const modes = spec.accessModes;
  if (!Array.isArray(modes) || modes.length === 0) {
    errors.push(fieldError.required('spec.accessModes'));
  } else {
    for (const mode of modes) {
      if (!accessModes.includes(mode as (typeof accessModes)[number])) {
        errors.push(fieldError.notSupported('spec.accessModes', mode, accessModes));
      }
    }
  }
  const requests = objectAt(objectAt(spec, 'resources'), 'requests');
  const storage = requests?.storage;
  if (storage === undefined) {
    errors.push(fieldError.required('spec.resources[storage]'));
  } else {
    errors.push(...quantityMapErrors(requests, 'spec.resources.requests'));
    const quantity = typeof storage === 'string' ? parseQuantity(storage) : undefined;
    if (quantity !== undefined && quantity.value <= 0) {
      errors.push(fieldError.invalid('spec.resources[storage]', storage, 'must be greater than zero'));
    }
  }
  const className = spec.storageClassName;
  if (className !== undefined && className !== null && typeof className !== 'string') {
    errors.push(fieldError.typeInvalid('spec.storageClassName', className, 'must be a string'));
  }
  if (spec.volumeMode !== undefined && spec.volumeMode !== 'Filesystem' && spec.volumeMode !== 'Block') {
    errors.push(fieldError.notSupported('spec.volumeMode', spec.volumeMode, ['Block', 'Filesystem']));
  }
  return errors;
}

function ruleErrors(obj: KubeObject, namespaced: boolean): StatusCause[] {
  const rules = obj.rules;
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [fieldError.typeInvalid('rules', rules, 'must be a list')];
  const errors: StatusCause[] = [];
  rules.forEach((rule, i) => {
    if (!isJsonObject(rule)) {
      errors.push(fieldError.typeInvalid(`rules[${i}]`, rule, 'must be an object'));
      return;
    }
    const list = (key: string): string[] | undefined => {
      const value = rule[key];
      if (value === undefined || value === null) return [];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        errors.push(fieldError.typeInvalid(`rules[${i}].${key}`, value, 'must be a list of strings'));
        return undefined;
      }
      return value;
    };
    const verbs = list('verbs');
    const apiGroups = list('apiGroups');
    const resources = list('resources');
    const urls = list('nonResourceURLs');
    list('resourceNames');
    if (verbs?.length === 0)
      errors.push(fieldError.required(`rules[${i}].verbs`, 'verbs must contain at least one value'));
    if (urls !== undefined && urls.length > 0) {
      if (namespaced)
        errors.push(
          fieldError.invalid(`rules[${i}].nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'),
        );
      if (resources !== undefined && resources.length > 0) {
        errors.push(
          fieldError.invalid(
            `rules[${i}].nonResourceURLs`,
            urls,
            'rules cannot apply to both regular resources and non-resource URLs',
          ),
        );
      }
    } else {
      if (resources?.length === 0)
        errors.push(fieldError.required(`rules[${i}].resources`, 'resource rules must supply at least one resource'));
      if (apiGroups?.length === 0)
        errors.push(fieldError.required(`rules[${i}].apiGroups`, 'resource rules must supply at least one api group'));
    }
  });
  return errors;
}

function bindingErrors(obj: KubeObject, clusterBinding: boolean): StatusCause[] {
  const errors: StatusCause[] = [];
  const ref = obj.roleRef;
  if (!isJsonObject(ref)) {
    errors.push(fieldError.required('roleRef'));
  } else {
    const allowedKinds = clusterBinding ? ['ClusterRole'] : ['Role', 'ClusterRole'];
    if (ref.apiGroup !== 'rbac.authorization.k8s.io') {
      errors.push(fieldError.notSupported('roleRef.apiGroup', ref.apiGroup ?? '', ['rbac.authorization.k8s.io']));
    }
    if (!allowedKinds.includes(stringAt(ref, 'kind') ?? ''))
      errors.push(fieldError.notSupported('roleRef.kind', ref.kind ?? '', allowedKinds));
    if (typeof ref.name !== 'string' || ref.name === '') errors.push(fieldError.required('roleRef.name'));
  }
  const subjects = obj.subjects;
  if (subjects !== undefined && subjects !== null) {
    if (!Array.isArray(subjects)) {
      errors.push(fieldError.typeInvalid('subjects', subjects, 'must be a list'));
    } else {
      subjects.forEach((subject, i) => {
        if (!isJsonObject(subject)) {
          errors.push(fieldError.typeInvalid(`subjects[${i}]`, subject, 'must be an object'));
          return;
        }
        if (!['User', 'Group', 'ServiceAccount'].includes(stringAt(subject, 'kind') ?? '')) {
          errors.push(
            fieldError.notSupported(`subjects[${i}].kind`, subject.kind ?? '', ['ServiceAccount', 'User', 'Group']),
          );
        }
        if (typeof subject.name !== 'string' || subject.name === '')
          errors.push(fieldError.required(`subjects[${i}].name`));
        if (clusterBinding && subject.kind === 'ServiceAccount' && typeof subject.namespace !== 'string') {
          errors.push(fieldError.required(`subjects[${i}].namespace`));
        }
      });
    }
  }
  return errors;
}

function jobErrors(spec: JsonObject | undefined): StatusCause[] {
  if (spec === undefined) return [fieldError.required('spec')];
  const template = objectAt(spec, 'template');
  if (template === undefined) return [fieldError.required('spec.template')];
  const templateSpec = objectAt(template, 'spec');
  const errors = podSpecErrors(templateSpec, 'spec.template.spec');
  const restartPolicy = templateSpec?.restartPolicy;
  if (restartPolicy !== 'OnFailure' && restartPolicy !== 'Never') {
    errors.push(
      restartPolicy === undefined
        ? fieldError.required('spec.template.spec.restartPolicy', 'valid values: "OnFailure", "Never"')
        : fieldError.notSupported('spec.template.spec.restartPolicy', restartPolicy, ['OnFailure', 'Never']),
    );
  }
  for (const key of [
    'parallelism',
    'completions',
    'backoffLimit',
    'activeDeadlineSeconds',
    'ttlSecondsAfterFinished',
  ]) {
    const value = spec[key];
    if (value === undefined || value === null) continue;
    const min = key === 'activeDeadlineSeconds' ? 1 : 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      errors.push(fieldError.invalid(`spec.${key}`, value, `must be greater than or equal to ${min}`));
    }
  }
  return errors;
}

/** Validation of a whole object (after defaults), as ValidateCreate does it. */
export function validateObject(kind: KindInfo, obj: KubeObject): StatusCause[] {
  const errors = metadataErrors(obj.metadata, nameRule(kind));
  const spec = objectAt(obj, 'spec');
  switch (kind.kind) {
    case 'Pod':
      errors.push(...podSpecErrors(obj.spec, 'spec'));
      break;
    case 'PersistentVolumeClaim':
      errors.push(...pvcSpecErrors(spec));
      break;
    case 'ResourceQuota':
      errors.push(...quantityMapErrors(spec?.hard, 'spec.hard'));
      break;
    case 'Role':
    case 'ClusterRole':
      errors.push(...ruleErrors(obj, kind.kind === 'Role'));
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      errors.push(...bindingErrors(obj, kind.kind === 'ClusterRoleBinding'));
      break;
    case 'Job':
      errors.push(...jobErrors(spec));
      break;
    case 'StorageClass':
      if (typeof obj.provisioner !== 'string' || obj.provisioner === '')
        errors.push(fieldError.required('provisioner'));
      break;
    case 'ConfigMap': {
      const data = obj.data;
      if (
        data !== undefined &&
        data !== null &&
        (!isJsonObject(data) || !Object.values(data).every((v) => typeof v === 'string'))
      ) {
        errors.push(fieldError.typeInvalid('data', data, 'must be a map of strings'));
      }
      break;
    }
    default:
      break;
  }
  return errors;
}

/** Extra rules for updates: immutable fields. */
export function validateUpdate(kind: KindInfo, obj: KubeObject, old: KubeObject): StatusCause[] {
  const errors = validateObject(kind, obj);
  const same = (a: Json | undefined, b: Json | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);
  switch (kind.kind) {
    case 'Pod':
      errors.push(...podSpecUpdateErrors(obj.spec, old.spec));
      break;
    case 'PersistentVolumeClaim': {
      const neutral = (o: KubeObject): Json | undefined => {
        const spec = structuredClone(objectAt(o, 'spec') ?? {});
        delete spec.resources;
        if (objectAt(objectAt(old, 'spec'), 'resources') !== undefined) delete spec.volumeName;
        return spec;
      };
      if (!same(neutral(obj), neutral(old))) {
        errors.push(
          fieldError.forbidden(
            'spec',
            'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
          ),
        );
      }
      const before = parseQuantity(
        stringAt(objectAt(objectAt(objectAt(old, 'spec'), 'resources'), 'requests'), 'storage') ?? '',
      );
      const after = parseQuantity(
        stringAt(objectAt(objectAt(objectAt(obj, 'spec'), 'resources'), 'requests'), 'storage') ?? '',
      );
      if (before !== undefined && after !== undefined && after.value !== before.value) {
        if (stringAt(objectAt(old, 'status'), 'phase') !== 'Bound') {
          errors.push(
            fieldError.forbidden(
              'spec.resources.requests.storage',
              'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
            ),
          );
        } else if (after.value < before.value) {
          errors.push(
            fieldError.forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'),
          );
        }
      }
      break;
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      if (!same(obj.roleRef, old.roleRef))
        errors.push(fieldError.invalid('roleRef', obj.roleRef, 'cannot change roleRef'));
      break;
    case 'Job': {
      const spec = objectAt(obj, 'spec');
      const oldSpec = objectAt(old, 'spec');
      if (!same(spec?.template, oldSpec?.template))
        errors.push(fieldError.invalid('spec.template', spec?.template, 'field is immutable'));
      if (!same(spec?.selector, oldSpec?.selector))
        errors.push(fieldError.invalid('spec.selector', spec?.selector, 'field is immutable'));
      if (!same(spec?.completions, oldSpec?.completions))
        errors.push(fieldError.invalid('spec.completions', spec?.completions, 'field is immutable'));
      break;
    }
    case 'StorageClass':
      if (!same(obj.provisioner, old.provisioner))
        errors.push(fieldError.forbidden('provisioner', 'updates to provisioner are forbidden.'));
      if (!same(obj.parameters, old.parameters))
        errors.push(fieldError.forbidden('parameters', 'updates to parameters are forbidden.'));
      break;
    default:
      break;
  }
  return errors;
}

/** Throws the 422 Invalid for a list of field errors, named as Kubernetes names the object. */
export function assertValid(kind: KindInfo, name: string, errors: readonly StatusCause[]): void {
  if (errors.length > 0) throw invalid({ group: kind.group, kind: kind.kind }, name, errors);
}
