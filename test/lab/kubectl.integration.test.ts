import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestLab } from './helpers.js';
import type { TestLab } from './helpers.js';

/** The real kubectl (1.32, WebSockets for exec and cp) against the lab with the default fixture. */
let t: TestLab;

beforeAll(async () => {
  t = await startTestLab();
});

afterAll(async () => {
  await t.stop();
});

function rows(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('kubectl get', () => {
  it('prints pods and claims of all namespaces with the server-side columns', async () => {
    const result = await t.kubectl(['get', 'pods,pvc', '-A']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = rows(result.stdout);
    expect(lines[0]).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(lines.find((l) => l[1] === 'pod/vision-data-viewer')?.slice(2, 5)).toEqual(['1/1', 'Running', '0']);
    const claimHeader = lines.find((l) => l[1] === 'NAME' && l.includes('CAPACITY'));
    expect(claimHeader).toEqual([
      'NAMESPACE',
      'NAME',
      'STATUS',
      'VOLUME',
      'CAPACITY',
      'ACCESS MODES',
      'STORAGECLASS',
      'VOLUMEATTRIBUTESCLASS',
      'AGE',
    ]);
    const claim = (name: string): string[] | undefined => lines.find((l) => l[1] === `persistentvolumeclaim/${name}`);
    expect(claim('vision-datasets')?.slice(2, 3)).toEqual(['Bound']);
    expect(claim('vision-datasets')?.slice(4, 7)).toEqual(['50Gi', 'RWX', 'shared-rwx']);
    expect(claim('vision-checkpoints')?.slice(4, 7)).toEqual(['20Gi', 'RWO', 'fast-rwo']);
    expect(claim('vision-archive')?.slice(6, 7)).toEqual(['legacy-rwx']);
    expect(claim('vision-scratch')?.slice(2, 3)).toEqual(['Pending']);
  });

  it('lists nodes, storage classes and quotas', async () => {
    const nodes = await t.kubectl(['get', 'nodes']);
    expect(rows(nodes.stdout).map((l) => l.slice(0, 2))).toEqual([
      ['NAME', 'STATUS'],
      ['node-a', 'Ready'],
      ['node-b', 'Ready'],
      ['node-c', 'Ready'],
    ]);
    const classes = await t.kubectl(['get', 'storageclass', '-o', 'name']);
    expect(classes.stdout.trim().split('\n').sort()).toEqual([
      'storageclass.storage.k8s.io/fast-rwo',
      'storageclass.storage.k8s.io/legacy-rwx',
      'storageclass.storage.k8s.io/shared-rwx',
    ]);
    const quota = await t.kubectl([
      'get',
      'resourcequota',
      'storage',
      '-n',
      'group-vision',
      '-o',
      'jsonpath={.status.used.requests\\.storage}/{.status.hard.requests\\.storage}',
    ]);
    expect(quota.stdout).toBe('180Gi/200Gi');
  });

  it('answers a bad token with 401', async () => {
    const result = await t.kubectl(['get', 'pods', '--token', 'not-a-lab-token']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('error: You must be logged in to the server');
  });
});

describe('kubectl auth can-i', () => {
  it.each([
    ['alice', ['create', 'pods/exec', '-n', 'group-vision'], 'yes'],
    ['alice', ['create', 'pods', '-n', 'group-nlp'], 'no'],
    ['alice', ['list', 'pods', '-n', 'group-nlp'], 'yes'],
    ['bob', ['list', 'persistentvolumeclaims', '-n', 'group-vision'], 'yes'],
    ['bob', ['create', 'pods', '-n', 'group-vision'], 'no'],
    ['bob', ['create', 'pods/exec', '--subresource', 'exec', '-n', 'group-vision'], 'no'],
    ['admin', ['delete', 'nodes'], 'yes'],
  ])('%s %j → %s', async (user, args, answer) => {
    const result = await t.kubectl(['auth', 'can-i', ...args], { context: user });
    expect(result.stdout.trim()).toBe(answer);
    expect(result.code).toBe(answer === 'yes' ? 0 : 1);
  });

  it('lists what bob may do in the group namespace', async () => {
    const result = await t.kubectl(['auth', 'can-i', '--list', '-n', 'group-vision'], { context: 'bob' });
    expect(result.code).toBe(0);
    const exec = rows(result.stdout).find((l) => l[0] === 'pods/exec');
    expect(exec).toEqual(['pods/exec', '[]', '[vision-data-viewer]', '[create get]']);
  });
});

describe('kubectl exec', () => {
  it('passes stdout, stderr and the exit code (BusyBox)', async () => {
    const result = await t.kubectl([
      'exec',
      '-n',
      'group-vision',
      'vision-data-viewer',
      '--',
      'sh',
      '-c',
      'cat /data/datasets/cifar-mini/labels.csv | head -2; echo oops >&2; exit 3',
    ]);
    expect(result.stdout).toBe('id,label\n0,airplane\n');
    expect(result.stderr).toContain('oops\n');
    expect(result.stderr).toContain('command terminated with exit code 3');
    expect(result.code).toBe(3);
  });

  it('takes a long argv (the URL has one parameter per argument, as on a real API server)', async () => {
    const args = Array.from({ length: 1500 }, (_, i) => `argument-${String(i).padStart(4, '0')}-${'x'.repeat(30)}`);
    const result = await t.kubectl([
      'exec',
      '-n',
      'group-vision',
      'vision-data-viewer',
      '--',
      'sh',
      '-c',
      'echo $#',
      'sh',
      ...args,
    ]);
    expect(result.stdout).toBe('1500\n');
  });

  it('feeds stdin', async () => {
    const result = await t.kubectl(['exec', '-i', '-n', 'group-vision', 'vision-data-viewer', '--', 'wc', '-c'], {
      input: 'x'.repeat(100_000),
    });
    expect(result.stdout.trim()).toBe('100000');
    expect(result.code).toBe(0);
  });

  it('refuses bob outside his viewer pod, with the RBAC message', async () => {
    await t.kubectl(
      ['run', 'alice-shell', '-n', 'group-vision', '--image=busybox', '--restart=Never', '--', 'sleep', '3600'],
      { context: 'alice' },
    );
    const result = await t.kubectl(['exec', '-n', 'group-vision', 'alice-shell', '--', 'true'], { context: 'bob' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Error from server (Forbidden): pods "alice-shell" is forbidden: User "bob" cannot create resource "pods/exec" in API group "" in the namespace "group-vision"',
    );
  });

  it("mounts the viewer pod's claim read-only", async () => {
    const result = await t.kubectl(
      ['exec', '-n', 'group-vision', 'vision-data-viewer', '--', 'touch', '/data/new-file'],
      { context: 'bob' },
    );
    expect(result.stderr).toContain('Read-only file system');
    expect(result.code).toBe(1);
  });
});

describe('kubectl cp', () => {
  it('copies a folder out of a BusyBox pod and a file into and out of a Debian pod', async () => {
    const local = path.join(t.dir, 'cp');
    await mkdir(local, { recursive: true });
    const out = await t.kubectl([
      'cp',
      '-n',
      'group-vision',
      'vision-data-viewer:/data/datasets/cifar-mini',
      path.join(local, 'cifar'),
    ]);
    expect(out.code).toBe(0);
    expect((await readdir(path.join(local, 'cifar', 'train'))).length).toBe(8);
    const volume = path.join(
      t.lab.dir,
      'volumes',
      'group-vision',
      'vision-datasets',
      'datasets',
      'cifar-mini',
      'train',
      'batch-01.bin',
    );
    expect((await readFile(path.join(local, 'cifar', 'train', 'batch-01.bin'))).equals(await readFile(volume))).toBe(
      true,
    );

    await t.kubectl(
      ['run', 'gnu', '-n', 'group-vision', '--image=debian:12', '--restart=Never', '--', 'sleep', '3600'],
      { context: 'alice' },
    );
    await eventually('the Debian pod to run', async () => {
      const phase = await t.kubectl(['get', 'pod', 'gnu', '-n', 'group-vision', '-o', 'jsonpath={.status.phase}']);
      return phase.stdout === 'Running' ? true : undefined;
    });
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    await writeFile(path.join(local, 'payload.bin'), payload);
    const up = await t.kubectl(['cp', path.join(local, 'payload.bin'), 'group-vision/gnu:/tmp/payload.bin'], {
      context: 'alice',
    });
    expect(up.code).toBe(0);
    const back = await t.kubectl(['cp', 'group-vision/gnu:/tmp/payload.bin', path.join(local, 'back.bin')], {
      context: 'alice',
    });
    expect(back.code).toBe(0);
    expect((await readFile(path.join(local, 'back.bin'))).equals(payload)).toBe(true);
  });
});

describe('kubectl create -f / delete', () => {
  const manifest = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: scratch-claim, namespace: group-vision}
spec: {accessModes: [ReadWriteOnce], storageClassName: fast-rwo, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer, namespace: group-vision}
spec:
  containers:
    - name: main
      image: busybox
      command: [sh, -c, 'echo written > /work/hello.txt; sleep 3600']
      volumeMounts: [{name: work, mountPath: /work}]
  volumes: [{name: work, persistentVolumeClaim: {claimName: scratch-claim}}]
`;

  it('creates a claim and a pod that writes into it, then deletes both and the data', async () => {
    const file = path.join(t.dir, 'manifest.yaml');
    await writeFile(file, manifest);
    const created = await t.kubectl(['create', '-f', file], { context: 'alice' });
    expect(created.stderr).toBe('');
    expect(created.stdout).toBe('persistentvolumeclaim/scratch-claim created\npod/writer created\n');
    const dir = path.join(t.lab.dir, 'volumes', 'group-vision', 'scratch-claim');
    await eventually('the pod to write into the claim', async () =>
      (await readFile(path.join(dir, 'hello.txt'), 'utf8')) === 'written\n' ? true : undefined,
    );
    const node = await t.kubectl(['get', 'pod', 'writer', '-n', 'group-vision', '-o', 'jsonpath={.spec.nodeName}']);
    expect(['node-a', 'node-b', 'node-c']).toContain(node.stdout);

    const started = Date.now();
    const deleted = await t.kubectl(['delete', '-f', file], { context: 'alice' });
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain('pod "writer" deleted');
    expect(Date.now() - started).toBeLessThan(20_000);
    const gone = await t.kubectl([
      'get',
      'pod,pvc',
      '-n',
      'group-vision',
      'writer',
      'scratch-claim',
      '--ignore-not-found',
    ]);
    expect(gone.stdout).toBe('');
    await eventually('the claim data to be deleted', async () =>
      stat(dir).then(
        () => undefined,
        () => true,
      ),
    );
  });

  it('refuses bob with the Kubernetes 403', async () => {
    const file = path.join(t.dir, 'bob.yaml');
    await writeFile(file, manifest);
    const result = await t.kubectl(['create', '-f', file], { context: 'bob' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'persistentvolumeclaims is forbidden: User "bob" cannot create resource "persistentvolumeclaims" in API group "" in the namespace "group-vision"',
    );
  });

  it('reports an over-quota claim as the quota admission plugin does', async () => {
    const result = await t.kubectl(['create', '-f', '-'], {
      context: 'alice',
      input:
        'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: huge, namespace: group-vision}\nspec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 30Gi}}}\n',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'persistentvolumeclaims "huge" is forbidden: exceeded quota: storage, requested: requests.storage=30Gi, used: requests.storage=180Gi, limited: requests.storage=200Gi',
    );
  });

  it('rejects an invalid manifest with 422 field errors', async () => {
    const result = await t.kubectl(['create', '-f', '-'], {
      context: 'alice',
      input:
        'apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name, namespace: group-vision}\nspec: {containers: [{name: c}]}\n',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('The Pod "Bad_Name" is invalid');
    expect(result.stderr).toContain('spec.containers[0].image: Required value');
  });
});

describe('field validation', () => {
  const typo =
    'apiVersion: v1\nkind: Pod\nmetadata: {name: typo, namespace: group-vision}\nspec:\n  containers: [{name: c, image: busybox, comand: [sleep, "1"]}]\n';

  it('rejects a misspelt field as kubectl --validate=strict expects', async () => {
    const result = await t.kubectl(['create', '-f', '-'], { input: typo });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].comand"',
    );
  });

  it('only warns with --validate=warn', async () => {
    const result = await t.kubectl(['create', '-f', '-', '--validate=warn'], { input: typo });
    expect(result.stdout).toBe('pod/typo created\n');
    expect(result.stderr).toContain('Warning: unknown field "spec.containers[0].comand"');
    await t.kubectl(['delete', 'pod', 'typo', '-n', 'group-vision']);
  });
});

describe('kubectl typed commands (protobuf bodies)', () => {
  it('creates a namespace and a job that runs to completion, and reads its logs', async () => {
    expect((await t.kubectl(['create', 'namespace', 'scratch-ns'])).stdout).toBe('namespace/scratch-ns created\n');
    const job = await t.kubectl([
      'create',
      'job',
      'hello',
      '-n',
      'scratch-ns',
      '--image=busybox',
      '--',
      'sh',
      '-c',
      'echo hello from the lab',
    ]);
    expect(job.stdout).toBe('job.batch/hello created\n');
    const wait = await t.kubectl([
      'wait',
      '--for=condition=complete',
      'job/hello',
      '-n',
      'scratch-ns',
      '--timeout=60s',
    ]);
    expect(wait.stdout).toBe('job.batch/hello condition met\n');
    expect((await t.kubectl(['logs', 'job/hello', '-n', 'scratch-ns'])).stdout).toBe('hello from the lab\n');
    const deleted = await t.kubectl(['delete', 'namespace', 'scratch-ns', '--timeout=60s']);
    expect(deleted.stdout).toBe('namespace "scratch-ns" deleted\n');
    expect((await t.kubectl(['get', 'namespace', 'scratch-ns', '--ignore-not-found'])).stdout).toBe('');
  });
});

describe('kubectl get -w', () => {
  it('streams a pod from creation to completion', async () => {
    const watching = t.kubectl(
      ['get', 'pods', '-n', 'group-vision', '-w', '--output-watch-events', '--request-timeout=8s', '-l', 'app=watched'],
      { timeoutMs: 20_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await t.kubectl(
      [
        'run',
        'watched',
        '-n',
        'group-vision',
        '--labels=app=watched',
        '--image=busybox',
        '--restart=Never',
        '--',
        'sh',
        '-c',
        'sleep 1',
      ],
      { context: 'alice' },
    );
    await eventually('the pod to complete', async () => {
      const phase = await t.kubectl(['get', 'pod', 'watched', '-n', 'group-vision', '-o', 'jsonpath={.status.phase}']);
      return phase.stdout === 'Succeeded' ? true : undefined;
    });
    await t.kubectl(['delete', 'pod', 'watched', '-n', 'group-vision']);
    const result = await watching;
    const events = rows(result.stdout).map((l) => `${l[0] ?? ''} ${l[3] ?? ''}`);
    expect(events[0]).toBe('EVENT STATUS');
    expect(events).toContain('ADDED Pending');
    expect(events).toContain('MODIFIED Running');
    expect(events).toContain('MODIFIED Completed');
    expect(events[events.length - 1]).toBe('DELETED Completed');
  });
});
