import { objectAt, objectsAt, stringAt, stringMapAt } from '../objects/json.js';
import { deletionTimestampOf, labelsOf, nameOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';

/**
 * The scheduler's decision for one pod, as a pure function: which node, or why none fits. Volume checks
 * follow the VolumeBinding plugin (claims must exist and be bound); a node must match the nodeSelector;
 * among fitting nodes the least loaded wins (ties by name). RWO conflicts are not the scheduler's business
 * in Kubernetes: they surface at attach time (see the kubelet).
 */
export type Decision = { readonly node: string } | { readonly unschedulable: string };

export interface SchedulingInput {
  readonly pod: KubeObject;
  readonly nodes: readonly KubeObject[];
  readonly claims: ReadonlyMap<string, KubeObject>;
  /** Unfinished pods per node. */
  readonly load: ReadonlyMap<string, number>;
  /** Set when the lab's scheduling fault is on: the reason nodes refuse. */
  readonly fault?: string;
}

const preemption = (n: number): string =>
  ` preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.`;

export function claimNamesOf(pod: KubeObject): string[] {
  return objectsAt(objectAt(pod, 'spec'), 'volumes').flatMap((volume) => {
    const claim = stringAt(objectAt(volume, 'persistentVolumeClaim'), 'claimName');
    return claim === undefined ? [] : [claim];
  });
}

export function decide(input: SchedulingInput): Decision {
  const { pod, nodes, claims, load } = input;
  const total = nodes.length;
  const none = (why: string): Decision => ({
    unschedulable: `0/${total} nodes are available: ${why}.${preemption(total)}`,
  });
  if (total === 0) return { unschedulable: 'no nodes available to schedule pods' };
  if (input.fault !== undefined) return none(`${total} node(s) had untolerated taint {${input.fault}}`);
  for (const claimName of claimNamesOf(pod)) {
    const claim = claims.get(claimName);
    if (claim === undefined) return none(`persistentvolumeclaim "${claimName}" not found`);
    if (deletionTimestampOf(claim) !== undefined) return none(`persistentvolumeclaim "${claimName}" is being deleted`);
    if (stringAt(objectAt(claim, 'status'), 'phase') !== 'Bound')
      return none(`persistentvolumeclaim "${claimName}" is not bound`);
  }
  const selector = stringMapAt(objectAt(pod, 'spec'), 'nodeSelector');
  const fitting = nodes.filter((node) => {
    const labels = labelsOf(node);
    if (objectAt(node, 'spec')?.unschedulable === true) return false;
    return Object.entries(selector).every(([key, value]) => labels[key] === value);
  });
  if (fitting.length === 0) return none(`${total} node(s) didn't match Pod's node affinity/selector`);
  const best = [...fitting].sort((a, b) => {
    const byLoad = (load.get(nameOf(a)) ?? 0) - (load.get(nameOf(b)) ?? 0);
    return byLoad !== 0 ? byLoad : nameOf(a).localeCompare(nameOf(b));
  })[0];
  return best === undefined ? none('no node fits') : { node: nameOf(best) };
}
