import { TetherError } from '../../errors.js';

/**
 * The S3 settings `tether pair add` stores in a pair's options. Kept apart from the SDK so the CLI can check
 * them without loading it.
 */

/** Rejects endpoint URLs the SDK would misread, with a message that says what form is expected. */
export function checkEndpoint(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TetherError(
      'bad-argument',
      `S3 endpoint "${endpoint}" is not a URL; expected e.g. https://phfs.example.com`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TetherError('bad-argument', `S3 endpoint "${endpoint}" must start with http:// or https://`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TetherError(
      'bad-argument',
      'the S3 endpoint URL must not carry credentials; use AWS_ACCESS_KEY_ID/AWS_PROFILE',
    );
  }
}

/** `tether pair add`'s S3 flags, as commander parses them. */
export interface S3Flags {
  readonly s3Endpoint?: string;
  readonly s3Bucket?: string;
  readonly s3Region?: string;
  readonly s3PathStyle?: boolean;
  readonly awsProfile?: string;
}

/** The pair options for the S3 flags given (`{}` when none), checked; no secrets are ever among them. */
export function s3PairOptions(flags: S3Flags): Record<string, unknown> {
  if (flags.s3Endpoint !== undefined) checkEndpoint(flags.s3Endpoint);
  if (flags.s3Bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(flags.s3Bucket)) {
    throw new TetherError('bad-argument', `"${flags.s3Bucket}" is not a valid bucket name`);
  }
  const s3 = {
    ...(flags.s3Endpoint === undefined ? {} : { endpoint: flags.s3Endpoint }),
    ...(flags.s3Bucket === undefined ? {} : { bucket: flags.s3Bucket }),
    ...(flags.s3Region === undefined ? {} : { region: flags.s3Region }),
    ...(flags.s3PathStyle === undefined ? {} : { pathStyle: flags.s3PathStyle }),
    ...(flags.awsProfile === undefined ? {} : { profile: flags.awsProfile }),
  };
  return Object.keys(s3).length === 0 ? {} : { s3 };
}
