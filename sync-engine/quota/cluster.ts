/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node's generated V1* model
   classes are plain data shapes without behaviour; its API takes object literals (as its own examples do). */
import { AuthorizationV1Api, CoreV1Api, KubeConfig } from '../vendor/kube.js';
import { apiError, canI } from '../endpoints/pvc/helperPod.js';
import { TetherError } from '../errors.js';
import type {
  NamespaceAccess,
  NamespaceKind,
  NamespaceReport,
  PhfsUsage,
  QuotaReport,
  RawNamespace,
  RawPvc,
  RawQuota,
  UsageSample,
} from './report.js';
import { namespaceKind, permissionLevel, pvcRow, quotaLines, warningsOf } from './report.js';

/**
 * Fetches what `tether quota` shows, as the user: which namespaces they may see is decided by RBAC
 * (SelfSubjectAccessReview), never assumed. A cluster admin (may list namespaces) sees every group and personal
 * namespace; anyone else sees the namespaces they name, their kubeconfig contexts' namespaces and those of
 * their pvc:// pairs, each only as far as RBAC lets them list its claims or quotas.
 */
export interface QuotaSources {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Only these namespaces (`--namespace`, repeatable); default: every one the user may see. */
  readonly namespaces?: readonly string[];
  /** More namespaces to look at (e.g. those of the user's pvc:// pairs). */
  readonly candidates?: readonly string[];
  /** The cached `df` of a claim, or a fresh one when refreshing (see usage.ts); undefined when unknown. */
  readonly usage?: (namespace: string, pvc: string) => Promise<UsageSample | undefined>;
  /** PHFS usage of a group's prefix, when asked for. */
  readonly phfs?: (group: string) => Promise<PhfsUsage | undefined>;
  readonly now?: () => number;
}

export function loadKubeConfigFor(kubeconfig: string | undefined, context: string | undefined): KubeConfig {
  const config = new KubeConfig();
  try {
    if (kubeconfig === undefined) config.loadFromDefault();
    else config.loadFromFile(kubeconfig);
  } catch (error) {
    throw new TetherError('bad-argument', `cannot load the kubeconfig ${kubeconfig ?? ''}: ${String(error)}`, {
      cause: error,
    });
  }
  if (context !== undefined) {
    if (config.getContextObject(context) === null)
      throw new TetherError('bad-argument', `the kubeconfig has no context "${context}"`);
    config.setCurrentContext(context);
  }
  if (config.getCurrentCluster() === null)
    throw new TetherError('bad-argument', 'the kubeconfig has no current context; pass --context');
  return config;
}

/** Without the right to read Namespace objects, the platform's naming (`group-X`, `user-X`) says the kind. */
function byName(name: string): RawNamespace {
  const group = /^group-(.+)$/.exec(name)?.[1];
  if (group !== undefined)
    return { name, labels: { 'platform.example/kind': 'group', 'platform.example/group': group } };
  const owner = /^user-(.+)$/.exec(name)?.[1];
  if (owner !== undefined)
    return { name, labels: { 'platform.example/kind': 'personal', 'platform.example/owner': owner } };
  return { name, labels: {} };
}

/** `canI` without an API group cannot ask about RBAC objects, which live in rbac.authorization.k8s.io. */
async function mayManageRoleBindings(config: KubeConfig, namespace: string): Promise<boolean> {
  const api = config.makeApiClient(AuthorizationV1Api);
  try {
    const review = await api.createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            namespace,
            verb: 'create',
            group: 'rbac.authorization.k8s.io',
            resource: 'rolebindings',
          },
        },
      },
    });
    return review.status?.allowed === true;
  } catch (error) {
    throw apiError(`check your permissions in namespace ${namespace}`, error);
  }
}

/** The user's rights in a namespace, each from a SelfSubjectAccessReview. */
export async function accessIn(config: KubeConfig, namespace: string): Promise<NamespaceAccess> {
  const [listClaims, listQuotas, createPods, execPods, manageRoleBindings] = await Promise.all([
    canI(config, namespace, 'list', 'persistentvolumeclaims'),
    canI(config, namespace, 'list', 'resourcequotas'),
    canI(config, namespace, 'create', 'pods'),
    canI(config, namespace, 'create', 'pods', 'exec'),
    mayManageRoleBindings(config, namespace),
  ]);
  return { listClaims, listQuotas, createPods, execPods, manageRoleBindings };
}

