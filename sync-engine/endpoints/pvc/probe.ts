import { TetherError } from '../../errors.js';
import type { PodShell } from './podShell.js';
import { commandError } from './podShell.js';

/** The tools every operation of the PVC endpoint relies on. */
export const REQUIRED_TOOLS = [
  'tar',
  'find',
  'stat',
  'sha256sum',
  'head',
  'tail',
  'mv',
  'mkdir',
  'rm',
  'rmdir',
  'touch',
  'chmod',
  'cut',
  'xargs',
] as const;

export interface ProbeResult {
  readonly userland: 'gnu' | 'busybox';
  readonly missing: readonly string[];
  readonly writable: boolean;
  /**
   * `dd iflag=fullblock,count_bytes status=none` works: it copies exactly N bytes of stdin in 64 KiB blocks, where
   * BusyBox's `head -c` copies byte by byte (4 s of CPU per GiB in the pod, measured).
   */
  readonly ddCountBytes: boolean;
}

export const probeScript =
  'for t in "$@"; do command -v "$t" >/dev/null 2>&1 || printf "missing %s\\n" "$t"; done; ' +
  'v=$(tar --version 2>/dev/null); case "$v" in *GNU*) echo gnu;; *) echo busybox;; esac; ' +
  'if [ -w . ]; then echo writable; else echo read-only; fi; ' +
  'if [ "$(printf abc | dd bs=2 iflag=fullblock,count_bytes count=2 status=none 2>/dev/null)" = ab ]; then echo dd-count-bytes; fi';

/** Parses the probe's output. Pure. */
export function parseProbe(stdout: string): ProbeResult {
  const lines = stdout.split('\n');
  return {
    userland: lines.includes('gnu') ? 'gnu' : 'busybox',
    missing: lines.filter((line) => line.startsWith('missing ')).map((line) => line.slice(8)),
    writable: lines.includes('writable'),
    ddCountBytes: lines.includes('dd-count-bytes'),
  };
}

/** Probes the pod once; a missing tool is an error naming it and suggesting the helper pod. */
export async function probePod(shell: PodShell): Promise<ProbeResult> {
  const result = await shell.runRead(probeScript, REQUIRED_TOOLS);
  if (result.exitCode !== 0) throw commandError(shell.displayName, 'probe the pod', result);
  return checkProbe(shell, parseProbe(result.stdout.toString()));
}

/** The probe, or an error naming the tools the pod lacks and suggesting the helper pod. */
export function checkProbe(shell: PodShell, probe: ProbeResult): ProbeResult {
  if (probe.missing.length > 0)
    throw new TetherError(
      'remote-unreachable',
      `the pod ${shell.target.namespace}/${shell.target.pod} lacks ${probe.missing.join(', ')}, which Tether needs for ${shell.displayName}; use the helper pod (leave out --pod) or an image with BusyBox or GNU coreutils, findutils and tar`,
    );
  return probe;
}
