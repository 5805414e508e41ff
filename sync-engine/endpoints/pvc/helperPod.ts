/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node's generated V1* model
   classes are plain data shapes without behaviour; its API takes object literals (as its own examples do). */
import { randomBytes } from 'node:crypto';
import { ApiException, AuthorizationV1Api, CoreV1Api } from '../../vendor/kube.js';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { TetherError } from '../../errors.js';

/**
 * The helper pod Tether creates to reach a claim: a small image (BusyBox by default) that mounts the claim at
 * /data. Its life is bounded three ways: the sync deletes it when done; its main process exits once nobody
 * touched its heartbeat file for the idle timeout (a crashed Tether stops touching it); and
 * `activeDeadlineSeconds` ends it regardless. It is labelled as managed by Tether with the user, the pair and
 * an owner key (host + pair + remote), so the next start of the same pair deletes what a crashed run left, and
 * any start by the same user deletes that user's helpers that already ended or expired.
 * Also: the claim's checks (exists, bound) and the permission checks.
 */
export const DEFAULT_HELPER_IMAGE = 'busybox:1.36';
export const HELPER_MOUNT = '/data';
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const USER_LABEL = 'tether.dev/user';
export const PAIR_LABEL = 'tether.dev/pair';
export const OWNER_LABEL = 'tether.dev/owner';
export const EXPIRES_ANNOTATION = 'tether.dev/expires-at';
/** The helper's idle timeout in seconds. */
export const IDLE_ANNOTATION = 'tether.dev/idle-timeout-seconds';
/** On a helper made to outlive its sync for the next one of the same pair (see helperReuse.ts). */
export const KEPT_ANNOTATION = 'tether.dev/kept-for-reuse';
/** The file whose mtime says when Tether last used the pod (see `HEARTBEAT_COMMAND`). */
export const HEARTBEAT_FILE = '/tmp/.tether-alive';
/** argv that tells the helper it is still in use. */
export const HEARTBEAT_COMMAND: readonly string[] = ['touch', HEARTBEAT_FILE];
/** A helper ends itself after this long unused: kept for the next sync that long, or a crashed run's. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 10 * 60;
export const DEFAULT_LIFETIME_SECONDS = 6 * 3600;

/**
 * The helper's main process: it runs while the heartbeat file was touched within the last `$1` seconds, then
 * exits 0 (the pod ends as Succeeded and stops using the node and the claim).
 */
export const idleScript =
  'f=$2; touch "$f" || exit 1; ' +
  'while n=$(date +%s) && a=$(stat -c %Y "$f") && [ $((n - a)) -lt "$1" ]; do sleep 2; done';

/** Any text as a Kubernetes label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends. Pure. */
export function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

/** Who a helper pod belongs to; see `helperLabels`. */
export interface HelperOwner {
  /** The Kubernetes user (the kubeconfig's user name). */
  readonly user: string;
  /** The pair's name ('' when opened outside a pair). */
  readonly pair: string;
  /** Stable per host + pair + remote: the helper pods carrying it can only be this pair's, left by a crash. */
  readonly key: string;
}

/** The labels of a helper pod. Pure. */
export function helperLabels(owner: HelperOwner): Record<string, string> {
  return {
    [MANAGED_BY]: 'tether',
    [USER_LABEL]: labelValue(owner.user) || 'unknown',
    [PAIR_LABEL]: labelValue(owner.pair) || 'none',
    [OWNER_LABEL]: labelValue(owner.key),
  };
}

export interface HelperPodOptions {
  readonly image?: string;
  readonly owner: HelperOwner;
  /** Upper bound on the pod's life in seconds (default 6 h); the sync deletes it sooner. */
  readonly lifetimeSeconds?: number;
  /** The pod ends itself after this long without a heartbeat (default 10 min). */
  readonly idleTimeoutSeconds?: number;
  /** How long to wait for the pod to run (default 120 s). */
  readonly startTimeoutMs?: number;
  /** The helper outlives its sync, for the next sync of the pair to take over (see helperReuse.ts). */
  readonly keep?: boolean;
  /** Pin the pod to this node (an RWO claim already mounted there by `pod`). */
  readonly sameNodeAs?: { readonly pod: string; readonly node: string };
}

export interface HelperPod {
  readonly name: string;
  readonly namespace: string;
  delete(): Promise<void>;
}

function statusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') return parsed.message;
      } catch {
        return body.slice(0, 300);
      }
    }
    return `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** An API failure as a TetherError that names what was attempted. */
export function apiError(what: string, error: unknown): TetherError {
  const code = statusCode(error);
  if (code === 401)
    return new TetherError(
      'permission-denied',
      `unable to ${what}: the cluster did not accept your credentials (401); log in again or check the kubeconfig`,
      { cause: error },
    );
  if (code === 403)
    return new TetherError('permission-denied', `unable to ${what}: forbidden (403): ${messageOf(error)}`, {
      cause: error,
    });
  if (code === 404)
    return new TetherError('not-found', `unable to ${what}: not found (404): ${messageOf(error)}`, { cause: error });
  return new TetherError('remote-unreachable', `unable to ${what}: ${messageOf(error)}`, {
    cause: error,
    retryable: code === undefined || code >= 500,
  });
}

/** Whether the current user may do `verb` on `resource` (with optional subresource) in the namespace. */
export async function canI(
  kubeConfig: KubeConfig,
  namespace: string,
  verb: string,
  resource: string,
  subresource?: string,
  name?: string,
): Promise<boolean> {
  const api = kubeConfig.makeApiClient(AuthorizationV1Api);
  try {
    const review = await api.createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            namespace,
            verb,
            resource,
            ...(subresource === undefined ? {} : { subresource }),
            ...(name === undefined ? {} : { name }),
          },
        },
      },
    });
    return review.status?.allowed === true;
  } catch (error) {
    throw apiError(`check your permissions in namespace ${namespace}`, error);
  }
}

/** The claim must exist and be bound; a Pending claim is a clear error, not a pod stuck forever. */
export async function checkClaim(
  kubeConfig: KubeConfig,
  namespace: string,
  claim: string,
): Promise<{ readonly accessModes: readonly string[] }> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let phase: string | undefined;
  let accessModes: readonly string[];
  try {
    const object = await core.readNamespacedPersistentVolumeClaim({ name: claim, namespace });
    phase = object.status?.phase;
    accessModes = object.spec?.accessModes ?? [];
  } catch (error) {
    if (statusCode(error) === 404)
      throw new TetherError(
        'not-found',
        `the PVC ${namespace}/${claim} does not exist; check the name with kubectl get pvc -n ${namespace}`,
        { cause: error },
      );
    throw apiError(`read the PVC ${namespace}/${claim}`, error);
  }
  if (phase === 'Pending')
    throw new TetherError(
      'remote-unreachable',
      `the PVC ${namespace}/${claim} is Pending (not bound to a volume yet), so no pod can mount it; check its events with kubectl describe pvc -n ${namespace} ${claim}`,
    );
  if (phase === 'Lost')
    throw new TetherError('remote-unreachable', `the PVC ${namespace}/${claim} is Lost: its volume is gone`);
  return { accessModes };
}

/**
 * For a ReadWriteOnce claim already mounted by a pod, that pod's name and node: a second pod can mount the
 * volume only on the same node.
 */
export async function mountingPod(
  kubeConfig: KubeConfig,
  namespace: string,
  claim: string,
): Promise<{ readonly pod: string; readonly node: string } | undefined> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedPod({ namespace }).catch((error: unknown) => {
    throw apiError(`list pods in namespace ${namespace}`, error);
  });
  for (const pod of list.items) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp !== undefined) continue;
    if (pod.metadata?.labels?.[MANAGED_BY] === 'tether') continue;
    const node = pod.spec?.nodeName;
    if (node === undefined) continue;
    if ((pod.spec?.volumes ?? []).some((volume) => volume.persistentVolumeClaim?.claimName === claim))
      return { pod: pod.metadata?.name ?? '?', node };
  }
  return undefined;
}

/**
 * Which helper pods are leftovers to delete, given the pods managed by Tether in the namespace: those of this
 * owner key (the pair lock guarantees no live run of the same pair uses them), and the same user's pods that
 * already ended or outlived their expiry (no run uses those either). Pure.
 */
export function orphansAmong(pods: readonly V1Pod[], owner: HelperOwner, now: number): string[] {
  const labels = helperLabels(owner);
  const names: string[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name;
    const podLabels = pod.metadata?.labels ?? {};
    if (name === undefined || podLabels[MANAGED_BY] !== 'tether') continue;
    if (podLabels[OWNER_LABEL] === labels[OWNER_LABEL]) {
      names.push(name);
      continue;
    }
    if (podLabels[USER_LABEL] !== labels[USER_LABEL]) continue;
    const phase = pod.status?.phase;
    const expires = Date.parse(pod.metadata?.annotations?.[EXPIRES_ANNOTATION] ?? '');
    if (phase === 'Succeeded' || phase === 'Failed' || (Number.isFinite(expires) && expires < now)) names.push(name);
  }
  return names;
}

/**
 * Deletes leftover helper pods (see `orphansAmong`) among `pods` (default: listed now), except `keep` (a helper
 * being taken over); returns their names. Best effort: a failure is skipped.
 */
export async function deleteOrphans(
  kubeConfig: KubeConfig,
  namespace: string,
  owner: HelperOwner,
  options: { readonly pods?: readonly V1Pod[]; readonly keep?: string } = {},
): Promise<string[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const pods =
    options.pods ??
    (await core.listNamespacedPod({ namespace, labelSelector: `${MANAGED_BY}=tether` }).catch(() => undefined))
      ?.items ??
    [];
  const names = orphansAmong(pods, owner, Date.now()).filter((name) => name !== options.keep);
  for (const name of names)
    await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  return names;
}

/** A handle on an existing helper pod. */
export function helperHandle(kubeConfig: KubeConfig, namespace: string, name: string): HelperPod {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    name,
    namespace,
    delete: async () => {
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch((error: unknown) => {
        if (statusCode(error) !== 404) throw apiError(`delete the helper pod ${namespace}/${name}`, error);
      });
    },
  };
}

/** Why a pod cannot start (unschedulable, image pull), or undefined while it may still start. */
export function startFailure(pod: V1Pod): string | undefined {
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded')
    return `the pod ended (${pod.status.phase}): ${pod.status.message ?? pod.status.reason ?? ''}`;
  for (const status of pod.status?.containerStatuses ?? []) {
    const reason = status.state?.waiting?.reason;
    if (reason === 'ErrImagePull' || reason === 'ImagePullBackOff' || reason === 'InvalidImageName')
      return `its image ${status.image} cannot be pulled (${reason}): ${status.state?.waiting?.message ?? ''}; choose an image the cluster can pull with --helper-image`;
  }
  return undefined;
}

function unschedulable(pod: V1Pod): string | undefined {
  const condition = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return condition?.reason === 'Unschedulable' ? (condition.message ?? 'no node can run it') : undefined;
}

export async function createHelperPod(
  kubeConfig: KubeConfig,
  namespace: string,
  claim: string,
  options: HelperPodOptions,
): Promise<HelperPod> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const name = `tether-helper-${randomBytes(5).toString('hex')}`;
  const lifetime = options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  const idle = options.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS;
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels: helperLabels(options.owner),
      annotations: {
        [EXPIRES_ANNOTATION]: new Date(Date.now() + lifetime * 1000).toISOString(),
        'tether.dev/pair-name': options.owner.pair,
        [IDLE_ANNOTATION]: String(idle),
        ...(options.keep === true ? { [KEPT_ANNOTATION]: 'true' } : {}),
      },
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: lifetime,
      terminationGracePeriodSeconds: 0,
      ...(options.sameNodeAs === undefined
        ? {}
        : { nodeSelector: { 'kubernetes.io/hostname': options.sameNodeAs.node } }),
      containers: [
        {
          name: 'helper',
          image: options.image ?? DEFAULT_HELPER_IMAGE,
          command: ['sh', '-c', idleScript, 'sh', String(idle), HEARTBEAT_FILE],
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '256Mi' } },
          volumeMounts: [{ name: 'data', mountPath: HELPER_MOUNT }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
    },
  };
  try {
    await core.createNamespacedPod({ namespace, body: pod });
  } catch (error) {
    throw apiError(`create a helper pod in namespace ${namespace}`, error);
  }
  const handle = helperHandle(kubeConfig, namespace, name);
  const remove = (): Promise<void> => handle.delete();
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const deadline = Date.now() + startTimeoutMs;
  // Unschedulable for a while is final (no node fits); briefly, it may be a binding or autoscaler catching up.
  const unschedulableGraceMs = Math.min(15_000, startTimeoutMs / 4);
  let unschedulableSince: number | undefined;
  let polls = 0;
  try {
    for (;;) {
      const current = await core.readNamespacedPod({ name, namespace });
      if (current.status?.phase === 'Running') break;
      const failure = startFailure(current);
      if (failure !== undefined)
        throw new TetherError('remote-unreachable', `the helper pod ${namespace}/${name} cannot start: ${failure}`);
      const why = unschedulable(current);
      if (why !== undefined) {
        unschedulableSince ??= Date.now();
        if (Date.now() - unschedulableSince > unschedulableGraceMs)
          throw new TetherError(
            'remote-unreachable',
            options.sameNodeAs === undefined
              ? `the helper pod for the PVC ${namespace}/${claim} cannot be scheduled: ${why}; check the nodes' capacity and taints, or ask a cluster admin`
              : `the PVC ${namespace}/${claim} is ReadWriteOnce and mounted by the pod ${options.sameNodeAs.pod} on node ${options.sameNodeAs.node}, so the helper pod must run on that node, and it cannot: ${why}; sync through that pod instead (--pod ${options.sameNodeAs.pod}), or stop it first`,
          );
      }
      if (Date.now() > deadline)
        throw new TetherError(
          'remote-unreachable',
          `the helper pod ${namespace}/${name} did not start in time (phase ${current.status?.phase ?? 'unknown'}${why === undefined ? '' : `: ${why}`})`,
          { retryable: true },
        );
      // Pods usually run within a second: look again soon at first, then every 300 ms.
      await new Promise((resolve) => setTimeout(resolve, Math.min(300, 50 * 2 ** polls++)));
    }
  } catch (error) {
    await remove().catch(() => undefined);
    throw error instanceof TetherError ? error : apiError(`start the helper pod ${namespace}/${name}`, error);
  }
  return handle;
}
