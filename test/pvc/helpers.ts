import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab } from '../../lab/lab.js';
import type { Lab } from '../../lab/lab.js';
import { StateStore } from '../../sync-engine/state/store.js';

/** A lab for the PVC endpoint's tests, with kubectl as an independent witness of what is in the volumes. */
export interface PvcLab {
  readonly lab: Lab;
  readonly dir: string;
  kubectl(
    args: readonly string[],
    options?: { context?: string; input?: Buffer },
  ): Promise<{ code: number; stdout: Buffer; stderr: string }>;
  /** Runs `command` (argv, no shell unless it names one) in `pod` with `kubectl exec`, as admin. */
  exec(namespace: string, pod: string, ...command: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }>;
  /** Starts a pod (as admin) that mounts `claim` at /data, with the given image; resolves once it runs. */
  witnessPod(namespace: string, claim: string, image: string): Promise<string>;
  /** sha256 of each file below `dir` in the witness pod, by path relative to it (computed by sha256sum in the pod). */
  remoteHashes(namespace: string, pod: string, dir: string): Promise<Map<string, string>>;
  stop(): Promise<void>;
}

export async function startPvcLab(): Promise<PvcLab> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-pvc-test-'));
  const lab = await startLab({ dir: join(dir, 'lab') });
  let counter = 0;
  const kubectl: PvcLab['kubectl'] = (args, options = {}) =>
    new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        [
          '--kubeconfig',
          lab.kubeconfig,
          '--cache-dir',
          join(dir, `cache-${counter++}`),
          '--context',
          options.context ?? 'admin',
          ...args,
        ],
        { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolve({ code, stdout, stderr: stderr.toString() });
        },
      );
      child.stdin?.end(options.input);
    });
  const exec: PvcLab['exec'] = (namespace, pod, ...command) =>
    kubectl(['exec', '-n', namespace, pod, '--', ...command]);
  return {
    lab,
    dir,
    kubectl,
    exec,
    async witnessPod(namespace, claim, image) {
      const name = `witness-${counter++}`;
      const manifest = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace },
        spec: {
          containers: [
            { name: 'w', image, command: ['sleep', '3600'], volumeMounts: [{ name: 'd', mountPath: '/data' }] },
          ],
          volumes: [{ name: 'd', persistentVolumeClaim: { claimName: claim } }],
        },
      });
      const created = await kubectl(['apply', '-f', '-'], { input: Buffer.from(manifest) });
      if (created.code !== 0) throw new Error(`kubectl apply failed: ${created.stderr}`);
      const ready = await kubectl([
        'wait',
        '-n',
        namespace,
        '--for=jsonpath={.status.phase}=Running',
        '--timeout=90s',
        `pod/${name}`,
      ]);
      if (ready.code !== 0) throw new Error(`witness pod did not start: ${ready.stderr}`);
      return name;
    },
    async remoteHashes(namespace, pod, root) {
      const listed = await exec(
        namespace,
        pod,
        'sh',
        '-c',
        'cd "$1" && find . -type f -exec sha256sum {} +',
        'sh',
        root,
      );
      if (listed.code !== 0) throw new Error(`sha256sum in the pod failed: ${listed.stderr}`);
      const hashes = new Map<string, string>();
      for (const line of listed.stdout.toString().split('\n')) {
        const match = /^([0-9a-f]{64}) [ *]\.\/(.*)$/.exec(line);
        if (match?.[1] !== undefined && match[2] !== undefined) hashes.set(match[2], match[1]);
      }
      return hashes;
    },
    async stop() {
      await lab.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What a PVC test file works with: the lab, a scratch folder, and a state store in that folder. */
export interface PvcSuite {
  readonly lab: PvcLab;
  readonly work: string;
  readonly store: StateStore;
}

/** Starts the lab and opens a state store in a new scratch folder (`tether-pvc-<name>-…`). */
export async function openPvcSuite(name: string): Promise<PvcSuite> {
  const lab = await startPvcLab();
  const work = await mkdtemp(join(tmpdir(), `tether-pvc-${name}-`));
  return { lab, work, store: StateStore.open(join(work, 'state.db')) };
}

/** Closes what `openPvcSuite` opened, as far as it got: the store, the scratch folder, then the lab. */
export async function closePvcSuite(suite: Partial<PvcSuite>): Promise<void> {
  suite.store?.close();
  if (suite.work !== undefined) await rm(suite.work, { recursive: true, force: true });
  await suite.lab?.stop();
}
