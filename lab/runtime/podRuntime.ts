import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { TetherError } from '../../sync-engine/errors.js';
import type { ImageFlavour, PodRuntime, Sandbox, SandboxProcess, SandboxSpec } from './contract.js';
import { findHostTools, prepareBusyboxImage, probeHostUserland } from './host.js';
import { flavourOf } from './images.js';
import {
  bwrapArguments,
  checkArgv,
  checkContainerPath,
  checkSpec,
  hostnameFor,
  sandboxDirName,
  sleepForever,
  writableHostPathOf,
  type SandboxLayout,
} from './sandboxLayout.js';
import { spawnSandboxProcess, type RunningProcess } from './sandboxProcess.js';

export interface PodRuntimeOptions {
  /** Where the runtime keeps its BusyBox image and the pods' writable layers (`sandboxes/`). */
  readonly stateDir: string;
  /** Defaults to /usr/bin/bwrap (Debian package bubblewrap). */
  readonly bwrapPath?: string;
  /** A statically linked BusyBox; defaults to /bin/busybox (Debian package busybox-static). */
  readonly busyboxPath?: string;
}

/** How long `stop()` waits for killed processes to be reaped before it removes the writable layer anyway. */
const reapTimeoutMs = 10_000;
/** How long a sandbox's dry run (`/bin/true` with all its mounts) may take. */
const preflightTimeoutMs = 15_000;

function badSpec(id: string, problems: readonly string[]): TetherError {
  return new TetherError('bad-argument', `cannot start sandbox ${id}: ${problems.join('; ')}`);
}

/** Whether a process still runs. A zombie (killed, not yet reaped by its parent) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/PID/stat: "PID (COMM) STATE ..."; COMM may hold spaces or parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Removes the writable layers left by runtimes whose process is gone (a lab that was killed). */
async function removeStaleInstances(sandboxesDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(sandboxesDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(entry.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) {
      // Safe: a sandbox's mounts live in its own mount namespace, so this only sees the host's directories.
      await rm(path.join(sandboxesDir, entry), { recursive: true, force: true });
    }
  }
}

const busyboxEtc: Readonly<Record<string, string>> = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n',
  group: 'root:x:0:\nnobody:x:65534:\n',
  hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n',
};

/** Lays out a fresh writable root: the directories every image has, and the flavour's symlinks and /etc. */
async function prepareRoot(layout: SandboxLayout): Promise<void> {
  const root = layout.rootDir;
  await mkdir(root, { recursive: true, mode: 0o755 });
  for (const [dir, mode] of [
    ['tmp', 0o1777],
    ['var/tmp', 0o1777],
    ['root', 0o700],
    ['home', 0o755],
    ['etc', 0o755],
    ['usr', 0o755],
  ] as const) {
    await mkdir(path.join(root, dir), { recursive: true });
    await chmod(path.join(root, dir), mode);
  }
  if (layout.flavour === 'busybox') {
    await symlink('bin', path.join(root, 'sbin'));
    await symlink('../bin', path.join(root, 'usr/bin'));
    await symlink('../bin', path.join(root, 'usr/sbin'));
    for (const [name, content] of Object.entries(busyboxEtc)) await writeFile(path.join(root, 'etc', name), content);
  } else {
    for (const entry of layout.host.topLevel) {
      if (entry.kind === 'symlink') await symlink(entry.target, path.join(root, entry.name));
    }
  }
}

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A pod runtime on bubblewrap. Each sandbox has its own PID, IPC and UTS namespaces, Docker's default
 * capabilities, a writable root under `stateDir` (shared by its main and exec processes, removed by `stop()`),
 * the image's userland read-only and the volumes at their mount paths.
 */
