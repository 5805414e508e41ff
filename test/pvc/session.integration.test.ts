import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRemote } from '../../sync-engine/endpoints/open.js';
import { execSessionCounts } from '../../sync-engine/endpoints/pvc/execClient.js';
import type { ExecResult } from '../../sync-engine/endpoints/pvc/execClient.js';
import { PodShell } from '../../sync-engine/endpoints/pvc/podShell.js';
import { PvcEndpoint } from '../../sync-engine/endpoints/pvc/pvcEndpoint.js';
import { startPvcLab } from './helpers.js';
import type { PvcLab } from './helpers.js';

/**
 * The command session (podSession.ts): commands run through a shell kept in the pod must behave exactly as the
 * same commands run by their own exec (exit code, stdout, stderr, stdin, argv), and a session that cannot carry
 * a command, or that breaks, must leave the command to an exec.
 */
let lab: PvcLab;

beforeAll(async () => {
  lab = await startPvcLab();
}, 120_000);
afterAll(async () => {
  await lab.stop();
}, 60_000);

/** Arguments a shell could misread: each must arrive as one argv element, byte for byte. */
const HOSTILE = ['$(reboot)', '-rf', `a"b'c`, ' lead and trail ', 'back\\slash\\n', '', 'q', '*', 'ünïcode', '\t'];

/**
 * Prints its argv but the first NUL-terminated, then as many bytes of stdin as the first says (read to the end,
 * stdin never ends under v4), a line on stderr, and exits with code 42.
 */
const ECHO =
  'n=$1; shift; for a in "$@"; do printf "%s\\0" "$a"; done; head -c "$n"; echo "to stderr: $#" >&2; exit 42';

/** What a command gave, without the protocol that carried it. */
function outcome(result: ExecResult): { exitCode: number; stdout: string; stderr: string } {
  return { exitCode: result.exitCode, stdout: result.stdout.toString('latin1'), stderr: result.stderr };
}

async function openShell(image: string, root: string): Promise<{ endpoint: PvcEndpoint; shell: PodShell }> {
  const endpoint = await openRemote(`pvc://alice@group-vision/vision-archive/${root}`, {
    options: { kubeconfig: lab.lab.kubeconfig, helperIdleSeconds: '0', helperImage: image },
  });
  if (!(endpoint instanceof PvcEndpoint)) throw new Error('a pvc:// remote opened as another kind of endpoint');
  return { endpoint, shell: endpoint.shell };
}

describe.each([
  ['BusyBox', 'busybox:1.36', false],
  ['GNU', 'debian:12', false],
  ['BusyBox, v4 only', 'busybox:1.36', true],
])('the command session in a %s helper', (_name, image, v4Only) => {
  it('runs commands exactly as their own execs do, one after another, without an exec each', async () => {
    const { endpoint, shell: opened } = await openShell(image, `tests/session-${image.replace(/\W/g, '-')}-${v4Only}`);
    const shell = new PodShell({ ...opened.target, v4Only }, opened.root, opened.displayName);
    try {
      // Binary stdin: NULs, newlines, a line that reads as the session's own "q", bytes that are not UTF-8.
      const stdin = Buffer.concat([
        Buffer.from('line\nq\n\0ready\0'),
        Buffer.from([0xff, 0xfe, 0, 10]),
        Buffer.alloc(70_000, 7),
      ]);
      const byExec = outcome(await shell.run(ECHO, [String(stdin.length), ...HOSTILE], { stdin }));
      expect(byExec.exitCode).toBe(42);
      expect(byExec.stdout).toBe(
        Buffer.concat([Buffer.from(HOSTILE.map((a) => `${a}\0`).join('')), stdin]).toString('latin1'),
      );
      expect(byExec.stderr).toBe(`to stderr: ${HOSTILE.length}\n`);

      await shell.openSession();
      execSessionCounts(true);
      expect(outcome(await shell.run(ECHO, [String(stdin.length), ...HOSTILE], { stdin }))).toEqual(byExec);
      // A command after a failed one, with no stdin and no output at all.
      expect(outcome(await shell.run('exit 0', []))).toEqual({ exitCode: 0, stdout: '', stderr: '' });
      // The prelude's own failure (a root that does not exist) comes back as from an exec.
      const missing = new PodShell(shell.target, `${shell.root}/absent`, shell.displayName);
      expect((await missing.run('true', [])).exitCode).toBe(3);
      // The session carried all three; the missing root's shell has none of its own and used an exec.
      expect(execSessionCounts().started).toBe(1);

      // Through the session, a command changes the volume as it would by exec (checked with kubectl).
      execSessionCounts(true);
      await shell.run('printf %s "$2" > "./$1"', ['via session.txt', 'written in the session']);
      expect(execSessionCounts().started).toBe(0);
      const read = await lab.exec('group-vision', shell.target.pod, 'cat', `${shell.root}/via session.txt`);
      expect(read.stdout.toString()).toBe('written in the session');
    } finally {
      await shell.closeSession();
      await endpoint.close();
    }
    // Closing ends the session's exec (under v4 too, where stdin cannot be closed: the shell is told to stop).
    expect(execSessionCounts().active).toBe(0);
  }, 60_000);
});

describe('the command session, when it cannot carry a command or breaks', () => {
  it('leaves what it cannot carry to an exec; a broken session fails its command as a cut exec, and execs take over', async () => {
    const { endpoint, shell } = await openShell('busybox:1.36', 'tests/session-fallback');
    try {
      await shell.openSession();
      // An argument with a newline cannot travel as a line: an exec carries it, byte for byte.
      execSessionCounts(true);
      const multiline = await shell.run(ECHO, ['0', 'one\ntwo']);
      expect(multiline.stdout.toString()).toBe('one\ntwo\0');
      expect(execSessionCounts().started).toBe(1);
      // Nor a stdin over 2 MiB (the session writes stdin to a file in the pod first).
      execSessionCounts(true);
      const large = Buffer.alloc(2 * 1024 * 1024 + 1, 3);
      const counted = await shell.run('head -c "$1" | wc -c', [String(large.length)], { stdin: large });
      expect(counted.stdout.toString().trim()).toBe(String(large.length));
      expect(execSessionCounts().started).toBe(1);
      // Two commands at once: the session takes one, an exec the other.
      execSessionCounts(true);
      const both = await Promise.all([shell.run('sleep 0.2; echo a', []), shell.run('echo b', [])]);
      expect(both.map((r) => r.stdout.toString())).toEqual(['a\n', 'b\n']);
      expect(execSessionCounts().started).toBe(1);

      // The session's stream is cut while a command's stdin is on the way: that command fails as a cut exec
      // would (whether it ran is unknown)…
      await shell.closeSession();
      lab.lab.setFaults({ exec: { cutAfterBytes: 50_000 } });
      try {
        await shell.openSession();
      } finally {
        lab.lab.setFaults({ exec: {} });
      }
      execSessionCounts(true);
      await expect(shell.run('cat > /dev/null', [], { stdin: Buffer.alloc(100_000) })).rejects.toMatchObject({
        code: 'remote-unreachable',
      });
      expect(execSessionCounts().started).toBe(0);
      // …and the next command goes by exec.
      execSessionCounts(true);
      expect((await shell.run('echo after', [])).stdout.toString()).toBe('after\n');
      expect(execSessionCounts().started).toBe(1);
    } finally {
      await shell.closeSession();
      await endpoint.close();
    }
  }, 60_000);
});
