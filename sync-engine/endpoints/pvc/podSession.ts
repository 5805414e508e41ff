import { randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { TetherError } from '../../errors.js';
import type { ExecResult, ExecTarget } from './execClient.js';
import { execInPod } from './execClient.js';

/**
 * A shell kept running in the pod, that runs one command after another from its stdin: a command run through it
 * costs no exec of its own. Starting an exec (a WebSocket, the API server, the kubelet, a process in the
 * container) takes 30–40 ms in the lab and more on real clusters; a live change to one small file is one
 * command, so the exec was most of its latency. Used only while endpoints are kept open for live sync.
 *
 * The protocol, on the session's stdin, per command:
 * - a line `ID N LEN`: a random id, the number of argument lines, the bytes of stdin that follow them;
 * - N lines, the command's argv (the script first; no argument may hold a newline: those commands use an exec);
 * - exactly LEN bytes, read as one block by `dd bs=LEN count=1 iflag=fullblock` (which, unlike `head -c`, reads
 *   no further) into a file that becomes the command's stdin. dd reports "1+0 records in" only for the whole
 *   block: a stream cut short ends the session before the command runs on part of its stdin.
 * A line `q` ends the session (under v4, stdin cannot be closed).
 * The script runs in a subshell, through `eval`, with the arguments as its positional parameters, as `sh -c`
 * would run it. Its stdout goes out as it comes; its stderr waits in a file. Then the shell writes, on stdout,
 * `\0ID CODE\0`, the stderr, and `\0ID\0`. The id is random per command and never echoed by anything else, so
 * nothing a command prints can be read as the end of it, and neither can file names.
 */
export const serverScript =
  '__d=$(mktemp -d) || exit 1; trap \'rm -rf -- "$__d"\' EXIT; printf "\\0%s ready\\0" "$1"; ' +
  'while IFS= read -r __h; do [ "$__h" = q ] && break; ' +
  '__id=${__h%% *}; __r=${__h#* }; __n=${__r%% *}; __l=${__r#* }; set --; ' +
  'while [ "$__n" -gt 0 ]; do IFS= read -r __a || exit 1; set -- "$@" "$__a"; __n=$((__n - 1)); done; ' +
  'if [ "$__l" -gt 0 ]; then dd bs="$__l" count=1 iflag=fullblock of="$__d/i" 2> "$__d/s" || exit 1; ' +
  'IFS= read -r __s < "$__d/s"; [ "${__s%% *}" = 1+0 ] || exit 1; else : > "$__d/i"; fi; ' +
  '( __s=$1; shift; unset __h __r __n __l __a __id __d; eval "$__s" ) < "$__d/i" 2> "$__d/e"; __c=$?; ' +
  'printf "\\0%s %s\\0" "$__id" "$__c"; if [ -s "$__d/e" ]; then cat -- "$__d/e"; fi; printf "\\0%s\\0" "$__id"; done';

/** Commands whose stdin is larger than this use an exec (the session writes stdin to a file in the pod first). */
const SESSION_MAX_STDIN = 2 * 1024 * 1024;
/** …and so do commands whose arguments take more than this. */
const SESSION_MAX_ARGS = 64 * 1024;
/** A command that prints nothing for this long ends the session (its exec would time out the same way). */
const DEFAULT_IDLE_MS = 60_000;
/** At most this much output per command (as an exec collects at most). */
const MAX_OUTPUT = 256 * 1024 * 1024;
/** Longer than any marker: `\0`, a 32-digit id or token, a space, an exit code or "ready", `\0`. */
const TAIL_BYTES = 64;

interface Pending {
  readonly id: string;
  readonly resolve: (result: ExecResult) => void;
  readonly reject: (error: Error) => void;
  readonly idleMs: number;
  lastActivity: number;
}

/**
 * One session; see the protocol above. `run` answers undefined when the session cannot take the command (not
 * ready, busy with another, ended, or a command it does not carry): the caller then uses an exec.
 */
export class PodSession {
  readonly #what: string;
  readonly #token = randomBytes(16).toString('hex');
  readonly #stdin = new PassThrough();
  readonly #abort = new AbortController();
  #output: Buffer[] = [];
  #outputBytes = 0;
  /** The output's last bytes, where the markers are looked for. */
  #tail = Buffer.alloc(0);
  #ready = false;
  #ended = false;
  #pending: Pending | undefined;
  readonly #timer: NodeJS.Timeout;
  /** Settles when the session's exec ends (never rejects). */
  readonly done: Promise<void>;
  /** Resolves true once the shell in the pod is ready, false if it never was. */
  readonly ready: Promise<boolean>;
  #setReady: (ready: boolean) => void = () => undefined;

  constructor(target: ExecTarget) {
    this.#what = `the command session in pod ${target.namespace}/${target.pod}`;
    this.ready = new Promise((resolve) => (this.#setReady = resolve));
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.#received(chunk);
        callback();
      },
    });
    this.#timer = setInterval(() => this.#checkIdle(), 1000);
    this.#timer.unref();
    this.done = execInPod(target, {
      command: ['sh', '-c', serverScript, 'sh', this.#token],
      stdin: this.#stdin,
      stdinOpenEnded: true,
      stdout: sink,
      // Idle between commands is normal; a command's own silence is timed by #checkIdle.
      idleTimeoutMs: 7 * 24 * 3600 * 1000,
      signal: this.#abort.signal,
    }).then(
      (result) => this.#end(this.#ended ? undefined : `it ended (exit code ${result.exitCode}) ${result.stderr}`),
      (error: unknown) => this.#end(error instanceof Error ? error.message : String(error)),
    );
  }

  /** Whether the session has ended (or is ending). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the session is up and free now. */
  get idle(): boolean {
    return this.#ready && !this.#ended && this.#pending === undefined;
  }

  /**
   * Runs `argv` (a script for `eval` and its positional parameters) with `stdin`; undefined when the session
   * cannot take it now (see the class). A session that breaks while the command runs rejects as a cut exec
   * would: whether the command ran is unknown.
   */
  run(
    argv: readonly string[],
    stdin: Buffer | undefined,
    options: { readonly signal?: AbortSignal; readonly idleTimeoutMs?: number } = {},
  ): Promise<ExecResult> | undefined {
    if (!this.idle || options.signal?.aborted === true) return undefined;
    if ((stdin?.length ?? 0) > SESSION_MAX_STDIN) return undefined;
    let argBytes = 0;
    for (const arg of argv) {
      if (arg.includes('\n') || arg.includes('\0')) return undefined;
      argBytes += Buffer.byteLength(arg) + 1;
    }
    if (argBytes > SESSION_MAX_ARGS) return undefined;
    const id = randomBytes(16).toString('hex');
    const payload = stdin ?? Buffer.alloc(0);
    return new Promise<ExecResult>((resolve, reject) => {
      const onAbort = (): void => this.#kill(new TetherError('cancelled', `${this.#what}: the command was cancelled`));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => options.signal?.removeEventListener('abort', onAbort);
      this.#pending = {
        id,
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        idleMs: options.idleTimeoutMs ?? DEFAULT_IDLE_MS,
        lastActivity: Date.now(),
      };
      this.#clearOutput();
      const head = `${id} ${argv.length} ${payload.length}\n${argv.map((arg) => `${arg}\n`).join('')}`;
      this.#stdin.write(payload.length === 0 ? Buffer.from(head) : Buffer.concat([Buffer.from(head), payload]));
    });
  }

  /** Ends the session: asks the shell to stop, and stops the exec if it does not within `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    if (!this.#ended) {
      this.#ended = true;
      this.#stdin.end('q\n');
      const timer = setTimeout(() => this.#abort.abort(), graceMs);
      timer.unref();
      await this.done;
      clearTimeout(timer);
    }
    await this.done;
  }

  #received(chunk: Buffer): void {
    this.#outputBytes += chunk.length;
    if (this.#outputBytes > MAX_OUTPUT) {
      this.#kill(new TetherError('transfer-failed', `${this.#what}: output larger than expected`));
      return;
    }
    this.#output.push(chunk);
    if (this.#pending !== undefined) this.#pending.lastActivity = Date.now();
    // Each marker ends what the shell writes until the next command: only the output's last bytes are looked at.
    this.#tail = Buffer.from(Buffer.concat([this.#tail, chunk]).subarray(-TAIL_BYTES));
    if (!this.#ready) {
      // The shell's first words are the ready marker, and nothing else.
      const marker = Buffer.from(`\0${this.#token} ready\0`);
      const sofar = Buffer.concat(this.#output, this.#outputBytes);
      if (!marker.subarray(0, sofar.length).equals(sofar) || sofar.length > marker.length)
        this.#kill(new TetherError('transfer-failed', `${this.#what}: unexpected output at the start`));
      else if (sofar.length === marker.length) {
        this.#ready = true;
        this.#clearOutput();
        this.#setReady(true);
      }
      return;
    }
    const pending = this.#pending;
    if (pending === undefined) {
      this.#kill(new TetherError('transfer-failed', `${this.#what}: output while no command ran`));
      return;
    }
    const end = Buffer.from(`\0${pending.id}\0`);
    if (this.#tail.length < end.length || !this.#tail.subarray(-end.length).equals(end)) return;
    const all = Buffer.concat(this.#output, this.#outputBytes);
    const endAt = all.length - end.length;
    const start = Buffer.from(`\0${pending.id} `);
    const startAt = all.lastIndexOf(start, endAt);
    const codeEnd = startAt < 0 ? -1 : all.indexOf(0, startAt + start.length);
    const code = all.subarray(startAt + start.length, codeEnd).toString();
    if (startAt < 0 || codeEnd < 0 || codeEnd > endAt || !/^\d{1,3}$/.test(code)) {
      this.#kill(new TetherError('transfer-failed', `${this.#what}: unreadable end of a command`));
      return;
    }
    this.#pending = undefined;
    this.#clearOutput();
    pending.resolve({
      exitCode: Number(code),
      stdout: all.subarray(0, startAt),
      stderr: all.subarray(codeEnd + 1, endAt).toString(),
      protocol: 'session',
    });
  }

  #clearOutput(): void {
    this.#output = [];
    this.#outputBytes = 0;
    this.#tail = Buffer.alloc(0);
  }

  #checkIdle(): void {
    const pending = this.#pending;
    if (pending !== undefined && Date.now() - pending.lastActivity > pending.idleMs)
      this.#kill(
        new TetherError('remote-unreachable', `${this.#what} timed out: nothing moved for ${pending.idleMs / 1000} s`, {
          retryable: true,
        }),
      );
  }

  /** Fails the command running (if any) with `error` and stops the session. */
  #kill(error: Error): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#ended = true;
    pending?.reject(error);
    this.#abort.abort();
  }

  #end(reason: string | undefined): void {
    clearInterval(this.#timer);
    this.#stdin.destroy();
    const pending = this.#pending;
    this.#pending = undefined;
    this.#ended = true;
    this.#setReady(false);
    pending?.reject(
      new TetherError(
        'remote-unreachable',
        `${this.#what} ended before the command finished${reason === undefined ? '' : `: ${reason.trim().slice(0, 300)}`}`,
        { retryable: true },
      ),
    );
  }
}
