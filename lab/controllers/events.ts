import { randomBytes } from 'node:crypto';
import { K } from '../objects/kinds.js';
import { apiVersionOf } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import { nameOf, namespaceOf, resourceVersionOf, timestamp, uidOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import type { ObjectStore } from '../objects/store.js';

const eventKind = K.events;

export type EventType = 'Normal' | 'Warning';

/**
 * Records core/v1 Events about objects, as the scheduler, kubelet and controllers do: a repeated event
 * (same object, reason and message) bumps the count and lastTimestamp of the existing one.
 */
export class EventRecorder {
  private readonly store: ObjectStore;
  private readonly seen = new Map<string, string>();

  constructor(store: ObjectStore) {
    this.store = store;
  }

  record(
    kind: KindInfo,
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    component: string,
    fieldPath?: string,
  ): void {
    const namespace = kind.namespaced ? namespaceOf(obj) : 'default';
    const key = `${uidOf(obj)}\0${reason}\0${message}`;
    const now = timestamp();
    const existing = this.seen.get(key);
    if (existing !== undefined) {
      const updated = this.store.mutate(eventKind, namespace, existing, (event) => {
        event.count = (typeof event.count === 'number' ? event.count : 1) + 1;
        event.lastTimestamp = now;
      });
      if (updated !== undefined) return;
    }
    const involvedObject: KubeObject['metadata'] = {
      kind: kind.kind,
      namespace: kind.namespaced ? namespace : '',
      name: nameOf(obj),
      uid: uidOf(obj),
      apiVersion: apiVersionOf(kind),
      resourceVersion: resourceVersionOf(obj),
    };
    if (!kind.namespaced) delete involvedObject.namespace;
    if (fieldPath !== undefined) involvedObject.fieldPath = fieldPath;
    const event = this.store.create(eventKind, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${nameOf(obj)}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject,
      reason,
      message,
      source: { component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: component === 'kubelet' ? 'node' : component,
    });
    this.seen.set(key, nameOf(event));
    if (this.seen.size > 10_000) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
