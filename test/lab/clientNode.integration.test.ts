import { PassThrough } from 'node:stream';
import { ApiException, CoreV1Api, Exec, KubeConfig, Watch } from '@kubernetes/client-node';
import type { V1Pod, V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, model, startTestLab } from './helpers.js';
import type { TestLab } from './helpers.js';

/** @kubernetes/client-node (the library Tether uses) against the lab: list, read, watch, exec, errors. */
let t: TestLab;

function config(context: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(t.lab.kubeconfig);
  kc.setCurrentContext(context);
  return kc;
}

beforeAll(async () => {
  t = await startTestLab();
});

afterAll(async () => {
  await t.stop();
});

const podSpec = (name: string, command: string[]): V1Pod =>
  model<V1Pod>({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'client-node' } },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command }] },
  });

describe('@kubernetes/client-node', () => {
  it('lists and reads claims with typed results', async () => {
    const api = config('alice').makeApiClient(CoreV1Api);
    const list = await api.listNamespacedPersistentVolumeClaim({
      namespace: 'group-vision',
      labelSelector: 'app.kubernetes.io/part-of=vision-data',
    });
    expect(list.items.map((c) => c.metadata?.name)).toEqual(['vision-checkpoints', 'vision-datasets']);
    const claim = await api.readNamespacedPersistentVolumeClaim({ namespace: 'group-vision', name: 'vision-datasets' });
    expect(claim.status?.phase).toBe('Bound');
    expect(claim.status?.capacity?.storage).toBe('50Gi');
    expect(claim.spec?.accessModes).toEqual(['ReadWriteMany']);
  });

  it('reports a forbidden create as an ApiException carrying the Status', async () => {
    const api = config('bob').makeApiClient(CoreV1Api);
    const error = await api.createNamespacedPod({ namespace: 'group-vision', body: podSpec('nope', ['true']) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiException);
    const exception = error as ApiException<string>;
    expect(exception.code).toBe(403);
    expect(JSON.parse(exception.body) as V1Status).toMatchObject({ reason: 'Forbidden', code: 403 });
  });

  it('watches a pod from creation to deletion', async () => {
    const kc = config('alice');
    const seen: string[] = [];
    const watch = new Watch(kc);
    const controller = await watch.watch(
      '/api/v1/namespaces/group-vision/pods',
      { labelSelector: 'app=client-node' },
      (type: string, pod: V1Pod) => seen.push(`${type} ${pod.status?.phase ?? ''}`),
      () => undefined,
    );
    const api = kc.makeApiClient(CoreV1Api);
    await api.createNamespacedPod({ namespace: 'group-vision', body: podSpec('watched', ['sh', '-c', 'sleep 1']) });
    await eventually('the pod to succeed', () => (seen.includes('MODIFIED Succeeded') ? true : undefined));
    await api.deleteNamespacedPod({ namespace: 'group-vision', name: 'watched' });
    await eventually('the deletion event', () => (seen.some((s) => s.startsWith('DELETED')) ? true : undefined));
    controller.abort();
    expect(seen[0]).toBe('ADDED Pending');
    expect(seen).toContain('MODIFIED Running');
  });

  it('runs a command with Exec and gets the exit status', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => err.push(c));
    let status: V1Status | undefined;
    const socket = await new Exec(config('alice')).exec(
      'group-vision',
      'vision-data-viewer',
      'viewer',
      ['sh', '-c', 'ls /data/datasets; echo problem >&2; exit 4'],
      stdout,
      stderr,
      null,
      false,
      (s) => (status = s),
    );
    await new Promise((resolve) => socket.on('close', resolve));
    expect(Buffer.concat(out).toString()).toBe('README.md\ncifar-mini\ncoco-sample\n');
    expect(Buffer.concat(err).toString()).toBe('problem\n');
    expect(status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '4' }] },
    });
  });
});
