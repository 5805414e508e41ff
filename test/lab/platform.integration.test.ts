import { request } from 'node:https';
import { PassThrough } from 'node:stream';
import { BatchV1Api, CoreV1Api, Exec, KubeConfig } from '@kubernetes/client-node';
import type { CoreV1Event, V1Job, V1Pod, V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, model, startTestLab } from './helpers.js';
import type { TestLab } from './helpers.js';

/** Platform semantics: volume binding, RWO attachment, images, scheduling faults, capacity, jobs, restarts, quotas. */
let t: TestLab;
let core: CoreV1Api;
let batch: BatchV1Api;
let kc: KubeConfig;
const ns = 'group-vision';

beforeAll(async () => {
  t = await startTestLab();
  kc = new KubeConfig();
  kc.loadFromFile(t.lab.kubeconfig);
  kc.setCurrentContext('admin');
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
});

afterAll(async () => {
  await t.stop();
});

function pod(
  name: string,
  options: {
    claim?: string;
    node?: string;
    image?: string;
    command?: string[];
    restartPolicy?: string;
    activeDeadlineSeconds?: number;
    namespace?: string;
    subPath?: string;
  } = {},
): V1Pod {
  return model<V1Pod>({
    metadata: { name, namespace: options.namespace ?? ns },
    spec: {
      ...(options.node === undefined ? {} : { nodeName: options.node }),
      ...(options.restartPolicy === undefined ? {} : { restartPolicy: options.restartPolicy }),
      ...(options.activeDeadlineSeconds === undefined ? {} : { activeDeadlineSeconds: options.activeDeadlineSeconds }),
      containers: [
        {
          name: 'main',
          image: options.image ?? 'busybox',
          command: options.command ?? ['sleep', '3600'],
          ...(options.claim === undefined
            ? {}
            : {
                volumeMounts: [
                  {
                    name: 'data',
                    mountPath: '/data',
                    ...(options.subPath === undefined ? {} : { subPath: options.subPath }),
                  },
                ],
              }),
        },
      ],
      ...(options.claim === undefined
        ? {}
        : { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: options.claim } }] }),
    },
  });
}

async function create(p: V1Pod): Promise<void> {
  await core.createNamespacedPod({ namespace: p.metadata?.namespace ?? ns, body: p });
}

function read(name: string, namespace = ns): Promise<V1Pod> {
  return core.readNamespacedPod({ namespace, name });
}

async function eventsOf(name: string, namespace = ns): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

function waitPhase(name: string, phase: string, namespace = ns): Promise<V1Pod> {
  return eventually(`pod ${name} to be ${phase}`, async () => {
    const p = await read(name, namespace);
    return p.status?.phase === phase ? p : undefined;
  });
}

function adminFaults(body: object, user = 'admin'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(
      `${t.lab.apiServer}/lab/v1/faults`,
      {
        method: 'POST',
        ca: t.lab.caCertPem,
        headers: {
          Authorization: `Bearer ${t.lab.user(user).token}`,
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(text)),
        },
      },
      (res) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

async function exec(
  podName: string,
  command: string[],
  namespace = ns,
  container = 'main',
): Promise<{ stdout: string; stderr: string; status: V1Status | undefined }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const outChunks: Buffer[] = [];
  const errChunks: Buffer[] = [];
  out.on('data', (c: Buffer) => outChunks.push(c));
  err.on('data', (c: Buffer) => errChunks.push(c));
  let status: V1Status | undefined;
  const socket = await new Exec(kc).exec(
    namespace,
    podName,
    container,
    command,
    out,
    err,
    null,
    false,
    (s) => (status = s),
  );
  await new Promise((resolve) => socket.on('close', resolve));
  return { stdout: Buffer.concat(outChunks).toString(), stderr: Buffer.concat(errChunks).toString(), status };
}

