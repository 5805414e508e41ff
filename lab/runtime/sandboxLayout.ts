import { createHash } from 'node:crypto';
import path from 'node:path';

import type { ImageFlavour, SandboxSpec, SandboxVolume } from './contract.js';

/**
 * The pure half of the runtime: it checks a sandbox spec and turns it into bubblewrap arguments. It reads no
 * disk; what it needs to know about the host (how `/bin`, `/lib*` are laid out, which `/etc` files exist) comes
 * in as a `HostUserland`.
 */

export type HostTopLevelEntry =
  | { readonly name: string; readonly kind: 'symlink'; readonly target: string }
  | { readonly name: string; readonly kind: 'directory' };

export interface HostUserland {
  /** `bin`, `sbin`, `lib`, `lib64`…: symlinks on a merged-/usr host (recreated in the sandbox), else directories (bound). */
  readonly topLevel: readonly HostTopLevelEntry[];
  /** Absolute paths under /etc that GNU programs read (passwd, nsswitch.conf, ld.so.cache, alternatives…). */
  readonly etc: readonly string[];
}

export interface SandboxLayout {
  readonly flavour: ImageFlavour;
  /** Host directory bound read-write at `/`: the container's writable layer, shared by main and exec processes. */
  readonly rootDir: string;
  /** BusyBox flavour: a directory of applet symlinks bound at /bin, and the binary bound at /bin/busybox. */
  readonly busybox: { readonly binDir: string; readonly binary: string };
  readonly host: HostUserland;
  readonly hostname: string;
  readonly env: Readonly<Record<string, string>>;
  readonly volumes: readonly SandboxVolume[];
}

/** The capabilities a Docker/containerd container gets by default; everything else (SYS_ADMIN…) is dropped. */
export const defaultCapabilities: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const defaultPath: Readonly<Record<ImageFlavour, string>> = {
  busybox: '/bin',
  gnu: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
};

/** What a pod runs when its spec gives no command: sleep "forever" (works with BusyBox and GNU sleep). */
export const sleepForever: readonly string[] = ['sleep', '2147483647'];

const idPattern = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** A directory name for a sandbox id: readable, and distinct for distinct ids (`ml/pod` and `ml_pod` differ). */
export function sandboxDirName(id: string): string {
  const readable = id.replaceAll('/', '_').slice(0, 100);
  const digest = createHash('sha256').update(id).digest('hex').slice(0, 10);
  return `${readable}-${digest}`;
}

/** The pod's hostname: the last part of its id, as an RFC 1123 label (what Kubernetes sets from the pod name). */
export function hostnameFor(id: string): string {
  const name = id.slice(id.lastIndexOf('/') + 1).toLowerCase();
  const label = name
    .replaceAll(/[^a-z0-9-]/g, '-')
    .slice(0, 63)
    .replaceAll(/^-+|-+$/g, '');
  return label.length > 0 ? label : 'pod';
}

/** Absolute, normalised container path (no `..`, no `//`, no trailing slash, not `/`), or a message saying why not. */
export function checkContainerPath(what: string, p: string): string | undefined {
  if (p.includes('\0')) return `${what} contains a NUL byte`;
  if (!p.startsWith('/')) return `${what} "${p}" must be an absolute path`;
  if (p === '/') return `${what} must not be "/"`;
  if (path.posix.normalize(p) !== p || p.endsWith('/')) {
    return `${what} "${p}" must be a normalised path (no "..", "." or "//", no trailing "/")`;
  }
  if (p.split('/').includes('..')) return `${what} "${p}" must not contain ".."`;
  return undefined;
}

function isAtOrUnder(p: string, base: string): boolean {
  return p === base || p.startsWith(`${base}/`);
}

/** Container paths the sandbox itself mounts: a volume may not cover them. */
export function systemPaths(flavour: ImageFlavour, host: HostUserland): string[] {
  const common = ['/proc', '/dev', '/sys'];
  if (flavour === 'busybox') return [...common, '/bin'];
  return [...common, '/usr', ...host.topLevel.map((entry) => `/${entry.name}`), ...host.etc];
}

