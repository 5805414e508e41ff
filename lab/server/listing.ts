import { badRequest } from '../objects/apiError.js';
import { jsonText, objectAt, stringAt } from '../objects/json.js';
import type { JsonObject } from '../objects/json.js';
import type { KindInfo } from '../objects/kinds.js';
import { labelsOf, nameOf, namespaceOf } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../objects/selectors.js';
import type { FieldRequirement, LabelRequirement } from '../objects/selectors.js';
import { parseBoolean } from './requestInfo.js';

/** List and watch query parameters, parsed and checked: a bad value is a 400, never a crash. */
export interface ListOptions {
  readonly labelSelector: readonly LabelRequirement[];
  readonly fieldSelector: readonly FieldRequirement[];
  readonly limit: number;
  readonly continueAfter?: string;
  readonly resourceVersion?: string;
  readonly timeoutSeconds?: number;
  readonly allowWatchBookmarks: boolean;
  readonly sendInitialEvents: boolean;
}

/** The selectable fields of an object, per kind, as the API server's field-label conversions allow. */
export function selectableFields(kind: KindInfo, obj: KubeObject): Map<string, string> {
  const fields = new Map([
    ['metadata.name', nameOf(obj)],
    ['metadata.namespace', namespaceOf(obj)],
  ]);
  const spec = objectAt(obj, 'spec');
  const status = objectAt(obj, 'status');
  switch (kind.kind) {
    case 'Pod':
      fields.set('spec.nodeName', stringAt(spec, 'nodeName') ?? '');
      fields.set('spec.restartPolicy', stringAt(spec, 'restartPolicy') ?? '');
      fields.set('spec.schedulerName', stringAt(spec, 'schedulerName') ?? '');
      fields.set('spec.serviceAccountName', stringAt(spec, 'serviceAccountName') ?? '');
      fields.set('status.phase', stringAt(status, 'phase') ?? '');
      fields.set('status.podIP', stringAt(status, 'podIP') ?? '');
      fields.set('status.nominatedNodeName', '');
      break;
    case 'Event': {
      const involved = objectAt(obj, 'involvedObject');
      for (const key of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) {
        fields.set(`involvedObject.${key}`, stringAt(involved, key) ?? '');
      }
      fields.set('reason', stringAt(obj, 'reason') ?? '');
      fields.set('reportingComponent', stringAt(obj, 'reportingComponent') ?? '');
      fields.set('source', stringAt(objectAt(obj, 'source'), 'component') ?? '');
      fields.set('type', stringAt(obj, 'type') ?? '');
      break;
    }
    case 'Namespace':
      fields.set('status.phase', stringAt(status, 'phase') ?? '');
      break;
    case 'Job':
      fields.set('status.successful', jsonText(status?.succeeded ?? 0));
      break;
    case 'Node':
      fields.set('spec.unschedulable', String(spec?.unschedulable === true));
      break;
    default:
      break;
  }
  return fields;
}

/** Field labels a kind supports, for the "field label not supported" check. */
function supportedFields(kind: KindInfo): Set<string> {
  const sample: KubeObject = { apiVersion: '', kind: kind.kind, metadata: {} };
  return new Set(selectableFields(kind, sample).keys());
}

function integerParam(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (!/^-?[0-9]+$/.test(text)) {
    throw badRequest(`error parsing '${name}': strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  return Number(text);
}

function booleanParam(query: URLSearchParams, name: string): boolean {
  const text = query.get(name);
  if (text === null || text === '') return false;
  const value = parseBoolean(text);
  if (value === undefined) {
    throw badRequest(`error parsing '${name}': strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  return value;
}

export function decodeContinue(token: string): string {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (typeof decoded === 'object' && decoded !== null && 'start' in decoded && typeof decoded.start === 'string') {
      return decoded.start;
    }
  } catch {
    // fall through to the 400 below
  }
  throw badRequest(`continue key is not valid: the continue token could not be decoded`);
}

export function encodeContinue(lastKey: string, resourceVersion: string): string {
  return Buffer.from(JSON.stringify({ v: 'lab.tether.dev/v1', rv: resourceVersion, start: lastKey }), 'utf8').toString(
    'base64url',
  );
}

export function parseListOptions(kind: KindInfo, query: URLSearchParams): ListOptions {
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  if (!labels.ok) throw badRequest(labels.error);
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
  if (!fields.ok) throw badRequest(fields.error);
  const supported = supportedFields(kind);
  for (const requirement of fields.value) {
    if (!supported.has(requirement.field)) {
      throw badRequest(`field label not supported: ${requirement.field}`);
    }
  }
  const limit = integerParam(query, 'limit') ?? 0;
  if (limit < 0) throw badRequest(`limit: Invalid value: ${limit}: must be greater than or equal to 0`);
  const timeoutSeconds = integerParam(query, 'timeoutSeconds');
  if (timeoutSeconds !== undefined && timeoutSeconds < 0) {
    throw badRequest(`timeoutSeconds: Invalid value: ${timeoutSeconds}: must be greater than or equal to 0`);
  }
  const resourceVersion = query.get('resourceVersion') ?? undefined;
  if (resourceVersion !== undefined && resourceVersion !== '' && !/^[0-9]+$/.test(resourceVersion)) {
    throw badRequest(
      `resourceVersion: Invalid value: ${JSON.stringify(resourceVersion)}: must be a non-negative integer`,
    );
  }
  const match = query.get('resourceVersionMatch');
  if (match !== null && match !== '' && match !== 'NotOlderThan' && match !== 'Exact') {
    throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
  }
  const continueToken = query.get('continue');
  return {
    labelSelector: labels.value,
    fieldSelector: fields.value,
    limit,
    ...(continueToken === null || continueToken === '' ? {} : { continueAfter: decodeContinue(continueToken) }),
    ...(resourceVersion === undefined || resourceVersion === '' ? {} : { resourceVersion }),
    ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
    allowWatchBookmarks: booleanParam(query, 'allowWatchBookmarks'),
    sendInitialEvents: booleanParam(query, 'sendInitialEvents'),
  };
}

export function matchesListOptions(kind: KindInfo, obj: KubeObject, options: ListOptions): boolean {
  return (
    matchesLabels(options.labelSelector, labelsOf(obj)) &&
    matchesFields(options.fieldSelector, selectableFields(kind, obj))
  );
}

export interface Page {
  readonly items: KubeObject[];
  readonly continueToken?: string;
  readonly remaining?: number;
}

/** One page of a sorted list, after the continue key, of at most `limit` items (0: all). */
export function paginate(items: readonly KubeObject[], options: ListOptions, resourceVersion: string): Page {
  const key = (obj: KubeObject): string => `${namespaceOf(obj)}/${nameOf(obj)}`;
  const after = options.continueAfter;
  const rest = after === undefined ? [...items] : items.filter((obj) => key(obj) > after);
  if (options.limit === 0 || rest.length <= options.limit) return { items: rest };
  const page = rest.slice(0, options.limit);
  const last = page[page.length - 1];
  return {
    items: page,
    continueToken: last === undefined ? '' : encodeContinue(key(last), resourceVersion),
    remaining: rest.length - page.length,
  };
}

/** The List envelope: `PodList` with items carrying their apiVersion and kind. */
export function listObject(kind: KindInfo, apiVersion: string, page: Page, resourceVersion: string): JsonObject {
  const metadata: JsonObject = { resourceVersion };
  if (page.continueToken !== undefined) metadata.continue = page.continueToken;
  if (page.remaining !== undefined) metadata.remainingItemCount = page.remaining;
  return { kind: `${kind.kind}List`, apiVersion, metadata, items: page.items };
}
