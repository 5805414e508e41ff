import { isJsonObject } from './json.js';
import type { Json } from './json.js';

/**
 * The fields each kind has, for the API server's field validation (`?fieldValidation=Strict`, which kubectl
 * sends): a misspelt field in a manifest is an error on a real cluster, so it is one here too. Shapes cover
 * what users write; parts the lab does not model (probes, affinity, security contexts) are open.
 */
type FieldShape = true | Shape | { readonly list: Shape };
interface Shape {
  readonly [field: string]: FieldShape;
}

const open = true;

function leaves(...names: string[]): Shape {
  return Object.fromEntries(names.map((n) => [n, open]));
}

const metadata: Shape = leaves(
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
);

const volumeMount = leaves(
  'name',
  'readOnly',
  'recursiveReadOnly',
  'mountPath',
  'subPath',
  'mountPropagation',
  'subPathExpr',
);
const envVar = leaves('name', 'value', 'valueFrom');
const container: Shape = {
  ...leaves(
    'name',
    'image',
    'command',
    'args',
    'workingDir',
    'ports',
    'envFrom',
    'resources',
    'resizePolicy',
    'restartPolicy',
    'volumeDevices',
    'livenessProbe',
    'readinessProbe',
    'startupProbe',
    'lifecycle',
    'terminationMessagePath',
    'terminationMessagePolicy',
    'imagePullPolicy',
    'securityContext',
    'stdin',
    'stdinOnce',
    'tty',
  ),
  env: { list: envVar },
  volumeMounts: { list: volumeMount },
};
const volume = leaves(
  'name',
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
);
const podSpec: Shape = {
  ...leaves(
    'restartPolicy',
    'terminationGracePeriodSeconds',
    'activeDeadlineSeconds',
    'dnsPolicy',
    'nodeSelector',
    'serviceAccountName',
    'serviceAccount',
    'automountServiceAccountToken',
    'nodeName',
    'hostNetwork',
    'hostPID',
    'hostIPC',
    'shareProcessNamespace',
    'securityContext',
    'imagePullSecrets',
    'hostname',
    'subdomain',
    'affinity',
    'schedulerName',
    'tolerations',
    'hostAliases',
    'priorityClassName',
    'priority',
    'dnsConfig',
    'readinessGates',
    'runtimeClassName',
    'enableServiceLinks',
    'preemptionPolicy',
    'overhead',
    'topologySpreadConstraints',
    'setHostnameAsFQDN',
    'os',
    'hostUsers',
    'schedulingGates',
    'resourceClaims',
    'resources',
    'ephemeralContainers',
  ),
  containers: { list: container },
  initContainers: { list: container },
  volumes: { list: volume },
};

const objectShapes: Readonly<Record<string, Shape>> = {
  Pod: { spec: podSpec, status: open },
  PersistentVolumeClaim: {
    spec: leaves(
      'accessModes',
      'selector',
      'resources',
      'volumeName',
      'storageClassName',
      'volumeMode',
      'dataSource',
      'dataSourceRef',
      'volumeAttributesClassName',
    ),
    status: open,
  },
  Job: {
    spec: {
      ...leaves(
        'parallelism',
        'completions',
        'activeDeadlineSeconds',
        'podFailurePolicy',
        'successPolicy',
        'backoffLimit',
        'backoffLimitPerIndex',
        'maxFailedIndexes',
        'selector',
        'manualSelector',
        'ttlSecondsAfterFinished',
        'completionMode',
        'suspend',
        'podReplacementPolicy',
        'managedBy',
      ),
      template: { metadata, spec: podSpec },
    },
    status: open,
  },
  ResourceQuota: { spec: leaves('hard', 'scopes', 'scopeSelector'), status: open },
  ConfigMap: leaves('data', 'binaryData', 'immutable'),
  Namespace: { spec: leaves('finalizers'), status: open },
  Role: { rules: { list: leaves('apiGroups', 'resources', 'resourceNames', 'nonResourceURLs', 'verbs') } },
  ClusterRole: {
    rules: { list: leaves('apiGroups', 'resources', 'resourceNames', 'nonResourceURLs', 'verbs') },
    aggregationRule: open,
  },
  RoleBinding: {
    subjects: { list: leaves('kind', 'apiGroup', 'name', 'namespace') },
    roleRef: leaves('apiGroup', 'kind', 'name'),
  },
  ClusterRoleBinding: {
    subjects: { list: leaves('kind', 'apiGroup', 'name', 'namespace') },
    roleRef: leaves('apiGroup', 'kind', 'name'),
  },
  StorageClass: leaves(
    'provisioner',
    'parameters',
    'reclaimPolicy',
    'mountOptions',
    'allowVolumeExpansion',
    'volumeBindingMode',
    'allowedTopologies',
  ),
  SelfSubjectAccessReview: { spec: leaves('resourceAttributes', 'nonResourceAttributes'), status: open },
  SelfSubjectRulesReview: { spec: leaves('namespace'), status: open },
};

function walk(value: Json | undefined, shape: FieldShape, path: string, out: string[]): void {
  if (shape === true || value === undefined || value === null) return;
  if ('list' in shape && typeof shape.list === 'object') {
    const itemShape = shape.list as Shape;
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, itemShape, `${path}[${i}]`, out));
    return;
  }
  if (!isJsonObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const childShape = (shape as Shape)[key];
    const childPath = path === '' ? key : `${path}.${key}`;
    if (childShape === undefined) out.push(childPath);
    else walk(child, childShape, childPath, out);
  }
}

/** The unknown fields of an object of `kind`, as paths (`spec.containers[0].imge`); [] for open kinds. */
export function unknownFields(kindName: string, obj: Json): string[] {
  const shape = objectShapes[kindName];
  if (shape === undefined) return [];
  const out: string[] = [];
  walk(obj, { apiVersion: open, kind: open, metadata, ...shape }, '', out);
  return out;
}
