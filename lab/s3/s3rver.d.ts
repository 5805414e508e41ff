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

  class S3rver {
    constructor(options: S3rverOptions);
    configureBuckets(): Promise<void>;
    /** Starts an HTTP server on the given listen arguments (a port and host, or a Unix socket path). */
    listen(path: string): Promise<Server>;
  }

  export default S3rver;
}
