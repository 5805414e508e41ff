import { describe, expect, it } from 'vitest';
import { ApiError } from './apiError.js';
import { findKind } from './kinds.js';
import type { KindInfo } from './kinds.js';
import { nameOf, namespaceOf } from './meta.js';
import type { KubeObject } from './meta.js';
import { ObjectStore } from './store.js';
import type { StoreEvent } from './store.js';

const pods = findKind('', 'v1', 'pods')!;
const namespaces = findKind('', 'v1', 'namespaces')!;

function pod(name: string, namespace = 'ml', extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [] }, ...extra };
}

function statusOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError)
      return { code: error.status.code, reason: error.status.reason, message: error.message };
    throw error;
  }
  return undefined;
}

describe('ObjectStore', () => {
  it('assigns server metadata and increments resourceVersion per write', () => {
    const store = new ObjectStore();
    const a = store.create(pods, pod('a'));
    const b = store.create(pods, pod('b'));
    expect(a.metadata).toMatchObject({ name: 'a', namespace: 'ml', resourceVersion: '1', generation: 1 });
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(b.metadata.resourceVersion).toBe('2');
    expect(store.resourceVersion()).toBe('2');
  });

  it('drops the namespace of cluster-scoped objects and generates names', () => {
    const store = new ObjectStore();
    const ns = store.create(namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'x', namespace: 'y' },
    });
    expect(ns.metadata.namespace).toBeUndefined();
    const generated = store.create(pods, { ...pod(''), metadata: { generateName: 'job-', namespace: 'ml' } });
    expect(generated.metadata.name).toMatch(/^job-[a-z0-9]{5}$/);
  });

  it('refuses duplicates with a 409 AlreadyExists', () => {
    const store = new ObjectStore();
    store.create(pods, pod('a'));
    expect(statusOf(() => store.create(pods, pod('a')))).toEqual({
      code: 409,
      reason: 'AlreadyExists',
      message: 'pods "a" already exists',
    });
    // The same name in another namespace is another object.
    expect(store.create(pods, pod('a', 'other')).metadata.namespace).toBe('other');
  });

  it('lists by namespace, sorted, and returns copies', () => {
    const store = new ObjectStore();
    store.create(pods, pod('b'));
    store.create(pods, pod('a'));
    store.create(pods, pod('c', 'other'));
    expect(store.list(pods, 'ml').map((p) => p.metadata.name)).toEqual(['a', 'b']);
    expect(store.list(pods).map((p) => `${namespaceOf(p)}/${nameOf(p)}`)).toEqual(['ml/a', 'ml/b', 'other/c']);
    const copy = store.get(pods, 'ml', 'a')!;
    copy.metadata.name = 'changed';
    expect(store.get(pods, 'ml', 'a')!.metadata.name).toBe('a');
  });

  it('detects stale updates and bumps generation only when spec changes', () => {
    const store = new ObjectStore();
    const created = store.create(pods, pod('a'));
    const labelled = store.update(pods, { ...created, metadata: { ...created.metadata, labels: { x: 'y' } } });
    expect(labelled.metadata.generation).toBe(1);
    const respecced = store.update(pods, { ...labelled, spec: { containers: [], nodeName: 'node-a' } });
    expect(respecced.metadata.generation).toBe(2);
    expect(statusOf(() => store.update(pods, created, { expectedResourceVersion: '1' }))).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again',
    });
  });

  it('keeps objects with finalizers until the last one is removed', () => {
    const store = new ObjectStore();
    store.create(pods, { ...pod('a'), metadata: { name: 'a', namespace: 'ml', finalizers: ['x'] } });
    const marked = store.delete(pods, 'ml', 'a');
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(store.get(pods, 'ml', 'a')).toBeDefined();
    const current = store.get(pods, 'ml', 'a')!;
    store.update(pods, { ...current, metadata: { ...current.metadata, finalizers: [] } });
    expect(store.get(pods, 'ml', 'a')).toBeUndefined();
  });

  it('reports a missing object as 404 with the Kubernetes message', () => {
    const store = new ObjectStore();
    expect(statusOf(() => store.delete(pods, 'ml', 'nope'))).toEqual({
      code: 404,
      reason: 'NotFound',
      message: 'pods "nope" not found',
    });
  });

  it('notifies listeners in order and replays history for watches', () => {
    const store = new ObjectStore();
    const seen: string[] = [];
    const unsubscribe = store.subscribe((event: StoreEvent) => seen.push(`${event.type} ${nameOf(event.object)}`));
    store.create(pods, pod('a'));
    store.create(pods, pod('b', 'other'));
    store.mutate(pods, 'ml', 'a', (obj) => {
      obj.status = { phase: 'Running' };
    });
    store.delete(pods, 'ml', 'a');
    unsubscribe();
    store.create(pods, pod('c'));
    expect(seen).toEqual(['ADDED a', 'ADDED b', 'MODIFIED a', 'DELETED a']);

    const ns: KindInfo = pods;
    const since = store.eventsSince(1, { kind: ns, namespace: 'ml' });
    expect(since.map((e) => `${e.type} ${nameOf(e.object)} ${e.resourceVersion}`)).toEqual([
      'MODIFIED a 3',
      'DELETED a 4',
      'ADDED c 5',
    ]);
  });

  it('does not write when a mutation changes nothing', () => {
    const store = new ObjectStore();
    store.create(pods, pod('a'));
    store.mutate(pods, 'ml', 'a', () => undefined);
    expect(store.resourceVersion()).toBe('1');
    expect(store.mutate(pods, 'ml', 'gone', () => undefined)).toBeUndefined();
  });

  it('answers 410 Expired for a watch older than its history', () => {
    const store = new ObjectStore({ historyLimit: 3 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) store.create(pods, pod(name));
    expect(statusOf(() => store.eventsSince(1, { kind: pods }))).toEqual({
      code: 410,
      reason: 'Expired',
      message: 'too old resource version: 1 (2)',
    });
    expect(store.eventsSince(2, { kind: pods }).map((e) => e.resourceVersion)).toEqual([3, 4, 5]);
  });
});
