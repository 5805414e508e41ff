import { S3Client } from '@aws-sdk/client-s3';
import { TetherError } from '../../errors.js';
import type { RemoteUrl } from '../remoteUrl.js';
import { checkEndpoint } from './pairOptions.js';

/**
 * Where an S3 remote lives and how to talk to it. Stored in the pair's `options` (never secrets: credentials
 * come from the AWS SDK's default chain — environment, profiles, SSO — or `AWS_PROFILE`).
 */
export interface S3Settings {
  /** The S3 endpoint URL (`--s3-endpoint`, else `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`); AWS when absent. */
  readonly endpoint?: string;
  /** The bucket PHFS keeps groups in (`phfs://` remotes only; `s3://` names its bucket). */
  readonly bucket?: string;
  readonly region?: string;
  /** Path-style addressing (`http://host/bucket/key`); default true when an endpoint is given. */
  readonly pathStyle?: boolean;
  /** A named AWS profile to take credentials from. */
  readonly profile?: string;
}

/** The bucket and key prefix a remote names. */
export interface S3Root {
  readonly bucket: string;
  /** The prefix as a relative path ('' for the bucket's top). */
  readonly prefix: string;
}

export const DEFAULT_PHFS_BUCKET = 'phfs';

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Reads the settings a pair stored (`options.s3`), falling back on the standard environment variables. */
export function settingsFrom(options: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): S3Settings {
  const raw = options.s3;
  const stored = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const endpoint = text(stored.endpoint) ?? text(env.AWS_ENDPOINT_URL_S3) ?? text(env.AWS_ENDPOINT_URL);
  const bucket = text(stored.bucket) ?? text(env.TETHER_PHFS_BUCKET);
  const region = text(stored.region) ?? text(env.AWS_REGION) ?? text(env.AWS_DEFAULT_REGION);
  const profile = text(stored.profile);
  const pathStyle = typeof stored.pathStyle === 'boolean' ? stored.pathStyle : undefined;
  if (endpoint !== undefined) checkEndpoint(endpoint);
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(bucket === undefined ? {} : { bucket }),
    ...(region === undefined ? {} : { region }),
    ...(pathStyle === undefined ? {} : { pathStyle }),
    ...(profile === undefined ? {} : { profile }),
  };
}

/** `phfs://GROUP/PATH` → `s3://<bucket>/groups/GROUP/PATH`; `s3://BUCKET/PREFIX` as written. */
export function rootOf(remote: RemoteUrl, settings: S3Settings): S3Root {
  if (remote.scheme === 's3') return { bucket: remote.bucket, prefix: remote.prefix };
  if (remote.scheme === 'phfs') {
    const group = `groups/${remote.group}`;
    return {
      bucket: settings.bucket ?? DEFAULT_PHFS_BUCKET,
      prefix: remote.path === '' ? group : `${group}/${remote.path}`,
    };
  }
  throw new TetherError('internal', `${remote.scheme}:// is not an S3 remote`);
}

/**
 * The S3 client. Checksums: the SDK v3 default (`WHEN_SUPPORTED`) sends CRC32 trailers in aws-chunked bodies,
 * which many S3-compatible stores (older MinIO, Ceph, s3rver) reject or store verbatim. Tether asks for
 * checksums only when an operation requires them (`WHEN_REQUIRED`: DeleteObjects' Content-MD5/CRC), and checks
 * content itself against `x-amz-meta-sha256`; the lab's front door decodes aws-chunked either way.
 * Retries: the SDK's standard mode (exponential backoff with full jitter on 5xx, SlowDown/throttling and
 * connection resets), with more attempts than its default 3.
 */
export function createS3Client(settings: S3Settings, maxAttempts = 6): S3Client {
  // The SDK warns on stderr that Node 20 support ends; Tether ships its own runtime, so keep the CLI quiet.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    region: settings.region ?? 'us-east-1',
    forcePathStyle: settings.pathStyle ?? settings.endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts,
    retryMode: 'standard',
    ...(settings.profile === undefined ? {} : { profile: settings.profile }),
  });
}
