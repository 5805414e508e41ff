import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { openRemote } from '../../sync-engine/endpoints/open.js';
import { createPvcEndpoint } from '../../sync-engine/endpoints/pvc/pvcEndpoint.js';
import { REQUIRED_TOOLS } from '../../sync-engine/endpoints/pvc/probe.js';
import { StateStore } from '../../sync-engine/state/store.js';
import { closePvcSuite, openPvcSuite } from './helpers.js';
import type { PvcLab } from './helpers.js';

/** Each way a PVC remote can be out of reach ends in one error that says what failed and what to do. */
let lab: PvcLab;
let store: StateStore;
let work: string;

beforeAll(async () => {
  ({ lab, work, store } = await openPvcSuite('errors'));
}, 120_000);
afterEach(() => {
  lab.lab.setFaults({ exec: {}, scheduling: {} });
});
afterAll(() => closePvcSuite({ lab, work, store }), 60_000);

const opened = (url: string, options: Record<string, unknown> = {}): Promise<unknown> =>
  openRemote(url, { options: { kubeconfig: lab.lab.kubeconfig, ...options } }).then(
    async (endpoint) => {
      await endpoint.close();
      return endpoint;
    },
    (error: unknown) => error,
  );

async function helperPods(namespace: string): Promise<string> {
  const listed = await lab.kubectl([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    'app.kubernetes.io/managed-by=tether',
    '-o',
    'name',
  ]);
  return listed.stdout.toString().trim();
}

