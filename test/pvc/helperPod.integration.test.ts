import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { openRemote } from '../../sync-engine/endpoints/open.js';
import {
  createHelperPod,
  EXPIRES_ANNOTATION,
  HEARTBEAT_FILE,
  helperLabels,
  KEPT_ANNOTATION,
  MANAGED_BY,
  OWNER_LABEL,
} from '../../sync-engine/endpoints/pvc/helperPod.js';
import { createPvcEndpoint, helperOwner } from '../../sync-engine/endpoints/pvc/pvcEndpoint.js';
import { StateStore } from '../../sync-engine/state/store.js';
import { closePvcSuite, openPvcSuite } from './helpers.js';
import type { PvcLab } from './helpers.js';

/** The helper pod's life: labelled with user and pair, bounded, ended when idle, orphans removed at the next start. */
let lab: PvcLab;
let store: StateStore;
let work: string;

beforeAll(async () => {
  ({ lab, work, store } = await openPvcSuite('helper'));
}, 120_000);
afterAll(() => closePvcSuite({ lab, work, store }), 60_000);

interface PodSummary {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly activeDeadlineSeconds?: number;
  readonly phase?: string;
}

async function tetherPods(namespace: string): Promise<PodSummary[]> {
  const listed = await lab.kubectl(['get', 'pods', '-n', namespace, '-l', `${MANAGED_BY}=tether`, '-o', 'json']);
  expect(listed.code).toBe(0);
  const items = (
    JSON.parse(listed.stdout.toString()) as {
      items: {
        metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
        spec: { activeDeadlineSeconds?: number };
        status?: { phase?: string };
      }[];
    }
  ).items;
  return items.map((item) => ({
    name: item.metadata.name,
    labels: item.metadata.labels ?? {},
    annotations: item.metadata.annotations ?? {},
    ...(item.spec.activeDeadlineSeconds === undefined
      ? {}
      : { activeDeadlineSeconds: item.spec.activeDeadlineSeconds }),
    ...(item.status?.phase === undefined ? {} : { phase: item.status.phase }),
  }));
}

