import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Client } from '@aws-sdk/client-s3';
import { parseDf } from '../../sync-engine/endpoints/pvc/freeSpace.js';
import { buildQuotaReport, loadKubeConfigFor } from '../../sync-engine/quota/cluster.js';
import type { NamespaceReport, QuotaReport } from '../../sync-engine/quota/report.js';
import { parseQuantity } from '../../sync-engine/quota/report.js';
import { phfsGroupUsage } from '../../sync-engine/quota/phfsUsage.js';
import { measureClaim } from '../../sync-engine/quota/usage.js';
import { startPvcLab } from '../pvc/helpers.js';
import type { PvcLab } from '../pvc/helpers.js';

/** `tether quota` against the lab, as four users; every number checked against kubectl and df. */
let lab: PvcLab;
let home: string;
const cli = fileURLToPath(new URL('../../sync-engine/cli/main.ts', import.meta.url));

beforeAll(async () => {
  lab = await startPvcLab();
  home = await mkdtemp(join(tmpdir(), 'tether-quota-home-'));
}, 120_000);
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
  await lab.stop();
}, 60_000);

function reportAs(user: string, namespaces?: string[], now?: number): Promise<QuotaReport> {
  const config = loadKubeConfigFor(lab.lab.kubeconfig, user);
  return buildQuotaReport(config, {
    ...(namespaces === undefined ? {} : { namespaces }),
    ...(now === undefined ? {} : { now: () => now }),
  });
}

/** `aws s3 ls --recursive --summarize` as the lab's admin: total objects and bytes under a prefix. */
function awsSummary(url: string): Promise<{ bytes: number; objects: number }> {
  const { endpoint, region, accessKeyId, secretAccessKey } = lab.lab.s3;
  return new Promise((resolve, reject) => {
    execFile(
      'aws',
      ['s3', 'ls', '--recursive', '--summarize', '--endpoint-url', endpoint, url],
      {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_ACCESS_KEY_ID: accessKeyId,
          AWS_SECRET_ACCESS_KEY: secretAccessKey,
          AWS_DEFAULT_REGION: region,
          AWS_CONFIG_FILE: join(home, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
        },
        timeout: 60_000,
      },
      (error, stdout) => {
        const objects = /Total Objects: (\d+)/.exec(stdout)?.[1];
        const bytes = /Total Size: (\d+)/.exec(stdout)?.[1];
        if (error !== null || objects === undefined || bytes === undefined) reject(error ?? new Error(stdout));
        else resolve({ bytes: Number(bytes), objects: Number(objects) });
      },
    );
  });
}

function ns(report: QuotaReport, name: string): NamespaceReport {
  const found = report.namespaces.find((n) => n.name === name);
  if (found === undefined) throw new Error(`${name} is not in the report`);
  return found;
}

