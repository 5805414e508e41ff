/**
 * The storage and quota report (`tether quota`, the desktop Quotas page): pure functions from what the API
 * server returned (namespaces, ResourceQuotas, PVCs), the user's RBAC verdicts and cached `df` measurements
 * to rows with percentages, warning levels and flags. No I/O here; see cluster.ts for the fetching.
 */

/** What a namespace is on the platform (its `platform.example/kind` label). */
export type NamespaceKind = 'group' | 'personal' | 'other';

/** The user's level on a namespace's claims, from RBAC (SelfSubjectAccessReview). */
export type PermissionLevel = 'Admin' | 'Write' | 'Read' | 'None';

/** ok below 80%, warning from 80%, critical from 90%. */
export type UsageLevel = 'ok' | 'warning' | 'critical';

export const WARNING_PERCENT = 80;
export const CRITICAL_PERCENT = 90;
/** The platform tells users to call an admin when a claim stays Pending this long. */
export const PENDING_FLAG_MS = 5 * 60 * 1000;

export interface RawNamespace {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface RawQuota {
  readonly namespace: string;
  readonly name: string;
  readonly hard: Readonly<Record<string, string>>;
  readonly used: Readonly<Record<string, string>>;
}

export interface RawPvc {
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly storageClass?: string;
  readonly accessModes: readonly string[];
  /** `spec.resources.requests.storage`. */
  readonly requested?: string;
  /** `status.capacity.storage` (bound claims). */
  readonly capacity?: string;
  readonly createdAt: number;
}

/** A `df` of a claim's volume, measured in a pod that mounts it, and when. */
export interface UsageSample {
  readonly usedBytes: number;
  readonly totalBytes: number;
  readonly freeBytes: number;
  readonly measuredAt: number;
}

/** Permission verdicts for one namespace (each a SelfSubjectAccessReview). */
export interface NamespaceAccess {
  readonly listClaims: boolean;
  readonly listQuotas: boolean;
  readonly createPods: boolean;
  readonly execPods: boolean;
  readonly manageRoleBindings: boolean;
}

export interface QuotaLine {
  readonly name: string;
  readonly resource: string;
  readonly hard: string;
  readonly used: string;
  readonly percent?: number;
  readonly level?: UsageLevel;
}

export interface PvcRow {
  readonly namespace: string;
  readonly name: string;
  readonly scope: NamespaceKind;
  readonly phase: string;
  readonly storageClass?: string;
  readonly lane?: string;
  readonly accessModes: readonly string[];
  readonly capacityBytes?: number;
  readonly ageSeconds: number;
  readonly pendingTooLong: boolean;
  readonly usage?: UsageSample & { readonly percent: number; readonly level: UsageLevel };
  readonly permission: PermissionLevel;
}

export interface PhfsUsage {
  readonly prefix: string;
  readonly bytes: number;
  readonly objects: number;
}

export interface NamespaceReport {
  readonly name: string;
  readonly kind: NamespaceKind;
  /** The group (group namespaces) or owner (personal ones) the labels name. */
  readonly group?: string;
  readonly owner?: string;
  readonly permission: PermissionLevel;
  readonly quotas: readonly QuotaLine[];
  readonly pvcs: readonly PvcRow[];
  readonly phfs?: PhfsUsage;
}

export interface QuotaReport {
  readonly generatedAt: number;
  readonly user: string;
  /** `cluster`: the user may list every namespace (a cluster admin); `namespaces`: only those RBAC lets them see. */
  readonly scope: 'cluster' | 'namespaces';
  readonly namespaces: readonly NamespaceReport[];
  /** One line per thing an admin should look at (80/90% full, Pending too long). */
  readonly warnings: readonly string[];
}

const BINARY: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** A Kubernetes quantity (`50Gi`, `10`, `1.5T`, `500m`, `1e3`) as a number; undefined when malformed. */
export function parseQuantity(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(text.trim());
  if (match === null) return undefined;
  const value = Number(match[1]);
  if (match[2] !== undefined) return value * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? '';
  return value * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

export function usageLevel(percent: number): UsageLevel {
  // Invariant: levels only rise with the percentage; 90 is critical, 80 up to 90 a warning.
  if (percent >= CRITICAL_PERCENT) return 'critical';
  if (percent >= WARNING_PERCENT) return 'warning';
  return 'ok';
}

export function namespaceKind(labels: Readonly<Record<string, string>>): NamespaceKind {
  const kind = labels['platform.example/kind'];
  return kind === 'group' || kind === 'personal' ? kind : 'other';
}

/** Admin: may manage RoleBindings; Write: may run and exec into pods (what a push needs); Read: may list claims. */
export function permissionLevel(access: NamespaceAccess): PermissionLevel {
  if (access.manageRoleBindings) return 'Admin';
  if (access.createPods && access.execPods) return 'Write';
  if (access.listClaims) return 'Read';
  return 'None';
}

/** The storage lanes of the platform, by storage class. */
const LANES: Readonly<Record<string, string>> = {
  'shared-rwx': 'JuiceFS RWX (datasets, checkpoints)',
  'legacy-rwx': 'NFS RWX (legacy)',
  'fast-rwo': 'Longhorn RWO (fast scratch)',
};

function percentOf(used: number | undefined, hard: number | undefined): number | undefined {
  if (used === undefined || hard === undefined || hard <= 0) return undefined;
  return Math.round((used / hard) * 1000) / 10;
}

export function quotaLines(quota: RawQuota): QuotaLine[] {
  return Object.keys(quota.hard)
    .sort()
    .map((resource) => {
      const hard = quota.hard[resource] ?? '';
      const used = quota.used[resource] ?? '0';
      const percent = percentOf(parseQuantity(used), parseQuantity(hard));
      return {
        name: quota.name,
        resource,
        hard,
        used,
        ...(percent === undefined ? {} : { percent, level: usageLevel(percent) }),
      };
    });
}

export function pvcRow(
  pvc: RawPvc,
  scope: NamespaceKind,
  permission: PermissionLevel,
  sample: UsageSample | undefined,
  now: number,
): PvcRow {
  const capacityBytes = parseQuantity(pvc.capacity ?? pvc.requested);
  const age = Math.max(0, now - pvc.createdAt);
  const lane = pvc.storageClass === undefined ? undefined : LANES[pvc.storageClass];
  let usage: PvcRow['usage'];
  if (sample !== undefined && sample.totalBytes > 0) {
    const percent = Math.round((sample.usedBytes / sample.totalBytes) * 1000) / 10;
    usage = { ...sample, percent, level: usageLevel(percent) };
  }
  return {
    namespace: pvc.namespace,
    name: pvc.name,
    scope,
    phase: pvc.phase,
    ...(pvc.storageClass === undefined ? {} : { storageClass: pvc.storageClass }),
    ...(lane === undefined ? {} : { lane }),
    accessModes: pvc.accessModes,
    ...(capacityBytes === undefined ? {} : { capacityBytes }),
    ageSeconds: Math.floor(age / 1000),
    pendingTooLong: pvc.phase === 'Pending' && age > PENDING_FLAG_MS,
    ...(usage === undefined ? {} : { usage }),
    permission,
  };
}

/** Warnings for a report, most urgent first. */
export function warningsOf(namespaces: readonly NamespaceReport[]): string[] {
  const critical: string[] = [];
  const other: string[] = [];
  for (const ns of namespaces) {
    for (const pvc of ns.pvcs) {
      if (pvc.pendingTooLong)
        critical.push(
          `${ns.name}/${pvc.name} has been Pending for ${Math.floor(pvc.ageSeconds / 60)} min: ask an admin to look at it`,
        );
      if (pvc.usage !== undefined && pvc.usage.level !== 'ok')
        (pvc.usage.level === 'critical' ? critical : other).push(
          `${ns.name}/${pvc.name} is ${pvc.usage.percent}% full`,
        );
    }
    for (const line of ns.quotas) {
      if (line.level !== undefined && line.level !== 'ok')
        (line.level === 'critical' ? critical : other).push(
          `${ns.name} quota ${line.name}: ${line.resource} at ${line.percent}% (${line.used} of ${line.hard})`,
        );
    }
  }
  return [...critical, ...other];
}
