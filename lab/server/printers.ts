import { arrayAt, jsonText, numberAt, objectAt, objectsAt, stringAt } from '../objects/json.js';
import type { Json } from '../objects/json.js';
import { annotationsOf, deletionTimestampOf, nameOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';

/**
 * The API server's printers for the kinds the lab serves: the columns and cells `kubectl get` shows (see
 * tables.ts for the Table envelope).
 */
export interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly format?: string;
  readonly priority?: number;
  readonly description: string;
}

export type Cell = string | number;

export interface Printer {
  readonly columns: readonly Column[];
  row(obj: KubeObject, now: number): Cell[];
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
};
const ageColumn: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp of the object.' };

/** kubectl's `duration.HumanDuration`: 45s, 3m20s, 12m, 5h10m, 3d4h, 400d, 2y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

function age(obj: KubeObject, now: number): string {
  const created = Date.parse(stringAt(obj.metadata, 'creationTimestamp') ?? '');
  return Number.isNaN(created) ? '<unknown>' : humanDuration(now - created);
}

function since(text: string | undefined, now: number): string {
  const at = Date.parse(text ?? '');
  return Number.isNaN(at) ? '<unknown>' : humanDuration(now - at);
}

const accessModeShort: Readonly<Record<string, string>> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};

function modes(list: Json[] | undefined): string {
  const text = (list ?? [])
    .filter((m): m is string => typeof m === 'string')
    .map((m) => accessModeShort[m] ?? m)
    .join(',');
  return text;
}

/** The STATUS column of `kubectl get pods`, following kubectl's printPod. */
export function podStatusText(pod: KubeObject): string {
  const status = objectAt(pod, 'status');
  let reason = stringAt(status, 'reason') ?? stringAt(status, 'phase') ?? 'Unknown';
  for (const container of objectsAt(status, 'containerStatuses')) {
    const state = objectAt(container, 'state');
    const waiting = objectAt(state, 'waiting');
    const terminated = objectAt(state, 'terminated');
    if (waiting !== undefined && stringAt(waiting, 'reason') !== undefined) {
      reason = stringAt(waiting, 'reason') ?? reason;
    } else if (terminated !== undefined) {
      const terminatedReason = stringAt(terminated, 'reason');
      const signal = numberAt(terminated, 'signal') ?? 0;
      reason =
        terminatedReason ?? (signal !== 0 ? `Signal:${signal}` : `ExitCode:${numberAt(terminated, 'exitCode') ?? 0}`);
    }
  }
  if (deletionTimestampOf(pod) !== undefined)
    reason = stringAt(status, 'reason') === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

const podPrinter: Printer = {
  columns: [
    nameColumn,
    { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.' },
    { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.' },
    {
      name: 'Restarts',
      type: 'string',
      description:
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    },
    ageColumn,
    {
      name: 'IP',
      type: 'string',
      priority: 1,
      description: 'IP address allocated to the pod. Routable at least within the cluster.',
    },
    { name: 'Node', type: 'string', priority: 1, description: 'Name of the Node this pod is scheduled on.' },
    { name: 'Nominated Node', type: 'string', priority: 1, description: 'Name of the node the pod is nominated on.' },
    { name: 'Readiness Gates', type: 'string', priority: 1, description: 'Pod readiness gates.' },
  ],
  row(pod, now) {
    const status = objectAt(pod, 'status');
    const containers = arrayAt(objectAt(pod, 'spec'), 'containers') ?? [];
    const statuses = objectsAt(status, 'containerStatuses');
    const ready = statuses.filter((c) => c.ready === true).length;
    const restarts = statuses.reduce((sum, c) => sum + (numberAt(c, 'restartCount') ?? 0), 0);
    const lastRestart = statuses
      .map((c) => stringAt(objectAt(objectAt(c, 'lastState'), 'terminated'), 'finishedAt'))
      .filter((t): t is string => t !== undefined)
      .sort()
      .pop();
    return [
      nameOf(pod),
      `${ready}/${containers.length}`,
      podStatusText(pod),
      restarts > 0 && lastRestart !== undefined ? `${restarts} (${since(lastRestart, now)} ago)` : String(restarts),
      age(pod, now),
      stringAt(status, 'podIP') ?? '<none>',
      stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '<none>',
      '<none>',
      '<none>',
    ];
  },
};

const pvcPrinter: Printer = {
  columns: [
    nameColumn,
    { name: 'Status', type: 'string', description: 'Phase represents the current phase of PersistentVolumeClaim.' },
    {
      name: 'Volume',
      type: 'string',
      description: 'VolumeName is the binding reference to the PersistentVolume backing this claim.',
    },
    {
      name: 'Capacity',
      type: 'string',
      description: 'Capacity represents the actual resources of the underlying volume.',
    },
    {
      name: 'Access Modes',
      type: 'string',
      description: 'AccessModes contains the actual access modes the volume backing the PVC has.',
    },
    {
      name: 'StorageClass',
      type: 'string',
      description: 'StorageClassName is the name of the StorageClass required by the claim.',
    },
    { name: 'VolumeAttributesClass', type: 'string', description: 'VolumeAttributesClassName of the claim.' },
    ageColumn,
    {
      name: 'VolumeMode',
      type: 'string',
      priority: 1,
      description: 'volumeMode defines what type of volume is required by the claim.',
    },
  ],
  row(pvc, now) {
    const spec = objectAt(pvc, 'spec');
    const status = objectAt(pvc, 'status');
    const phase = deletionTimestampOf(pvc) !== undefined ? 'Terminating' : (stringAt(status, 'phase') ?? 'Pending');
    return [
      nameOf(pvc),
      phase,
      stringAt(spec, 'volumeName') ?? '',
      stringAt(objectAt(status, 'capacity'), 'storage') ?? '',
      modes(arrayAt(status, 'accessModes')),
      stringAt(spec, 'storageClassName') ?? '',
      '<unset>',
      age(pvc, now),
      stringAt(spec, 'volumeMode') ?? 'Filesystem',
    ];
  },
};

const pvPrinter: Printer = {
  columns: [
    nameColumn,
    {
      name: 'Capacity',
      type: 'string',
      description: "capacity is the description of the persistent volume's resources and capacity.",
    },
    { name: 'Access Modes', type: 'string', description: 'accessModes contains all ways the volume can be mounted.' },
    {
      name: 'Reclaim Policy',
      type: 'string',
      description:
        'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.',
    },
    {
      name: 'Status',
      type: 'string',
      description: 'phase indicates if a volume is available, bound to a claim, or released by a claim.',
    },
    {
      name: 'Claim',
      type: 'string',
      description: 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
    },
    {
      name: 'StorageClass',
      type: 'string',
      description: 'storageClassName is the name of StorageClass to which this persistent volume belongs.',
    },
    {
      name: 'VolumeAttributesClass',
      type: 'string',
      description: 'Name of VolumeAttributesClass to which this persistent volume belongs.',
    },
    { name: 'Reason', type: 'string', description: 'reason is a brief CamelCase string that describes any failure.' },
    ageColumn,
    {
      name: 'VolumeMode',
      type: 'string',
      priority: 1,
      description:
        'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
    },
  ],
  row(pv, now) {
    const spec = objectAt(pv, 'spec');
    const claim = objectAt(spec, 'claimRef');
    return [
      nameOf(pv),
      stringAt(objectAt(spec, 'capacity'), 'storage') ?? '',
      modes(arrayAt(spec, 'accessModes')),
      stringAt(spec, 'persistentVolumeReclaimPolicy') ?? 'Delete',
      stringAt(objectAt(pv, 'status'), 'phase') ?? '',
      claim === undefined ? '' : `${stringAt(claim, 'namespace') ?? ''}/${stringAt(claim, 'name') ?? ''}`,
      stringAt(spec, 'storageClassName') ?? '',
      '<unset>',
      stringAt(objectAt(pv, 'status'), 'reason') ?? '',
      age(pv, now),
      stringAt(spec, 'volumeMode') ?? 'Filesystem',
    ];
  },
};

const namespacePrinter: Printer = {
  columns: [nameColumn, { name: 'Status', type: 'string', description: 'The status of the namespace' }, ageColumn],
  row: (ns, now) => [nameOf(ns), stringAt(objectAt(ns, 'status'), 'phase') ?? 'Active', age(ns, now)],
};

const nodePrinter: Printer = {
  columns: [
    nameColumn,
    { name: 'Status', type: 'string', description: 'The status of the node' },
    { name: 'Roles', type: 'string', description: 'The roles of the node' },
    ageColumn,
    { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.' },
    { name: 'Internal-IP', type: 'string', priority: 1, description: 'List of addresses reachable to the node.' },
    { name: 'External-IP', type: 'string', priority: 1, description: 'List of addresses reachable to the node.' },
    { name: 'OS-Image', type: 'string', priority: 1, description: 'OS Image reported by the node.' },
    { name: 'Kernel-Version', type: 'string', priority: 1, description: 'Kernel Version reported by the node.' },
    {
      name: 'Container-Runtime',
      type: 'string',
      priority: 1,
      description: 'Container Runtime Version reported by the node.',
    },
  ],
  row(node, now) {
    const status = objectAt(node, 'status');
    const ready = objectsAt(status, 'conditions').find((c) => c.type === 'Ready');
    const unschedulable = objectAt(node, 'spec')?.unschedulable === true;
    const info = objectAt(status, 'nodeInfo');
    const address = (type: string): string =>
      stringAt(
        objectsAt(status, 'addresses').find((a) => a.type === type),
        'address',
      ) ?? '<none>';
    return [
      nameOf(node),
      `${ready?.status === 'True' ? 'Ready' : 'NotReady'}${unschedulable ? ',SchedulingDisabled' : ''}`,
      '<none>',
      age(node, now),
      stringAt(info, 'kubeletVersion') ?? '',
      address('InternalIP'),
      address('ExternalIP'),
      stringAt(info, 'osImage') ?? '',
      stringAt(info, 'kernelVersion') ?? '',
      stringAt(info, 'containerRuntimeVersion') ?? '',
    ];
  },
};

const jobPrinter: Printer = {
  columns: [
    nameColumn,
    { name: 'Status', type: 'string', description: 'Status of the job.' },
    { name: 'Completions', type: 'string', description: 'The completion status of the job.' },
    { name: 'Duration', type: 'string', description: 'Time required to complete the job.' },
    ageColumn,
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.' },
    {
      name: 'Images',
      type: 'string',
      priority: 1,
      description: 'Images referenced by each container in the template.',
    },
    { name: 'Selector', type: 'string', priority: 1, description: 'Selector of the job.' },
  ],
  row(job, now) {
    const spec = objectAt(job, 'spec');
    const status = objectAt(job, 'status');
    const conditions = objectsAt(status, 'conditions').filter((c) => c.status === 'True');
    const condition = (type: string): boolean => conditions.some((c) => c.type === type);
    const state = condition('Complete')
      ? 'Complete'
      : condition('Failed')
        ? 'Failed'
        : spec?.suspend === true
          ? 'Suspended'
          : condition('FailureTarget')
            ? 'FailureTarget'
            : 'Running';
    const start = Date.parse(stringAt(status, 'startTime') ?? '');
    const end = Date.parse(stringAt(status, 'completionTime') ?? '');
    const duration = Number.isNaN(start) ? '' : humanDuration((Number.isNaN(end) ? now : end) - start);
    const templateContainers = objectsAt(objectAt(objectAt(spec, 'template'), 'spec'), 'containers');
    const matchLabels = objectAt(objectAt(spec, 'selector'), 'matchLabels') ?? {};
    return [
      nameOf(job),
      state,
      `${numberAt(status, 'succeeded') ?? 0}/${numberAt(spec, 'completions') ?? 1}`,
      duration,
      age(job, now),
      templateContainers.map((c) => stringAt(c, 'name') ?? '').join(','),
      templateContainers.map((c) => stringAt(c, 'image') ?? '').join(','),
      Object.entries(matchLabels)
        .map(([k, v]) => `${k}=${jsonText(v)}`)
        .join(','),
    ];
  },
};

const eventPrinter: Printer = {
  columns: [
    { name: 'Last Seen', type: 'string', description: 'Time when last occurrence of this event was recorded.' },
    { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning).' },
    { name: 'Reason', type: 'string', description: 'Reason why this event was generated.' },
    { name: 'Object', type: 'string', description: 'The object that this event is about.' },
    { name: 'Subobject', type: 'string', priority: 1, description: 'The subobject that this event is about.' },
    { name: 'Source', type: 'string', priority: 1, description: 'The component reporting this event.' },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.' },
    { name: 'First Seen', type: 'string', priority: 1, description: 'Time when this event was first recorded.' },
    { name: 'Count', type: 'string', priority: 1, description: 'The number of times this event has occurred.' },
    { ...nameColumn, priority: 1 },
  ],
  row(event, now) {
    const involved = objectAt(event, 'involvedObject');
    return [
      since(stringAt(event, 'lastTimestamp') ?? stringAt(event, 'eventTime'), now),
      stringAt(event, 'type') ?? '',
      stringAt(event, 'reason') ?? '',
      `${(stringAt(involved, 'kind') ?? '').toLowerCase()}/${stringAt(involved, 'name') ?? ''}`,
      stringAt(involved, 'fieldPath') ?? '',
      stringAt(objectAt(event, 'source'), 'component') ?? '',
      stringAt(event, 'message') ?? '',
      since(stringAt(event, 'firstTimestamp'), now),
      String(numberAt(event, 'count') ?? 1),
      nameOf(event),
    ];
  },
};

const quotaPrinter: Printer = {
  columns: [
    nameColumn,
    ageColumn,
    {
      name: 'Request',
      type: 'string',
      description: 'Request represents a minimum amount of cpu/memory that a container may consume.',
    },
    {
      name: 'Limit',
      type: 'string',
      description:
        'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.',
    },
  ],
  row(quota, now) {
    const status = objectAt(quota, 'status');
    const hard = objectAt(status, 'hard') ?? objectAt(objectAt(quota, 'spec'), 'hard') ?? {};
    const used = objectAt(status, 'used') ?? {};
    const pairs = (keys: string[]): string =>
      keys
        .sort()
        .map((key) => `${key}: ${stringAt(used, key) ?? '0'}/${jsonText(hard[key])}`)
        .join(', ');
    const keys = Object.keys(hard);
    return [
      nameOf(quota),
      age(quota, now),
      pairs(keys.filter((k) => !k.startsWith('limits.'))),
      pairs(keys.filter((k) => k.startsWith('limits.'))),
    ];
  },
};

const storageClassPrinter: Printer = {
  columns: [
    nameColumn,
    { name: 'Provisioner', type: 'string', description: 'Provisioner indicates the type of the provisioner.' },
    {
      name: 'ReclaimPolicy',
      type: 'string',
      description:
        'Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy.',
    },
    {
      name: 'VolumeBindingMode',
      type: 'string',
      description: 'VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.',
    },
    {
      name: 'AllowVolumeExpansion',
      type: 'string',
      description: 'AllowVolumeExpansion shows whether the storage class allow volume expand.',
    },
    ageColumn,
  ],
  row(sc, now) {
    const isDefault = annotationsOf(sc)['storageclass.kubernetes.io/is-default-class'] === 'true';
    return [
      `${nameOf(sc)}${isDefault ? ' (default)' : ''}`,
      stringAt(sc, 'provisioner') ?? '',
      stringAt(sc, 'reclaimPolicy') ?? 'Delete',
      stringAt(sc, 'volumeBindingMode') ?? 'Immediate',
      String(sc.allowVolumeExpansion === true),
      age(sc, now),
    ];
  },
};

const configMapPrinter: Printer = {
  columns: [
    nameColumn,
    { name: 'Data', type: 'integer', description: 'Data contains the configuration data.' },
    ageColumn,
  ],
  row: (cm, now) => [nameOf(cm), Object.keys(objectAt(cm, 'data') ?? {}).length, age(cm, now)],
};

const bindingPrinter: Printer = {
  columns: [
    nameColumn,
    { name: 'Role', type: 'string', description: 'RoleRef is the reference to the role.' },
    ageColumn,
    { name: 'Users', type: 'string', priority: 1, description: 'Users in the binding.' },
    { name: 'Groups', type: 'string', priority: 1, description: 'Groups in the binding.' },
    { name: 'ServiceAccounts', type: 'string', priority: 1, description: 'ServiceAccounts in the binding.' },
  ],
  row(binding, now) {
    const ref = objectAt(binding, 'roleRef');
    const subjects = objectsAt(binding, 'subjects');
    const of = (kind: string): string =>
      subjects
        .filter((s) => s.kind === kind)
        .map((s) =>
          kind === 'ServiceAccount'
            ? `${stringAt(s, 'namespace') ?? ''}/${stringAt(s, 'name') ?? ''}`
            : (stringAt(s, 'name') ?? ''),
        )
        .join(', ');
    return [
      nameOf(binding),
      `${stringAt(ref, 'kind') ?? ''}/${stringAt(ref, 'name') ?? ''}`,
      age(binding, now),
      of('User'),
      of('Group'),
      of('ServiceAccount'),
    ];
  },
};

/** What the API server prints for kinds without a printer (CRDs and the like). */
const defaultPrinter: Printer = {
  columns: [nameColumn, { name: 'Created At', type: 'date', description: 'CreationTimestamp of the object.' }],
  row: (obj) => [nameOf(obj), stringAt(obj.metadata, 'creationTimestamp') ?? ''],
};

const printers: Readonly<Record<string, Printer>> = {
  Pod: podPrinter,
  PersistentVolumeClaim: pvcPrinter,
  PersistentVolume: pvPrinter,
  Namespace: namespacePrinter,
  Node: nodePrinter,
  Job: jobPrinter,
  Event: eventPrinter,
  ResourceQuota: quotaPrinter,
  StorageClass: storageClassPrinter,
  ConfigMap: configMapPrinter,
  RoleBinding: bindingPrinter,
  ClusterRoleBinding: bindingPrinter,
};

/** The printer for a kind: its own, or the API server's default (Name, Created At). */
export function printerFor(kindName: string): Printer {
  return printers[kindName] ?? defaultPrinter;
}
