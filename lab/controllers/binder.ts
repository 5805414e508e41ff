import { objectAt, objectsAt, stringAt, stringsAt } from '../objects/json.js';
import { K } from '../objects/kinds.js';
import {
  annotationsOf,
  deletionTimestampOf,
  finalizersOf,
  nameOf,
  namespaceOf,
  resourceVersionOf,
  uidOf,
} from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import { parseQuantity } from '../objects/quantity.js';
import type { ObjectStore } from '../objects/store.js';
import { laneOfProvisioner } from '../storage/lanes.js';
import type { VolumeStorage } from '../storage/volumes.js';
import { pvcProtectionFinalizer } from './admission.js';
import type { EventRecorder } from './events.js';
import { SyncLoop } from './trigger.js';

/** Annotations the lab understands on claims. */
export const labAnnotations = {
  /** `Pending`: the claim never binds (a provisioner that never answers). */
  phase: 'lab.tether.dev/phase',
  /** `"true"`: back the claim with a tmpfs of its size (only when the lab runs as root). */
  enforceCapacity: 'lab.tether.dev/enforce-capacity',
} as const;

export interface BinderOptions {
  readonly store: ObjectStore;
  readonly storage: VolumeStorage;
  readonly events: EventRecorder;
  /** Back every claim up to this many bytes with a size-limited mount (besides annotated claims). */
  readonly enforceCapacityUpTo?: number;
  /** Called once for a claim whose directory was created now (fixtures seed sample data here). */
  readonly onProvisioned?: (namespace: string, claim: string, dir: string) => Promise<void>;
  readonly onError: (error: unknown) => void;
}

/** Pods that still use a claim: any pod of its namespace naming it that has not finished. */
export function podsUsingClaim(store: ObjectStore, namespace: string, claim: string): KubeObject[] {
  return store.list(K.pods, namespace).filter((pod) => {
    const phase = stringAt(objectAt(pod, 'status'), 'phase');
    if (phase === 'Succeeded' || phase === 'Failed') return false;
    return objectsAt(objectAt(pod, 'spec'), 'volumes').some(
      (volume) => stringAt(objectAt(volume, 'persistentVolumeClaim'), 'claimName') === claim,
    );
  });
}

function requestedBytes(claim: KubeObject): number {
  const text = stringAt(objectAt(objectAt(objectAt(claim, 'spec'), 'resources'), 'requests'), 'storage') ?? '';
  return parseQuantity(text)?.value ?? 0;
}

/**
 * The PersistentVolume controller and a CSI provisioner per storage lane in one: binds new claims to fresh
 * volumes (a directory under the lab's volume root), grows them, keeps claims in use from going
 * (pvc-protection) and deletes a volume's data when its claim is gone (reclaim policy Delete).
 */
export class VolumeBinder {
  private readonly options: BinderOptions;
  private readonly loop: SyncLoop;
  private readonly unsubscribe: () => void;
  private readonly releasing = new Set<Promise<void>>();
  private readonly waitingReported = new Set<string>();

  constructor(options: BinderOptions) {
    this.options = options;
    this.loop = new SyncLoop(() => this.sync(), options.onError, 5_000);
    this.unsubscribe = options.store.subscribe((event) => {
      if (event.kind.plural === K.claims.plural && event.type === 'DELETED') this.release(event.object);
      if ([K.claims.plural, K.pods.plural, K.storageClasses.plural].includes(event.kind.plural)) this.loop.trigger();
    });
    this.loop.trigger();
  }

  private release(claim: KubeObject): void {
    const { store, storage } = this.options;
    const volumeName = stringAt(objectAt(claim, 'spec'), 'volumeName');
    if (volumeName !== undefined) store.remove(K.volumes, '', volumeName);
    this.waitingReported.delete(uidOf(claim));
    const done = storage
      .release(namespaceOf(claim), nameOf(claim))
      .catch(this.options.onError)
      .finally(() => this.releasing.delete(done));
    this.releasing.add(done);
  }

  private async sync(): Promise<void> {
    const { store } = this.options;
    for (const claim of store.list(K.claims)) {
      const namespace = namespaceOf(claim);
      const name = nameOf(claim);
      if (deletionTimestampOf(claim) !== undefined) {
        // pvc-protection: the claim goes once no unfinished pod uses it.
        if (
          podsUsingClaim(store, namespace, name).length === 0 &&
          finalizersOf(claim).includes(pvcProtectionFinalizer)
        ) {
          store.mutate(K.claims, namespace, name, (obj) => {
            obj.metadata.finalizers = finalizersOf(obj).filter((f) => f !== pvcProtectionFinalizer);
          });
        }
        continue;
      }
      const phase = stringAt(objectAt(claim, 'status'), 'phase');
      if (phase === 'Bound') await this.expand(claim);
      else await this.bind(claim);
    }
  }

  private waiting(claim: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const key = `${uidOf(claim)}\0${reason}\0${message}`;
    if (this.waitingReported.has(key)) return;
    this.waitingReported.add(key);
    this.options.events.record(K.claims, claim, type, reason, message, 'persistentvolume-controller');
  }

