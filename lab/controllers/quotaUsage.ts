import { objectAt, stringAt } from '../objects/json.js';
import type { KubeObject } from '../objects/meta.js';
import { formatQuantity, parseQuantity } from '../objects/quantity.js';
import type { QuantityFormat } from '../objects/quantity.js';

/**
 * ResourceQuota accounting for what the lab's users create: storage requests and counts of claims (also
 * per storage class), pods, and `count/<resource>` for any kind. Pure: the caller passes the objects.
 */
export interface NamespaceObjects {
  readonly claims: readonly KubeObject[];
  readonly pods: readonly KubeObject[];
  /** Objects per `count/…` key (`count/jobs.batch`, `count/configmaps`). */
  readonly counted: ReadonlyMap<string, number>;
}

export interface Amount {
  readonly value: number;
  readonly format: QuantityFormat;
}

const storageClassSuffix = '.storageclass.storage.k8s.io/';

export function claimRequest(claim: KubeObject): number {
  const text = stringAt(objectAt(objectAt(objectAt(claim, 'spec'), 'resources'), 'requests'), 'storage');
  return text === undefined ? 0 : (parseQuantity(text)?.value ?? 0);
}

export function claimClass(claim: KubeObject): string {
  return stringAt(objectAt(claim, 'spec'), 'storageClassName') ?? '';
}

function isTerminal(pod: KubeObject): boolean {
  const phase = stringAt(objectAt(pod, 'status'), 'phase');
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Usage of one quota resource name, or undefined when the lab does not track it. */
export function usageOf(resource: string, objects: NamespaceObjects): Amount | undefined {
  const claims = objects.claims;
  if (resource === 'requests.storage') {
    return { value: claims.reduce((sum, c) => sum + claimRequest(c), 0), format: 'BinarySI' };
  }
  if (resource === 'persistentvolumeclaims' || resource === 'count/persistentvolumeclaims') {
    return { value: claims.length, format: 'DecimalSI' };
  }
  if (resource === 'pods' || resource === 'count/pods') {
    return { value: objects.pods.filter((p) => !isTerminal(p)).length, format: 'DecimalSI' };
  }
  const classAt = resource.indexOf(storageClassSuffix);
  if (classAt > 0) {
    const className = resource.slice(0, classAt);
    const what = resource.slice(classAt + storageClassSuffix.length);
    const inClass = claims.filter((c) => claimClass(c) === className);
    if (what === 'requests.storage')
      return { value: inClass.reduce((sum, c) => sum + claimRequest(c), 0), format: 'BinarySI' };
    if (what === 'persistentvolumeclaims') return { value: inClass.length, format: 'DecimalSI' };
    return undefined;
  }
  if (resource.startsWith('count/')) return { value: objects.counted.get(resource) ?? 0, format: 'DecimalSI' };
  return undefined;
}

/** `status.used` for a quota's `spec.hard`: every tracked resource, in canonical form. */
export function usedFor(hard: Readonly<Record<string, string>>, objects: NamespaceObjects): Record<string, string> {
  const used: Record<string, string> = {};
  for (const resource of Object.keys(hard).sort()) {
    const amount = usageOf(resource, objects);
    const hardFormat = parseQuantity(hard[resource] ?? '')?.format;
    if (amount !== undefined) used[resource] = formatQuantity(amount.value, hardFormat ?? amount.format);
  }
  return used;
}

/** What one new (or grown) object adds to each quota resource. */
export function deltaOf(kind: 'PersistentVolumeClaim' | 'Pod', obj: KubeObject, old?: KubeObject): Map<string, number> {
  const delta = new Map<string, number>();
  if (kind === 'Pod') {
    if (old === undefined) {
      delta.set('pods', 1);
      delta.set('count/pods', 1);
    }
    return delta;
  }
  const bytes = claimRequest(obj) - (old === undefined ? 0 : claimRequest(old));
  const className = claimClass(obj);
  delta.set('requests.storage', bytes);
  if (className !== '') delta.set(`${className}${storageClassSuffix}requests.storage`, bytes);
  if (old === undefined) {
    delta.set('persistentvolumeclaims', 1);
    delta.set('count/persistentvolumeclaims', 1);
    if (className !== '') delta.set(`${className}${storageClassSuffix}persistentvolumeclaims`, 1);
  }
  return delta;
}

export interface QuotaViolation {
  readonly requested: string;
  readonly used: string;
  readonly limited: string;
}

function pretty(entries: readonly [string, string][]): string {
  return [...entries]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * Whether adding `delta` exceeds a quota; the violation lists only the exceeded resources, formatted as
 * the ResourceQuota admission plugin formats them.
 */
export function checkQuota(
  hard: Readonly<Record<string, string>>,
  objects: NamespaceObjects,
  delta: ReadonlyMap<string, number>,
): QuotaViolation | undefined {
  const requested: [string, string][] = [];
  const used: [string, string][] = [];
  const limited: [string, string][] = [];
  for (const [resource, hardText] of Object.entries(hard)) {
    const change = delta.get(resource);
    if (change === undefined || change <= 0) continue;
    const limit = parseQuantity(hardText);
    const current = usageOf(resource, objects);
    if (limit === undefined || current === undefined) continue;
    if (current.value + change > limit.value) {
      requested.push([
        resource,
        formatQuantity(change, limit.format === 'BinarySI' || current.format === 'BinarySI' ? 'BinarySI' : 'DecimalSI'),
      ]);
      used.push([resource, formatQuantity(current.value, limit.format)]);
      limited.push([resource, hardText]);
    }
  }
  if (requested.length === 0) return undefined;
  return { requested: pretty(requested), used: pretty(used), limited: pretty(limited) };
}
