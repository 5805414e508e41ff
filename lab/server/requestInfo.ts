/**
 * What a request is about, derived from its method and URL the way the API server's RequestInfoFactory
 * does it: resource requests under /api and /apis, everything else a non-resource path.
 */
export interface ResourceRequest {
  readonly isResource: true;
  readonly verb: string;
  readonly group: string;
  readonly version: string;
  readonly namespace: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
  /** Path segments beyond `resource/name/subresource` (unsupported: 404). */
  readonly extra: readonly string[];
}

export interface NonResourceRequest {
  readonly isResource: false;
  readonly verb: string;
  readonly path: string;
}

export type RequestInfo = ResourceRequest | NonResourceRequest;

const namespaceSubresources = new Set(['status', 'finalize']);

const methodVerbs: Readonly<Record<string, string>> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

function nonResourceVerb(method: string): string {
  return method === 'HEAD' ? 'get' : method.toLowerCase();
}

/** Decodes path segments; undefined when a segment is not valid percent-encoding. */
function segments(path: string): string[] | undefined {
  try {
    return path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo | undefined {
  const parts = segments(path);
  if (parts === undefined) return undefined;
  const nonResource: NonResourceRequest = { isResource: false, verb: nonResourceVerb(method), path };
  const [prefix] = parts;
  if (prefix !== 'api' && prefix !== 'apis') return nonResource;
  let rest: string[];
  let group = '';
  let version: string;
  if (prefix === 'api') {
    if (parts.length < 3) return nonResource;
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else {
    if (parts.length < 4) return nonResource;
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  }
  let verb = methodVerbs[method];
  if (verb === undefined) return { ...nonResource, verb: method.toLowerCase() };
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1] ?? '';
    if (rest.length > 2 && !namespaceSubresources.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = '', ...extra] = rest;
  if (resource === '') return nonResource;
  if (watchPath || (method === 'GET' && isTrue(query.get('watch')))) verb = 'watch';
  else if (method === 'GET' || method === 'HEAD') verb = name === '' ? 'list' : 'get';
  else if (method === 'DELETE' && name === '') verb = 'deletecollection';
  // A watch or list of one object by field selector is authorized as that object, as Kubernetes does.
  let authName = name;
  if ((verb === 'watch' || verb === 'list') && name === '') {
    const match = /(?:^|,)metadata\.name==?([^,]+)(?:,|$)/.exec(query.get('fieldSelector') ?? '');
    if (match?.[1] !== undefined) authName = match[1];
  }
  return { isResource: true, verb, group, version, namespace, resource, subresource, name: authName, extra };
}

/** Kubernetes' boolean query parameters accept what strconv.ParseBool does. */
export function parseBoolean(value: string | null): boolean | undefined {
  if (value === null || value === '') return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return undefined;
}

function isTrue(value: string | null): boolean {
  return parseBoolean(value) === true;
}
