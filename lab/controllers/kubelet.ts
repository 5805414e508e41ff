import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { objectAt, objectsAt, stringAt, stringsAt } from '../objects/json.js';
import type { JsonObject } from '../objects/json.js';
import { K } from '../objects/kinds.js';
import { deletionTimestampOf, nameOf, namespaceOf, timestamp, uidOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';
import type { PodRuntime, Sandbox } from '../runtime/contract.js';
import type { Deleter } from '../server/deletion.js';
import type { VolumeStorage } from '../storage/volumes.js';
import type { EventRecorder } from './events.js';
import { RotatingLog } from './podLogs.js';
import { Attachments, resolveVolumes } from './podVolumes.js';
import { containerOf, containerStatus, imageIdOf, isFinished, setCondition, statusOf } from './podStatus.js';
import type { ContainerState } from './podStatus.js';
import { claimNamesOf, decide } from './scheduler.js';
import { SyncLoop } from './trigger.js';

/**
 * The scheduler and the kubelets of the lab's fake nodes: binds pending pods to nodes, mounts their claims,
 * runs their container in a sandbox, reports status and events, restarts by restartPolicy, enforces
 * activeDeadlineSeconds, and stops the sandbox when the pod is deleted.
 */
export interface KubeletOptions {
  readonly store: ObjectStore;
  readonly runtime: PodRuntime;
  readonly events: EventRecorder;
  readonly storage: VolumeStorage;
  /** Where pod logs and emptyDir volumes live (`<dir>/<pod uid>/…`). */
  readonly podsDir: string;
  /** The scheduling fault: a taint description while on, undefined while off. */
  readonly schedulingFault: () => string | undefined;
  readonly onError: (error: unknown) => void;
}

type RecordState = 'waiting' | 'starting' | 'running' | 'backoff' | 'finished' | 'stopping';

interface PodRecord {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  state: RecordState;
  sandbox?: Sandbox | undefined;
  restartCount: number;
  lastTerminated?: JsonObject;
  startedAt?: string;
  containerID?: string;
  podIP?: string;
  lastWaiting?: string | undefined;
  timers: NodeJS.Timeout[];
  attached: string[];
  logsClosed?: Promise<void>;
}

/** How long a stopping sandbox may take before the pod is removed anyway. */
const stopTimeoutMs = 15_000;

function backoffMs(restarts: number): number {
  return restarts <= 1 ? 0 : Math.min(10_000 * 2 ** (restarts - 2), 300_000);
}

export class Kubelet {
  private readonly options: KubeletOptions;
  private readonly records = new Map<string, PodRecord>();
  /** RWO claims attached to a node: `namespace/claim` → node and the pods using it there. */
  private readonly attachments = new Attachments();
  private readonly loop: SyncLoop;
  private readonly unsubscribe: () => void;
  private readonly pending = new Set<Promise<unknown>>();
  private ipCounter = 10;
  private stopped = false;

  constructor(options: KubeletOptions) {
    this.options = options;
    this.loop = new SyncLoop(() => Promise.resolve(this.sync()), options.onError, 2_000);
    this.unsubscribe = options.store.subscribe((event) => {
      if ([K.pods.plural, K.claims.plural, K.nodes.plural].includes(event.kind.plural)) this.loop.trigger();
    });
    this.loop.trigger();
  }

  /** Keeps a promise's failure from going unhandled and lets stop() wait for it. */
  private track<T>(promise: Promise<T>): void {
    const tracked = promise.catch(this.options.onError).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** The running sandbox of a pod, for exec. */
  sandboxOf(namespace: string, name: string): Sandbox | undefined {
    const pod = this.options.store.get(K.pods, namespace, name);
    if (pod === undefined) return undefined;
    const record = this.records.get(uidOf(pod));
    return record?.state === 'running' ? record.sandbox : undefined;
  }

  logPath(pod: KubeObject, previous: boolean): string {
    const container = containerOf(pod).name;
    return path.join(this.options.podsDir, uidOf(pod), `${container}${previous ? '.previous' : ''}.log`);
  }

  /** Whether the pod's container may still write to its log (for `kubectl logs -f`). */
  isLogOpen(pod: KubeObject): boolean {
    const record = this.records.get(uidOf(pod));
    return record !== undefined && (record.state === 'running' || record.state === 'starting');
  }

  private updateStatus(
    record: PodRecord,
    change: (status: JsonObject, pod: KubeObject) => void,
  ): KubeObject | undefined {
    const current = this.options.store.get(K.pods, record.namespace, record.name);
    if (current === undefined || uidOf(current) !== record.uid) return undefined;
    return this.options.store.mutate(K.pods, record.namespace, record.name, (pod) => {
      const status = statusOf(pod);
      change(status, pod);
      pod.status = status;
    });
  }

  private sync(): void {
    if (this.stopped) return;
    const { store } = this.options;
    const pods = store.list(K.pods);
    const nodes = store.list(K.nodes);
    const nodeNames = new Set(nodes.map(nameOf));
    const load = new Map<string, number>();
    for (const pod of pods) {
      const node = stringAt(objectAt(pod, 'spec'), 'nodeName');
      if (node !== undefined && !isFinished(pod)) load.set(node, (load.get(node) ?? 0) + 1);
    }
    const live = new Set<string>();
    for (const pod of pods) {
      live.add(uidOf(pod));
      if (deletionTimestampOf(pod) !== undefined || isFinished(pod)) continue;
      const node = stringAt(objectAt(pod, 'spec'), 'nodeName');
      if (node === undefined || node === '') {
        this.schedule(pod, nodes, load);
        continue;
      }
      if (!nodeNames.has(node)) continue;
      let record = this.records.get(uidOf(pod));
      if (record === undefined) {
        record = {
          uid: uidOf(pod),
          namespace: namespaceOf(pod),
          name: nameOf(pod),
          node,
          state: 'waiting',
          restartCount: 0,
          timers: [],
          attached: [],
        };
        this.records.set(record.uid, record);
      }
      if (record.state === 'waiting') this.track(this.start(record, pod));
    }
    for (const record of this.records.values()) {
      if (!live.has(record.uid) && record.state !== 'stopping') this.track(this.cleanup(record));
    }
  }

  private schedule(pod: KubeObject, nodes: KubeObject[], load: Map<string, number>): void {
    const { store, events } = this.options;
    const claims = new Map(
      claimNamesOf(pod).flatMap((claim) => {
        const found = store.get(K.claims, namespaceOf(pod), claim);
        return found === undefined ? [] : [[claim, found] as const];
      }),
    );
    const fault = this.options.schedulingFault();
    const decision = decide({ pod, nodes, claims, load, ...(fault === undefined ? {} : { fault }) });
    if ('unschedulable' in decision) {
      const previous = objectsAt(statusOf(pod), 'conditions').find((c) => c.type === 'PodScheduled');
      if (previous?.message === decision.unschedulable) return;
      const updated = store.mutate(K.pods, namespaceOf(pod), nameOf(pod), (obj) => {
        const status = statusOf(obj);
        setCondition(status, 'PodScheduled', 'False', 'Unschedulable', decision.unschedulable);
        obj.status = status;
      });
      if (updated !== undefined)
        events.record(K.pods, updated, 'Warning', 'FailedScheduling', decision.unschedulable, 'default-scheduler');
      return;
    }
    load.set(decision.node, (load.get(decision.node) ?? 0) + 1);
    const bound = store.mutate(K.pods, namespaceOf(pod), nameOf(pod), (obj) => {
      const spec = objectAt(obj, 'spec');
      if (spec !== undefined) spec.nodeName = decision.node;
      const status = statusOf(obj);
      setCondition(status, 'PodScheduled', 'True');
      obj.status = status;
    });
    if (bound !== undefined) {
      events.record(
        K.pods,
        bound,
        'Normal',
        'Scheduled',
        `Successfully assigned ${namespaceOf(pod)}/${nameOf(pod)} to ${decision.node}`,
        'default-scheduler',
      );
    }
  }

  /** Reports why the container cannot start yet (once per distinct reason), leaving the pod Pending. */
  private waitFor(
    record: PodRecord,
    pod: KubeObject,
    reason: string,
    message: string,
    event?: { type: 'Normal' | 'Warning'; reason: string; component?: string },
  ): void {
    record.state = 'waiting';
    const key = `${reason}\0${message}`;
    if (record.lastWaiting === key) return;
    record.lastWaiting = key;
    const container = containerOf(pod);
    const updated = this.updateStatus(record, (status) => {
      status.phase = stringAt(status, 'phase') === 'Running' ? 'Running' : 'Pending';
      setCondition(
        status,
        'ContainersReady',
        'False',
        'ContainersNotReady',
        `containers with unready status: [${container.name}]`,
      );
      setCondition(
        status,
        'Ready',
        'False',
        'ContainersNotReady',
        `containers with unready status: [${container.name}]`,
      );
      status.containerStatuses = [
        containerStatus(
          container,
          { waiting: { reason, ...(reason === 'ContainerCreating' ? {} : { message }) } },
          {
            restartCount: record.restartCount,
            ...(record.lastTerminated === undefined ? {} : { lastState: { terminated: record.lastTerminated } }),
          },
        ),
      ];
    });
    if (updated !== undefined && event !== undefined) {
      this.options.events.record(K.pods, updated, event.type, event.reason, message, event.component ?? 'kubelet');
    }
  }

  private releaseAttachments(record: PodRecord): void {
    this.attachments.release(record);
    record.attached = [];
  }

  private async start(record: PodRecord, pod: KubeObject): Promise<void> {
    const { runtime, events } = this.options;
    record.state = 'starting';
    const container = containerOf(pod);
    const volumes = await resolveVolumes(
      {
        store: this.options.store,
        storage: this.options.storage,
        podsDir: this.options.podsDir,
        attachments: this.attachments,
        podName: (uid) => this.records.get(uid)?.name ?? uid,
      },
      record,
      pod,
    );
    if (!Array.isArray(volumes)) {
      this.waitFor(record, pod, volumes.reason, volumes.message, {
        type: 'Warning',
        reason: volumes.event,
        component: volumes.event === 'FailedAttachVolume' ? 'attachdetach-controller' : 'kubelet',
      });
      return;
    }
    if (runtime.flavourOf(container.image) === undefined) {
      const message = `Failed to pull image "${container.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${container.image}": the lab has no such image (it runs busybox, alpine and Debian-family images such as debian, ubuntu, python)`;
      events.record(
        K.pods,
        pod,
        'Normal',
        'Pulling',
        `Pulling image "${container.image}"`,
        'kubelet',
        `spec.containers{${container.name}}`,
      );
      this.waitFor(record, pod, 'ErrImagePull', message, { type: 'Warning', reason: 'Failed' });
      record.state = 'backoff';
      record.timers.push(
        setTimeout(() => {
          const current = this.options.store.get(K.pods, record.namespace, record.name);
          if (current === undefined) return;
          this.waitFor(record, current, 'ImagePullBackOff', `Back-off pulling image "${container.image}"`, {
            type: 'Normal',
            reason: 'BackOff',
          });
          record.state = 'backoff';
        }, 1_000),
      );
      return;
    }
    this.waitFor(record, pod, 'ContainerCreating', '');
    record.state = 'starting';
    if (record.restartCount === 0) {
      events.record(
        K.pods,
        pod,
        'Normal',
        'Pulled',
        `Container image "${container.image}" already present on machine`,
        'kubelet',
        `spec.containers{${container.name}}`,
      );
    }
    const spec = container.spec;
    const command = [...stringsAt(spec, 'command'), ...stringsAt(spec, 'args')];
    const env: Record<string, string> = {
      HOSTNAME: record.name,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
    };
    for (const variable of objectsAt(spec, 'env')) {
      const name = stringAt(variable, 'name');
      if (name !== undefined) env[name] = stringAt(variable, 'value') ?? '';
    }
    let sandbox: Sandbox;
    try {
      await mkdir(path.join(this.options.podsDir, record.uid), { recursive: true });
      sandbox = await runtime.start({
        id: `${record.namespace}/${record.name}`,
        image: container.image,
        command,
        env,
        ...((stringAt(spec, 'workingDir') ?? '') === '' ? {} : { workingDir: stringAt(spec, 'workingDir') ?? '/' }),
        volumes,
      });
    } catch (error) {
      const message = `Error: failed to create containerd task: ${error instanceof Error ? error.message : String(error)}`;
      this.waitFor(record, pod, 'CreateContainerError', message, { type: 'Warning', reason: 'Failed' });
      record.state = 'backoff';
      record.timers.push(setTimeout(() => this.retry(record), 10_000));
      return;
    }
    const current = this.options.store.get(K.pods, record.namespace, record.name);
    if (
      this.stopped ||
      current === undefined ||
      uidOf(current) !== record.uid ||
      deletionTimestampOf(current) !== undefined
    ) {
      await sandbox.stop();
      return;
    }
    this.running(record, current, sandbox);
  }

  private retry(record: PodRecord): void {
    if (record.state !== 'backoff') return;
    record.state = 'waiting';
    record.lastWaiting = undefined;
    this.loop.trigger();
  }

  private running(record: PodRecord, pod: KubeObject, sandbox: Sandbox): void {
    const { events } = this.options;
    const container = containerOf(pod);
    record.sandbox = sandbox;
    record.state = 'running';
    record.lastWaiting = undefined;
    record.startedAt = timestamp();
    record.containerID = `containerd://${randomBytes(32).toString('hex')}`;
    record.podIP ??= `10.244.${record.node.charCodeAt(record.node.length - 1) % 16}.${this.ipCounter++ % 250}`;
    const logFile = new RotatingLog(this.logPath(pod, false));
    let open = 2;
    const closeOne = (): void => {
      if (--open === 0) logFile.end();
    };
    sandbox.main.stdout.on('end', closeOne).pipe(logFile, { end: false });
    sandbox.main.stderr.on('end', closeOne).pipe(logFile, { end: false });
    record.logsClosed = new Promise((resolve) => {
      logFile.on('close', () => resolve());
      logFile.on('error', (error) => {
        this.options.onError(error);
        resolve();
      });
    });
    sandbox.main.stdin.end();
    const startedAt = record.startedAt;
    const updated = this.updateStatus(record, (status) => {
      status.phase = 'Running';
      status.hostIP = `10.0.0.${record.node.charCodeAt(record.node.length - 1) % 16}`;
      status.hostIPs = [{ ip: status.hostIP }];
      status.podIP = record.podIP ?? '';
      status.podIPs = [{ ip: record.podIP ?? '' }];
      status.startTime ??= startedAt;
      setCondition(status, 'PodReadyToStartContainers', 'True');
      setCondition(status, 'Initialized', 'True');
      setCondition(status, 'ContainersReady', 'True');
      setCondition(status, 'Ready', 'True');
      setCondition(status, 'PodScheduled', 'True');
      status.containerStatuses = [
        containerStatus(
          container,
          { running: { startedAt } },
          {
            restartCount: record.restartCount,
            containerID: record.containerID ?? '',
            imageID: imageIdOf(container.image),
            ...(record.lastTerminated === undefined ? {} : { lastState: { terminated: record.lastTerminated } }),
          },
        ),
      ];
    });
    if (updated === undefined) return;
    const fieldPath = `spec.containers{${container.name}}`;
    events.record(K.pods, updated, 'Normal', 'Created', `Created container: ${container.name}`, 'kubelet', fieldPath);
    events.record(K.pods, updated, 'Normal', 'Started', `Started container ${container.name}`, 'kubelet', fieldPath);
    const deadline = objectAt(updated, 'spec')?.activeDeadlineSeconds;
    if (typeof deadline === 'number' && record.restartCount === 0) {
      const started = Date.parse(stringAt(statusOf(updated), 'startTime') ?? startedAt);
      const remaining = Math.max(0, started + deadline * 1000 - Date.now());
      record.timers.push(setTimeout(() => this.track(this.deadlineExceeded(record)), remaining));
    }
    sandbox.main.exited.then(
      (code) => this.track(this.exited(record, sandbox, code)),
      (error: unknown) => this.options.onError(error),
    );
  }

  private async exited(record: PodRecord, sandbox: Sandbox, code: number): Promise<void> {
    if (record.sandbox !== sandbox || record.state !== 'running') return;
    const pod = this.options.store.get(K.pods, record.namespace, record.name);
    if (pod === undefined || deletionTimestampOf(pod) !== undefined) return;
    const container = containerOf(pod);
    const policy = stringAt(objectAt(pod, 'spec'), 'restartPolicy') ?? 'Always';
    const terminated = {
      exitCode: code,
      reason: code === 0 ? 'Completed' : 'Error',
      startedAt: record.startedAt ?? timestamp(),
      finishedAt: timestamp(),
      containerID: record.containerID ?? '',
    };
    record.state = 'stopping';
    record.sandbox = undefined;
    await sandbox.stop();
    await record.logsClosed;
    const restart = policy === 'Always' || (policy === 'OnFailure' && code !== 0);
    if (!restart) {
      this.finish(record, code === 0 ? 'Succeeded' : 'Failed', { terminated });
      return;
    }
    record.restartCount++;
    record.lastTerminated = terminated;
    await rename(this.logPath(pod, false), this.logPath(pod, true)).catch(() => undefined);
    const delay = backoffMs(record.restartCount);
    record.state = 'backoff';
    if (delay > 0) {
      const message = `back-off ${delay / 1000}s restarting failed container=${container.name} pod=${record.name}_${record.namespace}(${record.uid})`;
      this.waitFor(record, pod, 'CrashLoopBackOff', message);
      record.state = 'backoff';
      const current = this.options.store.get(K.pods, record.namespace, record.name);
      if (current !== undefined) {
        this.options.events.record(
          K.pods,
          current,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${container.name} in pod ${record.name}_${record.namespace}(${record.uid})`,
          'kubelet',
          `spec.containers{${container.name}}`,
        );
      }
    }
    record.timers.push(setTimeout(() => this.retry(record), delay));
  }

  /** Moves the pod to a final phase and frees what it held. */
  private finish(
    record: PodRecord,
    phase: 'Succeeded' | 'Failed',
    state: ContainerState,
    reason?: string,
    message?: string,
  ): void {
    record.state = 'finished';
    for (const timer of record.timers) clearTimeout(timer);
    record.timers = [];
    this.releaseAttachments(record);
    const pod = this.options.store.get(K.pods, record.namespace, record.name);
    if (pod === undefined) return;
    const container = containerOf(pod);
    this.updateStatus(record, (status) => {
      status.phase = phase;
      if (reason !== undefined) status.reason = reason;
      if (message !== undefined) status.message = message;
      const why = phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
      setCondition(status, 'PodReadyToStartContainers', 'False');
      setCondition(status, 'ContainersReady', 'False', why);
      setCondition(status, 'Ready', 'False', why);
      status.containerStatuses = [
        containerStatus(container, state, {
          restartCount: record.restartCount,
          containerID: record.containerID ?? '',
          imageID: imageIdOf(container.image),
          ...(record.lastTerminated === undefined ? {} : { lastState: { terminated: record.lastTerminated } }),
        }),
      ];
    });
  }

  private async deadlineExceeded(record: PodRecord): Promise<void> {
    if (record.state === 'finished' || record.state === 'stopping') return;
    const sandbox = record.sandbox;
    record.state = 'stopping';
    record.sandbox = undefined;
    if (sandbox !== undefined) await sandbox.stop();
    const pod = this.options.store.get(K.pods, record.namespace, record.name);
    const message = 'Pod was active on the node longer than the specified deadline';
    this.finish(
      record,
      'Failed',
      {
        terminated: {
          exitCode: 137,
          reason: 'Error',
          startedAt: record.startedAt ?? timestamp(),
          finishedAt: timestamp(),
          containerID: record.containerID ?? '',
        },
      },
      'DeadlineExceeded',
      message,
    );
    if (pod !== undefined) this.options.events.record(K.pods, pod, 'Warning', 'DeadlineExceeded', message, 'kubelet');
  }

  /** Stops a record's sandbox (bounded in time) and forgets it. */
  private async cleanup(record: PodRecord): Promise<void> {
    record.state = 'stopping';
    for (const timer of record.timers) clearTimeout(timer);
    record.timers = [];
    const sandbox = record.sandbox;
    record.sandbox = undefined;
    if (sandbox !== undefined) {
      await Promise.race([sandbox.stop(), new Promise((resolve) => setTimeout(resolve, stopTimeoutMs).unref())]);
    }
    this.releaseAttachments(record);
    this.records.delete(record.uid);
    await rm(path.join(this.options.podsDir, record.uid), { recursive: true, force: true }).catch(() => undefined);
  }

  /** Pod deletion: Terminating while the sandbox stops, then gone. */
  readonly deleter: Deleter = async (_kind, obj, options) => {
    const { store, events } = this.options;
    const record = this.records.get(uidOf(obj));
    const spec = objectAt(obj, 'spec');
    const grace =
      options.gracePeriodSeconds ??
      (typeof spec?.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30);
    let last: KubeObject = obj;
    if (record !== undefined && record.sandbox !== undefined) {
      last = store.markDeleting(K.pods, namespaceOf(obj), nameOf(obj), grace) ?? obj;
      events.record(
        K.pods,
        last,
        'Normal',
        'Killing',
        `Stopping container ${containerOf(obj).name}`,
        'kubelet',
        `spec.containers{${containerOf(obj).name}}`,
      );
    }
    if (record !== undefined) await this.cleanup(record);
    return store.remove(K.pods, namespaceOf(obj), nameOf(obj)) ?? last;
  };

  async idle(): Promise<void> {
    await this.loop.idle();
    await Promise.all(this.pending);
  }

  /** Stops every sandbox (lab shutdown); pods stay in the store. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    await this.loop.stop();
    await Promise.all([...this.records.values()].map((record) => this.cleanup(record)));
    await Promise.all(this.pending);
  }
}
