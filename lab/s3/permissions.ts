/**
 * Who may do what in the PHFS bucket: the platform lays data out as `groups/<group>/…`, and each credential
 * reads and writes a set of groups (`*`: all, and the bucket itself). Pure: the proxy classifies a request
 * and asks.
 */
export interface S3Grant {
  readonly read: readonly string[];
  readonly write: readonly string[];
}

export type S3Action =
  | { readonly kind: 'listBuckets' }
  | { readonly kind: 'listObjects'; readonly bucket: string; readonly prefix: string }
  | { readonly kind: 'bucketRead'; readonly bucket: string }
  | { readonly kind: 'bucketAdmin'; readonly bucket: string }
  | { readonly kind: 'deleteObjects'; readonly bucket: string }
  | { readonly kind: 'read'; readonly bucket: string; readonly key: string }
  | {
      readonly kind: 'write';
      readonly bucket: string;
      readonly key: string;
      readonly copySource?: { bucket: string; key: string };
    };

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Classifies a path-style S3 request (`/bucket/key?query`). */
export function classify(
  method: string,
  path: string,
  query: ReadonlyMap<string, string>,
  copySource?: string,
): S3Action {
  const trimmed = path.replace(/^\/+/, '');
  const slash = trimmed.indexOf('/');
  const bucket = safeDecode(slash === -1 ? trimmed : trimmed.slice(0, slash));
  const key =
    slash === -1
      ? ''
      : trimmed
          .slice(slash + 1)
          .split('/')
          .map(safeDecode)
          .join('/');
  if (bucket === '') return { kind: 'listBuckets' };
  if (key === '') {
    if (method === 'POST' && query.has('delete')) return { kind: 'deleteObjects', bucket };
    if ((method === 'GET' || method === 'HEAD') && query.size === 0) return { kind: 'listObjects', bucket, prefix: '' };
    if (
      method === 'GET' &&
      (query.has('list-type') ||
        query.has('prefix') ||
        query.has('delimiter') ||
        query.has('uploads') ||
        query.has('marker') ||
        query.has('max-keys') ||
        query.has('encoding-type'))
    ) {
      return { kind: 'listObjects', bucket, prefix: query.get('prefix') ?? '' };
    }
    if (method === 'GET' || method === 'HEAD') return { kind: 'bucketRead', bucket };
    return { kind: 'bucketAdmin', bucket };
  }
  if (method === 'GET' || method === 'HEAD') return { kind: 'read', bucket, key };
  if (method === 'PUT' && copySource !== undefined && copySource !== '') {
    const source = safeDecode(copySource.split('?')[0] ?? '').replace(/^\/+/, '');
    const sourceSlash = source.indexOf('/');
    return {
      kind: 'write',
      bucket,
      key,
      copySource: {
        bucket: sourceSlash === -1 ? source : source.slice(0, sourceSlash),
        key: sourceSlash === -1 ? '' : source.slice(sourceSlash + 1),
      },
    };
  }
  return { kind: 'write', bucket, key };
}

/** The group a key belongs to (`groups/vision/a/b` → `vision`), if any. */
export function groupOfKey(key: string): string | undefined {
  const match = /^groups\/([^/]+)(?:\/|$)/.exec(key);
  return match?.[1];
}

function covers(groups: readonly string[], key: string): boolean {
  if (groups.includes('*')) return true;
  const group = groupOfKey(key);
  return group !== undefined && groups.includes(group);
}

/** Whether a listing prefix stays inside groups the grant may read. */
function prefixReadable(grant: S3Grant, prefix: string): boolean {
  const readable = [...grant.read, ...grant.write];
  if (readable.includes('*')) return true;
  return readable.some((group) => prefix === `groups/${group}` || prefix.startsWith(`groups/${group}/`));
}

export function isAllowed(grant: S3Grant, action: S3Action, keysToDelete: readonly string[] = []): boolean {
  const readGroups = [...grant.read, ...grant.write];
  switch (action.kind) {
    case 'listBuckets':
      return true;
    case 'bucketRead':
      return readGroups.length > 0;
    case 'bucketAdmin':
      return grant.write.includes('*');
    case 'listObjects':
      return prefixReadable(grant, action.prefix);
    case 'read':
      return covers(readGroups, action.key);
    case 'write':
      if (!covers(grant.write, action.key)) return false;
      return action.copySource === undefined || covers(readGroups, action.copySource.key);
    case 'deleteObjects':
      return keysToDelete.every((key) => covers(grant.write, key));
  }
}

/** The `<Key>` entries of a DeleteObjects request body. */
export function keysOfDeleteRequest(xml: string): string[] {
  const decode = (text: string): string =>
    text
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&#(\d+);/g, (_m, code: string) => String.fromCodePoint(Number(code)))
      .replace(/&amp;/g, '&');
  return [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((match) => decode(match[1] ?? ''));
}
