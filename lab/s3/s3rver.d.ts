/** The part of @20minutes/s3rver (an untyped CommonJS package) the lab uses. */
declare module '@20minutes/s3rver' {
  import type { Server } from 'node:http';

  interface S3rverOptions {
    readonly directory: string;
    readonly silent?: boolean;
    readonly resetOnClose?: boolean;
    readonly allowMismatchedSignatures?: boolean;
    readonly vhostBuckets?: boolean;
    readonly configureBuckets?: readonly { readonly name: string; readonly configs?: readonly (string | Buffer)[] }[];
  }

  interface ListOptions {
    readonly delimiter?: string;
    readonly startAfter?: string;
    readonly prefix?: string;
    readonly maxKeys?: number;
  }

  interface ListResult {
    readonly objects: readonly { readonly key: string }[];
    readonly commonPrefixes: readonly string[];
    readonly isTruncated: boolean;
  }

  interface FilesystemStore {
    listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
    getResourcePath(bucket: string, key: string | undefined, resource: string): string;
    /** The object's stored headers with its quoted `etag`; rejects with ENOENT when there is no such object. */
    getMetadata(bucket: string, key: string): Promise<{ readonly etag: string } & Readonly<Record<string, unknown>>>;
    putObjectMultipart(
      bucket: string,
      uploadId: string,
      parts: readonly { number: number; etag: string }[],
    ): Promise<{ md5: string; size: number }>;
  }

  class S3rver {
    constructor(options: S3rverOptions);
    readonly store: FilesystemStore;
    configureBuckets(): Promise<void>;
    /** Starts an HTTP server on the given listen arguments (a port and host, or a Unix socket path). */
    listen(path: string): Promise<Server>;
  }

  export type { FilesystemStore, ListOptions, ListResult };
  export default S3rver;
}