export function createPodRuntime(options: PodRuntimeOptions): PodRuntime {
  const tools = findHostTools(options.bwrapPath ?? '/usr/bin/bwrap', options.busyboxPath ?? '/bin/busybox');
  const host = probeHostUserland();
  const stateDir = path.resolve(options.stateDir);
  const sandboxesDir = path.join(stateDir, 'sandboxes');
  const instanceDir = path.join(sandboxesDir, `${process.pid}-${randomBytes(4).toString('hex')}`);
  const sandboxes = new Map<string, LabSandbox>();
  const starting = new Set<string>();
  let setup: Promise<string> | undefined;

  /** Once per runtime: clean up after killed labs, build the BusyBox image. Resolves with its bin directory. */
  function ensureSetUp(): Promise<string> {
    setup ??= (async () => {
      await removeStaleInstances(sandboxesDir);
      await mkdir(instanceDir, { recursive: true });
      return prepareBusyboxImage(stateDir, tools.applets);
    })();
    return setup;
  }

  async function preflight(layout: SandboxLayout, workingDir: string | undefined): Promise<void> {
    const dryRun = spawnSandboxProcess(tools.bwrapPath, bwrapArguments(layout, ['/bin/true'], workingDir), {
      stdio: 'pipe',
    });
    dryRun.stdin.end();
    dryRun.stdout.resume();
    const timer = setTimeout(() => dryRun.kill(), preflightTimeoutMs);
    const [code, stderr] = await Promise.all([dryRun.exited, collect(dryRun.stderr)]);
    clearTimeout(timer);
    if (code !== 0) {
      const reason = stderr.trim() || `bwrap exited with ${code}`;
      throw new TetherError('internal', `cannot set up sandbox ${layout.hostname}: ${reason}`);
    }
  }

  async function start(spec: SandboxSpec): Promise<Sandbox> {
    const flavour = flavourOf(spec.image);
    if (flavour === undefined) {
      throw new TetherError(
        'bad-argument',
        `cannot start sandbox ${spec.id}: the lab cannot pull image "${spec.image}"`,
      );
    }
    const problems = checkSpec(spec, flavour, host);
    for (const volume of spec.volumes) {
      const stats = await stat(volume.hostPath).catch(() => undefined);
      if (stats?.isDirectory() !== true) problems.push(`volume hostPath ${volume.hostPath} is not a directory`);
    }
    if (problems.length > 0) throw badSpec(spec.id, problems);
    if (starting.has(spec.id)) throw badSpec(spec.id, ['it is already being started']);
    const existing = sandboxes.get(spec.id);
    if (existing !== undefined && !existing.mainProcess.hasExited()) {
      throw badSpec(spec.id, ['it is already running; stop() it first']);
    }
    starting.add(spec.id);
    try {
      // A restarted container gets a fresh writable layer, as in Kubernetes.
      await existing?.stop();
      const busyboxBin = await ensureSetUp();
      const layout: SandboxLayout = {
        flavour,
        rootDir: path.join(instanceDir, sandboxDirName(spec.id), 'root'),
        busybox: { binDir: busyboxBin, binary: tools.busyboxPath },
        host,
        hostname: hostnameFor(spec.id),
        env: spec.env,
        volumes: spec.volumes,
      };
      await rm(path.dirname(layout.rootDir), { recursive: true, force: true });
      await prepareRoot(layout);
      if (spec.workingDir !== undefined) {
        // Like a container runtime, create the working directory when it is missing (where it can be created).
        const hostDir = writableHostPathOf(layout, spec.workingDir);
        if (hostDir !== undefined) await mkdir(hostDir, { recursive: true });
      }
      try {
        await preflight(layout, spec.workingDir);
      } catch (error) {
        await rm(path.dirname(layout.rootDir), { recursive: true, force: true });
        throw error;
      }
      const argv = spec.command.length > 0 ? spec.command : sleepForever;
      // Without a workingDir, processes start in "/" as in a container whose image sets none.
      const workingDir = spec.workingDir ?? '/';
      const main = spawnSandboxProcess(tools.bwrapPath, bwrapArguments(layout, argv, workingDir), { stdio: 'pod' });
      const sandbox = new LabSandbox(spec.id, flavour, { layout, workingDir }, tools.bwrapPath, main, () => {
        if (sandboxes.get(spec.id) === sandbox) sandboxes.delete(spec.id);
      });
      sandboxes.set(spec.id, sandbox);
      return sandbox;
    } finally {
      starting.delete(spec.id);
    }
  }

  return {
    flavourOf,
    start,
    async stopAll(): Promise<void> {
      await Promise.all([...sandboxes.values()].map((sandbox) => sandbox.stop()));
      if (existsSync(instanceDir)) await rm(instanceDir, { recursive: true, force: true });
    },
  };
}

class LabSandbox implements Sandbox {
  readonly main: SandboxProcess;
  private readonly processes = new Set<RunningProcess>();
  private stopping: Promise<void> | undefined;

  constructor(
    readonly id: string,
    readonly flavour: ImageFlavour,
    private readonly where: { readonly layout: SandboxLayout; readonly workingDir: string },
    private readonly bwrapPath: string,
    readonly mainProcess: RunningProcess,
    private readonly onStopped: () => void,
  ) {
    this.main = mainProcess;
    this.processes.add(mainProcess);
    // When a container's main process ends, so do the processes exec'd into it (they share its PID namespace in
    // Kubernetes; here they are separate sandboxes, so the runtime does it).
    void mainProcess.exited.then(() => {
      for (const child of this.processes) child.kill();
    });
  }

  exec(argv: readonly string[], options: { readonly workingDir?: string } = {}): SandboxProcess {
    const problems = checkArgv(argv);
    if (options.workingDir !== undefined) {
      const problem = checkContainerPath('workingDir', options.workingDir);
      if (problem !== undefined) problems.push(problem);
    }
    if (problems.length > 0) throw new TetherError('bad-argument', `cannot exec in ${this.id}: ${problems.join('; ')}`);
    if (this.stopping !== undefined) {
      throw new TetherError('bad-argument', `cannot exec in ${this.id}: the sandbox has been stopped`);
    }
    if (this.mainProcess.hasExited()) {
      throw new TetherError(
        'bad-argument',
        `cannot exec in ${this.id}: its container is not running (main process exited)`,
      );
    }
    const args = bwrapArguments(this.where.layout, argv, options.workingDir ?? this.where.workingDir);
    const child = spawnSandboxProcess(this.bwrapPath, args, { stdio: 'pipe' });
    this.processes.add(child);
    void child.exited.then(() => this.processes.delete(child));
    return child;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const running = [...this.processes];
      for (const child of running) child.kill();
      const reaped = Promise.all(running.map((child) => child.exited));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, reapTimeoutMs)));
      await Promise.race([reaped, timeout]);
      clearTimeout(timer);
      // Safe even while a process lingers: the volumes are mounted only inside the sandbox's mount namespace.
      await rm(path.dirname(this.where.layout.rootDir), { recursive: true, force: true });
      this.onStopped();
    })();
    return this.stopping;
  }
}
