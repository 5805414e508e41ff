import type { ServerResponse } from 'node:http';
import { ApiError, statusJson, statusOf } from '../objects/apiError.js';
import { jsonText } from '../objects/json.js';
import type { JsonObject } from '../objects/json.js';
import { apiVersionOf } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import { nameOf, namespaceOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import type { ObjectStore, StoreEvent, WatchEventType } from '../objects/store.js';
import { matchesListOptions, parseListOptions } from './listing.js';
import type { ListOptions } from './listing.js';
import type { ResponseFormat } from './negotiation.js';
import { partialMetadata, toTable } from './tables.js';

/** A watcher that stops reading gets dropped once this much is queued for it, as the API server does. */
const maxQueuedBytes = 16 * 1024 * 1024;
const bookmarkIntervalMs = 30_000;

export interface WatchRequest {
  readonly kind: KindInfo;
  /** '' for all namespaces. */
  readonly namespace: string;
  readonly query: URLSearchParams;
  readonly format: ResponseFormat;
}

type OutEventType = WatchEventType | 'BOOKMARK' | 'ERROR';

/**
 * Serves `?watch=true`: a chunked stream of `{"type","object"}` JSON lines. Without a resourceVersion (or
 * with "0") the current objects come first as ADDED; with one, the watch resumes from the store's history
 * (410 Expired as an ERROR event when it is too old). Objects that leave a label or field selector are
 * reported as DELETED, objects that enter it as ADDED.
 */
export function serveWatch(store: ObjectStore, request: WatchRequest, res: ServerResponse): void {
  const { kind, namespace, query } = request;
  const options: ListOptions = parseListOptions(kind, query);
  const filterNamespace = kind.namespaced && namespace !== '' ? namespace : undefined;
  const visible = new Set<string>();
  const key = (obj: KubeObject): string => `${namespaceOf(obj)}/${nameOf(obj)}`;
  let sentColumns = false;
  let sawInitialState = false;
  let closed = false;
  let lastResourceVersion = store.resourceVersion();

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();

  const encode = (obj: KubeObject): JsonObject => {
    const typed: KubeObject = { ...obj, apiVersion: apiVersionOf(kind), kind: kind.kind };
    if (request.format === 'table') {
      const table = toTable(kind, [typed], {
        includeObject: query.get('includeObject') === 'Object' ? 'Object' : 'Metadata',
        withColumns: !sentColumns,
        resourceVersion: jsonText(obj.metadata.resourceVersion),
      });
      sentColumns = true;
      return table;
    }
    if (request.format === 'partial') return partialMetadata(typed);
    return typed;
  };

  const write = (type: OutEventType, object: JsonObject): void => {
    if (closed) return;
    res.write(`${JSON.stringify({ type, object })}\n`);
    if (res.writableLength > maxQueuedBytes) finish();
  };

  const deliver = (event: StoreEvent): void => {
    const obj = event.object;
    lastResourceVersion = String(event.resourceVersion);
    if (filterNamespace !== undefined && namespaceOf(obj) !== filterNamespace) return;
    const id = key(obj);
    const matches = matchesListOptions(kind, obj, options);
    let type: WatchEventType | undefined;
    if (event.type === 'DELETED') {
      type = matches || visible.has(id) ? 'DELETED' : undefined;
      visible.delete(id);
    } else if (matches) {
      // With a known initial state, an object that enters the selector is new to this watcher.
      type = event.type === 'MODIFIED' && !visible.has(id) && sawInitialState ? 'ADDED' : event.type;
      visible.add(id);
    } else if (visible.has(id)) {
      type = 'DELETED';
      visible.delete(id);
    }
    if (type !== undefined) write(type, encode(obj));
  };

  // Subscribe before reading the current state: JavaScript runs this function to completion, so no
  // change can fall between the snapshot and the subscription.
  const unsubscribe = store.subscribe((event) => {
    if (event.kind.plural === kind.plural && event.kind.group === kind.group) deliver(event);
  });
  const timers: NodeJS.Timeout[] = [];

  function finish(): void {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const timer of timers) clearTimeout(timer);
    res.end();
  }

  res.on('close', finish);

  const startVersion = options.resourceVersion;
  try {
    if (startVersion === undefined || startVersion === '0' || options.sendInitialEvents) {
      sawInitialState = true;
      for (const obj of store.list(kind, filterNamespace)) {
        if (!matchesListOptions(kind, obj, options)) continue;
        visible.add(key(obj));
        write('ADDED', encode(obj));
      }
      if (options.sendInitialEvents && options.allowWatchBookmarks) {
        write('BOOKMARK', {
          kind: kind.kind,
          apiVersion: apiVersionOf(kind),
          metadata: { resourceVersion: store.resourceVersion(), annotations: { 'k8s.io/initial-events-end': 'true' } },
        });
      }
    } else {
      for (const event of store.eventsSince(Number(startVersion), {
        kind,
        ...(filterNamespace === undefined ? {} : { namespace: filterNamespace }),
      })) {
        deliver(event);
      }
    }
  } catch (error) {
    if (error instanceof ApiError) {
      write('ERROR', statusJson(statusOf(error)));
      finish();
      return;
    }
    throw error;
  }

  if (options.timeoutSeconds !== undefined) timers.push(setTimeout(finish, options.timeoutSeconds * 1000));
  if (options.allowWatchBookmarks) {
    const bookmark = (): void => {
      write('BOOKMARK', {
        kind: kind.kind,
        apiVersion: apiVersionOf(kind),
        metadata: { resourceVersion: lastResourceVersion },
      });
      timers.push(setTimeout(bookmark, bookmarkIntervalMs));
    };
    timers.push(setTimeout(bookmark, bookmarkIntervalMs));
  }
}