describe('volumes', () => {
  it("keeps a pod Pending while its claim is not bound, with the scheduler's event", async () => {
    await create(pod('waits-for-claim', { claim: 'vision-scratch' }));
    const event = await eventually('a FailedScheduling event', async () =>
      (await eventsOf('waits-for-claim')).find((e) => e.reason === 'FailedScheduling'),
    );
    expect(event.message).toBe(
      '0/3 nodes are available: persistentvolumeclaim "vision-scratch" is not bound. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
    const p = await read('waits-for-claim');
    expect(p.status?.phase).toBe('Pending');
    expect(p.spec?.nodeName).toBeUndefined();
    expect(p.status?.conditions?.find((c) => c.type === 'PodScheduled')).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
    });
  });

  it('attaches an RWO claim to one node at a time', async () => {
    await create(pod('rwo-a', { claim: 'vision-checkpoints', node: 'node-a' }));
    await waitPhase('rwo-a', 'Running');
    await create(pod('rwo-same-node', { claim: 'vision-checkpoints', node: 'node-a' }));
    await waitPhase('rwo-same-node', 'Running');
    await create(pod('rwo-b', { claim: 'vision-checkpoints', node: 'node-b' }));
    const event = await eventually('a Multi-Attach event', async () =>
      (await eventsOf('rwo-b')).find((e) => e.reason === 'FailedAttachVolume'),
    );
    expect(event.message).toMatch(
      /^Multi-Attach error for volume "pvc-[0-9a-f-]+" Volume is already used by pod\(s\) rwo-a, rwo-same-node$/,
    );
    expect((await read('rwo-b')).status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
    await core.deleteNamespacedPod({ namespace: ns, name: 'rwo-a' });
    await core.deleteNamespacedPod({ namespace: ns, name: 'rwo-same-node' });
    await waitPhase('rwo-b', 'Running');
    const listing = await exec('rwo-b', ['ls', '/data/checkpoints/resnet50']);
    expect(listing.stdout).toBe('config.yaml\nepoch-001.ckpt\nepoch-002.ckpt\nepoch-003.ckpt\n');
    await core.deleteNamespacedPod({ namespace: ns, name: 'rwo-b' });
  });

  it('mounts a subPath of a claim, but never through a symbolic link planted in it', async () => {
    await create(pod('planter', { claim: 'vision-archive' }));
    await waitPhase('planter', 'Running');
    await exec('planter', ['sh', '-c', 'mkdir -p /data/sub && echo inside > /data/sub/file && ln -s / /data/escape']);
    const withSubPath = (name: string, subPath: string): V1Pod => pod(name, { claim: 'vision-archive', subPath });
    await create(withSubPath('sub-ok', 'sub'));
    await waitPhase('sub-ok', 'Running');
    expect((await exec('sub-ok', ['cat', '/data/file'])).stdout).toBe('inside\n');
    await create(withSubPath('sub-escape', 'escape/etc'));
    const event = await eventually('a Failed event', async () =>
      (await eventsOf('sub-escape')).find((e) => e.reason === 'Failed'),
    );
    expect(event.message).toContain('failed to prepare subPath for volumeMount "data" of container "main"');
    expect((await read('sub-escape')).status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe(
      'CreateContainerConfigError',
    );
    for (const name of ['planter', 'sub-ok', 'sub-escape']) await core.deleteNamespacedPod({ namespace: ns, name });
  });

  if (process.getuid?.() !== 0) {
    console.log('skipped: enforced claim sizes need root to mount a sized tmpfs; run as root (as .ci/run does)');
  }
  it.skipIf(process.getuid?.() !== 0)(
    'backs an enforced claim with a filesystem of its size: ENOSPC past it, larger after a resize',
    async () => {
      await create(pod('filler', { claim: 'alice-small', namespace: 'user-alice' }));
      await waitPhase('filler', 'Running', 'user-alice');
      const size = await exec('filler', ['sh', '-c', 'df -k /data | tail -1'], 'user-alice');
      expect(size.stdout.split(/\s+/)[1]).toBe(String(64 * 1024));
      const fill = await exec(
        'filler',
        ['sh', '-c', 'dd if=/dev/zero of=/data/fill bs=1048576 count=100 2>&1; exit 0'],
        'user-alice',
      );
      expect(fill.stdout).toContain('No space left on device');
      await core.patchNamespacedPersistentVolumeClaim({
        namespace: 'user-alice',
        name: 'alice-small',
        body: [{ op: 'replace', path: '/spec/resources/requests/storage', value: '128Mi' }],
      });
      await eventually('the claim to grow', async () => {
        const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: 'user-alice', name: 'alice-small' });
        return claim.status?.capacity?.storage === '128Mi' ? true : undefined;
      });
      const bigger = await exec('filler', ['sh', '-c', 'df -k /data | tail -1'], 'user-alice');
      expect(bigger.stdout.split(/\s+/)[1]).toBe(String(128 * 1024));
      await core.deleteNamespacedPod({ namespace: 'user-alice', name: 'filler' });
    },
  );
});

