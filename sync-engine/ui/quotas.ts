import { join } from 'node:path';
import { parseRemoteUrl } from '../endpoints/remoteUrl.js';
import type { PhfsUsage, UsageSample } from '../quota/report.js';
import type { StateStore } from '../state/store.js';
import type { QuotaPage } from './contract.js';
import type { Settings } from './contract.js';

/**
 * The Quotas page's engine side: the same report as `tether quota` (sync-engine/quota), built as the user of the
 * chosen kubeconfig context, so what the page shows is what RBAC lets that user see. Bytes used come from the
 * same cache as the CLI's (`quota-usage.json` in TETHER_HOME): a refresh measures one claim with `df` in a pod
 * that mounts it, and `tether quota` sees the new measurement too.
 */

export interface QuotaQuery {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespaces?: readonly string[];
  readonly phfs?: boolean;
}

/** Namespaces of the user's pvc:// pairs: places they work in, shown when RBAC lets them see them. */
function pairNamespaces(store: StateStore): string[] {
  const names = new Set<string>();
  for (const pair of store.listPairs()) {
    try {
      const remote = parseRemoteUrl(pair.remoteUrl);
      if (remote.scheme === 'pvc') names.add(remote.namespace);
    } catch {
      // A pair with an unparsable URL says nothing about namespaces.
    }
  }
  return [...names];
}

function cacheFile(home: string): string {
  return join(home, 'quota-usage.json');
}

export async function quotaPage(
  store: StateStore,
  home: string,
  settings: Settings,
  query: QuotaQuery,
): Promise<QuotaPage> {
  const [{ buildQuotaReport, loadKubeConfigFor }, { UsageCache, usageKey }, { quotaCsv }] = await Promise.all([
    import('../quota/cluster.js'),
    import('../quota/usage.js'),
    import('../quota/format.js'),
  ]);
  const config = loadKubeConfigFor(query.kubeconfig ?? settings.kubeconfig, query.context);
  const server = config.getCurrentCluster()?.server ?? '';
  const cache = new UsageCache(cacheFile(home));
  const failures: string[] = [];
  let phfs: ((group: string) => Promise<PhfsUsage | undefined>) | undefined;
  let closeS3 = (): void => undefined;
  if (query.phfs === true) {
    const [{ createS3Client, settingsFrom, DEFAULT_PHFS_BUCKET }, { phfsGroupUsage }] = await Promise.all([
      import('../endpoints/phfs/settings.js'),
      import('../quota/phfsUsage.js'),
    ]);
    const s3Settings = settingsFrom(
      {
        s3: {
          ...(settings.phfsEndpoint === undefined ? {} : { endpoint: settings.phfsEndpoint }),
          ...(settings.phfsBucket === undefined ? {} : { bucket: settings.phfsBucket }),
        },
      },
      process.env,
    );
    const client = createS3Client(s3Settings);
    closeS3 = () => client.destroy();
    phfs = async (group) => {
      try {
        return await phfsGroupUsage(client, s3Settings.bucket ?? DEFAULT_PHFS_BUCKET, group);
      } catch (error) {
        failures.push(`PHFS usage of group ${group}: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
    };
  }
  try {
    const report = await buildQuotaReport(config, {
      ...(query.namespaces === undefined || query.namespaces.length === 0 ? {} : { namespaces: query.namespaces }),
      candidates: pairNamespaces(store),
      usage: (namespace, pvc) => Promise.resolve(cache.get(usageKey(server, namespace, pvc))),
      ...(phfs === undefined ? {} : { phfs }),
    });
    return { report, csv: quotaCsv(report), failures };
  } finally {
    closeS3();
  }
}

/** Measures one claim's bytes used now (a pod that mounts it runs `df`), and keeps it in the shared cache. */
export async function refreshUsage(
  home: string,
  settings: Settings,
  claim: { kubeconfig?: string; context?: string; namespace: string; pvc: string },
): Promise<UsageSample> {
  const [{ loadKubeConfigFor }, { UsageCache, measureClaim, usageKey }] = await Promise.all([
    import('../quota/cluster.js'),
    import('../quota/usage.js'),
  ]);
  const kubeconfig = claim.kubeconfig ?? settings.kubeconfig;
  const config = loadKubeConfigFor(kubeconfig, claim.context);
  const sample = await measureClaim(
    {
      ...(claim.context === undefined ? {} : { context: claim.context }),
      namespace: claim.namespace,
      pvc: claim.pvc,
    },
    kubeconfig,
  );
  // Read the cache again just before writing: another refresh (or `tether quota --refresh`) may have run meanwhile.
  const cache = new UsageCache(cacheFile(home));
  cache.set(usageKey(config.getCurrentCluster()?.server ?? '', claim.namespace, claim.pvc), sample);
  cache.save();
  return sample;
}