async function kubectlJson(args: string[]): Promise<{ items: Record<string, unknown>[] }> {
  const result = await lab.kubectl([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.toString()) as { items: Record<string, unknown>[] };
}

describe('tether quota against the lab', () => {
  it('a cluster admin sees every group and personal namespace; quotas and claims match kubectl', async () => {
    const report = await reportAs('admin');
    expect(report.scope).toBe('cluster');
    expect(report.namespaces.map((n) => n.name)).toEqual(['group-nlp', 'group-vision', 'user-alice']);
    for (const namespace of report.namespaces) {
      expect(namespace.permission).toBe('Admin');
      const quotas = await kubectlJson(['get', 'resourcequota', '-n', namespace.name]);
      const expected = quotas.items.flatMap((q) => {
        const spec = q.spec as { hard: Record<string, string> };
        const status = q.status as { used: Record<string, string> };
        const name = (q.metadata as { name: string }).name;
        return Object.keys(spec.hard)
          .sort()
          .map((resource) => [name, resource, spec.hard[resource], status.used[resource] ?? '0']);
      });
      expect(namespace.quotas.map((q) => [q.name, q.resource, q.hard, q.used])).toEqual(expected);
      const claims = await kubectlJson(['get', 'pvc', '-n', namespace.name]);
      const fromKubectl = claims.items
        .map((c) => {
          const status = c.status as { phase: string; capacity?: { storage: string } };
          const spec = c.spec as { storageClassName: string; resources: { requests: { storage: string } } };
          return [
            (c.metadata as { name: string }).name,
            status.phase,
            spec.storageClassName,
            parseQuantity(status.capacity?.storage ?? spec.resources.requests.storage),
          ];
        })
        .sort();
      expect(namespace.pvcs.map((p) => [p.name, p.phase, p.storageClass, p.capacityBytes]).sort()).toEqual(fromKubectl);
    }
    const vision = ns(report, 'group-vision');
    const storage = vision.quotas.find((q) => q.resource === 'requests.storage');
    // 50 + 20 + 100 + 10 Gi requested of 200 Gi.
    expect(storage).toMatchObject({ used: '180Gi', hard: '200Gi', percent: 90, level: 'critical' });
    expect(report.warnings).toContain('group-vision quota storage: requests.storage at 90% (180Gi of 200Gi)');
  });

  it('RBAC decides what each user sees and their level: group admin, member, read-only member', async () => {
    const alice = await reportAs('alice', ['group-vision', 'group-nlp', 'user-alice']);
    expect(alice.scope).toBe('namespaces');
    expect(alice.namespaces.map((n) => [n.name, n.permission])).toEqual([
      ['group-nlp', 'Read'],
      ['group-vision', 'Write'],
      ['user-alice', 'Admin'],
    ]);
    const carol = await reportAs('carol', ['group-vision', 'group-nlp']);
    expect(carol.namespaces.map((n) => [n.name, n.permission])).toEqual([['group-vision', 'Admin']]);
    const bob = await reportAs('bob', ['group-vision', 'group-nlp', 'user-alice']);
    expect(bob.namespaces.map((n) => [n.name, n.permission])).toEqual([['group-vision', 'Read']]);
    expect(ns(bob, 'group-vision').pvcs.every((p) => p.permission === 'Read')).toBe(true);
    // Without --namespace, a user who may not list namespaces sees their kubeconfig context's namespace.
    expect((await reportAs('bob')).namespaces.map((n) => n.name)).toEqual(['group-vision']);
  });

  it('a claim Pending for more than 5 minutes is flagged for an admin', async () => {
    const later = Date.now() + 6 * 60 * 1000;
    const report = await reportAs('admin', ['group-vision'], later);
    const scratch = ns(report, 'group-vision').pvcs.find((p) => p.name === 'vision-scratch');
    expect(scratch).toMatchObject({ phase: 'Pending', pendingTooLong: true });
    expect(report.warnings[0]).toMatch(/^group-vision\/vision-scratch has been Pending for \d+ min: ask an admin/);
    const now = await reportAs('admin', ['group-vision']);
    expect(ns(now, 'group-vision').pvcs.find((p) => p.name === 'vision-scratch')?.pendingTooLong).toBe(false);
  });

  it('bytes used come from df in a pod that mounts the claim, as df reports them there', async () => {
    const config = { namespace: 'user-alice', pvc: 'alice-small', context: 'alice' };
    const sample = await measureClaim(config, lab.lab.kubeconfig);
    const witness = await lab.witnessPod('user-alice', 'alice-small', 'busybox:1.36');
    const result = await lab.exec('user-alice', witness, 'df', '-P', '-k', '/data');
    const df = parseDf(result.stdout.toString());
    expect(df).toBeDefined();
    expect(sample.totalBytes).toBe(df!.totalBytes);
    expect(sample.usedBytes).toBe(df!.usedBytes);
    expect(sample.freeBytes).toBe(df!.freeBytes);
  });

  it('PHFS usage per group prefix matches what the aws CLI counts, as far as the user may list', async () => {
    const alice = lab.lab.user('alice');
    const client = new S3Client({
      endpoint: lab.lab.s3.endpoint,
      region: lab.lab.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: alice.s3.accessKeyId, secretAccessKey: alice.s3.secretAccessKey },
    });
    try {
      const report = await buildQuotaReport(loadKubeConfigFor(lab.lab.kubeconfig, 'alice'), {
        namespaces: ['group-vision', 'group-nlp'],
        phfs: (group) => phfsGroupUsage(client, lab.lab.s3.bucket, group),
      });
      for (const group of ['vision', 'nlp']) {
        const counted = await awsSummary(`s3://${lab.lab.s3.bucket}/groups/${group}/`);
        expect(ns(report, `group-${group}`).phfs).toEqual({ prefix: `groups/${group}/`, ...counted });
      }
      expect(ns(report, 'group-vision').phfs?.objects).toBeGreaterThan(0);
    } finally {
      client.destroy();
    }
  });

  it('the CLI prints the report, as JSON and as CSV, with --refresh measuring and caching', async () => {
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', cli, 'quota', '--kubeconfig', lab.lab.kubeconfig, ...args],
          { env: { ...process.env, TETHER_HOME: home }, timeout: 120_000 },
          (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
        );
      });
    const text = await run(['--context', 'alice', '-n', 'user-alice', '--refresh']);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('user-alice (personal, alice): your access Admin');
    expect(text.stdout).toMatch(/alice-small\s+Bound\s+shared-rwx\s+RWX\s+64 MiB\s+\S+ \S+ [\d.]+% \(0m ago\)/);
    const json = JSON.parse((await run(['--context', 'alice', '-n', 'user-alice', '--json'])).stdout) as QuotaReport;
    // The cached measurement is shown without --refresh.
    expect(ns(json, 'user-alice').pvcs.find((p) => p.name === 'alice-small')?.usage?.totalBytes).toBe(64 * 1024 * 1024);
    const csv = (await run(['--context', 'alice', '-n', 'user-alice', '--csv'])).stdout.split('\r\n');
    expect(csv[0]).toBe(
      'type,namespace,kind,group,name,resource,status,storage_class,access_modes,capacity_bytes,hard,used,used_bytes,percent_used,level,measured_at,age_seconds,pending_too_long,permission',
    );
    expect(
      csv.some((line) =>
        line.startsWith('pvc,user-alice,personal,alice,alice-small,storage,Bound,shared-rwx,ReadWriteMany,67108864,'),
      ),
    ).toBe(true);
    expect(csv.some((line) => line.startsWith('quota,user-alice,personal,alice,personal,requests.storage,'))).toBe(
      true,
    );
  }, 180_000);
});
