import { join } from 'node:path';
import type { Command } from 'commander';
import type { StateStore } from '../state/store.js';

/** What the quota command needs from main.ts. */
export interface QuotaCommandContext {
  readonly openStore: () => StateStore;
  readonly print: (text: string) => void;
  readonly home: () => string;
}

interface QuotaFlags {
  readonly namespace: string[];
  readonly json?: boolean;
  readonly csv?: boolean;
  readonly refresh?: boolean;
  readonly phfs?: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly s3Endpoint?: string;
  readonly s3Bucket?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Namespaces of the user's pvc:// pairs: places they work in, shown when RBAC lets them see them. */
function pairNamespaces(store: StateStore, parse: (url: string) => { scheme: string; namespace?: string }): string[] {
  const names = new Set<string>();
  for (const pair of store.listPairs()) {
    try {
      const remote = parse(pair.remoteUrl);
      if (remote.scheme === 'pvc' && remote.namespace !== undefined) names.add(remote.namespace);
    } catch {
      // A pair with an unparsable URL says nothing about namespaces.
    }
  }
  return [...names];
}

/** `tether quota`: storage, quotas and the user's access per namespace, as RBAC lets them see it. */
export function registerQuotaCommand(program: Command, context: QuotaCommandContext): void {
  program
    .command('quota')
    .description('storage quotas, claims (capacity, bytes used, access) and PHFS usage you may see')
    .option('-n, --namespace <ns>', 'only this namespace (repeatable)', collect, [])
    .option('--json', 'print the report as JSON')
    .option('--csv', 'print the report as CSV (one row per quota resource, claim and PHFS prefix)')
    .option('--refresh', 'measure bytes used with df in a pod that mounts each claim (else: the last measurement)')
    .option('--phfs', 'add PHFS usage (bytes, objects) per group prefix')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: the standard loading rules)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('--s3-endpoint <url>', 'PHFS endpoint for --phfs (default: AWS_ENDPOINT_URL)')
    .option('--s3-bucket <name>', 'PHFS bucket for --phfs (default: phfs)')
    .action(async (flags: QuotaFlags) => {
      const [{ buildQuotaReport, loadKubeConfigFor }, { UsageCache, measureClaim, usageKey }, format, remoteUrl] =
        await Promise.all([
          import('./cluster.js'),
          import('./usage.js'),
          import('./format.js'),
          import('../endpoints/remoteUrl.js'),
        ]);
      const config = loadKubeConfigFor(flags.kubeconfig, flags.context);
      const server = config.getCurrentCluster()?.server ?? '';
      const cache = new UsageCache(join(context.home(), 'quota-usage.json'));
      const store = context.openStore();
      let candidates: string[];
      try {
        candidates = pairNamespaces(store, remoteUrl.parseRemoteUrl);
      } finally {
        store.close();
      }
      const failures: string[] = [];
      const usage = async (namespace: string, pvc: string) => {
        const key = usageKey(server, namespace, pvc);
        if (flags.refresh === true) {
          try {
            cache.set(
              key,
              await measureClaim(
                { ...(flags.context === undefined ? {} : { context: flags.context }), namespace, pvc },
                flags.kubeconfig,
              ),
            );
          } catch (error) {
            failures.push(`${namespace}/${pvc}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        return cache.get(key);
      };
      let phfs: ((group: string) => Promise<import('./report.js').PhfsUsage | undefined>) | undefined;
      let closeS3 = (): void => undefined;
      if (flags.phfs === true) {
        const [{ createS3Client, settingsFrom, DEFAULT_PHFS_BUCKET }, { phfsGroupUsage }] = await Promise.all([
          import('../endpoints/phfs/settings.js'),
          import('./phfsUsage.js'),
        ]);
        const settings = settingsFrom(
          {
            s3: {
              ...(flags.s3Endpoint === undefined ? {} : { endpoint: flags.s3Endpoint }),
              ...(flags.s3Bucket === undefined ? {} : { bucket: flags.s3Bucket }),
            },
          },
          process.env,
        );
        const client = createS3Client(settings);
        closeS3 = () => client.destroy();
        phfs = (group) => phfsGroupUsage(client, settings.bucket ?? DEFAULT_PHFS_BUCKET, group);
      }
      let report;
      try {
        report = await buildQuotaReport(config, {
          ...(flags.namespace.length > 0 ? { namespaces: flags.namespace } : {}),
          candidates,
          usage,
          ...(phfs === undefined ? {} : { phfs }),
        });
      } finally {
        closeS3();
      }
      if (flags.refresh === true) cache.save();
      for (const failure of failures) process.stderr.write(`tether: could not measure ${failure}\n`);
      if (flags.json === true) context.print(JSON.stringify(report));
      else if (flags.csv === true) process.stdout.write(format.quotaCsv(report));
      else context.print(format.quotaText(report));
    });
}
