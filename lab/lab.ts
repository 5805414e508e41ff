import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { TetherError } from '../sync-engine/errors.js';
import { claimDefaults, namespaceLifecycle, rbacEscalation, resourceQuota } from './controllers/admission.js';
import { VolumeBinder } from './controllers/binder.js';
import { EventRecorder } from './controllers/events.js';
import { JobController } from './controllers/jobs.js';
import { Kubelet } from './controllers/kubelet.js';
import { namespaceDeleter, systemNamespaces } from './controllers/namespaces.js';
import { createNodes } from './controllers/nodes.js';
import { QuotaController } from './controllers/quota.js';
import { LabFaults, parseFaults } from './faults.js';
import type { FaultSpec } from './faults.js';
import { creationRank, defaultFixturePath, loadFixture, mergeFixtures, parseFixture } from './fixtures/fixture.js';
import type { Fixture } from './fixtures/fixture.js';
import { writeSeedFiles } from './fixtures/seed.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { badRequest, statusOf } from './objects/apiError.js';
import { jsonText } from './objects/json.js';
import type { JsonObject } from './objects/json.js';
import { K, kindKey } from './objects/kinds.js';
import type { KubeObject } from './objects/meta.js';
import { ObjectStore } from './objects/store.js';
import { podStreamHandlers } from './podStreams.js';
import { createPodRuntime } from './runtime/index.js';
import type { PodRuntime } from './runtime/contract.js';
import { newCredential, PhfsServer } from './s3/phfs.js';
import type { PhfsCredential } from './s3/phfs.js';
import { ApiCore } from './server/api.js';
import { ApiServer } from './server/apiServer.js';
import type { AdminHandler } from './server/apiServer.js';
import { TokenAuthenticator } from './server/auth.js';
import { defaultClusterRoleBindings, defaultClusterRoles } from './server/defaultRbac.js';
import type { Deleter } from './server/deletion.js';
import type { RbacSnapshot, UserInfo } from './server/rbac.js';
import { createLabTls } from './server/tls.js';
import { lanes } from './storage/lanes.js';
import { VolumeStorage } from './storage/volumes.js';

/**
 * The local lab: a Kubernetes API server over TLS (pods run in bubblewrap sandboxes, claims are directories),
 * and the PHFS object store, both on loopback, seeded from fixtures. `startLab` writes DIR/kubeconfig and
 * DIR/lab.json and returns once the fixtures' claims are bound and their pods started.
 */
export interface LabOptions {
  /** The lab's directory: kubeconfig, lab.json, volumes/, phfs/, pods/, runtime/. */
  readonly dir: string;
  /** Fixture files, applied in order; the default fixture when absent. */
  readonly fixtures?: readonly string[];
  /** Inline fixtures (YAML text), applied after the files; handy in tests. */
  readonly fixtureTexts?: readonly { readonly name: string; readonly text: string }[];
  readonly host?: string;
  readonly apiPort?: number;
  readonly s3Port?: number;
  /** The pod runtime; bubblewrap sandboxes under DIR/runtime when absent. */
  readonly runtime?: PodRuntime;
  /** Diagnostic lines (request log, controller errors); never tokens or secrets. */
  readonly log?: (line: string) => void;
  /** How long start may wait for the fixtures to settle. */
  readonly settleTimeoutMs?: number;
}

export interface LabUser {
  readonly name: string;
  readonly context: string;
  readonly namespace: string;
  readonly groups: readonly string[];
  readonly token: string;
  readonly s3: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly read: readonly string[];
    readonly write: readonly string[];
  };
}

export interface LabS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface Lab {
  readonly dir: string;
  readonly apiServer: string;
  readonly kubeconfig: string;
  readonly labJson: string;
  readonly caCertPem: string;
  readonly s3: LabS3;
  readonly users: readonly LabUser[];
  readonly faults: LabFaults;
  user(name: string): LabUser;
  setFaults(spec: FaultSpec): void;
  /** Waits until the controllers have nothing left to do. */
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const labBucket = 'phfs';
export const labRegion = 'us-east-1';

const systemUser: UserInfo = { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] };
const controllerUser: UserInfo = {
  name: 'system:serviceaccount:kube-system:job-controller',
  groups: ['system:serviceaccounts', 'system:authenticated'],
};

async function loadFixtures(options: LabOptions): Promise<Fixture> {
  const files =
    options.fixtures === undefined || options.fixtures.length === 0 ? [defaultFixturePath] : options.fixtures;
  const fixtures: Fixture[] = [];
  for (const file of files) fixtures.push(await loadFixture(file === 'default' ? defaultFixturePath : file));
  for (const inline of options.fixtureTexts ?? []) fixtures.push(parseFixture(inline.text, inline.name));
  const merged = mergeFixtures(fixtures);
  if (merged.users.length === 0)
    throw new TetherError(
      'bad-argument',
      'the fixtures define no users: add a LabConfig document with users (see lab/fixtures/default.yaml)',
    );
  return merged;
}

function storageClassObject(lane: (typeof lanes)[number]): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: lane.storageClass,
      annotations: {
        ...(lane.isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {}),
        'lab.tether.dev/description': lane.description,
      },
    },
    provisioner: lane.provisioner,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: lane.allowVolumeExpansion,
  };
}

