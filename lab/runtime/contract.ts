import type { Readable, Writable } from 'node:stream';

/**
 * The contract between the lab's API server (which stores objects, schedules pods, authorizes requests) and
 * its pod runtime (bubblewrap sandboxes) and exec server (WebSocket channel protocol). Both sides code
 * against these types only.
 */

/** A volume as the sandbox sees it: a host directory bound at `mountPath`. */
export interface SandboxVolume {
  readonly mountPath: string;
  readonly hostPath: string;
  readonly readOnly: boolean;
}

export type ImageFlavour = 'busybox' | 'gnu';

export interface SandboxSpec {
  /** Unique and stable for the pod, e.g. `ml/tether-helper-abc12`. */
  readonly id: string;
  /** `busybox`, `busybox:1.36`, `docker.io/library/busybox:latest` → BusyBox; `debian`, `ubuntu`, `python` … → GNU. */
  readonly image: string;
  /** The main process's argv (the API server applies the image defaults: `sleep` forever when empty). */
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  readonly volumes: readonly SandboxVolume[];
}

/** One process started inside a sandbox. */
export interface SandboxProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves with the exit code (128 + signal number when killed by a signal). */
  readonly exited: Promise<number>;
  kill(): void;
}

export interface Sandbox {
  readonly id: string;
  readonly flavour: ImageFlavour;
  /** The main process: its exit moves the pod to Succeeded (0) or Failed. */
  readonly main: SandboxProcess;
  /** Starts another process in the same filesystem view (what `kubectl exec` does). */
  exec(argv: readonly string[], options?: { readonly workingDir?: string }): SandboxProcess;
  /** Kills every process of the sandbox and removes its scratch state. Idempotent. */
  stop(): Promise<void>;
}

export interface PodRuntime {
  /** Which userland an image maps to, or undefined when the lab cannot "pull" it (→ ErrImagePull). */
  flavourOf(image: string): ImageFlavour | undefined;
  start(spec: SandboxSpec): Promise<Sandbox>;
  /** Stops every sandbox (lab shutdown). */
  stopAll(): Promise<void>;
}

/** Faults the lab can inject into exec streams, changeable at run time. */
export interface ExecFaults {
  /** Close the WebSocket abruptly after this many payload bytes (stdin + stdout) in one session. */
  readonly cutAfterBytes?: number;
  /** Added delay before each frame is forwarded, in ms. */
  readonly latencyMs?: number;
  /** Cap on bytes per second, each direction, per session. */
  readonly bandwidthBytesPerSecond?: number;
  /** Offer only `v4.channel.k8s.io` (no stdin half-close), like older or OpenShift-like clusters. */
  readonly v4Only?: boolean;
}
