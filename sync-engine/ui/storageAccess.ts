import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { KubeConfig } from '../vendor/kube.js';
import { parseRemoteUrl } from '../endpoints/remoteUrl.js';
import type { RemoteUrl } from '../endpoints/remoteUrl.js';
import { TetherError } from '../errors.js';
import { accessIn } from '../quota/cluster.js';
import { permissionLevel } from '../quota/report.js';
import type { RemoteAccess } from './contract.js';

/**
 * What the storage browser may do on a remote, decided the way the rest of Tether decides it, never guessed:
 * - pvc://: the user's level in the claim's namespace from the same RBAC reviews as the PVC picker and
 *   `tether quota` (Admin and Write may write; Read and None may not).
 * - file://: whether this process may write into the folder (access(2) with W_OK).
 * - phfs:// and s3://: unknown. S3 tells whether a write is allowed only when one is tried, so the store's
 *   own answer to the write is what the user sees.
 */
export async function remoteAccess(url: string, options: Readonly<Record<string, unknown>>): Promise<RemoteAccess> {
  const remote = parseRemoteUrl(url);
  switch (remote.scheme) {
    case 'pvc':
      return pvcAccess(remote, options);
    case 'file':
      return fileAccess(remote.path);
    case 'phfs':
    case 's3':
      return {
        note: 'object storage tells whether you may write only when a write is tried; a refused write shows its error',
      };
  }
}

/** The message every refused write carries: what was refused, why, and what to do. */
export function readOnlyMessage(what: string, displayName: string, access: RemoteAccess): string {
  return `unable to ${what}: ${displayName} is read-only for you (${access.note}): ask a group admin for Write`;
}

function loadKubeConfig(kubeconfig: unknown, context: string | undefined): KubeConfig {
  const config = new KubeConfig();
  try {
    if (typeof kubeconfig === 'string') config.loadFromFile(kubeconfig);
    else config.loadFromDefault();
  } catch (error) {
    throw new TetherError(
      'bad-argument',
      `cannot read the kubeconfig${typeof kubeconfig === 'string' ? ` ${kubeconfig}` : ''}: ${error instanceof Error ? error.message : String(error)}; pick another file in Settings`,
      { cause: error },
    );
  }
  if (context !== undefined) {
    if (config.getContextObject(context) === null)
      throw new TetherError('not-found', `the kubeconfig has no context "${context}"`);
    config.setCurrentContext(context);
  }
  return config;
}

async function pvcAccess(
  remote: Extract<RemoteUrl, { scheme: 'pvc' }>,
  options: Readonly<Record<string, unknown>>,
): Promise<RemoteAccess> {
  const config = loadKubeConfig(options['kubeconfig'], remote.context);
  const user = config.getCurrentUser()?.name ?? 'you';
  let level;
  try {
    level = permissionLevel(await accessIn(config, remote.namespace));
  } catch (error) {
    throw new TetherError(
      'remote-unreachable',
      `unable to check your rights in namespace ${remote.namespace} as ${user}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, retryable: true },
    );
  }
  return {
    level,
    canWrite: level === 'Admin' || level === 'Write',
    note: `${level} in ${remote.namespace} for ${user}, from RBAC`,
  };
}

async function fileAccess(path: string): Promise<RemoteAccess> {
  const stats = await stat(path).catch(() => undefined);
  if (stats?.isDirectory() !== true) return { note: `${path} is not a folder this machine can see` };
  try {
    await access(path, constants.W_OK);
    return { level: 'Write', canWrite: true, note: 'this folder accepts writes from Tether' };
  } catch {
    return { level: 'Read', canWrite: false, note: 'the folder is not writable for Tether on this machine' };
  }
}
