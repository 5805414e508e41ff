import type { JsonObject } from './json.js';

/**
 * Kubernetes `Status` objects for failed requests, shaped exactly as the real API server shapes them, so that
 * kubectl and client libraries print and classify them the same way.
 */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Expired'
  | 'Timeout'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable';

export type CauseReason =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueNotFound'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTypeInvalid'
  | 'FieldValueTooMany';

export interface StatusCause {
  readonly reason: CauseReason;
  readonly message: string;
  readonly field: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** The resource as Kubernetes names it in messages: `pods`, `jobs.batch`, `roles.rbac.authorization.k8s.io`. */
export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

export function qualifiedResource({ group, resource }: GroupResource): string {
  return group === '' ? resource : `${resource}.${group}`;
}

/** A failed API request: thrown by the store and handlers, serialised by the server as its Status. */
export class ApiError extends Error {
  readonly status: Status;

  constructor(status: Status) {
    super(status.message);
    this.name = 'ApiError';
    this.status = status;
  }

  get code(): number {
    return this.status.code;
  }

  get reason(): StatusReason {
    return this.status.reason;
  }
}

function status(code: number, reason: StatusReason, message: string, details?: StatusDetails): Status {
  const base = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason } as const;
  return details === undefined ? { ...base, code } : { ...base, details, code };
}

function resourceDetails(gr: GroupResource, name: string | undefined): StatusDetails {
  return {
    ...(name === undefined || name === '' ? {} : { name }),
    ...(gr.group === '' ? {} : { group: gr.group }),
    kind: gr.resource,
  };
}

function subject(gr: GroupResource, name: string | undefined): string {
  return name === undefined || name === '' ? qualifiedResource(gr) : `${qualifiedResource(gr)} "${name}"`;
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return new ApiError(status(404, 'NotFound', `${subject(gr, name)} not found`, resourceDetails(gr, name)));
}

/** 404 for a path or resource type the server does not serve. */
export function resourceNotFound(): ApiError {
  return new ApiError(status(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return new ApiError(status(409, 'AlreadyExists', `${subject(gr, name)} already exists`, resourceDetails(gr, name)));
}

export function conflict(gr: GroupResource, name: string, why: string): ApiError {
  return new ApiError(
    status(409, 'Conflict', `Operation cannot be fulfilled on ${subject(gr, name)}: ${why}`, resourceDetails(gr, name)),
  );
}

export const modifiedConflictReason =
  'the object has been modified; please apply your changes to the latest version and try again';

export function unauthorized(): ApiError {
  return new ApiError(status(401, 'Unauthorized', 'Unauthorized'));
}

/** 403 for a resource request, with the message the RBAC authorizer produces. */
export function forbidden(gr: GroupResource, name: string | undefined, why: string): ApiError {
  return new ApiError(status(403, 'Forbidden', `${subject(gr, name)} is forbidden: ${why}`, resourceDetails(gr, name)));
}

/** 403 for a non-resource path (`/healthz`, `/lab/v1/faults`). */
export function forbiddenPath(why: string): ApiError {
  return new ApiError(status(403, 'Forbidden', `forbidden: ${why}`, {}));
}

export function badRequest(message: string): ApiError {
  return new ApiError(status(400, 'BadRequest', message));
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  );
}

export function notAcceptable(message: string): ApiError {
  return new ApiError(status(406, 'NotAcceptable', message));
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    status(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/merge-patch+json, application/strategic-merge-patch+json, application/json-patch+json (got "${contentType}")`,
    ),
  );
}

export function tooLarge(limit: number): ApiError {
  return new ApiError(status(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`));
}

export function gone(message: string): ApiError {
  return new ApiError(status(410, 'Expired', message));
}

export function internalError(message: string): ApiError {
  return new ApiError(
    status(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [] as StatusCause[] }),
  );
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(status(503, 'ServiceUnavailable', message));
}

/** The Kind as it appears in Invalid messages: `Pod`, `Job.batch`. */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

/** 422 with one cause per field error, formatted like `field.ErrorList.ToAggregate()`. */
export function invalid(gk: GroupKind, name: string, causes: readonly StatusCause[]): ApiError {
  const qualifiedKind = gk.group === '' ? gk.kind : `${gk.kind}.${gk.group}`;
  const texts = causes.map((cause) => `${cause.field}: ${cause.message}`);
  const joined = texts.length === 1 ? (texts[0] ?? '') : `[${texts.join(', ')}]`;
  return new ApiError(
    status(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${joined}`, {
      name,
      ...(gk.group === '' ? {} : { group: gk.group }),
      kind: gk.kind,
      causes,
    }),
  );
}

/** Field errors, with the messages `k8s.io/apimachinery/pkg/util/validation/field` produces. */
export const fieldError = {
  required(field: string, detail = ''): StatusCause {
    return {
      reason: 'FieldValueRequired',
      message: detail === '' ? 'Required value' : `Required value: ${detail}`,
      field,
    };
  },
  invalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: 'FieldValueInvalid', message: `Invalid value: ${formatValue(value)}: ${detail}`, field };
  },
  notSupported(field: string, value: unknown, supported: readonly string[]): StatusCause {
    const list = supported.map((s) => `"${s}"`).join(', ');
    return {
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${formatValue(value)}: supported values: ${list}`,
      field,
    };
  },
  forbidden(field: string, detail: string): StatusCause {
    return { reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field };
  },
  notFound(field: string, value: unknown): StatusCause {
    return { reason: 'FieldValueNotFound', message: `Not found: ${formatValue(value)}`, field };
  },
  duplicate(field: string, value: unknown): StatusCause {
    return { reason: 'FieldValueDuplicate', message: `Duplicate value: ${formatValue(value)}`, field };
  },
  tooMany(field: string, actual: number, max: number): StatusCause {
    return { reason: 'FieldValueTooMany', message: `Too many: ${actual}: must have at most ${max} items`, field };
  },
  typeInvalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: 'FieldValueTypeInvalid', message: `Invalid value: ${formatValue(value)}: ${detail}`, field };
  },
};

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(value);
}

/** The Status of any thrown value: ApiErrors keep theirs, anything else is a 500 that names what failed. */
export function statusOf(error: unknown): Status {
  if (error instanceof ApiError) return error.status;
  const message = error instanceof Error ? error.message : String(error);
  return internalError(message).status;
}

/** A Status as a JSON object (for watch ERROR events and response bodies). */
export function statusJson(s: Status): JsonObject {
  return JSON.parse(JSON.stringify(s)) as JsonObject;
}