  private async bind(claim: KubeObject): Promise<void> {
    const { store, storage, events } = this.options;
    const namespace = namespaceOf(claim);
    const name = nameOf(claim);
    const spec = objectAt(claim, 'spec');
    const className = stringAt(spec, 'storageClassName') ?? '';
    const storageClass = className === '' ? undefined : store.get(K.storageClasses, '', className);
    const provisioner = stringAt(storageClass, 'provisioner') ?? '';
    const waitingForProvisioner = `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`;
    if (annotationsOf(claim)[labAnnotations.phase] === 'Pending') {
      this.waiting(claim, 'Normal', 'ExternalProvisioning', waitingForProvisioner);
      return;
    }
    if (className === '') {
      this.waiting(
        claim,
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
      );
      return;
    }
    if (storageClass === undefined) {
      this.waiting(claim, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      return;
    }
    const lane = laneOfProvisioner(provisioner);
    if (lane === undefined) {
      this.waiting(claim, 'Normal', 'ExternalProvisioning', waitingForProvisioner);
      return;
    }
    const modes = stringsAt(spec, 'accessModes');
    const unsupported = modes.find((mode) => !lane.accessModes.includes(mode));
    if (unsupported !== undefined) {
      this.waiting(
        claim,
        'Warning',
        'ProvisioningFailed',
        `failed to provision volume with StorageClass "${className}": rpc error: code = InvalidArgument desc = access mode ${unsupported} is not supported by ${provisioner}`,
      );
      return;
    }
    const bytes = requestedBytes(claim);
    const limit = this.options.enforceCapacityUpTo;
    const enforce =
      annotationsOf(claim)[labAnnotations.enforceCapacity] === 'true' || (limit !== undefined && bytes <= limit);
    events.record(
      K.claims,
      claim,
      'Normal',
      'Provisioning',
      `External provisioner is provisioning volume for claim "${namespace}/${name}"`,
      `${provisioner}_lab`,
    );
    const provisioned = await storage.provision(
      namespace,
      name,
      enforce && storage.enforcesCapacity ? bytes : undefined,
    );
    if (provisioned.created) await this.options.onProvisioned?.(namespace, name, provisioned.path);
    // The claim may have gone or changed while the directory was being made.
    const current = store.get(K.claims, namespace, name);
    if (
      current === undefined ||
      uidOf(current) !== uidOf(claim) ||
      stringAt(objectAt(current, 'status'), 'phase') === 'Bound'
    )
      return;
    const volumeName = `pvc-${uidOf(claim)}`;
    const storageText = stringAt(objectAt(objectAt(spec, 'resources'), 'requests'), 'storage') ?? '0';
    if (store.get(K.volumes, '', volumeName) === undefined) {
      store.create(K.volumes, {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: volumeName,
          annotations: { 'pv.kubernetes.io/provisioned-by': provisioner, 'lab.tether.dev/host-path': provisioned.path },
          finalizers: ['kubernetes.io/pv-protection'],
        },
        spec: {
          capacity: { storage: storageText },
          accessModes: modes,
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: className,
          volumeMode: stringAt(spec, 'volumeMode') ?? 'Filesystem',
          claimRef: {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            namespace,
            name,
            uid: uidOf(claim),
            resourceVersion: resourceVersionOf(current),
          },
          csi: { driver: provisioner, volumeHandle: volumeName, fsType: 'ext4' },
        },
      });
      store.mutate(K.volumes, '', volumeName, (pv) => {
        pv.status = { phase: 'Bound', lastPhaseTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
      });
    }
    store.mutate(K.claims, namespace, name, (obj) => {
      const objSpec = objectAt(obj, 'spec');
      if (objSpec !== undefined) objSpec.volumeName = volumeName;
      obj.metadata.annotations = {
        ...annotationsOf(obj),
        'pv.kubernetes.io/bind-completed': 'yes',
        'pv.kubernetes.io/bound-by-controller': 'yes',
        'volume.beta.kubernetes.io/storage-provisioner': provisioner,
        'volume.kubernetes.io/storage-provisioner': provisioner,
      };
      obj.status = { phase: 'Bound', accessModes: modes, capacity: { storage: storageText } };
    });
    events.record(
      K.claims,
      claim,
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${volumeName}`,
      `${provisioner}_lab`,
    );
  }

  private async expand(claim: KubeObject): Promise<void> {
    const { store, storage } = this.options;
    const capacityText = stringAt(objectAt(objectAt(claim, 'status'), 'capacity'), 'storage') ?? '0';
    const capacity = parseQuantity(capacityText)?.value ?? 0;
    const requested = requestedBytes(claim);
    if (requested <= capacity) return;
    const requestText =
      stringAt(objectAt(objectAt(objectAt(claim, 'spec'), 'resources'), 'requests'), 'storage') ?? capacityText;
    await storage.resize(namespaceOf(claim), nameOf(claim), requested);
    store.mutate(K.claims, namespaceOf(claim), nameOf(claim), (obj) => {
      const status = objectAt(obj, 'status');
      if (status !== undefined) status.capacity = { storage: requestText };
    });
    const volumeName = stringAt(objectAt(claim, 'spec'), 'volumeName');
    if (volumeName !== undefined) {
      store.mutate(K.volumes, '', volumeName, (pv) => {
        const spec = objectAt(pv, 'spec');
        if (spec !== undefined) spec.capacity = { storage: requestText };
      });
    }
    this.options.events.record(
      K.claims,
      claim,
      'Normal',
      'FileSystemResizeSuccessful',
      `MountVolume.NodeExpandVolume succeeded for volume "${volumeName ?? ''}"`,
      'kubelet',
    );
  }

  async idle(): Promise<void> {
    await this.loop.idle();
    await Promise.all(this.releasing);
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    await this.loop.stop();
    await Promise.all(this.releasing);
  }
}
