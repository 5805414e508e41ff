import { numberAt, objectAt, objectsAt, stringAt } from '../objects/json.js';
import type { JsonObject } from '../objects/json.js';
import { K } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import { deletionTimestampOf, nameOf, namespaceOf, ownerReferencesOf, timestamp, uidOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';
import type { EventRecorder } from './events.js';
import { phaseOf } from './podStatus.js';
import { SyncLoop } from './trigger.js';

/**
 * The Job controller (batch/v1): runs the template's pods until `completions` succeed, replaces failed pods
 * up to `backoffLimit` (pod restarts under OnFailure count too), fails the job past `activeDeadlineSeconds`,
 * and deletes finished jobs after `ttlSecondsAfterFinished`.
 */
export interface JobControllerOptions {
  readonly store: ObjectStore;
  readonly events: EventRecorder;
  /** Creates a pod through the API's create path (defaults, validation, admission); throws its ApiError. */
  readonly createPod: (pod: KubeObject) => KubeObject;
  /** Deletes an object through the API's delete path. */
  readonly deleteObject: (kind: KindInfo, obj: KubeObject) => Promise<void>;
  readonly onError: (error: unknown) => void;
  /** Delay before replacing a failed pod, doubled per failure (Kubernetes: 10 s; the lab: 1 s). */
  readonly backoffBaseMs?: number;
}

function condition(job: KubeObject, type: string): JsonObject | undefined {
  return objectsAt(objectAt(job, 'status'), 'conditions').find((c) => c.type === type && c.status === 'True');
}

export function isJobFinished(job: KubeObject): boolean {
  return condition(job, 'Complete') !== undefined || condition(job, 'Failed') !== undefined;
}

function restartsOf(pod: KubeObject): number {
  return objectsAt(objectAt(pod, 'status'), 'containerStatuses').reduce(
    (sum, c) => sum + (numberAt(c, 'restartCount') ?? 0),
    0,
  );
}

export class JobController {
  private readonly options: JobControllerOptions;
  private readonly loop: SyncLoop;
  private readonly unsubscribe: () => void;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly notBefore = new Map<string, number>();

  constructor(options: JobControllerOptions) {
    this.options = options;
    this.loop = new SyncLoop(() => this.sync(), options.onError, 2_000);
    this.unsubscribe = options.store.subscribe((event) => {
      if (
        event.kind.plural === K.jobs.plural ||
        (event.kind.plural === K.pods.plural && ownerReferencesOf(event.object).some((r) => r.kind === 'Job'))
      ) {
        this.loop.trigger();
      }
    });
    this.loop.trigger();
  }

  private later(key: string, ms: number): void {
    if (this.timers.has(key)) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.loop.trigger();
      },
      Math.max(0, ms),
    );
    timer.unref();
    this.timers.set(key, timer);
  }

  private async sync(): Promise<void> {
    for (const job of this.options.store.list(K.jobs)) {
      if (deletionTimestampOf(job) !== undefined) continue;
      await this.syncJob(job);
    }
  }

  private finishWith(
    job: KubeObject,
    type: 'Complete' | 'Failed',
    reason: string,
    message: string,
    counts: JsonObject,
  ): void {
    const now = timestamp();
    const entry = (t: string): JsonObject => ({
      type: t,
      status: 'True',
      reason,
      message,
      lastProbeTime: now,
      lastTransitionTime: now,
    });
    this.options.store.mutate(K.jobs, namespaceOf(job), nameOf(job), (obj) => {
      const status: JsonObject = { ...(objectAt(obj, 'status') ?? {}), ...counts, active: 0, ready: 0, terminating: 0 };
      status.conditions =
        type === 'Complete'
          ? [entry('SuccessCriteriaMet'), entry('Complete')]
          : [entry('FailureTarget'), entry('Failed')];
      if (type === 'Complete') status.completionTime = now;
      obj.status = status;
    });
    this.options.events.record(
      K.jobs,
      job,
      type === 'Complete' ? 'Normal' : 'Warning',
      type === 'Complete' ? 'Completed' : reason,
      message,
      'job-controller',
    );
  }

  private async syncJob(job: KubeObject): Promise<void> {
    const { store } = this.options;
    const namespace = namespaceOf(job);
    const uid = uidOf(job);
    const spec = objectAt(job, 'spec') ?? {};
    if (isJobFinished(job)) {
      const ttl = numberAt(spec, 'ttlSecondsAfterFinished');
      if (ttl !== undefined) {
        const finishedAt = Date.parse(
          stringAt(objectAt(job, 'status'), 'completionTime') ??
            stringAt(condition(job, 'Failed'), 'lastTransitionTime') ??
            '',
        );
        const due = (Number.isNaN(finishedAt) ? Date.now() : finishedAt) + ttl * 1000;
        if (Date.now() >= due) await this.options.deleteObject(K.jobs, job);
        else this.later(`ttl/${uid}`, due - Date.now());
      }
      return;
    }
    if (spec.suspend === true) return;
    // First sight: the selector and labels that tie pods to this job, and the start time.
    if (objectAt(spec, 'selector') === undefined || stringAt(objectAt(job, 'status'), 'startTime') === undefined) {
      store.mutate(K.jobs, namespace, nameOf(job), (obj) => {
        const objSpec = objectAt(obj, 'spec');
        if (objSpec === undefined) return;
        objSpec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        const template = objectAt(objSpec, 'template');
        if (template !== undefined) {
          const metadata = objectAt(template, 'metadata') ?? {};
          metadata.labels = {
            ...(objectAt(metadata, 'labels') ?? {}),
            'batch.kubernetes.io/controller-uid': uid,
            'batch.kubernetes.io/job-name': nameOf(obj),
            'controller-uid': uid,
            'job-name': nameOf(obj),
          };
          template.metadata = metadata;
        }
        const status = objectAt(obj, 'status') ?? {};
        status.startTime ??= timestamp();
        obj.status = status;
      });
      return;
    }
    const pods = store.list(K.pods, namespace).filter((pod) => ownerReferencesOf(pod).some((ref) => ref.uid === uid));
    const active = pods.filter(
      (pod) => phaseOf(pod) !== 'Succeeded' && phaseOf(pod) !== 'Failed' && deletionTimestampOf(pod) === undefined,
    );
    const succeeded = pods.filter((pod) => phaseOf(pod) === 'Succeeded').length;
    const failedPods = pods.filter((pod) => phaseOf(pod) === 'Failed').length;
    const failures = failedPods + pods.reduce((sum, pod) => sum + restartsOf(pod), 0);
    const ready = active.filter((pod) => phaseOf(pod) === 'Running').length;
    const counts: JsonObject = { succeeded, failed: failedPods };
    const completions = numberAt(spec, 'completions') ?? 1;
    const parallelism = numberAt(spec, 'parallelism') ?? 1;
    const backoffLimit = numberAt(spec, 'backoffLimit') ?? 6;
    const startTime = Date.parse(stringAt(objectAt(job, 'status'), 'startTime') ?? '');
    const deadline = numberAt(spec, 'activeDeadlineSeconds');

    const failJob = async (reason: string, message: string): Promise<void> => {
      for (const pod of active) await this.options.deleteObject(K.pods, pod);
      this.finishWith(job, 'Failed', reason, message, counts);
    };
    if (succeeded >= completions) {
      this.finishWith(job, 'Complete', 'CompletionsReached', 'Reached expected number of succeeded pods', counts);
      return;
    }
    if (deadline !== undefined && !Number.isNaN(startTime)) {
      const due = startTime + deadline * 1000;
      if (Date.now() >= due) {
        await failJob('DeadlineExceeded', 'Job was active longer than specified deadline');
        return;
      }
      this.later(`deadline/${uid}`, due - Date.now());
    }
    if (failures > backoffLimit) {
      await failJob('BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      return;
    }
    const wanted = Math.min(parallelism, completions - succeeded) - active.length;
    const waitUntil = this.notBefore.get(uid) ?? 0;
    if (wanted > 0 && Date.now() < waitUntil) this.later(`backoff/${uid}`, waitUntil - Date.now());
    else {
      for (let i = 0; i < wanted; i++) this.createPod(job);
      if (failedPods > 0)
        this.notBefore.set(uid, Date.now() + (this.options.backoffBaseMs ?? 1_000) * 2 ** Math.min(failedPods - 1, 6));
    }
    store.mutate(K.jobs, namespace, nameOf(job), (obj) => {
      obj.status = {
        ...(objectAt(obj, 'status') ?? {}),
        ...counts,
        active: Math.max(active.length, 0),
        ready,
        terminating: 0,
        uncountedTerminatedPods: {},
      };
    });
  }

  private createPod(job: KubeObject): void {
    const template = objectAt(objectAt(job, 'spec'), 'template') ?? {};
    const metadata = objectAt(template, 'metadata') ?? {};
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...metadata,
        name: '',
        generateName: `${nameOf(job)}-`,
        namespace: namespaceOf(job),
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: nameOf(job),
            uid: uidOf(job),
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(objectAt(template, 'spec') ?? {}),
    };
    try {
      const created = this.options.createPod(pod);
      this.options.events.record(
        K.jobs,
        job,
        'Normal',
        'SuccessfulCreate',
        `Created pod: ${nameOf(created)}`,
        'job-controller',
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.events.record(
        K.jobs,
        job,
        'Warning',
        'FailedCreate',
        `Error creating: ${message}`,
        'job-controller',
      );
    }
  }

  async idle(): Promise<void> {
    await this.loop.idle();
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    for (const timer of this.timers.values()) clearTimeout(timer);
    await this.loop.stop();
  }
}
