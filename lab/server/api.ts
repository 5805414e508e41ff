import { stringify as toYaml, parse as parseYaml } from 'yaml';
import {
  alreadyExists,
  badRequest,
  methodNotAllowed,
  notAcceptable,
  notFound,
  resourceNotFound,
  tooLarge,
  unsupportedMediaType,
} from '../objects/apiError.js';
import { isJsonObject, jsonText, objectAt, removeKey } from '../objects/json.js';
import type { Json, JsonObject } from '../objects/json.js';
import { apiVersionOf, kindKey } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import { isKubeObject, nameOf, namespaceOf, serverMetadataFields } from '../objects/meta.js';
import type { KubeObject } from '../objects/meta.js';
import { unknownFields } from '../objects/knownFields.js';
import { jsonPatch, mergePatch, strategicMergePatch } from '../objects/patch.js';
import type { ObjectStore } from '../objects/store.js';
import { assertValid, prepareForCreate, validateObject, validateUpdate } from '../objects/validation.js';
import { checkPreconditions, collectDependents, defaultDeleter, parseDeleteOptions, parseDryRun } from './deletion.js';
import type { DeleteOptions, Deleter } from './deletion.js';
import { listObject, matchesListOptions, paginate, parseListOptions } from './listing.js';
import type { ResponseFormat } from './negotiation.js';
import type { RbacSnapshot, UserInfo } from './rbac.js';
import type { ResourceRequest } from './requestInfo.js';
import { decodeProtobufObject, isProtobufContentType } from './protobuf.js';
import { selfSubjectAccessReview, selfSubjectRulesReview } from './reviews.js';
import { partialMetadata, toPartialList, toTable } from './tables.js';
import type { IncludeObject } from './tables.js';

/** The largest request body the lab reads, as the API server's 3 MiB limit. */
export const maxBodyBytes = 3 * 1024 * 1024;

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionRequest {
  readonly operation: Operation;
  readonly kind: KindInfo;
  readonly subresource: string;
  readonly user: UserInfo;
  /** The object being written (mutable: plugins may default fields); the stored one for DELETE. */
  readonly object: KubeObject;
  readonly old?: KubeObject;
  readonly dryRun: boolean;
}

/** Admission plugins run after validation and before storage; they may mutate the object or throw an ApiError. */
export type AdmissionPlugin = (request: AdmissionRequest) => void;

export interface CoreRequest {
  readonly method: string;
  readonly info: ResourceRequest;
  readonly kind: KindInfo;
  readonly query: URLSearchParams;
  readonly user: UserInfo;
  readonly body?: Buffer;
  readonly contentType?: string;
  readonly format: ResponseFormat;
}

export interface CoreResponse {
  readonly status: number;
  readonly body: JsonObject;
  readonly format: ResponseFormat;
  /** Warnings for the `Warning` header (unknown fields under fieldValidation=Warn). */
  readonly warnings?: readonly string[];
}

type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation') ?? '';
  if (value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw badRequest(`fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Warn", "Strict"`);
}

export interface ApiCoreOptions {
  readonly store: ObjectStore;
  readonly rbac: () => RbacSnapshot;
  readonly admission?: readonly AdmissionPlugin[];
  readonly deleters?: ReadonlyMap<string, Deleter>;
}

/** Parses a request body as JSON or YAML (what the API server accepts for writes). */
export function parseBody(body: Buffer | undefined, contentType: string | undefined): Json {
  if (body === undefined || body.length === 0) throw badRequest('the request body is empty; send the object as JSON');
  if (body.length > maxBodyBytes) throw tooLarge(maxBodyBytes);
  const type = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  const text = body.toString('utf8');
  try {
    if (type === 'application/yaml' || type === 'application/apply-patch+yaml') return parseYaml(text) as Json;
    return JSON.parse(text) as Json;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw badRequest(`couldn't get version/kind; json parse error: ${detail}`);
  }
}

function includeObjectOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject') ?? 'Metadata';
  if (value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'None' || value === 'Object') return value;
  throw badRequest(`includeObject: Unsupported value: "${value}": supported values: "Metadata", "None", "Object"`);
}

/** Sets apiVersion/kind on a stored object for output. */
function withTypeMeta(kind: KindInfo, obj: KubeObject): KubeObject {
  return { ...obj, apiVersion: apiVersionOf(kind), kind: kind.kind };
}

/**
 * The API server's resource handlers, independent of HTTP: get, list, create, update, patch, delete and
 * deletecollection on the store, with validation, admission and response formats. Watch, exec and log
 * are streams and live in the HTTP layer.
 */
export class ApiCore {
  readonly store: ObjectStore;
  private readonly rbac: () => RbacSnapshot;
  private readonly admission: readonly AdmissionPlugin[];
  private readonly deleters: ReadonlyMap<string, Deleter>;
  /** Warnings per request in flight. */
  private readonly warnings = new WeakMap<CoreRequest, string[]>();

  constructor(options: ApiCoreOptions) {
    this.store = options.store;
    this.rbac = options.rbac;
    this.admission = options.admission ?? [];
    this.deleters = options.deleters ?? new Map();
  }

  deleterFor(kind: KindInfo): Deleter {
    return this.deleters.get(kindKey(kind)) ?? defaultDeleter(this.store);
  }

  async handle(request: CoreRequest): Promise<CoreResponse> {
    const response = await this.dispatch(request);
    const warnings = this.warnings.get(request) ?? [];
    return warnings.length === 0 ? response : { ...response, warnings };
  }

  private async dispatch(request: CoreRequest): Promise<CoreResponse> {
    const { info, kind } = request;
    if (info.extra.length > 0) throw resourceNotFound();
    if (info.subresource !== '' && !kind.subresources.includes(info.subresource)) throw resourceNotFound();
    if (!kind.namespaced && info.namespace !== '' && kind.kind !== 'Namespace') throw resourceNotFound();
    if (!kind.verbs.includes(info.verb)) throw methodNotAllowed();
    switch (info.verb) {
      case 'get':
        return this.get(request);
      case 'list':
        return this.list(request);
      case 'create':
        return this.create(request);
      case 'update':
        return this.update(request);
      case 'patch':
        return this.patch(request);
      case 'delete':
        return this.delete(request);
      case 'deletecollection':
        return this.deleteCollection(request);
      default:
        throw methodNotAllowed();
    }
  }

  private respond(request: CoreRequest, status: number, obj: KubeObject): CoreResponse {
    const typed = withTypeMeta(request.kind, obj);
    switch (request.format) {
      case 'table':
        return {
          status,
          format: 'json',
          body: toTable(request.kind, [typed], { includeObject: includeObjectOf(request.query) }),
        };
      case 'partial':
        return { status, format: 'json', body: partialMetadata(typed) };
      default:
        return { status, format: request.format, body: typed };
    }
  }

  private get(request: CoreRequest): CoreResponse {
    const { kind, info } = request;
    if (info.subresource !== '' && info.subresource !== 'status') throw methodNotAllowed();
    return this.respond(request, 200, this.store.require(kind, info.namespace, info.name));
  }

  private list(request: CoreRequest): CoreResponse {
    const { kind, info, query } = request;
    if (!kind.watchable) throw methodNotAllowed();
    const options = parseListOptions(kind, query);
    const resourceVersion = this.store.resourceVersion();
    const matching = this.store
      .list(kind, kind.namespaced && info.namespace !== '' ? info.namespace : undefined)
      .filter((obj) => matchesListOptions(kind, obj, options))
      .map((obj) => withTypeMeta(kind, obj));
    const page = paginate(matching, options, resourceVersion);
    switch (request.format) {
      case 'table':
        return {
          status: 200,
          format: 'json',
          body: toTable(kind, page.items, {
            resourceVersion,
            ...(page.continueToken === undefined ? {} : { continueToken: page.continueToken }),
            includeObject: includeObjectOf(query),
          }),
        };
      case 'partial':
        return { status: 200, format: 'json', body: toPartialList(page.items, resourceVersion) };
      default:
        return {
          status: 200,
          format: request.format,
          body: listObject(kind, apiVersionOf(kind), page, resourceVersion),
        };
    }
  }

