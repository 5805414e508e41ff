import { randomBytes, randomUUID } from 'node:crypto';
import { alreadyExists, conflict, gone, modifiedConflictReason, notFound } from './apiError.js';
import type { GroupResource } from './apiError.js';
import { isJsonObject, jsonText, removeKey } from './json.js';
import { kindKey } from './kinds.js';
import type { KindInfo } from './kinds.js';
import { deletionTimestampOf, finalizersOf, nameOf, namespaceOf, resourceVersionOf, timestamp } from './meta.js';
import type { KubeObject } from './meta.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: WatchEventType;
  readonly kind: KindInfo;
  /** The object after the change (for DELETED: its last state, with the deletion's resourceVersion). */
  readonly object: KubeObject;
  readonly resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

export interface WatchFilter {
  readonly kind: KindInfo;
  /** Only objects of this namespace (undefined: all). */
  readonly namespace?: string;
}

/** How many past events a watch can resume from before it gets 410 Gone. */
const defaultHistoryLimit = 20_000;

function groupResource(kind: KindInfo): GroupResource {
  return { group: kind.group, resource: kind.plural };
}

function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Five random lower-case alphanumerics, as `generateName` appends. */
export function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  return Array.from(bytes, (b) => alphabet.charAt(b % alphabet.length)).join('');
}

/**
 * The lab's in-memory object store: one bucket per kind, a global resourceVersion counter, synchronous
 * change listeners (the controllers) and a bounded history that watches resume from. Every object going
 * in or out is copied, so no caller shares state with the store.
 */
export class ObjectStore {
  private revision = 0;
  private readonly buckets = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private readonly historyLimit: number;

  constructor(options: { historyLimit?: number } = {}) {
    this.historyLimit = options.historyLimit ?? defaultHistoryLimit;
  }

  /** The current resourceVersion, as list responses report it. */
  resourceVersion(): string {
    return String(this.revision);
  }

  private bucket(kind: KindInfo): Map<string, KubeObject> {
    const key = kindKey(kind);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new Map();
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  get(kind: KindInfo, namespace: string, name: string): KubeObject | undefined {
    const found = this.bucket(kind).get(objectKey(kind.namespaced ? namespace : '', name));
    return found === undefined ? undefined : structuredClone(found);
  }

  require(kind: KindInfo, namespace: string, name: string): KubeObject {
    const found = this.get(kind, namespace, name);
    if (found === undefined) throw notFound(groupResource(kind), name);
    return found;
  }

  /** Objects of a kind, optionally of one namespace, sorted by namespace then name (as etcd keys sort). */
  list(kind: KindInfo, namespace?: string): KubeObject[] {
    const items: KubeObject[] = [];
    for (const obj of this.bucket(kind).values()) {
      if (namespace === undefined || namespaceOf(obj) === namespace) items.push(structuredClone(obj));
    }
    return items.sort((a, b) => {
      const byNamespace = namespaceOf(a).localeCompare(namespaceOf(b));
      return byNamespace !== 0 ? byNamespace : nameOf(a).localeCompare(nameOf(b));
    });
  }

  /**
   * Stores a new object, filling in the server's metadata (uid, resourceVersion, creationTimestamp, a name
   * from generateName). The caller has validated it.
   */
  create(kind: KindInfo, input: KubeObject): KubeObject {
    const obj = structuredClone(input);
    const metadata = obj.metadata;
    const namespace = kind.namespaced ? (typeof metadata.namespace === 'string' ? metadata.namespace : '') : '';
    let name = typeof metadata.name === 'string' ? metadata.name : '';
    const bucket = this.bucket(kind);
    if (name === '' && typeof metadata.generateName === 'string') {
      // Retry on the (unlikely) collision, as the API server's name generator does not but could.
      do name = `${metadata.generateName}${randomSuffix()}`;
      while (bucket.has(objectKey(namespace, name)));
    }
    if (bucket.has(objectKey(namespace, name))) throw alreadyExists(groupResource(kind), name);
    this.revision++;
    metadata.name = name;
    if (kind.namespaced) metadata.namespace = namespace;
    else delete metadata.namespace;
    metadata.uid = randomUUID();
    metadata.resourceVersion = String(this.revision);
    metadata.creationTimestamp = timestamp();
    delete metadata.deletionTimestamp;
    if (isJsonObject(obj.spec)) metadata.generation = 1;
    else delete metadata.generation;
    bucket.set(objectKey(namespace, name), obj);
    this.emit({ type: 'ADDED', kind, object: obj, resourceVersion: this.revision });
    return structuredClone(obj);
  }

  /**
   * Replaces an object. With `expectedResourceVersion` set (a client's PUT), a stale version is a 409
   * Conflict. Server-owned metadata is kept from the stored object. Clearing the last finalizer of an
   * object being deleted removes it.
   */
  update(kind: KindInfo, input: KubeObject, options: { expectedResourceVersion?: string } = {}): KubeObject {
    const namespace = kind.namespaced ? namespaceOf(input) : '';
    const name = nameOf(input);
    const bucket = this.bucket(kind);
    const key = objectKey(namespace, name);
    const current = bucket.get(key);
    if (current === undefined) throw notFound(groupResource(kind), name);
    const expected = options.expectedResourceVersion;
    if (expected !== undefined && expected !== '' && expected !== resourceVersionOf(current)) {
      throw conflict(groupResource(kind), name, modifiedConflictReason);
    }
    const obj = structuredClone(input);
    for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp', 'generation'] as const) {
      const value = current.metadata[field];
      if (value === undefined) removeKey(obj.metadata, field);
      else obj.metadata[field] = value;
    }
    // A deletion timestamp can only be set through delete(); it is never cleared.
    if (JSON.stringify(obj.spec) !== JSON.stringify(current.spec) && typeof current.metadata.generation === 'number') {
      obj.metadata.generation = current.metadata.generation + 1;
    }
    this.revision++;
    obj.metadata.resourceVersion = String(this.revision);
    if (deletionTimestampOf(obj) !== undefined && finalizersOf(obj).length === 0) {
      bucket.delete(key);
      this.emit({ type: 'DELETED', kind, object: obj, resourceVersion: this.revision });
      return structuredClone(obj);
    }
    bucket.set(key, obj);
    this.emit({ type: 'MODIFIED', kind, object: obj, resourceVersion: this.revision });
    return structuredClone(obj);
  }

