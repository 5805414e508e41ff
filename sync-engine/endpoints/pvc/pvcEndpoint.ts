import { hostname } from 'node:os';
import { KubeConfig } from '../../vendor/kube.js';
import type { Entry, Problem } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { fingerprint } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type {
  Endpoint,
  EndpointCapabilities,
  IncomingFile,
  ReadOptions,
  ScanOptions,
  ScanResult,
  SpaceReport,
  WriteHooks,
  WriteRequest,
} from '../endpoint.js';
import type { HelperOwner, HelperPod } from './helperPod.js';
import {
  canI,
  checkClaim,
  createHelperPod,
  DEFAULT_HELPER_IMAGE,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  deleteOrphans,
  helperHandle,
  HEARTBEAT_COMMAND,
  HELPER_MOUNT,
  mountingPod,
} from './helperPod.js';
import { execInPod } from './execClient.js';
import { PodShell } from './podShell.js';
import { findMountingPod, podPathFor } from './existingPod.js';
import type { ProbeResult } from './probe.js';
import { probePod } from './probe.js';
import { managedPods, readyHelper, reusableAmong } from './helperReuse.js';
import { keepSecondsFrom } from './pairOptions.js';
import { listRemoteFolder } from './listFolder.js';
import { scanRemote } from './remoteScan.js';
import {
  remoteHash,
  remoteMkdirs,
  remoteRemove,
  remoteRemoveTemporaries,
  remoteRename,
  remoteSetMetadata,
} from './remoteTreeOps.js';
import { volumeFreeSpace } from './freeSpace.js';
import { readRemoteFiles } from './tarDownload.js';
import { remotePartialOffset, writeRemoteFiles } from './tarUpload.js';

export interface PvcLocation {
  readonly context?: string;
  readonly namespace: string;
  readonly pvc: string;
  readonly subpath: string;
}

/** Settings of a pvc:// remote, from the pair's options (never secrets: credentials come from the kubeconfig). */
export interface PvcEndpointOptions {
  readonly displayName: string;
  /** A kubeconfig file; default: the standard loading rules ($KUBECONFIG, ~/.kube/config, in-cluster). */
  readonly kubeconfig?: string;
  readonly helperImage?: string;
  /** Offer only the v4 exec protocol (clusters without the v5 translation; tests). */
  readonly v4Only?: boolean;
  readonly startTimeoutMs?: number;
  /** Use this Running pod that mounts the claim instead of a helper pod. */
  readonly pod?: string;
  /** The pair this remote belongs to: named in the helper pod's labels, and part of its owner key. */
  readonly pairName?: string;
  /** Exec sessions at once for batched work inside the endpoint (hashing); default 4. */
  readonly concurrency?: number;
  /** The helper pod ends itself after this long without use (default 10 min). */
  readonly idleTimeoutSeconds?: number;
  /**
   * Leave the helper pod up when the endpoint closes, for the next sync of the same pair to take over until its
   * idle timeout (default: true for a pair's remote, false otherwise; see helperReuse.ts). Never for a
   * ReadWriteOnce claim: an idle helper would keep the volume from the user's own pods on other nodes.
   */
  readonly keepHelper?: boolean;
}

/** Reads the PVC settings a pair stores in its options (`kubeconfig`, `helperImage`, `execProtocol`). */
export function pvcOptionsFrom(options: Readonly<Record<string, unknown>>): Omit<PvcEndpointOptions, 'displayName'> {
  const text = (key: string): string | undefined => {
    const value = options[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0)
      throw new TetherError('bad-argument', `the pair option ${key} must be a non-empty string`);
    return value;
  };
  const kubeconfig = text('kubeconfig');
  const helperImage = text('helperImage');
  const protocol = text('execProtocol');
  const pod = text('pod');
  const concurrency = options['concurrency'] === undefined ? undefined : Number(options['concurrency']);
  const keepSeconds = keepSecondsFrom(options['helperIdleSeconds']);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 64))
    throw new TetherError('bad-argument', 'the pair option concurrency must be a whole number from 1 to 64');
  if (protocol !== undefined && protocol !== 'v4' && protocol !== 'auto')
    throw new TetherError('bad-argument', `the pair option execProtocol must be "auto" or "v4", not "${protocol}"`);
  return {
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    ...(helperImage === undefined ? {} : { helperImage }),
    ...(protocol === 'v4' ? { v4Only: true } : {}),
    ...(pod === undefined ? {} : { pod }),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(keepSeconds === undefined
      ? {}
      : keepSeconds === 0
        ? { keepHelper: false }
        : { idleTimeoutSeconds: keepSeconds }),
  };
}