  /** Parses and checks a written object: JSON object, matching apiVersion/kind and namespace. */
  private decodeObject(request: CoreRequest): KubeObject {
    const { kind, info } = request;
    const type = (request.contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
    let parsed: Json;
    if (isProtobufContentType(type)) {
      if (request.body === undefined || request.body.length === 0) throw badRequest('the request body is empty');
      if (request.body.length > maxBodyBytes) throw tooLarge(maxBodyBytes);
      parsed = decodeProtobufObject(request.body);
    } else if (type !== 'application/json' && type !== 'application/yaml' && type !== '') {
      throw unsupportedMediaType(type);
    } else {
      parsed = parseBody(request.body, request.contentType);
    }
    if (!isJsonObject(parsed)) throw badRequest('the request body must be a JSON object');
    const apiVersion = parsed.apiVersion ?? apiVersionOf(kind);
    const kindName = parsed.kind ?? kind.kind;
    if (apiVersion !== apiVersionOf(kind)) {
      throw badRequest(
        `the API version in the data (${jsonText(apiVersion)}) does not match the expected API version (${apiVersionOf(kind)})`,
      );
    }
    if (kindName !== kind.kind) {
      throw badRequest(
        `the kind in the data (${jsonText(kindName)}) does not match the expected kind (${kind.kind}) for resource "${kind.plural}"`,
      );
    }
    const metadata = parsed.metadata ?? {};
    if (!isJsonObject(metadata)) throw badRequest('metadata must be an object');
    if (kind.namespaced && info.namespace !== '') {
      const namespace = metadata.namespace;
      if (namespace !== undefined && namespace !== '' && namespace !== info.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      metadata.namespace = info.namespace;
    }
    this.checkFields(request, parsed);
    return { ...parsed, apiVersion: apiVersionOf(kind), kind: kind.kind, metadata };
  }

  /** Field validation: unknown fields are a 400 under Strict (kubectl's default), a warning under Warn. */
  private checkFields(request: CoreRequest, obj: Json): void {
    const directive = fieldValidationOf(request.query);
    if (directive === 'Ignore') return;
    const unknown = unknownFields(request.kind.kind, obj);
    if (unknown.length === 0) return;
    const texts = unknown.map((field) => `unknown field "${field}"`);
    if (directive === 'Strict') {
      const { kind } = request;
      throw badRequest(
        `${kind.kind} in version "${kind.version}" cannot be handled as a ${kind.kind}: strict decoding error: ${texts.join(', ')}`,
      );
    }
    this.warnings.set(request, [...(this.warnings.get(request) ?? []), ...texts]);
  }

  private admit(request: AdmissionRequest): void {
    for (const plugin of this.admission) plugin(request);
  }

  /**
   * Creates an object as a client would (defaults, validation, admission), for fixtures and controllers.
   * Throws the ApiError a client would get.
   */
  createObject(kind: KindInfo, input: KubeObject, user: UserInfo): KubeObject {
    const obj = structuredClone(input);
    obj.apiVersion = apiVersionOf(kind);
    obj.kind = kind.kind;
    for (const field of serverMetadataFields) removeKey(obj.metadata, field);
    prepareForCreate(kind, obj);
    assertValid(kind, nameOf(obj) || jsonText(obj.metadata.generateName), validateObject(kind, obj));
    this.admit({ operation: 'CREATE', kind, subresource: '', user, object: obj, dryRun: false });
    return this.store.create(kind, obj);
  }

  private create(request: CoreRequest): CoreResponse {
    const { kind, info, query, user } = request;
    if (info.name !== '') throw methodNotAllowed();
    const dryRun = parseDryRun(query.getAll('dryRun'));
    const obj = this.decodeObject(request);
    if (!kind.stored) return this.review(request, obj);
    if (kind.namespaced && info.namespace === '') {
      throw badRequest(
        `the server could not find the requested resource: ${kind.plural} must be created in a namespace`,
      );
    }
    for (const field of serverMetadataFields) removeKey(obj.metadata, field);
    prepareForCreate(kind, obj);
    assertValid(kind, nameOf(obj) || jsonText(obj.metadata.generateName), validateObject(kind, obj));
    this.admit({ operation: 'CREATE', kind, subresource: '', user, object: obj, dryRun });
    if (dryRun) {
      if (nameOf(obj) !== '' && this.store.get(kind, namespaceOf(obj), nameOf(obj)) !== undefined) {
        throw alreadyExists({ group: kind.group, resource: kind.plural }, nameOf(obj));
      }
      return this.respond(request, 201, obj);
    }
    return this.respond(request, 201, this.store.create(kind, obj));
  }

  private review(request: CoreRequest, obj: KubeObject): CoreResponse {
    const snapshot = this.rbac();
    const body =
      request.kind.kind === 'SelfSubjectAccessReview'
        ? selfSubjectAccessReview(obj, request.user, snapshot)
        : selfSubjectRulesReview(obj, request.user, snapshot);
    return { status: 201, format: request.format === 'yaml' ? 'yaml' : 'json', body };
  }

  /** Merges a requested change into the stored object the way the status subresource rules say. */
  private merged(kind: KindInfo, subresource: string, old: KubeObject, incoming: KubeObject): KubeObject {
    const hasStatus = kind.subresources.includes('status');
    if (subresource === 'status') return { ...old, status: incoming.status ?? null };
    if (hasStatus) {
      const result: KubeObject = { ...incoming };
      if (old.status === undefined) delete result.status;
      else result.status = old.status;
      return result;
    }
    return incoming;
  }

  private write(
    request: CoreRequest,
    old: KubeObject,
    incoming: KubeObject,
    expectedResourceVersion: string | undefined,
  ): CoreResponse {
    const { kind, info, user, query } = request;
    const dryRun = parseDryRun(query.getAll('dryRun'));
    if (nameOf(incoming) !== info.name) {
      throw badRequest(
        `the name of the object (${nameOf(incoming)}) does not match the name on the URL (${info.name})`,
      );
    }
    if (kind.namespaced && namespaceOf(incoming) !== namespaceOf(old)) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const next = this.merged(kind, info.subresource, old, incoming);
    if (info.subresource !== 'status') assertValid(kind, info.name, validateUpdate(kind, next, old));
    this.admit({ operation: 'UPDATE', kind, subresource: info.subresource, user, object: next, old, dryRun });
    if (dryRun) return this.respond(request, 200, next);
    const options = expectedResourceVersion === undefined ? {} : { expectedResourceVersion };
    return this.respond(request, 200, this.store.update(kind, next, options));
  }

  private update(request: CoreRequest): CoreResponse {
    const { kind, info } = request;
    if (info.name === '') throw methodNotAllowed();
    if (info.subresource !== '' && info.subresource !== 'status' && info.subresource !== 'finalize')
      throw methodNotAllowed();
    const incoming = this.decodeObject(request);
    const old = this.store.require(kind, info.namespace, info.name);
    const rv = typeof incoming.metadata.resourceVersion === 'string' ? incoming.metadata.resourceVersion : undefined;
    return this.write(request, old, incoming, rv);
  }

  private patch(request: CoreRequest): CoreResponse {
    const { kind, info } = request;
    if (info.name === '') throw methodNotAllowed();
    if (info.subresource !== '' && info.subresource !== 'status') throw methodNotAllowed();
    const type = (request.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const old = this.store.require(kind, info.namespace, info.name);
    const patchBody = parseBody(request.body, 'application/json');
    const current: KubeObject = withTypeMeta(kind, old);
    let patched: Json;
    switch (type) {
      case 'application/merge-patch+json':
        patched = mergePatch(current, patchBody);
        break;
      case 'application/strategic-merge-patch+json':
        patched = strategicMergePatch(current, patchBody);
        break;
      case 'application/json-patch+json': {
        const result = jsonPatch(current, patchBody);
        if (!result.ok)
          throw badRequest(`the server rejected our request due to an error in our request: ${result.error}`);
        patched = result.value;
        break;
      }
      case 'application/apply-patch+yaml':
        throw unsupportedMediaType(
          `${type} (the lab does not implement server-side apply; use kubectl apply without --server-side)`,
        );
      default:
        throw unsupportedMediaType(type);
    }
    if (!isKubeObject(patched)) throw badRequest('the patch must leave an object with apiVersion, kind and metadata');
    this.checkFields(request, patched);
    const rv = objectAt(isJsonObject(patchBody) ? patchBody : undefined, 'metadata')?.resourceVersion;
    return this.write(request, old, patched, typeof rv === 'string' ? rv : undefined);
  }

  private deleteBody(request: CoreRequest): Json | undefined {
    if (request.body === undefined || request.body.length === 0) return undefined;
    if (isProtobufContentType(request.contentType)) return decodeProtobufObject(request.body);
    return parseBody(request.body, request.contentType);
  }

  /** Deletes one object (with admission, preconditions and garbage collection of its dependents). */
  async deleteOne(kind: KindInfo, obj: KubeObject, options: DeleteOptions, user: UserInfo): Promise<KubeObject> {
    checkPreconditions(kind, obj, options);
    this.admit({ operation: 'DELETE', kind, subresource: '', user, object: obj, dryRun: options.dryRun });
    if (options.dryRun) return obj;
    const deleted = await this.deleterFor(kind)(kind, obj, options);
    if (this.store.get(kind, namespaceOf(obj), nameOf(obj)) === undefined) {
      collectDependents(this.store, deleted, options.propagationPolicy, (k) => this.deleterFor(k)).catch(
        (error: unknown) =>
          process.emitWarning(`lab garbage collection after ${kind.plural}/${nameOf(obj)} failed: ${String(error)}`),
      );
    }
    return deleted;
  }

  private async delete(request: CoreRequest): Promise<CoreResponse> {
    const { kind, info, query, user } = request;
    if (info.subresource !== '') throw methodNotAllowed();
    const options = parseDeleteOptions(kind, query, this.deleteBody(request));
    const obj = this.store.get(kind, info.namespace, info.name);
    if (obj === undefined) throw notFound({ group: kind.group, resource: kind.plural }, info.name);
    const deleted = await this.deleteOne(kind, obj, options, user);
    return this.respond(request, 200, deleted);
  }

  private async deleteCollection(request: CoreRequest): Promise<CoreResponse> {
    const { kind, info, query, user } = request;
    const options = parseDeleteOptions(kind, query, this.deleteBody(request));
    const listOptions = parseListOptions(kind, query);
    const targets = this.store
      .list(kind, kind.namespaced && info.namespace !== '' ? info.namespace : undefined)
      .filter((obj) => matchesListOptions(kind, obj, listOptions));
    const deleted: KubeObject[] = [];
    for (const obj of targets) deleted.push(withTypeMeta(kind, await this.deleteOne(kind, obj, options, user)));
    const resourceVersion = this.store.resourceVersion();
    return {
      status: 200,
      format: request.format === 'yaml' ? 'yaml' : 'json',
      body: listObject(kind, apiVersionOf(kind), { items: deleted }, resourceVersion),
    };
  }
}

/** Serialises a response body in the negotiated format. */
export function serialise(body: JsonObject, format: ResponseFormat): { contentType: string; text: string } {
  if (format === 'yaml') return { contentType: 'application/yaml', text: toYaml(body) };
  return { contentType: 'application/json', text: JSON.stringify(body) };
}

export function requireFormat(format: ResponseFormat | undefined): ResponseFormat {
  if (format === undefined) {
    throw notAcceptable(
      'only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io',
    );
  }
  return format;
}
