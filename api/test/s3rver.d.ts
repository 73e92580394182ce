/** The part of s3rver 3.7's API (an in-process S3 for tests; it ships no types) that the tests use. */
declare module "s3rver" {
  import type { RequestListener } from "node:http";

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    /** Creates `configureBuckets`, then listens; resolves to the server's address. */
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
    /** The request handler, for a server of one's own. */
    callback(): RequestListener;
    configureBuckets(): Promise<void>;
  }
  export = S3rver;
}
