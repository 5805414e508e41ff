import type { S3Client } from '@aws-sdk/client-s3';
import type { Entry, Problem } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import type {
  Endpoint,
  EndpointCapabilities,
  HashResult,
  IncomingFile,
  ReadOptions,
  ScanOptions,
  ScanResult,
  WriteHooks,
  WriteRequest,
} from '../endpoint.js';
import { formatRemoteUrl } from '../remoteUrl.js';
import type { RemoteUrl } from '../remoteUrl.js';
import { memoizedProbe, probeConditionalWrites } from './conditionalWrites.js';
import type { JournalPort, S3Context } from './context.js';
import { hashS3Objects, readS3Files } from './download.js';
import { listS3Folder } from './listFolder.js';
import { rootPrefixOf } from './listing.js';
import { multipartOffset } from './multipart.js';
import { s3Error } from './s3Errors.js';
import type { MetadataCache } from './scan.js';
import { loadMetadataCache, saveMetadataCache, scanS3 } from './scan.js';
import { createS3Client, rootOf } from './settings.js';
import type { S3Settings } from './settings.js';
import { makeDirs, removeObjects, removeTemporaryObjects, renameObject, updateMetadata } from './treeOps.js';
import { writeS3Files } from './upload.js';

export interface S3EndpointOptions {
  readonly settings: S3Settings;
  /** The pair's transfer journal; without it multipart uploads cannot resume after a restart. */
  readonly journal?: JournalPort;
  /** Files from this size go up in parts (default 8 MiB, the controller's resumable-file size). */
  readonly multipartThreshold?: number;
  readonly minPartSize?: number;
  /**
   * Parts of one file in flight at once (default 8, as the AWS CLI's 10 threads of 8 MiB parts: a store keeps
   * up better with more requests under way; the part buffers, 8 MiB each, are most of the upload's memory).
   */
  readonly partConcurrency?: number;
  /** Request attempts on 5xx, SlowDown and connection resets (default 6). */
  readonly maxAttempts?: number;
  /** An existing client (tests); the endpoint then does not destroy it on close. */
  readonly client?: S3Client;
}

const MIB = 1024 * 1024;

/**
 * An S3 prefix (`s3://BUCKET/PREFIX`) or a PHFS group folder (`phfs://GROUP/PATH`). Objects are whole files
 * (never appended or patched); folders are key prefixes and `dir/` markers; mtimes and SHA-256 live in user
 * metadata. Implements every `Endpoint` contract; see the modules beside this one for each operation.
 */
export class S3Endpoint implements Endpoint {
  readonly displayName: string;
  readonly capabilities: EndpointCapabilities;
  private readonly context: S3Context;
  private readonly ownsClient: boolean;
  private readonly cache: MetadataCache = new Map();
  /** SHA-256 from `x-amz-meta-sha256`, by path, as the last scan read them. */
  private stored = new Map<string, string>();
  /** Bytes downloaded to hash objects that had no stored SHA-256 (the cost of strict mode on foreign uploads). */
  streamedHashBytes = 0;
  private closed = false;
  private cacheLoaded = false;

  constructor(remote: RemoteUrl, options: S3EndpointOptions) {
    const root = rootOf(remote, options.settings);
    this.displayName = formatRemoteUrl(remote);
    this.ownsClient = options.client === undefined;
    const client = options.client ?? createS3Client(options.settings, options.maxAttempts);
    const endpoint = options.settings.endpoint;
    this.context = {
      client,
      bucket: root.bucket,
      rootPrefix: rootPrefixOf(root.prefix),
      displayName: this.displayName,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(options.journal === undefined ? {} : { journal: options.journal }),
      known: new Map(),
      multipartThreshold: options.multipartThreshold ?? 8 * MIB,
      minPartSize: options.minPartSize ?? 8 * MIB,
      partConcurrency: options.partConcurrency ?? 8,
      conditionalWrites: memoizedProbe((signal) => probeConditionalWrites(this.context, signal)),
      fail: (what, error) =>
        s3Error(what, error, { bucket: root.bucket, ...(endpoint === undefined ? {} : { endpoint }) }),
    };
    this.capabilities = {
      mtimePrecisionMs: 1,
      caseSensitive: true,
      executableBit: false,
      remoteHash: true,
      resumableWrites: options.journal !== undefined,
    };
  }

  /** The bucket and key prefix this endpoint works in (`prefix/`, or '' for the whole bucket). */
  get root(): { bucket: string; prefix: string } {
    return { bucket: this.context.bucket, prefix: this.context.rootPrefix };
  }

  async scan(options: ScanOptions = {}): Promise<ScanResult> {
    if (!this.cacheLoaded) {
      loadMetadataCache(this.context.journal, this.cache);
      this.cacheLoaded = true;
    }
    const before = this.cache.size;
    const { result, stored, headed } = await scanS3(this.context, this.cache, options);
    if (headed > 0 || this.cache.size !== before) saveMetadataCache(this.context.journal, this.cache);
    this.stored = stored;
    return result;
  }

  listFolder(path: string, options?: ReadOptions): Promise<Entry[]> {
    return listS3Folder(this.context, this.cache, path, options);
  }

  hash(entries: readonly Entry[], options: ReadOptions = {}): Promise<HashResult> {
    return hashS3Objects(this.context, entries, this.stored, options, (bytes) => {
      this.streamedHashBytes += bytes;
    });
  }

  readFiles(
    requests: readonly { path: string; entry: Entry; offset: number }[],
    options?: ReadOptions,
  ): AsyncIterable<IncomingFile> {
    return readS3Files(this.context, requests, options);
  }

  writeFiles(
    requests: readonly WriteRequest[],
    incoming: AsyncIterable<IncomingFile>,
    hooks?: WriteHooks,
  ): Promise<void> {
    return writeS3Files(this.context, requests, incoming, hooks);
  }

  async partialOffset(path: string, entry: Entry): Promise<number> {
    if (invalidPathReason(path) !== undefined || entry.size < this.context.multipartThreshold) return 0;
    try {
      return await multipartOffset(this.context, path, entry);
    } catch (error) {
      throw this.context.fail(`check the interrupted upload of ${path}`, error);
    }
  }

  mkdirs(entries: readonly Entry[]): Promise<Problem[]> {
    return makeDirs(this.context, entries);
  }

  remove(expected: readonly Entry[]): Promise<{ removed: string[]; problems: Problem[] }> {
    return removeObjects(this.context, expected);
  }

  rename(from: string, to: string, expected: Entry): Promise<void> {
    return renameObject(this.context, from, to, expected);
  }

  setMetadata(items: readonly { path: string; entry: Entry; expected: Entry }[]): Promise<Problem[]> {
    return updateMetadata(this.context, items);
  }

  removeTemporaries(paths: readonly string[]): Promise<void> {
    return removeTemporaryObjects(this.context, paths);
  }

  close(): Promise<void> {
    if (!this.closed && this.ownsClient) this.context.client.destroy();
    this.closed = true;
    return Promise.resolve();
  }
}
