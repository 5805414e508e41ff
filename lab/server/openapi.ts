import { createHash } from 'node:crypto';
import type { JsonObject } from '../objects/json.js';
import { apiVersionOf, kinds } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';

/**
 * A minimal OpenAPI v3 for kubectl: per group-version documents listing each kind's paths, with the
 * `x-kubernetes-group-version-kind` extension and the `fieldValidation` query parameter on writes. That is
 * what kubectl checks to hand validation to the server (`--validate=strict`) instead of downloading full
 * schemas. No component schemas are served (`kubectl explain` has nothing to show).
 */
function pathPrefix(kind: KindInfo): string {
  return kind.group === '' ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
}

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

const fieldValidation = {
  name: 'fieldValidation',
  in: 'query',
  description:
    'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.',
  schema: { type: 'string', uniqueItems: true },
};

function operation(kind: KindInfo, action: string, withFieldValidation: boolean): JsonObject {
  return {
    operationId: `${action}${kind.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: kind.group, version: kind.version, kind: kind.kind },
    parameters: withFieldValidation ? [fieldValidation] : [],
    responses: { '200': { description: 'OK' } },
  };
}

function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const kind of kinds) seen.set(apiVersionOf(kind), { group: kind.group, version: kind.version });
  return [...seen.values()];
}

export function openApiDocument(group: string, version: string): JsonObject | undefined {
  const served = kinds.filter((k) => k.group === group && k.version === version);
  if (served.length === 0) return undefined;
  const paths: JsonObject = {};
  for (const kind of served) {
    const base = `${pathPrefix(kind)}${kind.namespaced ? '/namespaces/{namespace}' : ''}/${kind.plural}`;
    if (!kind.stored) {
      paths[base] = { post: operation(kind, 'post', true) };
      continue;
    }
    paths[base] = { get: operation(kind, 'list', false), post: operation(kind, 'post', true) };
    paths[`${base}/{name}`] = {
      get: operation(kind, 'get', false),
      put: operation(kind, 'put', true),
      patch: operation(kind, 'patch', true),
      delete: operation(kind, 'delete', false),
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (tether lab)', version: 'v1.32.0' },
    paths,
    components: { schemas: {} },
  };
}

function hashOf(group: string, version: string): string {
  return createHash('sha512')
    .update(JSON.stringify(openApiDocument(group, version)))
    .digest('hex')
    .slice(0, 128)
    .toUpperCase();
}

export function openApiRoot(): JsonObject {
  const paths: JsonObject = {};
  for (const { group, version } of groupVersions()) {
    paths[gvPath(group, version)] = {
      serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${hashOf(group, version)}`,
    };
  }
  return { paths };
}

/** The document for `/openapi/v3/…`, or undefined (404). */
export function openApiFor(urlPath: string): JsonObject | undefined {
  if (urlPath === '/openapi/v3') return openApiRoot();
  const parts = urlPath.replace(/^\/openapi\/v3\//, '').split('/');
  if (parts[0] === 'api' && parts.length === 2) return openApiDocument('', parts[1] ?? '');
  if (parts[0] === 'apis' && parts.length === 3) return openApiDocument(parts[1] ?? '', parts[2] ?? '');
  return undefined;
}
