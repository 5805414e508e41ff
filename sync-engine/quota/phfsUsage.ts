import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3FailureOf } from '../endpoints/phfs/s3Errors.js';
import type { PhfsUsage } from './report.js';

/**
 * Bytes and objects under a group's PHFS prefix (`groups/<group>/`), from a paginated listing. Undefined when
 * the user's credentials may not list it (that group's data is not theirs to see).
 */
export async function phfsGroupUsage(client: S3Client, bucket: string, group: string): Promise<PhfsUsage | undefined> {
  const prefix = `groups/${group}/`;
  let bytes = 0;
  let objects = 0;
  let token: string | undefined;
  try {
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const item of page.Contents ?? []) {
        bytes += item.Size ?? 0;
        objects++;
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } catch (error) {
    const failure = s3FailureOf(error);
    if (failure.status === 403 || failure.name === 'AccessDenied') return undefined;
    throw error;
  }
  return { prefix, bytes, objects };
}
