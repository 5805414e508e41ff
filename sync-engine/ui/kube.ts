import { homedir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '../vendor/kube.js';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { TetherError } from '../errors.js';
import { accessIn } from '../quota/cluster.js';
import { permissionLevel, type NamespaceAccess, type PermissionLevel } from '../quota/report.js';
import type { KubeContexts, Lane, PvcView } from './contract.js';

/** What the New pair wizard asks the cluster: contexts, namespaces and claims, with the user's rights. */

function kubeconfigPath(explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  const env = process.env['KUBECONFIG'];
  if (env !== undefined && env !== '') return env.split(process.platform === 'win32' ? ';' : ':')[0] ?? env;
  return join(homedir(), '.kube', 'config');
}

function load(kubeconfig: string | undefined, context?: string): KubeConfig {
  const config = new KubeConfig();
  const file = kubeconfigPath(kubeconfig);
  try {
    config.loadFromFile(file);
  } catch (error) {
    throw new TetherError(
      'bad-argument',
      `cannot read the kubeconfig ${file}: ${error instanceof Error ? error.message : String(error)}; pick another file in Settings`,
      { cause: error },
    );
  }
  if (context !== undefined) {
    if (config.getContextObject(context) === null) {
      throw new TetherError('not-found', `the kubeconfig ${file} has no context "${context}"`);
    }
    config.setCurrentContext(context);
  }
  return config;
}

function apiFailure(what: string, error: unknown): TetherError {
  const status = (error as { code?: unknown }).code;
  const body = (error as { body?: unknown }).body;
  let detail = error instanceof Error ? error.message : String(error);
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') detail = parsed.message;
    } catch {
      // Not JSON: keep the error's own message.
    }
  }
  if (status === 403) return new TetherError('permission-denied', `unable to ${what}: ${detail}`, { cause: error });
  return new TetherError('remote-unreachable', `unable to ${what}: ${detail}`, { cause: error, retryable: true });
}

export function kubeContexts(kubeconfig: string | undefined): KubeContexts {
  const config = load(kubeconfig);
  const current = config.getCurrentContext();
  return {
    kubeconfig: kubeconfigPath(kubeconfig),
    ...(current === '' ? {} : { current }),
    contexts: config.getContexts().map((c) => ({
      name: c.name,
      ...(c.namespace === undefined ? {} : { namespace: c.namespace }),
      ...(c.user === '' ? {} : { user: c.user }),
    })),
  };
}

/**
 * The namespaces the user can list; users who may not list namespaces (most researchers) get the context's own
 * namespace, which is where the platform puts their storage.
 */
export async function listNamespaces(kubeconfig: string | undefined, context: string): Promise<string[]> {
  const config = load(kubeconfig, context);
  const own = config.getContextObject(context)?.namespace;
  try {
    const list = await config.makeApiClient(CoreV1Api).listNamespace();
    return list.items.map((n) => n.metadata?.name ?? '').filter((n) => n !== '');
  } catch (error) {
    if ((error as { code?: unknown }).code === 403 && own !== undefined) return [own];
    throw apiFailure(`list namespaces as ${context}`, error);
  }
}

const LANES: Record<Lane, { label: string; bestFor: string }> = {
  'juicefs-rwx': {
    label: 'JuiceFS RWX',
    bestFor: 'shared datasets and checkpoints read by many pods at once',
  },
  'legacy-nfs-rwx': { label: 'legacy NFS RWX', bestFor: 'existing group archives; slower with many small files' },
  'longhorn-fast-rwo': {
    label: 'Longhorn fast RWO',
    bestFor: 'fast scratch and training checkpoints for one pod (one node at a time)',
  },
  other: { label: 'other storage class', bestFor: 'see your platform documentation' },
};

/** The platform's storage lanes, recognised by storage class name. */
export function laneOf(storageClass: string | undefined): Lane {
  const name = (storageClass ?? '').toLowerCase();
  if (name === 'shared-rwx' || name.includes('juicefs')) return 'juicefs-rwx';
  if (name === 'legacy-rwx' || name.includes('nfs')) return 'legacy-nfs-rwx';
  if (name === 'fast-rwo' || name.includes('longhorn')) return 'longhorn-fast-rwo';
  return 'other';
}

function pvcView(
  claim: V1PersistentVolumeClaim,
  namespace: string,
  canWrite: boolean,
  permission: PermissionLevel,
): PvcView {
  const storageClass = claim.spec?.storageClassName;
  const lane = laneOf(storageClass);
  const capacity = claim.status?.capacity?.['storage'] ?? claim.spec?.resources?.requests?.['storage'];
  return {
    name: claim.metadata?.name ?? '',
    namespace,
    phase: claim.status?.phase ?? 'Pending',
    ...(capacity === undefined ? {} : { capacity }),
    ...(storageClass === undefined ? {} : { storageClass }),
    lane,
    laneLabel: LANES[lane].label,
    bestFor: LANES[lane].bestFor,
    accessModes: claim.spec?.accessModes ?? [],
    canWrite,
    permission,
  };
}

export async function listPvcs(kubeconfig: string | undefined, context: string, namespace: string): Promise<PvcView[]> {
  const config = load(kubeconfig, context);
  let claims: V1PersistentVolumeClaim[];
  try {
    claims = (await config.makeApiClient(CoreV1Api).listNamespacedPersistentVolumeClaim({ namespace })).items;
  } catch (error) {
    throw apiFailure(`list the claims in namespace ${namespace} as ${context}`, error);
  }
  // Writing through Tether means a helper pod with exec: both rights are needed (RBAC decides, not a guess).
  let access: NamespaceAccess;
  try {
    access = await accessIn(config, namespace);
  } catch (error) {
    throw apiFailure(`check your rights in namespace ${namespace} as ${context}`, error);
  }
  const canWrite = access.createPods && access.execPods;
  return claims
    .map((claim) => pvcView(claim, namespace, canWrite, permissionLevel(access)))
    .sort((a, b) => a.name.localeCompare(b.name));
}