  /** Read-modify-write for controllers: `change` edits a copy; returns the stored result, or undefined if gone. */
  mutate(kind: KindInfo, namespace: string, name: string, change: (obj: KubeObject) => void): KubeObject | undefined {
    const current = this.get(kind, namespace, name);
    if (current === undefined) return undefined;
    const before = JSON.stringify(current);
    change(current);
    if (JSON.stringify(current) === before) return current;
    return this.update(kind, current);
  }

  /**
   * Deletes an object: with finalizers it only gets a deletionTimestamp (and goes when they are cleared),
   * otherwise it is removed. Returns the object as it was last stored.
   */
  delete(kind: KindInfo, namespace: string, name: string, options: { expectedUid?: string } = {}): KubeObject {
    const ns = kind.namespaced ? namespace : '';
    const bucket = this.bucket(kind);
    const key = objectKey(ns, name);
    const current = bucket.get(key);
    if (current === undefined) throw notFound(groupResource(kind), name);
    if (options.expectedUid !== undefined && current.metadata.uid !== options.expectedUid) {
      throw conflict(
        groupResource(kind),
        name,
        `Precondition failed: UID in precondition: ${options.expectedUid}, UID in object meta: ${jsonText(current.metadata.uid)}`,
      );
    }
    const obj = structuredClone(current);
    this.revision++;
    obj.metadata.resourceVersion = String(this.revision);
    if (finalizersOf(obj).length > 0) {
      if (deletionTimestampOf(obj) === undefined) obj.metadata.deletionTimestamp = timestamp();
      obj.metadata.deletionGracePeriodSeconds = 0;
      bucket.set(key, obj);
      this.emit({ type: 'MODIFIED', kind, object: obj, resourceVersion: this.revision });
      return structuredClone(obj);
    }
    bucket.delete(key);
    this.emit({ type: 'DELETED', kind, object: obj, resourceVersion: this.revision });
    return structuredClone(obj);
  }

  /** Marks an object as being deleted without removing it (pods while their sandbox stops). */
  markDeleting(kind: KindInfo, namespace: string, name: string, gracePeriodSeconds: number): KubeObject | undefined {
    return this.mutate(kind, namespace, name, (obj) => {
      if (deletionTimestampOf(obj) !== undefined) return;
      obj.metadata.deletionTimestamp = timestamp(new Date(Date.now() + gracePeriodSeconds * 1000));
      obj.metadata.deletionGracePeriodSeconds = gracePeriodSeconds;
    });
  }

  /** Removes an object for good, ignoring finalizers (the end of a pod's termination). */
  remove(kind: KindInfo, namespace: string, name: string): KubeObject | undefined {
    const key = objectKey(kind.namespaced ? namespace : '', name);
    const bucket = this.bucket(kind);
    const current = bucket.get(key);
    if (current === undefined) return undefined;
    const obj = structuredClone(current);
    this.revision++;
    obj.metadata.resourceVersion = String(this.revision);
    bucket.delete(key);
    this.emit({ type: 'DELETED', kind, object: obj, resourceVersion: this.revision });
    return structuredClone(obj);
  }

  /** Subscribes to every change, synchronously, in order. Returns the unsubscribe function. */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The events after `resourceVersion` that match the filter, for a watch resuming from a list. Throws 410
   * Gone when the history no longer reaches back that far.
   */
  eventsSince(resourceVersion: number, filter: WatchFilter): StoreEvent[] {
    const oldest = this.history[0]?.resourceVersion;
    if (oldest !== undefined && resourceVersion < oldest - 1) {
      throw gone(`too old resource version: ${resourceVersion} (${oldest - 1})`);
    }
    return this.history
      .filter((event) => event.resourceVersion > resourceVersion && matchesFilter(event, filter))
      .map((event) => ({ ...event, object: structuredClone(event.object) }));
  }

  private emit(event: StoreEvent): void {
    const frozen: StoreEvent = { ...event, object: structuredClone(event.object) };
    this.history.push(frozen);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of [...this.listeners]) {
      try {
        listener({ ...frozen, object: structuredClone(frozen.object) });
      } catch (error) {
        // A listener's bug must not break the write that triggered it; the lab logs it for its developer.
        process.emitWarning(`lab store listener failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

export function matchesFilter(event: StoreEvent, filter: WatchFilter): boolean {
  if (kindKey(event.kind) !== kindKey(filter.kind)) return false;
  return filter.namespace === undefined || namespaceOf(event.object) === filter.namespace;
}
