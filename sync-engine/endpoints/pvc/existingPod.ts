import { CoreV1Api } from '../../vendor/kube.js';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { TetherError } from '../../errors.js';
import { apiError, canI } from './helperPod.js';

/** A Running pod that already mounts the claim (a notebook, a viewer), and where the claim appears in it. */
export interface MountingPod {
  readonly pod: string;
  readonly container: string;
  /** The folder in the container that shows the claim's root (or the mount's subPath). */
  readonly mountPath: string;
  /** The mount's `subPath` inside the claim ('' for the whole claim). */
  readonly subPath: string;
  readonly readOnly: boolean;
}

/** Where `claim` is mounted in `pod`, if it is. Pure. */
export function mountOf(pod: V1Pod, claim: string): MountingPod | undefined {
  const volume = (pod.spec?.volumes ?? []).find((v) => v.persistentVolumeClaim?.claimName === claim);
  if (volume === undefined) return undefined;
  for (const container of pod.spec?.containers ?? []) {
    const mount = (container.volumeMounts ?? []).find((m) => m.name === volume.name);
    if (mount === undefined) continue;
    return {
      pod: pod.metadata?.name ?? '',
      container: container.name,
      mountPath: mount.mountPath.replace(/\/+$/, ''),
      subPath: (mount.subPath ?? '').replace(/^\/+|\/+$/g, ''),
      readOnly: mount.readOnly === true || volume.persistentVolumeClaim?.readOnly === true,
    };
  }
  return undefined;
}

/**
 * The folder in the pod for `subpath` of the claim, through the mount's mountPath and subPath; undefined
 * when the mount shows only another part of the claim.
 */
export function podPathFor(mount: MountingPod, subpath: string): string | undefined {
  if (mount.subPath === '') return subpath === '' ? mount.mountPath : `${mount.mountPath}/${subpath}`;
  if (subpath === mount.subPath) return mount.mountPath;
  if (subpath.startsWith(`${mount.subPath}/`)) return `${mount.mountPath}/${subpath.slice(mount.subPath.length + 1)}`;
  return undefined;
}

/**
 * Finds a Running pod mounting the claim that the user may exec into: the one named, or else any. Returns
 * undefined when there is none (and no pod was named).
 */
export async function findMountingPod(
  kubeConfig: KubeConfig,
  namespace: string,
  claim: string,
  named?: string,
): Promise<MountingPod | undefined> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let pods: V1Pod[];
  try {
    pods =
      named === undefined
        ? (await core.listNamespacedPod({ namespace })).items
        : [await core.readNamespacedPod({ name: named, namespace })];
  } catch (error) {
    throw apiError(
      named === undefined ? `list pods in namespace ${namespace}` : `read the pod ${namespace}/${named}`,
      error,
    );
  }
  for (const pod of pods) {
    const mount = mountOf(pod, claim);
    if (mount === undefined) {
      if (named !== undefined)
        throw new TetherError('bad-argument', `the pod ${namespace}/${named} does not mount the PVC ${claim}`);
      continue;
    }
    if (pod.status?.phase !== 'Running') {
      if (named !== undefined)
        throw new TetherError(
          'remote-unreachable',
          `the pod ${namespace}/${named} is not Running (${pod.status?.phase ?? 'unknown'})`,
        );
      continue;
    }
    if (!(await canExec(kubeConfig, namespace, mount.pod))) {
      if (named !== undefined)
        throw new TetherError(
          'permission-denied',
          `you may not exec into the pod ${namespace}/${named} (pods/exec is forbidden)`,
        );
      continue;
    }
    return mount;
  }
  return undefined;
}

async function canExec(kubeConfig: KubeConfig, namespace: string, pod: string): Promise<boolean> {
  return canI(kubeConfig, namespace, 'create', 'pods', 'exec', pod);
}
