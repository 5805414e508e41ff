import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { CoreV1Api } from '../../vendor/kube.js';
import type { HelperOwner } from './helperPod.js';
import {
  EXPIRES_ANNOTATION,
  HEARTBEAT_FILE,
  helperLabels,
  IDLE_ANNOTATION,
  KEPT_ANNOTATION,
  MANAGED_BY,
  OWNER_LABEL,
} from './helperPod.js';
import { FRESHNESS_MARGIN_SECONDS } from './pairOptions.js';
import type { PodShell } from './podShell.js';
import { commandError, dotted } from './podShell.js';
import type { ProbeResult } from './probe.js';
import { checkProbe, parseProbe, probeScript, REQUIRED_TOOLS } from './probe.js';

/**
 * Reusing a pair's helper pod. Starting a pod costs seconds on a real cluster (scheduling, image, attaching the
 * volume), which would dominate a sync that changes one file; so after a pair's sync the helper of a
 * ReadWriteMany claim stays up for its idle timeout (annotated as kept; browsing and measuring delete theirs), and the next sync of the same pair (same owner key: host + pair + remote)
 * takes it over instead of starting another. A helper is taken over only while provably alive: Running, the
 * same image, far from its deadline, and its heartbeat fresh, checked and renewed in the pod in the same exec
 * that probes it, so a helper about to end itself is never picked.
 */

/** A helper is taken over only with at least this long before its `activeDeadlineSeconds` ends it. */
export const MIN_REMAINING_LIFE_MS = 60 * 60 * 1000;
/** Exit code of `openScript` when the helper is about to end itself. */
const STALE_EXIT = 4;

/** The helper to take over among the pods of the namespace, if any: see the module comment. Pure. */
export function reusableAmong(
  pods: readonly V1Pod[],
  owner: HelperOwner,
  image: string,
  now: number,
): { readonly name: string; readonly idleTimeoutSeconds: number } | undefined {
  const key = helperLabels(owner)[OWNER_LABEL];
  let best: { name: string; idleTimeoutSeconds: number; created: number } | undefined;
  for (const pod of pods) {
    const meta = pod.metadata;
    const name = meta?.name;
    if (meta === undefined || name === undefined) continue;
    const labels = meta.labels ?? {};
    const annotations = meta.annotations ?? {};
    if (labels[MANAGED_BY] !== 'tether' || labels[OWNER_LABEL] !== key) continue;
    if (pod.status?.phase !== 'Running' || meta.deletionTimestamp !== undefined) continue;
    if (pod.spec?.containers[0]?.image !== image || annotations[KEPT_ANNOTATION] !== 'true') continue;
    const expires = Date.parse(annotations[EXPIRES_ANNOTATION] ?? '');
    if (!(expires - now >= MIN_REMAINING_LIFE_MS)) continue;
    const idle = Number(annotations[IDLE_ANNOTATION]);
    if (!Number.isInteger(idle) || idle <= FRESHNESS_MARGIN_SECONDS) continue;
    const created = meta.creationTimestamp === undefined ? 0 : new Date(meta.creationTimestamp).getTime();
    if (best === undefined || created > best.created) best = { name, idleTimeoutSeconds: idle, created };
  }
  return best === undefined ? undefined : { name: best.name, idleTimeoutSeconds: best.idleTimeoutSeconds };
}

/**
 * One exec that readies a helper for use: when `$1` is set, requires the heartbeat file to be younger than `$1`
 * seconds (else exits 4) and renews it; creates the endpoint's subfolder `$2` (when not empty) and enters it;
 * then probes the tools (`probeScript`, over the remaining arguments). Run from the claim's mount.
 */
export const openScript =
  `m=$1; s=$2; shift 2; ` +
  `if [ -n "$m" ]; then a=$(stat -c %Y ${HEARTBEAT_FILE} 2>/dev/null) && n=$(date +%s) && [ $((n - a)) -lt "$m" ] && touch ${HEARTBEAT_FILE} || exit ${STALE_EXIT}; fi; ` +
  `if [ -n "$s" ]; then mkdir -p -- "$s" && cd -- "$s" || exit 5; fi; ` +
  probeScript;

/**
 * Readies the helper behind `base` (a shell rooted at the claim's mount) for a remote at `subpath`: see
 * `openScript`. With `reuseIdleSeconds`, returns undefined when the helper is too close to ending itself.
 */
export async function readyHelper(
  base: PodShell,
  subpath: string,
  reuseIdleSeconds?: number,
): Promise<ProbeResult | undefined> {
  const maxAge = reuseIdleSeconds === undefined ? '' : String(reuseIdleSeconds - FRESHNESS_MARGIN_SECONDS);
  const result = await base.run(openScript, [maxAge, subpath === '' ? '' : dotted(subpath), ...REQUIRED_TOOLS]);
  if (result.exitCode === STALE_EXIT && reuseIdleSeconds !== undefined) return undefined;
  if (result.exitCode !== 0)
    throw commandError(base.displayName, subpath === '' ? 'probe the pod' : 'create the folder', result);
  return checkProbe(base, parseProbe(result.stdout.toString()));
}

/** The pods managed by Tether in the namespace (empty when the user may not list pods: nothing to reuse then). */
export async function managedPods(kubeConfig: KubeConfig, namespace: string): Promise<V1Pod[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const list = await core
    .listNamespacedPod({ namespace, labelSelector: `${MANAGED_BY}=tether` })
    .catch(() => undefined);
  return list?.items ?? [];
}
