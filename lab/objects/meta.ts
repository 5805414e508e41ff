import { fieldError } from './apiError.js';
import type { StatusCause } from './apiError.js';
import { isJsonObject, objectAt, objectsAt, stringAt, stringMapAt } from './json.js';
import type { Json, JsonObject } from './json.js';
import { labelKeyError, labelValueError } from './selectors.js';

/** A stored API object: `apiVersion`, `kind` and `metadata` always present. */
export interface KubeObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject;
}

export function isKubeObject(value: unknown): value is KubeObject {
  return (
    isJsonObject(value) &&
    typeof value.apiVersion === 'string' &&
    typeof value.kind === 'string' &&
    isJsonObject(value.metadata)
  );
}

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

export function nameOf(obj: KubeObject): string {
  return stringAt(obj.metadata, 'name') ?? '';
}

export function namespaceOf(obj: KubeObject): string {
  return stringAt(obj.metadata, 'namespace') ?? '';
}

export function uidOf(obj: KubeObject): string {
  return stringAt(obj.metadata, 'uid') ?? '';
}

export function resourceVersionOf(obj: KubeObject): string {
  return stringAt(obj.metadata, 'resourceVersion') ?? '';
}

export function labelsOf(obj: KubeObject): Record<string, string> {
  return stringMapAt(obj.metadata, 'labels');
}

export function annotationsOf(obj: KubeObject): Record<string, string> {
  return stringMapAt(obj.metadata, 'annotations');
}

export function deletionTimestampOf(obj: KubeObject): string | undefined {
  return stringAt(obj.metadata, 'deletionTimestamp');
}

export function finalizersOf(obj: KubeObject): string[] {
  const value = obj.metadata.finalizers;
  return Array.isArray(value) ? value.filter((f): f is string => typeof f === 'string') : [];
}

export function ownerReferencesOf(obj: KubeObject): OwnerReference[] {
  return objectsAt(obj.metadata, 'ownerReferences').flatMap((ref) => {
    const apiVersion = stringAt(ref, 'apiVersion');
    const kindName = stringAt(ref, 'kind');
    const name = stringAt(ref, 'name');
    const uid = stringAt(ref, 'uid');
    if (apiVersion === undefined || kindName === undefined || name === undefined || uid === undefined) return [];
    return [{ apiVersion, kind: kindName, name, uid, controller: ref.controller === true }];
  });
}

/** RFC 3339 in seconds, as Kubernetes prints timestamps. */
export function timestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds (MicroTime, used by `eventTime`). */
export function microTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const dns1123LabelMessage =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
export const dns1123SubdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** How a kind's names are validated: namespaces and containers are labels; RBAC names are path segments. */
export type NameRule = 'label' | 'subdomain' | 'pathSegment';

export function nameErrors(name: string, rule: NameRule, field = 'metadata.name'): StatusCause[] {
  switch (rule) {
    case 'label':
      if (name.length > 63) return [fieldError.invalid(field, name, 'must be no more than 63 characters')];
      return dns1123Label.test(name) ? [] : [fieldError.invalid(field, name, dns1123LabelMessage)];
    case 'subdomain':
      if (name.length > 253) return [fieldError.invalid(field, name, 'must be no more than 253 characters')];
      return dns1123Subdomain.test(name) ? [] : [fieldError.invalid(field, name, dns1123SubdomainMessage)];
    case 'pathSegment':
      if (name === '.' || name === '..') return [fieldError.invalid(field, name, `may not be '${name}'`)];
      for (const bad of ['/', '%']) {
        if (name.includes(bad)) return [fieldError.invalid(field, name, `may not contain '${bad}'`)];
      }
      return [];
  }
}

/** Whether a name is acceptable in a URL path at all (checked before any lookup). */
export function isPlausibleName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name !== '.' && name !== '..' && !/[/%\0]/.test(name);
}

/** Validates the metadata fields every object shares; `name` may still be empty when generateName is set. */
export function metadataErrors(metadata: Json | undefined, rule: NameRule): StatusCause[] {
  if (!isJsonObject(metadata)) return [fieldError.required('metadata')];
  const errors: StatusCause[] = [];
  const name = metadata.name;
  const generateName = metadata.generateName;
  if (name !== undefined && typeof name !== 'string')
    errors.push(fieldError.typeInvalid('metadata.name', name, 'must be a string'));
  if (generateName !== undefined && typeof generateName !== 'string') {
    errors.push(fieldError.typeInvalid('metadata.generateName', generateName, 'must be a string'));
  }
  if ((typeof name !== 'string' || name === '') && (typeof generateName !== 'string' || generateName === '')) {
    errors.push(fieldError.required('metadata.name', 'name or generateName is required'));
  } else if (typeof name === 'string' && name !== '') {
    errors.push(...nameErrors(name, rule));
  } else if (typeof generateName === 'string') {
    // The generated name is the prefix plus 5 characters; validate the prefix as a name stem.
    const stem = generateName.replace(/-$/, '') || 'x';
    errors.push(...nameErrors(stem, rule, 'metadata.generateName'));
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isJsonObject(map)) {
      errors.push(fieldError.typeInvalid(`metadata.${field}`, map, 'must be a map of strings'));
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      const keyError = labelKeyError(key);
      if (keyError !== undefined) errors.push(fieldError.invalid(`metadata.${field}`, key, keyError));
      if (typeof value !== 'string') {
        errors.push(fieldError.typeInvalid(`metadata.${field}.${key}`, value, 'must be a string'));
      } else if (field === 'labels') {
        const valueError = labelValueError(value);
        if (valueError !== undefined) errors.push(fieldError.invalid(`metadata.labels`, value, valueError));
      }
    }
  }
  const owners = metadata.ownerReferences;
  if (owners !== undefined && owners !== null && !Array.isArray(owners)) {
    errors.push(fieldError.typeInvalid('metadata.ownerReferences', owners, 'must be a list'));
  }
  const finalizers = metadata.finalizers;
  if (finalizers !== undefined && finalizers !== null) {
    if (!Array.isArray(finalizers) || !finalizers.every((f) => typeof f === 'string')) {
      errors.push(fieldError.typeInvalid('metadata.finalizers', finalizers, 'must be a list of strings'));
    }
  }
  return errors;
}

/** The metadata fields a client may not set: the server assigns or keeps them. */
export const serverMetadataFields = ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'generation'];

export function objectAtPath(obj: JsonObject, path: readonly string[]): JsonObject | undefined {
  let current: JsonObject | undefined = obj;
  for (const key of path) current = objectAt(current, key);
  return current;
}