async function visibleNamespaces(
  config: KubeConfig,
  core: CoreV1Api,
  sources: QuotaSources,
): Promise<{ scope: 'cluster' | 'namespaces'; namespaces: RawNamespace[] }> {
  if (await canI(config, '', 'list', 'namespaces')) {
    let items;
    try {
      items = (await core.listNamespace()).items;
    } catch (error) {
      throw apiError('list namespaces', error);
    }
    const all = items.map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} }));
    const wanted = sources.namespaces;
    return {
      scope: 'cluster',
      namespaces: all.filter((ns) =>
        wanted === undefined ? namespaceKind(ns.labels) !== 'other' : wanted.includes(ns.name),
      ),
    };
  }
  const names = new Set(sources.namespaces ?? []);
  if (sources.namespaces === undefined) {
    for (const context of config.getContexts()) {
      if (context.user === config.getCurrentUser()?.name && context.namespace !== undefined)
        names.add(context.namespace);
    }
    for (const name of sources.candidates ?? []) names.add(name);
  }
  const namespaces: RawNamespace[] = [];
  for (const name of [...names].sort()) {
    try {
      const ns = await core.readNamespace({ name });
      namespaces.push({ name, labels: ns.metadata?.labels ?? {} });
    } catch {
      namespaces.push(byName(name));
    }
  }
  return { scope: 'namespaces', namespaces };
}

function rawQuota(
  namespace: string,
  item: { metadata?: { name?: string }; spec?: { hard?: object }; status?: { used?: object } },
): RawQuota {
  return {
    namespace,
    name: item.metadata?.name ?? '',
    hard: (item.spec?.hard ?? {}) as Record<string, string>,
    used: (item.status?.used ?? {}) as Record<string, string>,
  };
}

/** Builds the report as the current kubeconfig user. */
export async function buildQuotaReport(config: KubeConfig, sources: QuotaSources = {}): Promise<QuotaReport> {
  const now = (sources.now ?? Date.now)();
  const core = config.makeApiClient(CoreV1Api);
  const { scope, namespaces } = await visibleNamespaces(config, core, sources);
  const reports: NamespaceReport[] = [];
  for (const ns of namespaces) {
    const access = await accessIn(config, ns.name);
    // Invariant: a namespace is shown only when RBAC lets the user list its claims or its quotas.
    if (!access.listClaims && !access.listQuotas) continue;
    const kind: NamespaceKind = namespaceKind(ns.labels);
    const permission = permissionLevel(access);
    const quotas = access.listQuotas ? await listQuotas(core, ns.name) : [];
    const claims = access.listClaims ? await listClaims(core, ns.name) : [];
    const pvcs = [];
    for (const claim of claims) {
      const sample = claim.phase === 'Bound' ? await sources.usage?.(ns.name, claim.name) : undefined;
      pvcs.push(pvcRow(claim, kind, permission, sample, now));
    }
    const group = ns.labels['platform.example/group'];
    const owner = ns.labels['platform.example/owner'];
    const phfs = kind === 'group' && group !== undefined ? await sources.phfs?.(group) : undefined;
    reports.push({
      name: ns.name,
      kind,
      ...(group === undefined ? {} : { group }),
      ...(owner === undefined ? {} : { owner }),
      permission,
      quotas: quotas.flatMap(quotaLines),
      pvcs,
      ...(phfs === undefined ? {} : { phfs }),
    });
  }
  return {
    generatedAt: now,
    user: config.getCurrentUser()?.name ?? 'unknown',
    scope,
    namespaces: reports,
    warnings: warningsOf(reports),
  };
}

async function listQuotas(core: CoreV1Api, namespace: string): Promise<RawQuota[]> {
  try {
    return (await core.listNamespacedResourceQuota({ namespace })).items.map((item) => rawQuota(namespace, item));
  } catch (error) {
    throw apiError(`list the ResourceQuotas of namespace ${namespace}`, error);
  }
}

async function listClaims(core: CoreV1Api, namespace: string): Promise<RawPvc[]> {
  let items;
  try {
    items = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items;
  } catch (error) {
    throw apiError(`list the PVCs of namespace ${namespace}`, error);
  }
  return items
    .map((item): RawPvc => {
      const storageClass = item.spec?.storageClassName;
      const requested = item.spec?.resources?.requests?.['storage'];
      const capacity = item.status?.capacity?.['storage'];
      return {
        namespace,
        name: item.metadata?.name ?? '',
        phase: item.status?.phase ?? 'Unknown',
        ...(storageClass === undefined ? {} : { storageClass }),
        accessModes: item.spec?.accessModes ?? [],
        ...(requested === undefined ? {} : { requested }),
        ...(capacity === undefined ? {} : { capacity }),
        createdAt: item.metadata?.creationTimestamp?.getTime() ?? 0,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
