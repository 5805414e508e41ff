import type { S3Client } from '@aws-sdk/client-s3';
import type { TetherError } from '../../errors.js';

/** The pair's transfer journal, bound to the pair (see `StateStore.journalPut/Get/Delete/List`). */
export interface JournalPort {
  put(key: string, value: unknown): void;
  get(key: string): unknown;
  delete(key: string): void;
  list(): { key: string; value: unknown }[];
}

/** What the scan learnt about each object, for the checks later operations make against it. */
export interface KnownObject {
  readonly etag: string;
  readonly size: number;
}

/** Shared by the endpoint's modules: the client, where the root is, and the scan's view of the objects. */
export interface S3Context {
  readonly client: S3Client;
  readonly bucket: string;
  /** `prefix/` or '' for the bucket's top. */
  readonly rootPrefix: string;
  readonly displayName: string;
  readonly endpoint?: string;
  readonly journal?: JournalPort;
  /** Objects as the last scan saw them, by relative path. */
  readonly known: Map<string, KnownObject>;
  /** Size from which files go up as multipart uploads (and can resume). */
  readonly multipartThreshold: number;
  /** Parts of one multipart upload in flight at once. */
  readonly partConcurrency: number;
  /** Smallest part size (S3 needs ≥ 5 MiB except for the last part). */
  readonly minPartSize: number;
  /**
   * Whether the store enforces conditional writes (`If-None-Match: *`, `If-Match`), probed once per endpoint
   * (see conditionalWrites.ts); when not, each write is preceded by a HEAD check instead.
   */
  conditionalWrites(signal?: AbortSignal): Promise<boolean>;
  fail(what: string, error: unknown): TetherError;
}

export function keyFor(context: S3Context, path: string): string {
  return `${context.rootPrefix}${path}`;
}

/** Part size for a multipart upload of `size` bytes: at least `min`, and small enough for ≤ 9,000 parts. */
export function partSizeFor(size: number, min: number): number {
  const mib = 1024 * 1024;
  const needed = Math.ceil(size / 9000 / mib) * mib;
  return Math.max(min, needed);
}
