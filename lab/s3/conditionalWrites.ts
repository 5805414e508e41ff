import type { IncomingHttpHeaders } from 'node:http';

/**
 * Conditional writes, as S3 has answered them since 2024 (s3rver ignores the headers): `If-None-Match: *`
 * writes only when no object is at the key, `If-Match: <etag>` only when the object there has that ETag.
 * They apply to PutObject, CopyObject (the destination) and CompleteMultipartUpload. S3 answers a failed
 * condition with 412 PreconditionFailed, an `If-Match` on a missing key with 404 NoSuchKey, and any
 * `If-None-Match` value other than `*` with 501 NotImplemented.
 *
 * How the lab's front door treats them (`PhfsOptions.conditionalWrites`): `enforce` (as S3), `ignore` (as
 * s3rver and older S3-compatible stores: the write happens whatever the headers say) or `reject` (every
 * conditional write answered 501 NotImplemented, as stores that know the headers but not the feature).
 */
export type ConditionalWriteMode = 'enforce' | 'ignore' | 'reject';

export type ConditionVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: 'PreconditionFailed' | 'NoSuchKey' | 'NotImplemented';
      readonly message: string;
    };

/** The conditions a write request carries, or undefined when it carries none. */
export function writeConditions(
  headers: IncomingHttpHeaders,
): { readonly ifMatch?: string; readonly ifNoneMatch?: string } | undefined {
  const ifMatch = headers['if-match'];
  const ifNoneMatch = headers['if-none-match'];
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }),
  };
}

/** ETags compare without their quotes (S3 accepts both forms). */
function bareEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/"/g, '');
}

/**
 * Whether a write with these conditions may go ahead, given the ETag of the object now at the key
 * (undefined: none). Pure: the caller holds the key's lock between this check and the write.
 */
export function checkConditions(
  conditions: { readonly ifMatch?: string; readonly ifNoneMatch?: string },
  currentEtag: string | undefined,
  mode: ConditionalWriteMode,
): ConditionVerdict {
  if (mode === 'ignore') return { ok: true };
  if (mode === 'reject') {
    return {
      ok: false,
      code: 'NotImplemented',
      message: 'A header you provided implies functionality that is not implemented (conditional writes).',
    };
  }
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      return {
        ok: false,
        code: 'NotImplemented',
        message: 'A header you provided implies functionality that is not implemented (If-None-Match other than *).',
      };
    }
    if (currentEtag !== undefined) {
      return {
        ok: false,
        code: 'PreconditionFailed',
        message: 'At least one of the pre-conditions you specified did not hold',
      };
    }
  }
  if (ifMatch !== undefined) {
    if (currentEtag === undefined)
      return { ok: false, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    if (ifMatch.trim() !== '*' && bareEtag(ifMatch) !== bareEtag(currentEtag)) {
      return {
        ok: false,
        code: 'PreconditionFailed',
        message: 'At least one of the pre-conditions you specified did not hold',
      };
    }
  }
  return { ok: true };
}

/**
 * One write at a time per key: a conditional write's check and its write happen with no other write to the
 * same key in between (S3 gives the same guarantee). Writes to different keys run in parallel.
 */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a write running or waiting (tests). */
  get size(): number {
    return this.tails.size;
  }
}