describe('pvc:// errors', () => {
  it('a pod without tar: the error names the tool and suggests the helper pod', async () => {
    // A GNU pod whose PATH holds every tool Tether needs but tar.
    const tools = ['sh', 'sleep', ...REQUIRED_TOOLS.filter((tool) => tool !== 'tar')];
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'no-tar', namespace: 'group-vision' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'debian:12',
            env: [{ name: 'PATH', value: '/toolbox' }],
            command: [
              '/usr/bin/sh',
              '-c',
              '/usr/bin/mkdir -p /toolbox && for t in "$@"; do /usr/bin/ln -sf "/usr/bin/$t" "/toolbox/$t"; done && exec /usr/bin/sleep 3600',
              'sh',
              ...tools,
            ],
            volumeMounts: [{ name: 'd', mountPath: '/data' }],
          },
        ],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'vision-archive' } }],
      },
    };
    expect((await lab.kubectl(['apply', '-f', '-'], { input: Buffer.from(JSON.stringify(manifest)) })).code).toBe(0);
    const ready = await lab.kubectl([
      'wait',
      '-n',
      'group-vision',
      '--for=jsonpath={.status.phase}=Running',
      '--timeout=60s',
      'pod/no-tar',
    ]);
    expect(ready.code).toBe(0);
    const error = await opened('pvc://alice@group-vision/vision-archive', { pod: 'no-tar' });
    expect(error).toMatchObject({ code: 'remote-unreachable' });
    expect((error as Error).message).toMatch(/group-vision\/no-tar lacks tar,/);
    expect((error as Error).message).toMatch(/use the helper pod \(leave out --pod\)/);
    await lab.kubectl(['delete', 'pod', '-n', 'group-vision', 'no-tar']);
  }, 120_000);

  it('an unschedulable helper pod is named as such, and removed', async () => {
    lab.lab.setFaults({ scheduling: { fail: true } });
    const error = await createPvcEndpoint(
      { context: 'alice', namespace: 'group-vision', pvc: 'vision-archive', subpath: '' },
      { displayName: 'pvc://alice@group-vision/vision-archive', kubeconfig: lab.lab.kubeconfig, startTimeoutMs: 8000 },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'remote-unreachable' });
    expect((error as Error).message).toMatch(
      /helper pod for the PVC group-vision\/vision-archive cannot be scheduled: .*taint/,
    );
    expect(await helperPods('group-vision')).toBe('');
  }, 60_000);

  it('an RWO claim mounted by a pod on a node the helper cannot use: says so, and names that pod', async () => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'rwo-user', namespace: 'user-alice' },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'busybox:1.36',
            command: ['sleep', '3600'],
            volumeMounts: [{ name: 'd', mountPath: '/data' }],
          },
        ],
        volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'alice-home' } }],
      },
    };
    expect((await lab.kubectl(['apply', '-f', '-'], { input: Buffer.from(JSON.stringify(manifest)) })).code).toBe(0);
    const ready = await lab.kubectl([
      'wait',
      '-n',
      'user-alice',
      '--for=jsonpath={.status.phase}=Running',
      '--timeout=60s',
      'pod/rwo-user',
    ]);
    expect(ready.code).toBe(0);
    lab.lab.setFaults({ scheduling: { fail: true } });
    const error = await createPvcEndpoint(
      { context: 'alice', namespace: 'user-alice', pvc: 'alice-home', subpath: '' },
      { displayName: 'pvc://alice@user-alice/alice-home', kubeconfig: lab.lab.kubeconfig, startTimeoutMs: 8000 },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(
      /the PVC user-alice\/alice-home is ReadWriteOnce and mounted by the pod rwo-user on node node-[a-c], so the helper pod must run on that node, and it cannot: .*--pod rwo-user/,
    );
    expect(await helperPods('user-alice')).toBe('');
    await lab.kubectl(['delete', 'pod', '-n', 'user-alice', 'rwo-user']);
  }, 90_000);

  it('a helper image that cannot be pulled is named, with the option to change it, and the pod removed', async () => {
    const error = await opened('pvc://alice@group-vision/vision-archive', {
      helperImage: 'registry.example/no-such:1',
    });
    expect(error).toMatchObject({ code: 'remote-unreachable' });
    expect((error as Error).message).toMatch(
      /image registry\.example\/no-such:1 cannot be pulled \((ErrImagePull|ImagePullBackOff)\)/,
    );
    expect((error as Error).message).toMatch(/--helper-image/);
    expect(await helperPods('group-vision')).toBe('');
  }, 60_000);

  it('a read-only mount refuses writes up front with one read-only error (pulls through it: sync.integration.test.ts)', async () => {
    const local = join(work, 'ro');
    await mkdir(join(local, 'new'), { recursive: true });
    await writeFile(join(local, 'new', 'mine.txt'), 'bob was here');
    store.addPair({
      name: 'ro',
      localPath: local,
      remoteUrl: 'pvc://bob@group-vision/vision-datasets/datasets/cifar-mini',
      mode: 'push',
      compare: 'size-mtime',
      ignore: [],
      options: { kubeconfig: lab.lab.kubeconfig },
    });
    const error = await syncPair(store, 'ro').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'read-only' });
    expect((error as Error).message).toMatch(
      /unable to create folders on pvc:\/\/bob@group-vision\/vision-datasets\/datasets\/cifar-mini: the volume is read-only in the pod group-vision\/vision-data-viewer \(read-only file system\); use a pull mode/,
    );
  }, 60_000);

  it('a PVC that is Pending is named, with where to look', async () => {
    const error = await opened('pvc://alice@group-vision/vision-scratch');
    expect((error as Error).message).toMatch(
      /the PVC group-vision\/vision-scratch is Pending .*kubectl describe pvc -n group-vision vision-scratch/,
    );
  }, 60_000);

  it('403s name the namespace and the verb', async () => {
    // bob has no role at all in group-nlp: reading the claim is forbidden.
    const forbidden = await opened('pvc://bob@group-nlp/nlp-corpus');
    expect(forbidden).toMatchObject({ code: 'permission-denied' });
    expect((forbidden as Error).message).toMatch(/forbidden \(403\)/);
    expect((forbidden as Error).message).toMatch(/cannot get .*persistentvolumeclaims.* in the namespace "group-nlp"/);
    // alice may read in group-nlp but not create pods or exec there.
    const readOnly = await opened('pvc://alice@group-nlp/nlp-corpus');
    expect(readOnly).toMatchObject({ code: 'permission-denied' });
    expect((readOnly as Error).message).toMatch(
      /read-only for you: alice may not create pods and exec into them in namespace group-nlp/,
    );
  }, 60_000);
});