async function applyPod(name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) {
  const manifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'group-vision', labels, annotations },
    spec: { containers: [{ name: 'helper', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
  };
  const created = await lab.kubectl(['apply', '-f', '-'], { input: Buffer.from(JSON.stringify(manifest)) });
  expect(created.stderr).toBe('');
}

describe('the helper pod', () => {
  it('is labelled with the user and the pair, has a bounded lifetime, and is gone after close (helper idle 0)', async () => {
    const endpoint = await openRemote('pvc://alice@group-vision/vision-archive/tests/labels', {
      options: { kubeconfig: lab.lab.kubeconfig, helperIdleSeconds: '0' },
      pairName: 'My Pair/ü',
    });
    let pods: PodSummary[];
    try {
      pods = await tetherPods('group-vision');
    } finally {
      await endpoint.close();
    }
    expect(pods).toHaveLength(1);
    const [pod] = pods as [PodSummary];
    expect(pod.labels).toMatchObject({
      [MANAGED_BY]: 'tether',
      'tether.dev/user': 'alice',
      'tether.dev/pair': 'My-Pair',
    });
    expect(pod.labels['tether.dev/owner']).toMatch(/^o[0-9a-f]{16}$/);
    expect(pod.activeDeadlineSeconds).toBe(6 * 3600);
    const expires = Date.parse(pod.annotations[EXPIRES_ANNOTATION] ?? '');
    expect(expires - Date.now()).toBeGreaterThan(5 * 3600 * 1000);
    expect(await tetherPods('group-vision')).toEqual([]);
  }, 120_000);

  it('ends itself when nobody used it for its idle timeout', async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(lab.lab.kubeconfig);
    kubeConfig.setCurrentContext('alice');
    const helper = await createHelperPod(kubeConfig, 'group-vision', 'vision-archive', {
      owner: { user: 'alice', pair: 'idle', key: 'o-idle-test' },
      idleTimeoutSeconds: 2,
    });
    try {
      const ended = await lab.kubectl([
        'wait',
        '-n',
        'group-vision',
        '--for=jsonpath={.status.phase}=Succeeded',
        '--timeout=60s',
        `pod/${helper.name}`,
      ]);
      expect(ended.stderr).toBe('');
      expect(ended.code).toBe(0);
    } finally {
      await helper.delete();
    }
  }, 120_000);

  it('stays up while the endpoint is open: its heartbeat outlasts the idle timeout', async () => {
    const endpoint = await createPvcEndpoint(
      { context: 'alice', namespace: 'group-vision', pvc: 'vision-archive', subpath: '' },
      { displayName: 'pvc://alice@group-vision/vision-archive', kubeconfig: lab.lab.kubeconfig, idleTimeoutSeconds: 3 },
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 7000));
      const pods = await tetherPods('group-vision');
      expect(pods.map((pod) => pod.phase)).toEqual(['Running']);
      expect((await endpoint.scan()).entries.length).toBeGreaterThan(0);
    } finally {
      await endpoint.close();
    }
  }, 120_000);

  it('at the next start, deletes what a crashed run of the same pair left and the user’s ended or expired helpers, nothing else', async () => {
    const remote = 'pvc://alice@group-vision/vision-archive/tests/orphans';
    const local = join(work, 'orphans');
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'a.txt'), 'a');
    store.addPair({
      name: 'orphans',
      localPath: local,
      remoteUrl: remote,
      mode: 'push',
      compare: 'size-mtime',
      ignore: [],
      options: { kubeconfig: lab.lab.kubeconfig },
    });
    const mine = helperLabels(helperOwner('alice', { pairName: 'orphans', displayName: remote }));
    const otherPair = helperLabels(helperOwner('alice', { pairName: 'other', displayName: remote }));
    const bobs = helperLabels(helperOwner('bob', { pairName: 'other', displayName: remote }));
    const past = { [EXPIRES_ANNOTATION]: new Date(Date.now() - 60_000).toISOString() };
    const future = { [EXPIRES_ANNOTATION]: new Date(Date.now() + 3600_000).toISOString() };
    await applyPod('tether-helper-crashed', mine, future);
    await applyPod('tether-helper-expired', otherPair, past);
    await applyPod('tether-helper-live', otherPair, future);
    await applyPod('tether-helper-bobs', bobs, past);

    expect((await syncPair(store, 'orphans')).problems).toEqual([]);
    const after = await tetherPods('group-vision');
    // The crashed run's helper was not made to be kept, so it is deleted, not taken over; the sync's own helper
    // stays for the pair's next sync.
    const kept = after.filter((pod) => pod.labels[OWNER_LABEL] === mine[OWNER_LABEL]);
    expect(kept.map((pod) => [pod.phase, pod.annotations[KEPT_ANNOTATION]])).toEqual([['Running', 'true']]);
    const left = after
      .filter((pod) => !kept.includes(pod))
      .map((pod) => pod.name)
      .sort();
    expect(left).toEqual(['tether-helper-bobs', 'tether-helper-live']);
    await lab.kubectl(['delete', 'pod', '-n', 'group-vision', 'tether-helper-bobs', 'tether-helper-live']);
    await lab.kubectl(['delete', 'pod', '-n', 'group-vision', ...kept.map((pod) => pod.name)]);
  }, 120_000);

  it('stays up after a pair’s sync, and the next sync takes it over; stale, other-image and RWO helpers are not kept', async () => {
    const remote = 'pvc://alice@group-vision/vision-archive/tests/reuse';
    const local = join(work, 'reuse');
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'a.txt'), 'a');
    const pair = (name: string, url: string, options: Record<string, unknown> = {}): void => {
      store.addPair({
        name,
        localPath: local,
        remoteUrl: url,
        mode: 'push',
        compare: 'size-mtime',
        ignore: [],
        options: { kubeconfig: lab.lab.kubeconfig, ...options },
      });
    };
    pair('reuse', remote);
    const ownerKey = helperLabels(helperOwner('alice', { pairName: 'reuse', displayName: remote }))[OWNER_LABEL];
    const mine = async (): Promise<PodSummary[]> =>
      (await tetherPods('group-vision')).filter((pod) => pod.labels[OWNER_LABEL] === ownerKey);

    expect((await syncPair(store, 'reuse')).uploaded).toBe(1);
    const first = await mine();
    expect(first.map((pod) => [pod.phase, pod.annotations[KEPT_ANNOTATION]])).toEqual([['Running', 'true']]);
    const [kept] = first as [PodSummary];

    // The next sync of the pair takes it over: the same pod, no new one.
    await writeFile(join(local, 'b.txt'), 'b');
    expect((await syncPair(store, 'reuse')).uploaded).toBe(1);
    expect((await mine()).map((pod) => pod.name)).toEqual([kept.name]);

    // A helper whose heartbeat is older than its idle timeout is about to end itself: never taken over.
    const aged = await lab.exec('group-vision', kept.name, 'touch', '-d', '@0', HEARTBEAT_FILE);
    expect(aged.code).toBe(0);
    await writeFile(join(local, 'c.txt'), 'c');
    expect((await syncPair(store, 'reuse')).uploaded).toBe(1);
    const replaced = await mine();
    expect(replaced.map((pod) => pod.name)).not.toContain(kept.name);
    expect(replaced).toHaveLength(1);

    // Another image (the pair's setting changed): a new helper, and the old one deleted.
    store.removePair('reuse');
    pair('reuse', remote, { helperImage: 'debian:12' });
    await writeFile(join(local, 'd.txt'), 'd');
    expect((await syncPair(store, 'reuse')).uploaded).toBe(1);
    const other = await mine();
    expect(other).toHaveLength(1);
    expect(other[0]?.name).not.toBe(replaced[0]?.name);
    await lab.kubectl(['delete', 'pod', '-n', 'group-vision', ...other.map((pod) => pod.name)]);

    // A ReadWriteOnce claim is never held by an idle helper: the user's own pods may need it on another node.
    pair('rwo', 'pvc://alice@user-alice/alice-home/tests/reuse');
    expect((await syncPair(store, 'rwo')).problems).toEqual([]);
    expect(await tetherPods('user-alice')).toEqual([]);
  }, 180_000);
});