describe('pods', () => {
  it('reports an image the lab cannot pull', async () => {
    await create(pod('no-image', { image: 'nginx:1.27' }));
    await eventually('ImagePullBackOff', async () =>
      (await read('no-image')).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff'
        ? true
        : undefined,
    );
    const failed = (await eventsOf('no-image')).find((e) => e.reason === 'Failed');
    expect(failed?.message).toMatch(/^Failed to pull image "nginx:1.27"/);
  });

  it('restarts a container under restartPolicy Always and counts it', async () => {
    await create(pod('crasher', { command: ['sh', '-c', 'exit 1'] }));
    const p = await eventually('a restart', async () => {
      const current = await read('crasher');
      return (current.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? current : undefined;
    });
    expect(p.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    await core.deleteNamespacedPod({ namespace: ns, name: 'crasher' });
  });

  it('fails a pod past its activeDeadlineSeconds', async () => {
    await create(pod('deadline', { restartPolicy: 'Never', activeDeadlineSeconds: 1 }));
    const failed = await waitPhase('deadline', 'Failed');
    expect(failed.status?.reason).toBe('DeadlineExceeded');
  });

  it('stops scheduling while the fault is on (admin only), and resumes when it is off', async () => {
    expect((await adminFaults({ scheduling: { fail: true } }, 'bob')).status).toBe(403);
    expect((await adminFaults({ scheduling: { fail: true } })).status).toBe(200);
    await create(pod('unlucky'));
    const event = await eventually('a FailedScheduling event', async () =>
      (await eventsOf('unlucky')).find((e) => e.reason === 'FailedScheduling'),
    );
    expect(event.message).toContain('3 node(s) had untolerated taint {lab.tether.dev/fault: NoSchedule}');
    expect((await adminFaults({ scheduling: { fail: false } })).status).toBe(200);
    await waitPhase('unlucky', 'Running');
    expect((await adminFaults({ scheduling: { fial: true } })).body).toContain('scheduling.fial is not a known fault');
  });

  it('cuts exec streams after N bytes and offers only v4 when asked', async () => {
    t.lab.setFaults({ exec: { cutAfterBytes: 10_000 } });
    const cut = await exec('vision-data-viewer', ['head', '-c', '1000000', '/dev/zero'], ns, 'viewer');
    expect(cut.stdout.length).toBeLessThan(1_000_000);
    expect(cut.status).toBeUndefined();
    t.lab.setFaults({ exec: { v4Only: true } });
    const v4 = await exec('vision-data-viewer', ['sh', '-c', 'echo v4'], ns, 'viewer');
    expect(v4.stdout).toBe('v4\n');
    expect(v4.status?.status).toBe('Success');
    t.lab.setFaults({ exec: {} });
  });
});

describe('jobs', () => {
  const job = (name: string, command: string[], spec: Record<string, number> = {}): V1Job =>
    model<V1Job>({
      metadata: { name },
      spec: {
        ...spec,
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command }] } },
      },
    });

  function condition(name: string, type: string): Promise<V1Job> {
    return eventually(`job ${name} ${type}`, async () => {
      const j = await batch.readNamespacedJob({ namespace: ns, name });
      return j.status?.conditions?.some((c) => c.type === type && c.status === 'True') === true ? j : undefined;
    });
  }

  it('replaces failed pods up to backoffLimit, then fails', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: job('flaky', ['sh', '-c', 'exit 2'], { backoffLimit: 1 }) });
    const failed = await condition('flaky', 'Failed');
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(failed.status?.failed).toBe(2);
  });

  it('fails a job past activeDeadlineSeconds and stops its pod', async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: job('slow', ['sleep', '3600'], { activeDeadlineSeconds: 2 }),
    });
    const failed = await condition('slow', 'Failed');
    expect(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('DeadlineExceeded');
    await eventually('the job pod to go', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=slow' });
      return pods.items.length === 0 ? true : undefined;
    });
  });

  it('deletes a job with its pods (Background propagation)', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: job('done', ['true']) });
    await condition('done', 'Complete');
    await batch.deleteNamespacedJob({ namespace: ns, name: 'done', propagationPolicy: 'Background' });
    await eventually('the job pods to go', async () => {
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=done' });
      return pods.items.length === 0 ? true : undefined;
    });
  });
});

describe('quotas', () => {
  it('counts new claims in status.used', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'group-nlp',
      body: model({
        metadata: { name: 'extra' },
        spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } },
      }),
    });
    await eventually('the quota to count it', async () => {
      const quota = await core.readNamespacedResourceQuota({ namespace: 'group-nlp', name: 'storage' });
      return quota.status?.used?.['requests.storage'] === '35Gi' && quota.status.used.persistentvolumeclaims === '2'
        ? true
        : undefined;
    });
    const claim = await eventually('the claim to bind', async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ namespace: 'group-nlp', name: 'extra' });
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    expect(claim.spec?.storageClassName).toBe('shared-rwx');
  });
});
