import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { UsageSample } from './report.js';

/**
 * Bytes actually used on each claim, as `df` reported them in a pod that mounts it, kept with the time of the
 * measurement in a small JSON file beside the state (`quota-usage.json`): measuring starts a pod per claim, so
 * `tether quota` shows the last measurement and its age, and `--refresh` measures again.
 */
export class UsageCache {
  private readonly samples = new Map<string, UsageSample>();

  constructor(private readonly file: string) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return; // none yet, or unreadable: measure again
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (isSample(value)) this.samples.set(key, value);
    }
  }

  get(key: string): UsageSample | undefined {
    return this.samples.get(key);
  }

  set(key: string, sample: UsageSample): void {
    this.samples.set(key, sample);
  }

  /** Writes the cache atomically (temporary file, then rename). */
  save(): void {
    const temporary = `${this.file}.tmp-${process.pid}`;
    writeFileSync(temporary, JSON.stringify(Object.fromEntries(this.samples)), { mode: 0o600 });
    renameSync(temporary, this.file);
  }
}

function isSample(value: unknown): value is UsageSample {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['usedBytes', 'totalBytes', 'freeBytes', 'measuredAt'].every((k) => typeof v[k] === 'number');
}

/** The cache key of a claim: the cluster's API server, namespace and name. */
export function usageKey(server: string, namespace: string, pvc: string): string {
  return `${server}|${namespace}/${pvc}`;
}

/** Measures a claim with `df` through the PVC endpoint (a helper pod, or a Running pod that mounts it). */
export async function measureClaim(
  location: { context?: string; namespace: string; pvc: string },
  kubeconfig: string | undefined,
  now: () => number = Date.now,
): Promise<UsageSample> {
  const { createPvcEndpoint } = await import('../endpoints/pvc/pvcEndpoint.js');
  const displayName = `pvc://${location.context === undefined ? '' : `${location.context}@`}${location.namespace}/${location.pvc}`;
  const endpoint = await createPvcEndpoint(
    { ...location, subpath: '' },
    { displayName, pairName: 'tether-quota', ...(kubeconfig === undefined ? {} : { kubeconfig }) },
  );
  try {
    const space = await endpoint.freeSpace();
    return {
      usedBytes: space.usedBytes ?? 0,
      totalBytes: space.totalBytes ?? 0,
      freeBytes: space.freeBytes,
      measuredAt: now(),
    };
  } finally {
    await endpoint.close();
  }
}