async function seedPhfs(s3: LabS3, fixture: Fixture): Promise<void> {
  if (fixture.phfsSeeds.length === 0) return;
  // The SDK warns on stderr that Node 20 support ends; the lab's output is one ready line, so keep it quiet.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    for (const seed of fixture.phfsSeeds) {
      for (const file of seed.files) {
        await client.send(
          new PutObjectCommand({ Bucket: s3.bucket, Key: `${seed.prefix}${file.path}`, Body: file.content }),
        );
      }
    }
  } finally {
    client.destroy();
  }
}

export async function startLab(options: LabOptions): Promise<Lab> {
  const dir = path.resolve(options.dir);
  const log = options.log ?? (() => undefined);
  const onError = (error: unknown): void =>
    log(`lab: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  const host = options.host ?? '127.0.0.1';
  const fixture = await loadFixtures(options);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const sub of ['volumes', 'pods', 'phfs', 'runtime']) await mkdir(path.join(dir, sub), { recursive: true });

  const faults = new LabFaults();
  faults.apply(fixture.faults);
  const store = new ObjectStore();
  const events = new EventRecorder(store);
  const storage = new VolumeStorage({ root: path.join(dir, 'volumes'), canMount: process.getuid?.() === 0 });
  await storage.recover();
  const runtime = options.runtime ?? createPodRuntime({ stateDir: path.join(dir, 'runtime') });

  const rbac = (): RbacSnapshot => ({
    roles: store.list(K.roles),
    clusterRoles: store.list(K.clusterRoles),
    roleBindings: store.list(K.roleBindings),
    clusterRoleBindings: store.list(K.clusterRoleBindings),
  });

  for (const name of systemNamespaces)
    store.create(K.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  for (const role of defaultClusterRoles()) store.create(K.clusterRoles, role);
  for (const binding of defaultClusterRoleBindings()) store.create(K.clusterRoleBindings, binding);
  for (const lane of lanes) store.create(K.storageClasses, storageClassObject(lane));
  createNodes(store);

  const seeds = new Map(fixture.volumeSeeds.map((seed) => [`${seed.namespace}/${seed.claim}`, seed]));
  const deleters = new Map<string, Deleter>();
  const core = new ApiCore({
    store,
    rbac,
    admission: [namespaceLifecycle(store), claimDefaults(store), resourceQuota(store), rbacEscalation(store, rbac)],
    deleters,
  });
  const quota = new QuotaController(store, onError);
  const binder = new VolumeBinder({
    store,
    storage,
    events,
    ...(fixture.enforceCapacityUpTo === undefined ? {} : { enforceCapacityUpTo: fixture.enforceCapacityUpTo }),
    onProvisioned: async (namespace, claim, volumeDir) => {
      const seed = seeds.get(`${namespace}/${claim}`);
      if (seed !== undefined) await writeSeedFiles(volumeDir, seed.files);
    },
    onError,
  });
  const kubelet = new Kubelet({
    store,
    runtime,
    events,
    storage,
    podsDir: path.join(dir, 'pods'),
    schedulingFault: () => faults.schedulingFault(),
    onError,
  });
  const namespaces = namespaceDeleter(store, (kind) => core.deleterFor(kind), onError);
  deleters.set(kindKey(K.pods), kubelet.deleter);
  deleters.set(kindKey(K.namespaces), namespaces.deleter);
  const jobs = new JobController({
    store,
    events,
    createPod: (pod) => core.createObject(K.pods, pod, controllerUser),
    deleteObject: async (kind, obj) => {
      await core.deleteOne(kind, obj, { propagationPolicy: 'Background', dryRun: false }, controllerUser);
    },
    onError,
  });

  const settle = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let previous = '';
    while (Date.now() < deadline) {
      await binder.idle();
      await kubelet.idle();
      await jobs.idle();
      await quota.idle();
      await namespaces.idle();
      const now = store.resourceVersion();
      if (now === previous) return;
      previous = now;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  let api: ApiServer | undefined;
  let phfs: PhfsServer | undefined;
  // Stop taking requests first, then the controllers, then the sandboxes, and unmount last. Every step
  // runs even if an earlier one failed, so a failure never leaves sandboxes or mounts behind.
  const stop = async (): Promise<void> => {
    const steps: [string, () => Promise<void> | undefined][] = [
      ['the API server', () => api?.close()],
      ['the PHFS store', () => phfs?.stop()],
      ['the job controller', () => jobs.stop()],
      ['the quota controller', () => quota.stop()],
      ['namespace deletion', () => namespaces.stop()],
      ['the pods', () => kubelet.stop()],
      ['the pod runtime', () => runtime.stopAll()],
      ['the volume binder', () => binder.stop()],
      ['the volume mounts', () => storage.unmountAll()],
    ];
    const failures: string[] = [];
    for (const [what, step] of steps) {
      try {
        await step();
      } catch (error) {
        failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (failures.length > 0) throw new TetherError('internal', `the lab did not stop cleanly: ${failures.join('; ')}`);
  };

  try {
    for (const item of [...fixture.objects].sort((a, b) => creationRank(a.kind) - creationRank(b.kind))) {
      try {
        core.createObject(item.kind, item.object, systemUser);
      } catch (error) {
        throw new TetherError(
          'bad-argument',
          `${item.source}: cannot create ${item.kind.kind} ${jsonText(item.object.metadata.name)}: ${statusOf(error).message}`,
          { cause: error },
        );
      }
    }

    const users: LabUser[] = [];
    const credentials: PhfsCredential[] = [];
    for (const spec of fixture.users) {
      const credential = newCredential(spec.name, spec.s3);
      credentials.push(credential);
      users.push({
        name: spec.name,
        context: spec.name,
        namespace: spec.namespace,
        groups: spec.groups,
        token: randomBytes(32).toString('base64url'),
        s3: {
          accessKeyId: credential.accessKeyId,
          secretAccessKey: credential.secretAccessKey,
          read: spec.s3.read,
          write: spec.s3.write,
        },
      });
    }
    const adminUser = users.find((u) => u.groups.includes('system:masters')) ?? users[0];
    if (adminUser === undefined) throw new TetherError('bad-argument', 'the fixtures define no users');

    const tls = createLabTls({
      ips: [host === '0.0.0.0' ? '127.0.0.1' : host, '127.0.0.1'],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default'],
    });
    const admin: AdminHandler = {
      handle(method, urlPath, body) {
        if (urlPath !== '/lab/v1/faults')
          return Promise.resolve({
            status: 404,
            body: statusOf(
              badRequest(`the lab has no endpoint ${urlPath}; try /lab/v1/faults`),
            ) as unknown as JsonObject,
          });
        if (method === 'DELETE') faults.clear();
        else if (method !== 'GET') {
          const parsed = parseFaults(body ?? {});
          if (!parsed.ok) throw badRequest(`bad faults: ${parsed.error}`);
          faults.apply(parsed.value);
          log(`lab: faults now ${JSON.stringify(faults.snapshot())}`);
        }
        return Promise.resolve({ status: 200, body: faults.snapshot() as unknown as JsonObject });
      },
    };
    api = new ApiServer({
      core,
      store,
      authenticator: new TokenAuthenticator(users.map((u) => ({ name: u.name, groups: u.groups, token: u.token }))),
      rbac,
      tls,
      host,
      port: options.apiPort ?? 0,
      pods: podStreamHandlers({ store, kubelet, execFaults: () => faults.execFaults() }),
      admin,
      log,
    });
    const apiPort = await api.listen();
    const apiServer = `https://${host}:${apiPort}`;
    phfs = new PhfsServer({
      dataDir: path.join(dir, 'phfs'),
      bucket: labBucket,
      region: labRegion,
      host,
      port: options.s3Port ?? 0,
      credentials,
      faults,
      log,
    });
    const endpoint = await phfs.start();
    const s3: LabS3 = {
      endpoint,
      bucket: labBucket,
      region: labRegion,
      accessKeyId: adminUser.s3.accessKeyId,
      secretAccessKey: adminUser.s3.secretAccessKey,
    };
    // Seed through the front door with the SDK: the same path clients take.
    const savedS3Faults = faults.snapshot().s3 ?? {};
    faults.apply({ s3: {} });
    await seedPhfs(s3, fixture);
    faults.apply({ s3: savedS3Faults });
    await settle(options.settleTimeoutMs ?? 60_000);

    const kubeconfig = path.join(dir, 'kubeconfig');
    const labJson = path.join(dir, 'lab.json');
    await writeFile(kubeconfig, kubeconfigYaml(apiServer, tls.caCertPem, users, adminUser.name), { mode: 0o600 });
    await chmod(kubeconfig, 0o600);
    await writeFile(path.join(dir, 'ca.crt'), tls.caCertPem, { mode: 0o644 });
    const labDocument = {
      kubeconfig,
      apiServer,
      certificateAuthority: path.join(dir, 'ca.crt'),
      s3,
      users: users.map((u) => ({
        name: u.name,
        context: u.context,
        namespace: u.namespace,
        groups: u.groups,
        token: u.token,
        s3: u.s3,
      })),
      admin: { user: adminUser.name, faults: `${apiServer}/lab/v1/faults` },
      pid: process.pid,
    };
    await writeFile(labJson, `${JSON.stringify(labDocument, null, 2)}\n`, { mode: 0o600 });
    await chmod(labJson, 0o600);

    let stopping: Promise<void> | undefined;
    return {
      dir,
      apiServer,
      kubeconfig,
      labJson,
      caCertPem: tls.caCertPem,
      s3,
      users,
      faults,
      user(name: string): LabUser {
        const found = users.find((u) => u.name === name);
        if (found === undefined)
          throw new TetherError(
            'bad-argument',
            `the lab has no user ${name} (users: ${users.map((u) => u.name).join(', ')})`,
          );
        return found;
      },
      setFaults(spec: FaultSpec): void {
        faults.apply(spec);
      },
      settle,
      stop(): Promise<void> {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    await stop().catch(onError);
    throw error;
  }
}