/** Every problem with a spec, as messages (empty when the spec is fine). Host paths are checked for shape only. */
export function checkSpec(spec: SandboxSpec, flavour: ImageFlavour, host: HostUserland): string[] {
  const problems: string[] = [];
  if (!idPattern.test(spec.id) || spec.id.length > 253 || spec.id.split('/').some((part) => /^\.+$/.test(part))) {
    problems.push(`sandbox id "${spec.id}" must be slash-separated names of letters, digits, ".", "_" or "-"`);
  }
  problems.push(...checkArgv(spec.command, true));
  for (const [name, value] of Object.entries(spec.env)) {
    if (name.length === 0 || name.includes('=') || name.includes('\0')) {
      problems.push(`environment variable name "${name}" must be non-empty without "=" or NUL`);
    }
    if (value.includes('\0')) problems.push(`environment variable ${name} contains a NUL byte`);
  }
  if (spec.workingDir !== undefined) {
    const problem = checkContainerPath('workingDir', spec.workingDir);
    if (problem !== undefined) problems.push(problem);
  }
  const reserved = systemPaths(flavour, host);
  const seen = new Set<string>();
  for (const volume of spec.volumes) {
    const problem = checkContainerPath('volume mountPath', volume.mountPath);
    if (problem !== undefined) {
      problems.push(problem);
      continue;
    }
    if (seen.has(volume.mountPath)) problems.push(`two volumes are mounted at ${volume.mountPath}`);
    seen.add(volume.mountPath);
    const clash = reserved.find(
      (system) => isAtOrUnder(volume.mountPath, system) || isAtOrUnder(system, volume.mountPath),
    );
    if (clash !== undefined) {
      problems.push(`volume mountPath ${volume.mountPath} would cover ${clash}, which the ${flavour} image provides`);
    }
    if (!path.isAbsolute(volume.hostPath) || volume.hostPath.includes('\0')) {
      problems.push(`volume hostPath "${volume.hostPath}" must be an absolute path`);
    }
  }
  return problems;
}

/** Problems with an argv (empty when fine). `allowEmpty`: a pod's command may be empty (the runtime sleeps). */
export function checkArgv(argv: readonly string[], allowEmpty = false): string[] {
  if (argv.length === 0 && !allowEmpty) return ['the command is empty: give at least the program to run'];
  return argv.some((arg) => arg.includes('\0')) ? ['a command argument contains a NUL byte'] : [];
}

/** Volumes in mount order: parents before the volumes nested in them. */
function mountOrder(volumes: readonly SandboxVolume[]): SandboxVolume[] {
  return [...volumes].sort((a, b) => a.mountPath.split('/').length - b.mountPath.split('/').length);
}

/**
 * The full bubblewrap command line (after the program name) that runs `argv` in the sandbox. Every process of a
 * sandbox, main or exec, gets the same mounts, so they see the same files.
 *
 * The network is not unshared: like pods on a real cluster, sandboxes can reach the lab's services (the PHFS
 * store on 127.0.0.1), and the lab has no cluster network to give them instead.
 */
export function bwrapArguments(layout: SandboxLayout, argv: readonly string[], workingDir?: string): string[] {
  const args = ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session'];
  args.push('--hostname', layout.hostname, '--cap-drop', 'ALL');
  for (const capability of defaultCapabilities) args.push('--cap-add', capability);
  args.push('--bind', layout.rootDir, '/');
  if (layout.flavour === 'busybox') {
    args.push('--ro-bind', layout.busybox.binDir, '/bin', '--ro-bind', layout.busybox.binary, '/bin/busybox');
  } else {
    args.push('--ro-bind', '/usr', '/usr');
    for (const entry of layout.host.topLevel) {
      // Symlinks (merged /usr) already exist in rootDir; only real directories need a bind.
      if (entry.kind === 'directory') args.push('--ro-bind', `/${entry.name}`, `/${entry.name}`);
    }
    for (const file of layout.host.etc) args.push('--ro-bind', file, file);
  }
  args.push('--proc', '/proc', '--dev', '/dev');
  for (const volume of mountOrder(layout.volumes)) {
    args.push(volume.readOnly ? '--ro-bind' : '--bind', volume.hostPath, volume.mountPath);
  }
  args.push('--clearenv');
  args.push('--setenv', 'PATH', defaultPath[layout.flavour]);
  args.push('--setenv', 'HOSTNAME', layout.hostname, '--setenv', 'HOME', '/root');
  for (const [name, value] of Object.entries(layout.env)) args.push('--setenv', name, value);
  if (workingDir !== undefined) args.push('--chdir', workingDir);
  args.push('--', ...argv);
  return args;
}

/**
 * Where a container path lives on the host: inside the volume mounted deepest above it, else in the writable root.
 * Undefined for system paths (read-only) and read-only volumes.
 */
export function writableHostPathOf(layout: SandboxLayout, containerPath: string): string | undefined {
  if (systemPaths(layout.flavour, layout.host).some((system) => isAtOrUnder(containerPath, system))) return undefined;
  const volume = mountOrder(layout.volumes)
    .reverse()
    .find((candidate) => isAtOrUnder(containerPath, candidate.mountPath));
  if (volume === undefined) return path.join(layout.rootDir, containerPath);
  if (volume.readOnly) return undefined;
  return path.join(volume.hostPath, path.posix.relative(volume.mountPath, containerPath));
}
