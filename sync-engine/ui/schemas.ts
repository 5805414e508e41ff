import { z } from 'zod';
import { invalidPathReason } from '../core/entry.js';
import { COMPARE_MODES, SYNC_MODES } from '../core/plan.js';
import { TetherError } from '../errors.js';
import { invalidPairNameReason } from '../state/store.js';
import type { DownloadQuery, MethodArgs, MethodName, UploadQuery } from './contract.js';

/**
 * Runtime checks of every argument that crosses the UI boundary (from a browser tab over the WebSocket, or from
 * the Electron renderer over IPC). Objects are strict: an unknown key is an error, not silently dropped.
 */

const text = (max = 4096) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\0'), 'must not contain NUL bytes');

const pairName = z.string().superRefine((name, ctx) => {
  const reason = invalidPairNameReason(name);
  if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
});

/** A path relative to a remote's root: '' for the root itself, else clean (no `..`, no leading `/`). */
const relativePath = z
  .string()
  .max(4096)
  .superRefine((path, ctx) => {
    if (path === '') return;
    const reason = invalidPathReason(path);
    if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
  });
const nonRootPath = relativePath.refine((p) => p !== '', 'the root itself cannot be used here');

const absolutePath = text().refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path');
const contextName = text(253);
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'is not a valid namespace name');
const claimName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'is not a valid claim name');
const remote = z.strictObject({ remoteUrl: text(), kubeconfig: absolutePath.optional() });
const empty = z.strictObject({});

export const SCHEMAS = {
  listPairs: empty,
  addPair: z.strictObject({
    name: pairName,
    localPath: absolutePath,
    remoteUrl: text(),
    mode: z.enum(SYNC_MODES as [string, ...string[]]),
    compare: z.enum(COMPARE_MODES as [string, ...string[]]),
    ignore: z.array(text(1024)).max(1000),
    kubeconfig: absolutePath.optional(),
  }),
  removePair: z.strictObject({ name: pairName }),
  syncNow: z.strictObject({ name: pairName, dryRun: z.boolean().optional(), force: z.boolean().optional() }),
  pausePair: z.strictObject({ name: pairName }),
  resumePair: z.strictObject({ name: pairName }),
  kubeContexts: z.strictObject({ kubeconfig: absolutePath.optional() }),
  listNamespaces: z.strictObject({ kubeconfig: absolutePath.optional(), context: contextName }),
  listPvcs: z.strictObject({ kubeconfig: absolutePath.optional(), context: contextName, namespace: dnsLabel }),
  browse: z.strictObject({ remote, path: relativePath }),
  storageAccess: z.strictObject({ remote }),
  makeFolder: z.strictObject({ remote, path: nonRootPath }),
  uploadFromDisk: z.strictObject({
    remote,
    folder: relativePath,
    localPaths: z.array(absolutePath).min(1).max(1000).optional(),
  }),
  downloadToDisk: z.strictObject({ remote, path: nonRootPath }),
  deleteEntries: z.strictObject({ remote, paths: z.array(nonRootPath).min(1).max(10_000) }),
  listActivity: z.strictObject({
    pair: pairName.optional(),
    level: z.enum(['info', 'warn', 'error']).optional(),
    kind: text(64).optional(),
    limit: z.int().min(1).max(10_000).optional(),
  }),
  listConflicts: z.strictObject({ pair: pairName.optional() }),
  resolveConflict: z.strictObject({
    pair: pairName,
    path: nonRootPath,
    conflictPath: nonRootPath,
    choice: z.enum(['keep-local', 'keep-remote', 'keep-both']),
  }),
  getSettings: empty,
  saveSettings: z.strictObject({
    concurrency: z.int().min(1).max(64),
    bandwidthKiBps: z.int().min(0).max(10_000_000),
    pollIntervalSeconds: z.int().min(5).max(86_400),
    helperImage: text(512).regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'is not an image reference'),
    kubeconfig: absolutePath.optional(),
    phfsEndpoint: z.url({ protocol: /^https?$/ }).optional(),
    phfsBucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not a bucket name')
      .optional(),
  }),
  credentialsStatus: empty,
  saveCredentials: z.strictObject({
    s3AccessKeyId: text(256),
    s3SecretAccessKey: text(1024),
  }),
  pickFolder: z.strictObject({ title: text(200).optional() }),
  setLive: z.strictObject({ name: pairName, live: z.boolean() }),
  quotaReport: z.strictObject({
    kubeconfig: absolutePath.optional(),
    context: contextName.optional(),
    namespaces: z.array(dnsLabel).max(200).optional(),
    phfs: z.boolean().optional(),
  }),
  refreshUsage: z.strictObject({
    kubeconfig: absolutePath.optional(),
    context: contextName.optional(),
    namespace: dnsLabel,
    pvc: claimName,
  }),
  largestFolders: z.strictObject({
    kubeconfig: absolutePath.optional(),
    context: contextName.optional(),
    namespace: dnsLabel,
    pvc: claimName,
    depth: z.int().min(1).max(8).optional(),
    limit: z.int().min(1).max(1000).optional(),
  }),
} satisfies Record<MethodName, z.ZodType>;

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.hasOwn(SCHEMAS, name);
}

/** The argument of `method`, checked; throws `bad-argument` naming the method and the fields that are wrong. */
export function parseArgs<M extends MethodName>(method: M, args: unknown): MethodArgs<M> {
  const result = SCHEMAS[method].safeParse(args ?? {});
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.length === 0 ? 'argument' : issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new TetherError('bad-argument', `${method}: invalid argument (${issues})`);
  }
  // The schema describes exactly MethodArgs<M> (checked by the table test against the contract's examples).
  return result.data as MethodArgs<M>;
}

/** The streaming routes' queries (`TRANSFER_ROUTES`), checked like a method's argument. */
export const TRANSFER_SCHEMAS = {
  upload: z.strictObject({ remote, path: nonRootPath, mtimeMs: z.number().nonnegative().optional() }),
  download: z.strictObject({ remote, path: nonRootPath }),
};

export interface TransferQueries {
  upload: UploadQuery;
  download: DownloadQuery;
}

/**
 * A transfer route's URL query as its typed argument: `remoteUrl`, `kubeconfig`, `path` and (uploads)
 * `mtimeMs`, each at most once; `token` is the host's business and skipped. Throws `bad-argument`.
 */
export function parseTransferQuery<K extends keyof TransferQueries>(
  kind: K,
  query: URLSearchParams,
): TransferQueries[K] {
  const seen = new Map<string, string>();
  for (const [key, value] of query) {
    if (key === 'token') continue;
    if (seen.has(key)) throw new TetherError('bad-argument', `${kind}: ${key} is given twice`);
    seen.set(key, value);
  }
  const { remoteUrl, kubeconfig, path, mtimeMs, ...rest } = Object.fromEntries(seen);
  const mtime = mtimeMs === undefined ? undefined : Number(mtimeMs);
  const args = {
    ...rest,
    remote: { remoteUrl, ...(kubeconfig === undefined ? {} : { kubeconfig }) },
    path,
    ...(mtime === undefined ? {} : { mtimeMs: mtime }),
  };
  const result = TRANSFER_SCHEMAS[kind].safeParse(args);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.length === 0 ? 'query' : issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new TetherError('bad-argument', `${kind}: invalid query (${issues})`);
  }
  // The schema describes exactly TransferQueries[K] (checked by the table test).
  return result.data as TransferQueries[K];
}
