/**
 * The one API between Tether's UI and its engine: types and method names only, no code that does I/O, so the
 * renderer (browser or Electron), the preload, the Electron main process and the browser host all import it.
 *
 * Every method takes one plain-JSON argument and resolves to plain JSON. Errors cross the boundary flattened to
 * `{ code, message }` (`UiError`); never rely on `instanceof` on the UI side. The engine validates every argument
 * at runtime (`schemas.ts`): the types below are a promise to the UI, not a check.
 */

import type { FolderUsage } from '../quota/folders.js';
import type { PermissionLevel, QuotaReport, UsageSample } from '../quota/report.js';

export type { FolderUsage } from '../quota/folders.js';
export type { NamespaceReport, PermissionLevel, PvcRow, QuotaLine, QuotaReport, UsageSample } from '../quota/report.js';

export type SyncMode = 'two-way' | 'push' | 'pull' | 'mirror-push' | 'mirror-pull';
export type CompareMode = 'size-mtime' | 'sha256' | 'none';
export type PairState = 'idle' | 'scanning' | 'syncing' | 'waiting' | 'paused' | 'halted';
export type ActivityLevel = 'info' | 'warn' | 'error';

export interface UiError {
  readonly code: string;
  readonly message: string;
}

export interface Progress {
  readonly phase: 'scanning' | 'hashing' | 'planning' | 'transferring' | 'finishing';
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly bytesPerSecond: number;
  readonly etaSeconds?: number;
  readonly scanned?: number;
}

export interface LastResult {
  readonly uploaded: number;
  readonly downloaded: number;
  readonly deletedLocal: number;
  readonly deletedRemote: number;
  readonly conflicts: number;
  readonly bytes: number;
  readonly problems: number;
  readonly durationMs: number;
}

export interface PairView {
  readonly name: string;
  readonly localPath: string;
  readonly remoteUrl: string;
  readonly mode: SyncMode;
  readonly compare: CompareMode;
  readonly ignore: readonly string[];
  readonly state: PairState;
  readonly stateMessage?: string;
  readonly lastSyncAt?: number;
  readonly lastResult?: LastResult;
  /** Whether a sync started from this app is running now. */
  readonly running: boolean;
  /** The running sync's latest progress (a sync from this app, or the live watcher's). */
  readonly progress?: Progress;
  /** Marked live: the app (or a `tether watch`) keeps it in sync on its own. */
  readonly live: boolean;
  /** Paused through the state store (by this app, `tether pause` or another process). */
  readonly paused: boolean;
  /** The process watching this pair, when one is alive (this app or a `tether watch`). */
  readonly watcher?: { readonly pid: number; readonly host: string };
}

export interface NewPair {
  readonly name: string;
  readonly localPath: string;
  readonly remoteUrl: string;
  readonly mode: SyncMode;
  readonly compare: CompareMode;
  readonly ignore: readonly string[];
  /** The kubeconfig for pvc:// remotes (default: the one in Settings, else the standard rules). */
  readonly kubeconfig?: string;
}

export interface PlannedAction {
  readonly side: 'local' | 'remote';
  readonly kind: string;
  readonly path: string;
  readonly bytes?: number;
  readonly to?: string;
}

export interface SyncResult {
  readonly pair: string;
  readonly dryRun: boolean;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly deletedLocal: number;
  readonly deletedRemote: number;
  readonly conflicts: number;
  readonly bytes: number;
  readonly failed: number;
  readonly problems: readonly { readonly path: string; readonly message: string }[];
  readonly actions?: readonly PlannedAction[];
  readonly durationMs: number;
}

export interface KubeContexts {
  readonly kubeconfig: string;
  readonly current?: string;
  readonly contexts: readonly { readonly name: string; readonly namespace?: string; readonly user?: string }[];
}

export type Lane = 'juicefs-rwx' | 'legacy-nfs-rwx' | 'longhorn-fast-rwo' | 'other';

export interface PvcView {
  readonly name: string;
  readonly namespace: string;
  readonly phase: string;
  /** As the claim requests or the volume provides, e.g. "50Gi". */
  readonly capacity?: string;
  readonly storageClass?: string;
  readonly lane: Lane;
  readonly laneLabel: string;
  /** One line on what the lane is best for. */
  readonly bestFor: string;
  readonly accessModes: readonly string[];
  /** Whether the user may create pods and exec in the namespace (what a write through Tether needs). */
  readonly canWrite: boolean;
  /** The user's level in the namespace, from RBAC: Admin (manages role bindings), Write, Read or None. */
  readonly permission: PermissionLevel;
}

/** Where the storage browser looks: a remote URL (pvc://, phfs://, s3://, file://) and its stored options. */
export interface RemoteRef {
  readonly remoteUrl: string;
  readonly kubeconfig?: string;
}