function loadKubeConfig(location: PvcLocation, options: PvcEndpointOptions): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    if (options.kubeconfig === undefined) kubeConfig.loadFromDefault();
    else kubeConfig.loadFromFile(options.kubeconfig);
  } catch (error) {
    throw new TetherError(
      'bad-argument',
      `cannot load the kubeconfig${options.kubeconfig === undefined ? '' : ` ${options.kubeconfig}`}: ${String(error)}`,
      { cause: error },
    );
  }
  if (location.context !== undefined) {
    if (kubeConfig.getContextObject(location.context) === null)
      throw new TetherError(
        'bad-url',
        `the kubeconfig has no context "${location.context}" (contexts: ${kubeConfig
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
      );
    kubeConfig.setCurrentContext(location.context);
  }
  if (kubeConfig.getCurrentCluster() === null)
    throw new TetherError(
      'bad-argument',
      'the kubeconfig has no current context; name one in the URL: pvc://CONTEXT@NAMESPACE/PVC',
    );
  return kubeConfig;
}

/**
 * A folder in a PersistentVolumeClaim, reached through exec streams into a helper pod that mounts it.
 * Implements every `Endpoint` contract with shell loops over argv in the pod (see the modules beside this).
 */
export class PvcEndpoint implements Endpoint {
  readonly capabilities: EndpointCapabilities = {
    mtimePrecisionMs: 1000,
    caseSensitive: true,
    executableBit: true,
    remoteHash: true,
    resumableWrites: true,
    // Each batch is a tar exec and a commit exec. A lab push of 10,000 small files: batches of 512, 4.9 s;
    // of 2,048, about 5 s; of 2,500, 3–4.5 s but peak RSS up to 195 MiB (from about 165), too near 200 MB.
    batchFiles: 2048,
    // Every commit script compares its target with the expected state (`stat` in the pod) before `mv`.
    checksTargetOnWrite: true,
  };
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly displayName: string,
    readonly shell: PodShell,
    readonly probe: ProbeResult,
    private readonly helper: HelperPod | undefined,
    /** True when the claim is mounted read-only in the pod used (a viewer pod): only pulls can work. */
    readonly readOnly = false,
    private readonly concurrency = 4,
    idleTimeoutSeconds = DEFAULT_IDLE_TIMEOUT_SECONDS,
    /** Leave the helper up at `close` for the next sync of the pair (see `PvcEndpointOptions.keepHelper`). */
    private readonly keepHelper = false,
  ) {
    if (helper !== undefined) {
      // Tells the helper it is in use; a crashed run stops this, and the helper ends itself when idle.
      const every = Math.max(1000, Math.min(60_000, (idleTimeoutSeconds * 1000) / 3));
      this.heartbeat = setInterval(() => {
        void execInPod(shell.target, { command: HEARTBEAT_COMMAND, idleTimeoutMs: 30_000 }).catch(() => undefined);
      }, every);
      this.heartbeat.unref();
    }
  }

  scan(options?: ScanOptions): Promise<ScanResult> {
    return scanRemote(this.shell, options);
  }

  listFolder(path: string, options?: ReadOptions): Promise<Entry[]> {
    return listRemoteFolder(this.shell, path, options);
  }

  hash(
    entries: readonly Entry[],
    options: ReadOptions = {},
  ): Promise<{ hashes: Map<string, string>; problems: Problem[] }> {
    return remoteHash(this.shell, entries, options.signal, this.concurrency);
  }

  readFiles(
    requests: readonly { path: string; entry: Entry; offset: number }[],
    options?: ReadOptions,
  ): AsyncIterable<IncomingFile> {
    return readRemoteFiles(this.shell, requests, options);
  }

  writeFiles(
    requests: readonly WriteRequest[],
    incoming: AsyncIterable<IncomingFile>,
    hooks?: WriteHooks,
  ): Promise<void> {
    if (requests.length > 0) this.assertWritable('write files');
    return writeRemoteFiles(this.shell, requests, incoming, hooks, { ddCountBytes: this.probe.ddCountBytes });
  }

  partialOffset(path: string, entry: Entry): Promise<number> {
    return remotePartialOffset(this.shell, path, entry);
  }

  mkdirs(entries: readonly Entry[]): Promise<Problem[]> {
    if (entries.length > 0) this.assertWritable('create folders');
    return remoteMkdirs(this.shell, entries);
  }

  remove(expected: readonly Entry[]): Promise<{ removed: string[]; problems: Problem[] }> {
    if (expected.length > 0) this.assertWritable('delete files');
    return remoteRemove(this.shell, expected);
  }

  rename(from: string, to: string, expected: Entry): Promise<void> {
    this.assertWritable('rename files');
    return remoteRename(this.shell, from, to, expected);
  }

  setMetadata(items: readonly { path: string; entry: Entry; expected: Entry }[]): Promise<Problem[]> {
    if (items.length > 0) this.assertWritable('set file times');
    return remoteSetMetadata(this.shell, items);
  }

  removeTemporaries(paths: readonly string[]): Promise<void> {
    return remoteRemoveTemporaries(this.shell, paths);
  }

  freeSpace(options: ReadOptions = {}): Promise<SpaceReport> {
    return volumeFreeSpace(this.shell, options.signal);
  }

  /**
   * Writes fail up front, with one clear error, where the claim is read-only in the pod (a viewer pod's
   * read-only mount, a read-only volume): pulls work, anything that would change the remote does not.
   */
  private assertWritable(what: string): void {
    if (!this.readOnly && this.probe.writable) return;
    const { namespace, pod } = this.shell.target;
    throw new TetherError(
      'read-only',
      `unable to ${what} on ${this.displayName}: the volume is read-only in the pod ${namespace}/${pod} (read-only file system); use a pull mode, or a pod that mounts the claim read-write`,
    );
  }

  /** A helper pod stays up between syncs only where it may outlive one (see `PvcEndpointOptions.keepHelper`). */
  get keepOpen(): boolean {
    return this.helper === undefined || this.keepHelper;
  }

  /**
   * Live sync keeps this endpoint: start a command session, so that the next small change needs no exec. Only
   * where the probe found a `dd` that reads exact blocks (`iflag=fullblock`), which the session needs.
   */
  async keepWarm(): Promise<void> {
    if (!this.closed && this.probe.ddCountBytes) await this.shell.openSession();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    await this.shell.closeSession();
    // A kept helper ends itself once its heartbeat is older than the idle timeout, unless a sync takes it over.
    if (!this.keepHelper) await this.helper?.delete();
  }
}

/** Who the helper pod of this remote belongs to: the user, the pair, and a key for this host + pair + remote. */
export function helperOwner(user: string, options: Pick<PvcEndpointOptions, 'pairName' | 'displayName'>): HelperOwner {
  const pair = options.pairName ?? '';
  return { user, pair, key: `o${fingerprint(`${hostname()}\0${pair}\0${options.displayName}`)}` };
}

/**
 * Opens a pvc:// remote: takes over the pair's helper pod when the last sync left it up (helperReuse.ts); else
 * checks the claim and the user's permissions, cleans up this remote's orphaned helper pods, starts a helper pod,
 * and readies it (subfolder, tools) in one exec.
 */
export async function createPvcEndpoint(location: PvcLocation, options: PvcEndpointOptions): Promise<PvcEndpoint> {
  if (location.subpath !== '') {
    const reason = invalidPathReason(location.subpath);
    if (reason !== undefined)
      throw new TetherError('bad-url', `${options.displayName}: the subpath is not usable (${reason})`);
  }
  const kubeConfig = loadKubeConfig(location, options);
  const { namespace, pvc } = location;
  const user = kubeConfig.getCurrentUser()?.name ?? 'you';
  const owner = helperOwner(user, options);
  const image = options.helperImage ?? DEFAULT_HELPER_IMAGE;
  const root = location.subpath === '' ? HELPER_MOUNT : `${HELPER_MOUNT}/${location.subpath}`;
  const helperShell = (pod: string, at: string): PodShell =>
    new PodShell(
      { kubeConfig, namespace, pod, container: 'helper', ...(options.v4Only === true ? { v4Only: true } : {}) },
      at,
      options.displayName,
    );
  const pods = options.pod === undefined ? await managedPods(kubeConfig, namespace) : [];
  const wantsKeep = options.keepHelper ?? (options.pairName ?? '') !== '';
  const reusable = wantsKeep ? reusableAmong(pods, owner, image, Date.now()) : undefined;
  if (reusable !== undefined) {
    // The previous sync's helper, still up: take it over when it proves alive (a failed exec means it is not).
    const probe = await readyHelper(
      helperShell(reusable.name, HELPER_MOUNT),
      location.subpath,
      reusable.idleTimeoutSeconds,
    ).catch(() => undefined);
    if (probe !== undefined) {
      await deleteOrphans(kubeConfig, namespace, owner, { pods, keep: reusable.name });
      return new PvcEndpoint(
        options.displayName,
        helperShell(reusable.name, root),
        probe,
        helperHandle(kubeConfig, namespace, reusable.name),
        false,
        options.concurrency,
        reusable.idleTimeoutSeconds,
        true,
      );
    }
  }
  const mayCreate =
    options.pod === undefined &&
    (
      await Promise.all([
        canI(kubeConfig, namespace, 'create', 'pods'),
        canI(kubeConfig, namespace, 'create', 'pods', 'exec'),
      ])
    ).every(Boolean);
  if (!mayCreate) {
    // No helper pod of one's own: go through a Running pod that mounts the claim (a notebook, a viewer).
    await checkClaim(kubeConfig, namespace, pvc);
    const mount = await findMountingPod(kubeConfig, namespace, pvc, options.pod);
    if (mount === undefined)
      throw new TetherError(
        'permission-denied',
        `${options.displayName} is read-only for you: ${user} may not create pods and exec into them in namespace ${namespace}, so Tether cannot start a helper pod there, and no Running pod you may exec into mounts the claim; ask a namespace admin for the edit role`,
      );
    const root = podPathFor(mount, location.subpath);
    if (root === undefined)
      throw new TetherError(
        'bad-url',
        `the pod ${namespace}/${mount.pod} mounts only ${mount.subPath} of the PVC ${pvc}, not ${location.subpath}`,
      );
    const shell = new PodShell(
      {
        kubeConfig,
        namespace,
        pod: mount.pod,
        container: mount.container,
        ...(options.v4Only === true ? { v4Only: true } : {}),
      },
      root,
      options.displayName,
    );
    return new PvcEndpoint(
      options.displayName,
      shell,
      await probePod(shell),
      undefined,
      mount.readOnly,
      options.concurrency,
    );
  }
  const { accessModes } = await checkClaim(kubeConfig, namespace, pvc);
  const rwo = accessModes.includes('ReadWriteOnce') && !accessModes.includes('ReadWriteMany');
  const sameNodeAs = rwo ? await mountingPod(kubeConfig, namespace, pvc) : undefined;
  await deleteOrphans(kubeConfig, namespace, owner, { pods });
  const keepHelper = wantsKeep && !rwo;
  const helper = await createHelperPod(kubeConfig, namespace, pvc, {
    owner,
    ...(options.idleTimeoutSeconds === undefined ? {} : { idleTimeoutSeconds: options.idleTimeoutSeconds }),
    ...(sameNodeAs === undefined ? {} : { sameNodeAs }),
    image,
    keep: keepHelper,
    ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
  });
  try {
    const probe = await readyHelper(helperShell(helper.name, HELPER_MOUNT), location.subpath);
    if (probe === undefined) throw new Error('unreachable: a new helper is never stale');
    return new PvcEndpoint(
      options.displayName,
      helperShell(helper.name, root),
      probe,
      helper,
      false,
      options.concurrency,
      options.idleTimeoutSeconds,
      keepHelper,
    );
  } catch (error) {
    await helper.delete().catch(() => undefined);
    throw error;
  }
}
