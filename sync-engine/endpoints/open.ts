import type { Side } from '../core/plan.js';
import type { Endpoint } from './endpoint.js';
import { createLocalEndpoint } from './local/localEndpoint.js';
import { createPvcEndpoint, pvcOptionsFrom } from './pvc/pvcEndpoint.js';
import type { JournalPort } from './phfs/context.js';
import { S3Endpoint } from './phfs/s3Endpoint.js';
import { settingsFrom } from './phfs/settings.js';
import { formatRemoteUrl, parseRemoteUrl } from './remoteUrl.js';

/** What opening a remote may use besides its URL: the pair's stored options and its transfer journal. */
export interface RemoteContext {
  readonly options?: Readonly<Record<string, unknown>>;
  readonly journal?: JournalPort;
}

/** Opens the remote endpoint a URL names. */
export async function openRemote(url: string, context: RemoteContext = {}): Promise<Endpoint> {
  const remote = parseRemoteUrl(url);
  switch (remote.scheme) {
    case 'file':
      return createLocalEndpoint(remote.path, { displayName: formatRemoteUrl(remote), missingCode: 'listing-failed' });
    case 'phfs':
    case 's3':
      return Promise.resolve(
        new S3Endpoint(remote, {
          settings: settingsFrom(context.options ?? {}, process.env),
          ...(context.journal === undefined ? {} : { journal: context.journal }),
        }),
      );
    case 'pvc':
      return createPvcEndpoint(remote, {
        displayName: formatRemoteUrl(remote),
        ...pvcOptionsFrom(context.options ?? {}),
      });
  }
}

/** Opens both sides of a pair; closes the first if the second fails. */
export async function openEndpoints(
  pair: { localPath: string; remoteUrl: string },
  context: RemoteContext = {},
): Promise<Record<Side, Endpoint>> {
  const local = await createLocalEndpoint(pair.localPath);
  try {
    return { local, remote: await openRemote(pair.remoteUrl, context) };
  } catch (error) {
    await local.close();
    throw error;
  }
}
