import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { serverScript } from './podSession.js';

/**
 * The session's shell (podSession.ts), run here by BusyBox's ash and Debian's dash with stdin written by hand:
 * what a cut stream does to it cannot be seen in the lab, whose cut also kills the pod's processes.
 */
const work = mkdtempSync(join(tmpdir(), 'tether-session-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SHELLS: [string, string[]][] = [
  ['BusyBox ash', ['busybox', 'sh']],
  ['dash', ['sh']],
];
const TOKEN = 'a'.repeat(32);
const ID = 'b'.repeat(32);

/** Runs the session's shell on `input` (then EOF); its exit code and stdout. */
function session(shell: string[], input: Buffer): { status: number | null; stdout: Buffer } {
  const [command = 'sh', ...args] = shell;
  const result = spawnSync(command, [...args, '-c', serverScript, 'sh', TOKEN], { input, cwd: work, timeout: 10_000 });
  return { status: result.status, stdout: result.stdout };
}

/** One command: the header, its argv as lines, then `stdin` (whole, or cut short). */
function request(argv: readonly string[], stdin: Buffer, sent = stdin.length): Buffer {
  const head = `${ID} ${argv.length} ${stdin.length}\n${argv.map((arg) => `${arg}\n`).join('')}`;
  return Buffer.concat([Buffer.from(head), stdin.subarray(0, sent)]);
}

describe.each(SHELLS)('the command session under %s', (_name, shell) => {
  it('runs a command on exactly its stdin and marks its end with its exit code and stderr', () => {
    const stdin = Buffer.concat([Buffer.from('payload\nq\n'), Buffer.alloc(100_000, 1)]);
    const script = 'printf "%s|" "$@"; head -c 8; echo oops >&2; exit 7';
    const { status, stdout } = session(shell, Buffer.concat([request([script, 'x y', ''], stdin), Buffer.from('q\n')]));
    expect(status).toBe(0);
    expect(stdout.toString('latin1')).toBe(`\0${TOKEN} ready\0x y||payload\n\0${ID} 7\0oops\n\0${ID}\0`);
  });

  it('a stream cut short in the middle of a stdin ends the session before the command runs', () => {
    const marker = join(work, `ran-${shell.join('-')}`);
    const stdin = Buffer.alloc(100_000, 2);
    const { status, stdout } = session(shell, request(['touch -- "$1"', marker], stdin, 60_000));
    expect(status).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(stdout.toString('latin1')).toBe(`\0${TOKEN} ready\0`);
  });
});