/**
 * What the user may do on a remote, as far as it is known before trying: for a PVC the level RBAC gives in its
 * namespace (as in the PVC picker), for file:// whether the folder is writable; for PHFS nothing (`level` and
 * `canWrite` absent, `note` says so): the store answers only when a write is tried.
 */
export interface RemoteAccess {
  readonly level?: PermissionLevel;
  /** Whether upload, new folder and delete may work; absent when unknown. */
  readonly canWrite?: boolean;
  /** How it was decided, or why it is unknown (shown in the browser). */
  readonly note: string;
}

export interface BrowseEntry {
  readonly name: string;
  /** Relative to the remote's root. */
  readonly path: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  readonly size: number;
  readonly mtimeMs: number;
}

export interface ActivityView {
  readonly id: number;
  readonly at: number;
  readonly pair?: string;
  readonly level: ActivityLevel;
  readonly kind: string;
  readonly path?: string;
  readonly message: string;
  readonly bytes?: number;
}

export interface FileFacts {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

export interface ConflictView {
  readonly pair: string;
  readonly path: string;
  readonly conflictPath: string;
  /** Your version (keeps the name) and the remote's version (kept as `conflictPath`), as they are now locally. */
  readonly local: FileFacts;
  readonly remote: FileFacts;
}

export type ConflictChoice = 'keep-local' | 'keep-remote' | 'keep-both';

export interface Settings {
  /** Parallel transfers per sync. */
  readonly concurrency: number;
  /** Upload/download limit in KiB/s; 0 = unlimited. */
  readonly bandwidthKiBps: number;
  /** How often live pairs poll the remote, in seconds. */
  readonly pollIntervalSeconds: number;
  readonly helperImage: string;
  readonly kubeconfig?: string;
  readonly phfsEndpoint?: string;
  readonly phfsBucket?: string;
}

export interface CredentialsStatus {
  /** Whether this host can keep secrets encrypted (Electron's safeStorage); the browser host cannot. */
  readonly supported: boolean;
  readonly s3AccessKeyId?: string;
  readonly hasSecret: boolean;
}

/** Which report the Quotas page shows: as the user of this kubeconfig context. */
export interface QuotaQueryArgs {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Only these namespaces; default: every one RBAC lets the user see. */
  readonly namespaces?: string[];
  /** Add PHFS usage per group prefix (lists every object under each prefix). */
  readonly phfs?: boolean;
}

export interface QuotaPage {
  readonly report: QuotaReport;
  /** The same rows as `tether quota --csv` (formula cells defused), for the page's CSV export. */
  readonly csv: string;
  /** What could not be measured or listed (shown above the report). */
  readonly failures: readonly string[];
}

/** The methods, each with its one argument and its result. */
export interface TetherApi {
  listPairs(args: Record<string, never>): Promise<PairView[]>;
  addPair(args: NewPair): Promise<PairView>;
  removePair(args: { name: string }): Promise<void>;
  /** One sync (or a dry run: the plan, nothing moves). Progress arrives as `progress` events meanwhile. */
  syncNow(args: { name: string; dryRun?: boolean; force?: boolean }): Promise<SyncResult>;
  /** Stops a running sync and refuses new ones until `resumePair`. */
  pausePair(args: { name: string }): Promise<void>;
  resumePair(args: { name: string }): Promise<void>;
  kubeContexts(args: { kubeconfig?: string }): Promise<KubeContexts>;
  listNamespaces(args: { kubeconfig?: string; context: string }): Promise<string[]>;
  listPvcs(args: { kubeconfig?: string; context: string; namespace: string }): Promise<PvcView[]>;
  browse(args: { remote: RemoteRef; path: string }): Promise<BrowseEntry[]>;
  /** The user's rights on a remote (upload, new folder and delete are refused when `canWrite` is false). */
  storageAccess(args: { remote: RemoteRef }): Promise<RemoteAccess>;
  makeFolder(args: { remote: RemoteRef; path: string }): Promise<void>;
  /**
   * Desktop app only (native dialogs): uploads files from this computer into `folder`, streamed from disk;
   * `localPaths` are files the user dropped on the window, else the native file picker asks. The browser host
   * refuses it: a browser uploads through `TRANSFER_ROUTES.upload`.
   */
  uploadFromDisk(args: { remote: RemoteRef; folder: string; localPaths?: string[] }): Promise<{ uploaded: string[] }>;
  /**
   * Desktop app only: downloads a file, or a folder as a tar archive, to where the native save dialog says,
   * streamed to disk. `savedTo` is absent when the user cancelled. The browser host refuses it (see
   * `TRANSFER_ROUTES.download`).
   */
  downloadToDisk(args: { remote: RemoteRef; path: string }): Promise<{ savedTo?: string }>;
  /** Deletes files and folders (folders with everything below them). */
  deleteEntries(args: { remote: RemoteRef; paths: string[] }): Promise<{ removed: number }>;
  listActivity(args: { pair?: string; level?: ActivityLevel; kind?: string; limit?: number }): Promise<ActivityView[]>;
  listConflicts(args: { pair?: string }): Promise<ConflictView[]>;
  /** Resolves a conflict on the local side, then syncs the pair once so the remote agrees. */
  resolveConflict(args: { pair: string; path: string; conflictPath: string; choice: ConflictChoice }): Promise<void>;
  getSettings(args: Record<string, never>): Promise<Settings>;
  saveSettings(args: Settings): Promise<Settings>;
  credentialsStatus(args: Record<string, never>): Promise<CredentialsStatus>;
  saveCredentials(args: { s3AccessKeyId: string; s3SecretAccessKey: string }): Promise<CredentialsStatus>;
  /** Marks a pair live (kept in sync by the app's live service) or not. */
  setLive(args: { name: string; live: boolean }): Promise<PairView>;
  quotaReport(args: QuotaQueryArgs): Promise<QuotaPage>;
  /** Measures one claim's bytes used with `df` in a pod that mounts it (cached with its time, shared with the CLI). */
  refreshUsage(args: { kubeconfig?: string; context?: string; namespace: string; pvc: string }): Promise<UsageSample>;
  /** The folders of a claim that hold the most bytes (every file below each counted), largest first. */
  largestFolders(args: {
    kubeconfig?: string;
    context?: string;
    namespace: string;
    pvc: string;
    depth?: number;
    limit?: number;
  }): Promise<FolderUsage[]>;
  /** A native folder picker where the host has one (Electron); the browser host answers `{}`. */
  pickFolder(args: { title?: string }): Promise<{ path?: string }>;
}

export type MethodName = keyof TetherApi;
export type MethodArgs<M extends MethodName> = Parameters<TetherApi[M]>[0];
export type MethodResult<M extends MethodName> = Awaited<ReturnType<TetherApi[M]>>;

export const METHOD_NAMES = [
  'listPairs',
  'addPair',
  'removePair',
  'syncNow',
  'pausePair',
  'resumePair',
  'kubeContexts',
  'listNamespaces',
  'listPvcs',
  'browse',
  'storageAccess',
  'makeFolder',
  'uploadFromDisk',
  'downloadToDisk',
  'deleteEntries',
  'listActivity',
  'listConflicts',
  'resolveConflict',
  'getSettings',
  'saveSettings',
  'credentialsStatus',
  'saveCredentials',
  'pickFolder',
  'setLive',
  'quotaReport',
  'refreshUsage',
  'largestFolders',
] as const satisfies readonly MethodName[];

/**
 * The browser host's streaming transfers: plain HTTP on the page's own origin, guarded by the same token as
 * the page and the socket (`token` in the query), every argument validated like a method's.
 * - `PUT upload?token&remoteUrl[&kubeconfig]&path[&mtimeMs]` with the file as the raw body and its
 *   Content-Length; answers `{ ok: true }` or `{ ok: false, error }` (JSON) once the file is in place.
 * - `GET download?token&remoteUrl[&kubeconfig]&path`: the file, or a folder as a tar archive, as an
 *   attachment (Content-Disposition names it).
 */
export const TRANSFER_ROUTES = { upload: '/transfer/upload', download: '/transfer/download' } as const;

/** The query of a transfer route, once validated. */
export interface UploadQuery {
  readonly remote: RemoteRef;
  readonly path: string;
  readonly mtimeMs?: number;
}
export interface DownloadQuery {
  readonly remote: RemoteRef;
  readonly path: string;
}

/** A transfer the engine runs for the desktop app (`uploadFromDisk`, `downloadToDisk`), as it goes. */
export interface TransferProgress {
  readonly id: number;
  readonly direction: 'upload' | 'download';
  /** The remote path, for messages. */
  readonly path: string;
  readonly bytesDone: number;
  readonly bytesTotal?: number;
  readonly done: boolean;
  readonly error?: string;
}

/** Events the engine pushes to the UI. */
export interface TetherEvents {
  transfer: TransferProgress;
  progress: { readonly pair: string; readonly progress: Progress };
  /** A pair was added, removed, or changed state: refetch the list. */
  pairsChanged: Record<string, never>;
  /** A sync ended with conflicts or a halt (the desktop app turns these into notifications). */
  notice: { readonly pair: string; readonly level: 'warn' | 'error'; readonly message: string };
}
export type EventName = keyof TetherEvents;

/** Messages on the browser host's WebSocket (and the Electron IPC bridge). */
export type ClientMessage = { readonly id: number; readonly method: string; readonly args: unknown };
export type ServerMessage =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: UiError }
  | { readonly event: EventName; readonly data: unknown };

/** The complete check that `METHOD_NAMES` lists every method once (compile-time). */
type Missing = Exclude<MethodName, (typeof METHOD_NAMES)[number]>;
export const ALL_METHODS_LISTED: Missing extends never ? true : false = true;
