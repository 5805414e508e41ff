import type { JsonObject } from '../objects/json.js';
import { apiVersionOf, kinds, servedGroups } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';

/**
 * Legacy (unaggregated) discovery documents. Clients that ask for aggregated discovery get these with a
 * plain `application/json` content type and fall back, as they do against older servers.
 */
export const serverVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-tether-lab',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function subresourceEntry(kind: KindInfo, subresource: string): JsonObject {
  switch (subresource) {
    case 'exec':
      return {
        name: `${kind.plural}/exec`,
        singularName: '',
        namespaced: true,
        kind: 'PodExecOptions',
        verbs: ['create', 'get'],
      };
    case 'log':
      return { name: `${kind.plural}/log`, singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] };
    case 'finalize':
      return {
        name: `${kind.plural}/finalize`,
        singularName: '',
        namespaced: false,
        kind: kind.kind,
        verbs: ['update'],
      };
    default:
      return {
        name: `${kind.plural}/${subresource}`,
        singularName: '',
        namespaced: kind.namespaced,
        kind: kind.kind,
        verbs: ['get', 'patch', 'update'],
      };
  }
}

function resourceEntry(kind: KindInfo): JsonObject {
  const entry: JsonObject = {
    name: kind.plural,
    singularName: kind.singular,
    namespaced: kind.namespaced,
    kind: kind.kind,
    verbs: [...kind.verbs],
  };
  if (kind.shortNames.length > 0) entry.shortNames = [...kind.shortNames];
  if (kind.categories.length > 0) entry.categories = [...kind.categories];
  return entry;
}

export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(group: string, version: string): JsonObject {
  const groupVersion = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [groupVersion], preferredVersion: groupVersion };
}

export function apiGroupList(): JsonObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: servedGroups().map(({ group, version }) => groupEntry(group, version)),
  };
}

export function apiGroup(group: string): JsonObject | undefined {
  const served = servedGroups().find((g) => g.group === group);
  if (served === undefined) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(served.group, served.version) };
}

/** The APIResourceList of `/api/v1` or `/apis/<group>/<version>`, or undefined when not served. */
export function apiResourceList(group: string, version: string): JsonObject | undefined {
  const served = kinds.filter((k) => k.group === group && k.version === version);
  if (served.length === 0) return undefined;
  const first = served[0];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: first === undefined ? version : apiVersionOf(first),
    resources: served.flatMap((kind) => [
      resourceEntry(kind),
      ...kind.subresources.map((s) => subresourceEntry(kind, s)),
    ]),
  };
}
