import { isJsonObject, jsonText, objectAt, objectsAt, stringAt } from '../objects/json.js';
import type { Json, JsonObject } from '../objects/json.js';
import { timestamp } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';

/** Building blocks of `pod.status`, shaped as the kubelet reports them. */
export type ContainerState =
  | { readonly waiting: { readonly reason: string; readonly message?: string } }
  | { readonly running: { readonly startedAt: string } }
  | {
      readonly terminated: {
        readonly exitCode: number;
        readonly reason: string;
        readonly message?: string;
        readonly startedAt: string;
        readonly finishedAt: string;
        readonly containerID?: string;
      };
    };

export function statusOf(pod: KubeObject): JsonObject {
  return objectAt(pod, 'status') ?? {};
}

export function phaseOf(pod: KubeObject): string {
  return stringAt(statusOf(pod), 'phase') ?? 'Pending';
}

export function isFinished(pod: KubeObject): boolean {
  const phase = phaseOf(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Sets one condition, keeping lastTransitionTime when its status does not change. */
export function setCondition(
  status: JsonObject,
  type: string,
  value: 'True' | 'False',
  reason?: string,
  message?: string,
): void {
  const conditions = objectsAt(status, 'conditions');
  const existing = conditions.find((c) => c.type === type);
  const condition: JsonObject = {
    type,
    status: value,
    lastProbeTime: null,
    lastTransitionTime:
      existing !== undefined && existing.status === value ? (existing.lastTransitionTime ?? timestamp()) : timestamp(),
  };
  if (reason !== undefined) condition.reason = reason;
  if (message !== undefined) condition.message = message;
  const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];
  const next = [...conditions.filter((c) => c.type !== type), condition];
  next.sort((a, b) => order.indexOf(jsonText(a.type)) - order.indexOf(jsonText(b.type)));
  status.conditions = next;
}

export function conditionOf(pod: KubeObject, type: string): JsonObject | undefined {
  return objectsAt(statusOf(pod), 'conditions').find((c) => c.type === type);
}

export interface ContainerInfo {
  readonly name: string;
  readonly image: string;
}

/** The pod's one container (the lab runs one per pod). */
export function containerOf(pod: KubeObject): ContainerInfo & { readonly spec: JsonObject } {
  const spec = objectsAt(objectAt(pod, 'spec'), 'containers')[0] ?? {};
  return { name: stringAt(spec, 'name') ?? '', image: stringAt(spec, 'image') ?? '', spec };
}

export function containerStatus(
  container: ContainerInfo,
  state: ContainerState,
  options: { restartCount: number; lastState?: Json; containerID?: string; imageID?: string },
): JsonObject {
  const running = 'running' in state;
  const status: JsonObject = {
    name: container.name,
    state: JSON.parse(JSON.stringify(state)) as JsonObject,
    lastState: isJsonObject(options.lastState) ? options.lastState : {},
    ready: running,
    restartCount: options.restartCount,
    image: container.image,
    imageID: options.imageID ?? '',
    started: running,
  };
  if (options.containerID !== undefined) status.containerID = options.containerID;
  return status;
}

/** The image digest reference the kubelet would report for an image the lab "has". */
export function imageIdOf(image: string): string {
  const name = image.includes('/') ? image.split('@')[0] : `docker.io/library/${image.split('@')[0] ?? image}`;
  return `${(name ?? image).replace(/:[^/:]*$/, '')}@sha256:${Buffer.from(image).toString('hex').padEnd(64, '0').slice(0, 64)}`;
}
