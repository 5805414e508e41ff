import type { Side } from '../core/plan.js';
import { TetherError } from '../errors.js';
import type { Endpoint } from './endpoint.js';
import { createLocalEndpoint } from './local/localEndpoint.js';
import { formatRemoteUrl, parseRemoteUrl } from './remoteUrl.js';

/** Opens the remote endpoint a URL names. */
export async function openRemote(url: string): Promise<Endpoint> {
  const remote = parseRemoteUrl(url);
  switch (remote.scheme) {
    case 'file':
      return createLocalEndpoint(remote.path, { displayName: formatRemoteUrl(remote), missingCode: 'listing-failed' });
    case 'pvc':
    case 'phfs':
    case 's3':
      throw new TetherError(
        'bad-url',
        `${remote.scheme}:// remotes are not supported by this build of Tether yet; use a file:// remote for now`,
      );
  }
}

/** Opens both sides of a pair; closes the first if the second fails. */
export async function openEndpoints(pair: { localPath: string; remoteUrl: string }): Promise<Record<Side, Endpoint>> {
  const local = await createLocalEndpoint(pair.localPath);
  try {
    return { local, remote: await openRemote(pair.remoteUrl) };
  } catch (error) {
    await local.close();
    throw error;
  }
}
