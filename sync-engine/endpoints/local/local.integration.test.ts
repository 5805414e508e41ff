/**
 * Local endpoint cases that need a real separate process: an unprivileged user (root reads through
 * `chmod 000`) and a small full filesystem (a size-limited tmpfs inside bubblewrap).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScanResult } from '../endpoint.js';
import { runningAsRoot, TempDirs, writeFile } from './testFixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const endpointModule = pathToFileURL(fileURLToPath(new URL('./localEndpoint.ts', import.meta.url))).href;
const NOBODY = 65534;

/** Runs an ES module snippet under tsx (so it can import this folder's sources) and returns its stdout. */
async function runSnippet(
  code: string,
  args: readonly string[],
  options: SpawnOptions & { prefix?: string[] } = {},
): Promise<string> {
  const { prefix = [], ...spawnOptions } = options;
  const argv = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', code, ...args];
  const [command, ...rest] = [...prefix, ...argv];
  const child = spawn(command!, rest, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (status !== 0) throw new Error(`snippet failed (${String(status)}): ${stderr}`);
  return stdout;
}

describe('local endpoint in a separate process', () => {
  it('puts folders it may not read or search into unlisted, never treating them as empty', async () => {
    const root = dirs.make();
    chmodSync(root, 0o755);
    writeFile(root, 'locked/file', 'x');
    writeFile(root, 'unsearchable/file', 'x');
    writeFile(root, 'open/file', 'x');
    chmodSync(`${root}/locked`, 0o000);
    chmodSync(`${root}/unsearchable`, 0o644); // listable, but entries cannot be examined
    const code = `
      const { createLocalEndpoint } = await import(${JSON.stringify(endpointModule)});
      const endpoint = await createLocalEndpoint(process.argv[1]);
      const result = await endpoint.scan();
      await endpoint.close();
      process.stdout.write(JSON.stringify(result));
    `;
    // As root, drop to "nobody" for the scan; otherwise the permission bits already apply to us.
    const stdout = await runSnippet(code, [root], runningAsRoot ? { uid: NOBODY, gid: NOBODY } : {});
    chmodSync(`${root}/locked`, 0o755);
    chmodSync(`${root}/unsearchable`, 0o755);
    const result = JSON.parse(stdout) as ScanResult;
    expect([...result.unlisted].sort()).toEqual(['locked', 'unsearchable']);
    expect(result.problems.map((p) => p.path).sort()).toEqual(['locked', 'unsearchable']);
    expect(result.problems.find((p) => p.path === 'locked')?.message).toMatch(
      /could not list this folder \(EACCES.*\); nothing in it is synced until it can be read/,
    );
    expect(result.entries.map((e) => e.path).sort()).toEqual(['locked', 'open', 'open/file', 'unsearchable']);
  });

  /** Writes `files` (path, size) into a fresh 1 MiB tmpfs in a bubblewrap sandbox; returns how writeFiles ended. */
  async function writeIntoFullDisk(
    context: { skip: () => void },
    files: readonly (readonly [string, number])[],
  ): Promise<{ code: string; message: string; files: string[]; done: string[] }> {
    const probe = spawnSync('bwrap', ['--dev-bind', '/', '/', 'true']);
    if (probe.status !== 0) {
      console.log(
        `skipped: bubblewrap cannot make a sandbox here (${probe.stderr.toString().trim() || 'not installed'})`,
      );
      context.skip();
    }
    const small = `${dirs.make()}/small`;
    mkdirSync(small);
    const code = `
      const { Readable } = await import('node:stream');
      const { readdirSync } = await import('node:fs');
      const { createLocalEndpoint } = await import(${JSON.stringify(endpointModule)});
      const endpoint = await createLocalEndpoint(process.argv[1]);
      const files = JSON.parse(process.argv[2]);
      const requests = files.map(([path, size]) => ({
        path, offset: 0, entry: { path, kind: 'file', size, mtimeMs: 1700000000000, executable: false },
      }));
      async function* chunks(size) {
        for (let sent = 0; sent < size; sent += 65536) yield Buffer.alloc(Math.min(65536, size - sent), 7);
      }
      async function* incoming() {
        for (const { path, entry } of requests) yield { path, entry, offset: 0, stream: Readable.from(chunks(entry.size)) };
      }
      const done = [];
      const outcome = await endpoint
        .writeFiles(requests, incoming(), { onFileDone: (request) => done.push(request.path) })
        .then(() => ({ code: 'resolved' }), (error) => ({ code: error.code, message: error.message }));
      await endpoint.close();
      process.stdout.write(JSON.stringify({ ...outcome, done, files: readdirSync(process.argv[1]) }));
    `;
    const stdout = await runSnippet(code, [small, JSON.stringify(files)], {
      prefix: ['bwrap', '--dev-bind', '/', '/', '--size', String(1024 * 1024), '--tmpfs', small],
    });
    return JSON.parse(stdout) as { code: string; message: string; files: string[]; done: string[] };
  }

  it('rejects with no-space, naming the bytes needed and free, when a large file fills the disk', async (context) => {
    const outcome = await writeIntoFullDisk(context, [['big.bin', 3 * 1024 * 1024]]);
    expect(outcome.code).toBe('no-space');
    expect(outcome.message).toMatch(
      /^not enough space on .*small to write big\.bin: \d+ more bytes are needed and \d+ bytes are free; free up space/,
    );
    const needed = Number(/(\d+) more bytes/.exec(outcome.message)?.[1]);
    expect(needed).toBeGreaterThan(2 * 1024 * 1024 - 1);
    expect(needed).toBeLessThanOrEqual(3 * 1024 * 1024);
    // Nothing under the final name; only the partial file, for a later resume.
    expect(outcome.files).toHaveLength(1);
    expect(outcome.files[0]).toMatch(/^\.tether-partial-/);
  });

  it('rejects with no-space when small files fill the disk, counting the rest of the batch', async (context) => {
    const files = Array.from({ length: 8 }, (_, i) => [`f${i}`, 200 * 1024] as const);
    const outcome = await writeIntoFullDisk(context, files);
    expect(outcome.code).toBe('no-space');
    const failed = /to write (f\d): (\d+) more bytes are needed/.exec(outcome.message);
    expect(failed).not.toBeNull();
    const index = Number(failed![1]!.slice(1));
    expect(outcome.done).toEqual(files.slice(0, index).map(([path]) => path));
    // The failed file and those after it still need their bytes.
    expect(Number(failed![2])).toBeGreaterThan((files.length - index - 1) * 200 * 1024);
    expect(Number(failed![2])).toBeLessThanOrEqual((files.length - index) * 200 * 1024);
  });

  it('rejects with no-space when small files written on the writer thread fill the disk', async (context) => {
    // Enough small files for the writer thread to take them; several are out on it when the disk fills.
    const files = Array.from({ length: 100 }, (_, i) => [`f${String(i).padStart(3, '0')}`, 20 * 1024] as const);
    const outcome = await writeIntoFullDisk(context, files);
    expect(outcome.code).toBe('no-space');
    const failed = /to write (f\d+): (\d+) more bytes are needed/.exec(outcome.message);
    expect(failed).not.toBeNull();
    const index = Number(failed![1]!.slice(1));
    expect(index).toBeGreaterThan(10);
    expect(outcome.done).toEqual(files.slice(0, index).map(([path]) => path));
    expect(Number(failed![2])).toBeGreaterThan((files.length - index - 1) * 20 * 1024);
    expect(Number(failed![2])).toBeLessThanOrEqual((files.length - index) * 20 * 1024);
    // Nothing under a final name that was not reported done.
    const placed = outcome.files.filter((name) => !name.startsWith('.tether-'));
    expect(placed.sort()).toEqual(outcome.done);
  });
});
