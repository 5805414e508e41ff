import type { Side } from '../core/plan.js';
import type { Endpoint } from './endpoint.js';
import { createLocalEndpoint } from './local/localEndpoint.js';
import type { JournalPort } from './phfs/context.js';
import { formatRemoteUrl, parseRemoteUrl } from './remoteUrl.js';

/** What opening a remote may use besides its URL: the pair's stored options and its transfer journal. */
export interface RemoteContext {
  readonly options?: Readonly<Record<string, unknown>>;
  /** The pair the remote belongs to (PVC helper pods are labelled with it). */
  readonly pairName?: string;
  readonly journal?: JournalPort;
}

/**
 * Opens the remote endpoint a URL names. The Kubernetes and S3 endpoints are loaded only when a pair uses them:
 * their SDKs are most of the CLI's start-up time, and a file:// pair needs neither.
 */
export async function openRemote(url: string, context: RemoteContext = {}): Promise<Endpoint> {
  const remote = parseRemoteUrl(url);
  switch (remote.scheme) {
    case 'file':
      return createLocalEndpoint(remote.path, { displayName: formatRemoteUrl(remote), missingCode: 'listing-failed' });
    case 'phfs':
    case 's3': {
      const [{ S3Endpoint }, { settingsFrom }] = await Promise.all([
        import('./phfs/s3Endpoint.js'),
        import('./phfs/settings.js'),
      ]);
      return Promise.resolve(
        new S3Endpoint(remote, {
          settings: settingsFrom(context.options ?? {}, process.env),
          ...(context.journal === undefined ? {} : { journal: context.journal }),
        }),
      );
    }
    case 'pvc': {
      const { createPvcEndpoint, pvcOptionsFrom } = await import('./pvc/pvcEndpoint.js');
      return createPvcEndpoint(remote, {
        displayName: formatRemoteUrl(remote),
        ...pvcOptionsFrom(context.options ?? {}),
        ...(context.pairName === undefined ? {} : { pairName: context.pairName }),
      });
    }
  }
}

/** Opens both sides of a pair; closes the first if the second fails. */
export async function openEndpoints(
  pair: { localPath: string; remoteUrl: string; name?: string },
  context: RemoteContext = {},
): Promise<Record<Side, Endpoint>> {
  const local = await createLocalEndpoint(pair.localPath);
  try {
    const named = context.pairName === undefined && pair.name !== undefined ? { pairName: pair.name } : {};
    return { local, remote: await openRemote(pair.remoteUrl, { ...context, ...named }) };
  } catch (error) {
    await local.close();
    throw error;
  }
}
