import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidPathReason } from '../core/entry.js';
import { TetherError } from '../errors.js';

/**
 * The remote side of a pair, parsed from the URL the user wrote. Every scheme Tether knows parses here, even
 * where the endpoint behind it comes later, so a pair's URL is validated once, up front.
 */
export type RemoteUrl =
  | { readonly scheme: 'file'; readonly path: string }
  | {
      readonly scheme: 'pvc';
      readonly context?: string;
      readonly namespace: string;
      readonly pvc: string;
      readonly subpath: string;
    }
  | { readonly scheme: 'phfs'; readonly group: string; readonly path: string }
  | { readonly scheme: 's3'; readonly bucket: string; readonly prefix: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const CONTEXT = /^[^\s/@]{1,253}$/;

const FORMS =
  'expected file:///ABSOLUTE/PATH, pvc://[CONTEXT@]NAMESPACE/PVC[/SUBPATH], phfs://GROUP[/PATH] or s3://BUCKET/PREFIX';

function bad(url: string, why: string): TetherError {
  return new TetherError('bad-url', `invalid remote URL "${url}": ${why}`);
}

/** A relative path inside the remote, '' for the root; rejects `..`, empty segments and NUL bytes. */
function subpathOf(url: string, raw: string): string {
  const trimmed = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(trimmed);
  } catch {
    throw bad(url, 'the path has a malformed %-escape');
  }
  const reason = invalidPathReason(decoded);
  if (reason !== undefined) throw bad(url, `the path is not usable (${reason})`);
  return decoded;
}

export function parseRemoteUrl(url: string): RemoteUrl {
  const match = /^(?<scheme>[a-z][a-z0-9+.-]*):\/\/(?<rest>.*)$/is.exec(url.trim());
  const groups = match?.groups;
  if (groups?.['scheme'] === undefined || groups['rest'] === undefined) throw bad(url, FORMS);
  const scheme = groups['scheme'].toLowerCase();
  const rest = groups['rest'];
  switch (scheme) {
    case 'file': {
      if (!rest.startsWith('/')) throw bad(url, 'a file:// URL needs an absolute path, e.g. file:///mnt/share/data');
      let path: string;
      try {
        path = fileURLToPath(new URL(`file://${rest}`));
      } catch (error) {
        throw bad(url, error instanceof Error ? error.message : String(error));
      }
      if (!isAbsolute(path)) throw bad(url, 'the path is not absolute');
      return { scheme: 'file', path: path.length > 1 ? path.replace(/\/+$/, '') : path };
    }
    case 'pvc': {
      const at = rest.indexOf('@');
      const slash = rest.indexOf('/');
      let context: string | undefined;
      let body = rest;
      if (at >= 0 && (slash < 0 || at < slash)) {
        context = rest.slice(0, at);
        body = rest.slice(at + 1);
        if (!CONTEXT.test(context)) throw bad(url, `"${context}" is not a kubeconfig context name`);
      }
      const [namespace = '', pvc = '', ...tail] = body.split('/');
      if (!DNS_LABEL.test(namespace)) throw bad(url, `"${namespace}" is not a valid namespace name (${FORMS})`);
      if (!DNS_SUBDOMAIN.test(pvc)) throw bad(url, `"${pvc}" is not a valid PVC name (${FORMS})`);
      const subpath = subpathOf(url, tail.join('/'));
      return context === undefined
        ? { scheme: 'pvc', namespace, pvc, subpath }
        : { scheme: 'pvc', context, namespace, pvc, subpath };
    }
    case 'phfs': {
      const [group = '', ...tail] = rest.split('/');
      if (!DNS_LABEL.test(group)) throw bad(url, `"${group}" is not a valid group name (${FORMS})`);
      return { scheme: 'phfs', group, path: subpathOf(url, tail.join('/')) };
    }
    case 's3': {
      const [bucket = '', ...tail] = rest.split('/');
      if (!BUCKET.test(bucket)) throw bad(url, `"${bucket}" is not a valid bucket name (${FORMS})`);
      return { scheme: 's3', bucket, prefix: subpathOf(url, tail.join('/')) };
    }
    default:
      throw bad(url, `unknown scheme "${scheme}://"; ${FORMS}`);
  }
}

/** The canonical text of a parsed remote, for display and storage. */
export function formatRemoteUrl(remote: RemoteUrl): string {
  const tail = (path: string): string => (path === '' ? '' : `/${path.split('/').map(encodeURIComponent).join('/')}`);
  switch (remote.scheme) {
    case 'file':
      return `file://${remote.path.split('/').map(encodeURIComponent).join('/')}`;
    case 'pvc':
      return `pvc://${remote.context === undefined ? '' : `${remote.context}@`}${remote.namespace}/${remote.pvc}${tail(remote.subpath)}`;
    case 'phfs':
      return `phfs://${remote.group}${tail(remote.path)}`;
    case 's3':
      return `s3://${remote.bucket}${tail(remote.prefix)}`;
  }
}
