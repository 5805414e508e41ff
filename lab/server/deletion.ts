import { badRequest, conflict } from '../objects/apiError.js';
import { isJsonObject } from '../objects/json.js';
import type { Json } from '../objects/json.js';
import { kindKey, kinds } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import { nameOf, namespaceOf, ownerReferencesOf, resourceVersionOf, uidOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';
import { parseBoolean } from './requestInfo.js';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteOptions {
  readonly propagationPolicy: PropagationPolicy;
  readonly gracePeriodSeconds?: number;
  readonly preconditionUid?: string;
  readonly preconditionResourceVersion?: string;
  readonly dryRun: boolean;
}

/** Deletes one object; kinds with work to do before their objects go (pods, namespaces) register their own. */
export type Deleter = (kind: KindInfo, obj: KubeObject, options: DeleteOptions) => Promise<KubeObject>;

const policies: readonly PropagationPolicy[] = ['Orphan', 'Background', 'Foreground'];

/** DeleteOptions from the query and the (optional) JSON body, as kubectl and client libraries send them. */
export function parseDeleteOptions(kind: KindInfo, query: URLSearchParams, body: Json | undefined): DeleteOptions {
  const fromBody = isJsonObject(body) ? body : {};
  const policyText =
    query.get('propagationPolicy') ??
    (typeof fromBody.propagationPolicy === 'string' ? fromBody.propagationPolicy : undefined);
  const orphan =
    query.get('orphanDependents') ??
    (typeof fromBody.orphanDependents === 'boolean' ? String(fromBody.orphanDependents) : null);
  let propagationPolicy: PropagationPolicy;
  if (policyText !== undefined && policyText !== '') {
    if (!policies.includes(policyText as PropagationPolicy)) {
      throw badRequest(
        `propagationPolicy: Unsupported value: "${policyText}": supported values: "Foreground", "Background", "Orphan"`,
      );
    }
    propagationPolicy = policyText as PropagationPolicy;
  } else if (orphan !== null && orphan !== '') {
    propagationPolicy = parseBoolean(orphan) === true ? 'Orphan' : 'Background';
  } else {
    // batch/v1 Jobs orphan their pods by default, for historical reasons; everything else cascades.
    propagationPolicy = kind.kind === 'Job' ? 'Orphan' : 'Background';
  }
  const graceText =
    query.get('gracePeriodSeconds') ??
    (typeof fromBody.gracePeriodSeconds === 'number' ? String(fromBody.gracePeriodSeconds) : null);
  let gracePeriodSeconds: number | undefined;
  if (graceText !== null && graceText !== '') {
    if (!/^-?[0-9]+$/.test(graceText)) {
      throw badRequest(
        `error parsing 'gracePeriodSeconds': strconv.ParseInt: parsing ${JSON.stringify(graceText)}: invalid syntax`,
      );
    }
    gracePeriodSeconds = Math.max(0, Number(graceText));
  }
  const preconditions = isJsonObject(fromBody.preconditions) ? fromBody.preconditions : {};
  const dryRunValues = [...query.getAll('dryRun'), ...(Array.isArray(fromBody.dryRun) ? fromBody.dryRun : [])];
  return {
    propagationPolicy,
    ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
    ...(typeof preconditions.uid === 'string' ? { preconditionUid: preconditions.uid } : {}),
    ...(typeof preconditions.resourceVersion === 'string'
      ? { preconditionResourceVersion: preconditions.resourceVersion }
      : {}),
    dryRun: parseDryRun(dryRunValues),
  };
}

/** `?dryRun=All` is the only value Kubernetes accepts. */
export function parseDryRun(values: readonly Json[]): boolean {
  for (const value of values) {
    if (value !== 'All')
      throw badRequest(`dryRun: Unsupported value: ${JSON.stringify(value)}: supported values: "All"`);
  }
  return values.length > 0;
}

export function checkPreconditions(kind: KindInfo, obj: KubeObject, options: DeleteOptions): void {
  const gr = { group: kind.group, resource: kind.plural };
  if (options.preconditionUid !== undefined && options.preconditionUid !== uidOf(obj)) {
    throw conflict(
      gr,
      nameOf(obj),
      `Precondition failed: UID in precondition: ${options.preconditionUid}, UID in object meta: ${uidOf(obj)}`,
    );
  }
  const rv = options.preconditionResourceVersion;
  if (rv !== undefined && rv !== resourceVersionOf(obj)) {
    throw conflict(
      gr,
      nameOf(obj),
      `Precondition failed: ResourceVersion in precondition: ${rv}, ResourceVersion in object meta: ${resourceVersionOf(obj)}`,
    );
  }
}

/** Objects whose ownerReferences name `owner` (the garbage collector's dependents). */
export function dependentsOf(store: ObjectStore, owner: KubeObject): { kind: KindInfo; object: KubeObject }[] {
  const uid = uidOf(owner);
  const result: { kind: KindInfo; object: KubeObject }[] = [];
  for (const kind of kinds) {
    if (!kind.stored) continue;
    for (const obj of store.list(kind, kind.namespaced ? namespaceOf(owner) || undefined : undefined)) {
      if (ownerReferencesOf(obj).some((ref) => ref.uid === uid)) result.push({ kind, object: obj });
    }
  }
  return result;
}

/**
 * What the garbage collector does once an owner is gone: delete its dependents (Background, Foreground)
 * or strip the owner reference from them (Orphan).
 */
export async function collectDependents(
  store: ObjectStore,
  owner: KubeObject,
  policy: PropagationPolicy,
  deleterFor: (kind: KindInfo) => Deleter,
): Promise<void> {
  const uid = uidOf(owner);
  for (const { kind, object } of dependentsOf(store, owner)) {
    if (policy === 'Orphan') {
      store.mutate(kind, namespaceOf(object), nameOf(object), (obj) => {
        const refs = obj.metadata.ownerReferences;
        if (Array.isArray(refs))
          obj.metadata.ownerReferences = refs.filter((ref) => !isJsonObject(ref) || ref.uid !== uid);
      });
      continue;
    }
    const current = store.get(kind, namespaceOf(object), nameOf(object));
    if (current === undefined) continue;
    await deleterFor(kind)(kind, current, { propagationPolicy: 'Background', dryRun: false });
  }
}

export function defaultDeleter(store: ObjectStore): Deleter {
  return (kind, obj) => Promise.resolve(store.delete(kind, namespaceOf(obj), nameOf(obj)));
}

export { kindKey };
