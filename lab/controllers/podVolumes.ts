import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { objectAt, objectsAt, stringAt, stringsAt } from '../objects/json.js';
import { K } from '../objects/kinds.js';
import type { KubeObject } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';
import type { SandboxVolume } from '../runtime/contract.js';
import type { VolumeStorage } from '../storage/volumes.js';
import { containerOf } from './podStatus.js';

/**
 * What the kubelet does before a container starts: attach the pod's claims (an RWO claim to one node at a
 * time, an RWOP claim to one pod), make emptyDirs, and resolve each volume mount to a host directory.
 */
export interface PodOnNode {
  readonly uid: string;
  readonly namespace: string;
  readonly node: string;
  /** The RWO claims (`namespace/claim`) this pod holds attached. */
  attached: string[];
}

/** Why a container cannot start yet: the waiting reason, the event reason and its message. */
export interface VolumeWait {
  readonly reason: string;
  readonly event: string;
  readonly message: string;
}

export class Attachments {
  private readonly entries = new Map<string, { node: string; pods: Set<string> }>();

  /** Attaches `key` for the pod, or returns the uids of the pods that hold it where this pod cannot share it. */
  attach(key: string, pod: PodOnNode, onePodOnly: boolean): string[] {
    const entry = this.entries.get(key);
    const others = entry === undefined ? [] : [...entry.pods].filter((uid) => uid !== pod.uid);
    if (others.length > 0 && (entry?.node !== pod.node || onePodOnly)) return others;
    if (!pod.attached.includes(key)) {
      const held = entry ?? { node: pod.node, pods: new Set<string>() };
      held.pods.add(pod.uid);
      this.entries.set(key, held);
      pod.attached.push(key);
    }
    return [];
  }

  release(pod: PodOnNode): void {
    for (const key of pod.attached) {
      const entry = this.entries.get(key);
      entry?.pods.delete(pod.uid);
      if (entry?.pods.size === 0) this.entries.delete(key);
    }
  }
}

/**
 * A mount's subPath inside a volume, made if missing, without following symbolic links: a container could
 * otherwise plant `link -> /` in a shared volume and have the next pod mount the host (CVE-2017-1002101).
 * Undefined when the path leaves the volume or crosses a link.
 */
export async function subPathIn(volumeRoot: string, subPath: string): Promise<string | undefined> {
  const segments = subPath.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) return undefined;
  let current = await realpath(volumeRoot);
  for (const [index, segment] of segments.entries()) {
    const next = path.join(current, segment);
    const info = await lstat(next).catch(() => undefined);
    if (info === undefined) await mkdir(next, { mode: 0o777 });
    else if (info.isSymbolicLink()) return undefined;
    else if (!info.isDirectory() && !(info.isFile() && index === segments.length - 1)) return undefined;
    current = next;
  }
  return current;
}

/** What resolving volumes needs from the kubelet. */
export interface VolumeContext {
  readonly store: ObjectStore;
  readonly storage: VolumeStorage;
  readonly podsDir: string;
  readonly attachments: Attachments;
  readonly podName: (uid: string) => string;
}

/** Resolves the pod's volume mounts to host directories, or says what the container waits for. */
export async function resolveVolumes(
  context: VolumeContext,
  record: PodOnNode,
  pod: KubeObject,
): Promise<SandboxVolume[] | VolumeWait> {
  const { store, storage } = context;
  const volumes = new Map<string, { hostPath: string; readOnly: boolean }>();
  for (const volume of objectsAt(objectAt(pod, 'spec'), 'volumes')) {
    const name = stringAt(volume, 'name') ?? '';
    const claimRef = objectAt(volume, 'persistentVolumeClaim');
    if (claimRef !== undefined) {
      const claimName = stringAt(claimRef, 'claimName') ?? '';
      const claim = store.get(K.claims, record.namespace, claimName);
      if (claim === undefined || stringAt(objectAt(claim, 'status'), 'phase') !== 'Bound') {
        return {
          reason: 'ContainerCreating',
          event: 'FailedMount',
          message: `Unable to attach or mount volumes: unmounted volumes=[${name}], unattached volumes=[${name}]: error processing PVC ${record.namespace}/${claimName}: PVC is not bound`,
        };
      }
      const modes = stringsAt(objectAt(claim, 'spec'), 'accessModes');
      if (!modes.includes('ReadWriteMany') && !modes.includes('ReadOnlyMany')) {
        const others = context.attachments.attach(
          `${record.namespace}/${claimName}`,
          record,
          modes.includes('ReadWriteOncePod'),
        );
        if (others.length > 0) {
          const names = others.map(context.podName).join(', ');
          return {
            reason: 'ContainerCreating',
            event: 'FailedAttachVolume',
            message: `Multi-Attach error for volume "${stringAt(objectAt(claim, 'spec'), 'volumeName') ?? claimName}" Volume is already used by pod(s) ${names}`,
          };
        }
      }
      volumes.set(name, {
        hostPath: storage.pathOf(record.namespace, claimName),
        readOnly: claimRef.readOnly === true,
      });
    } else if (objectAt(volume, 'emptyDir') !== undefined) {
      const dir = path.join(context.podsDir, record.uid, 'volumes', name);
      await mkdir(dir, { recursive: true, mode: 0o777 });
      volumes.set(name, { hostPath: dir, readOnly: false });
    } else {
      const type = Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
      return {
        reason: 'ContainerCreating',
        event: 'FailedMount',
        message: `MountVolume.SetUp failed for volume "${name}": the lab mounts only persistentVolumeClaim and emptyDir volumes, not ${type}`,
      };
    }
  }
  const mounts: SandboxVolume[] = [];
  for (const mount of objectsAt(containerOf(pod).spec, 'volumeMounts')) {
    const volume = volumes.get(stringAt(mount, 'name') ?? '');
    if (volume === undefined) continue;
    const subPath = stringAt(mount, 'subPath') ?? '';
    const hostPath = subPath === '' ? volume.hostPath : await subPathIn(volume.hostPath, subPath);
    if (hostPath === undefined) {
      return {
        reason: 'CreateContainerConfigError',
        event: 'Failed',
        message: `Error: failed to prepare subPath for volumeMount "${stringAt(mount, 'name') ?? ''}" of container "${containerOf(pod).name}": subPath "${subPath}" is not a directory or file inside the volume (symbolic links are not followed)`,
      };
    }
    mounts.push({
      mountPath: stringAt(mount, 'mountPath') ?? '/',
      hostPath,
      readOnly: volume.readOnly || mount.readOnly === true,
    });
  }
  return mounts;
}
