import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FlatError } from '../errors.js';
import { numberedEntry, pairConfig, tempState, type TempState } from './testSupport.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const childScript = fileURLToPath(new URL('./testChild.ts', import.meta.url));

let state: TempState;
const children: ChildProcess[] = [];
beforeEach(() => {
  state = tempState();
});
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  state.cleanup();
});

interface Child {
  readonly process: ChildProcess;
  /** Resolves with the first stdout line matching `test` (rejects if the child exits first). */
  waitFor(test: (line: string) => boolean): Promise<string>;
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startChild(...args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  const waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    process: child,
    lines,
    exited,
    waitFor: (test) =>
      new Promise<string>((resolve, reject) => {
        const seen = lines.find(test);
        if (seen !== undefined) return resolve(seen);
        waiters.push({ test, resolve });
        void exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) first:\n${stderr}`)));
      }),
  };
}

describe('state store across processes', () => {
  it('keeps a consistent ancestor when the writing process is killed mid-batch', async () => {
    const setup = state.open();
    const pairId = setup.addPair(pairConfig('crash')).id;
    setup.close();

    const child = startChild('write', state.file, 'crash');
    const committed = (line: string): number => Number(/^committed (\d+)$/.exec(line)?.[1] ?? 0);
    await child.waitFor((line) => committed(line) >= 1500);
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    expect(signal).toBe('SIGKILL');
    const reported = Math.max(...child.lines.map(committed));

    const raw = state.raw();
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(raw.pragma('foreign_key_check')).toEqual([]);
    const store = state.open();
    const ancestor = store.loadAncestor(pairId);
    console.log(`killed after ${reported} reported committed; ${ancestor.size} entries survived`);
    // Whole batches only, at least everything the child saw committed, and each entry exactly as written.
    expect(ancestor.size % 100).toBe(0);
    expect(ancestor.size).toBeGreaterThanOrEqual(reported);
    for (let i = 0; i < ancestor.size; i++) {
      const expected = numberedEntry(i);
      const actual = ancestor.get(expected.path);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual).toStrictEqual(expected);
    }
    // The next run carries on from there.
    const writer = store.ancestorWriter(pairId);
    writer.put(numberedEntry(ancestor.size));
    writer.flush();
    expect(store.loadAncestor(pairId).size).toBe(ancestor.size + 1);
  });

  it('lets exactly one of two racing processes lock a pair', async () => {
    const setup = state.open();
    setup.addPair(pairConfig('race'));
    setup.close();
    for (let round = 0; round < 2; round++) {
      const startAt = String(Date.now() + 2000);
      const racers = [startChild('race', state.file, 'race', startAt), startChild('race', state.file, 'race', startAt)];
      const results = await Promise.all(
        racers.map(async (racer) => {
          const line = await racer.waitFor((l) => l.startsWith('{'));
          return JSON.parse(line) as { won: true; pid: number } | ({ won: false } & FlatError);
        }),
      );
      const winners = results.filter((r) => r.won);
      const losers = results.filter((r) => !r.won);
      expect(winners, JSON.stringify(results)).toHaveLength(1);
      expect(losers).toHaveLength(1);
      const loser = losers[0]!;
      expect(loser).toMatchObject({ code: 'pair-locked' });
      expect((loser as FlatError).message).toMatch(
        new RegExp(
          `^pair "race" is being synced by pid ${winners[0]!.pid} \\(test race\\), started \\d\\d:\\d\\d:\\d\\d; ` +
            'wait for it to finish or stop it$',
        ),
      );
      const exits = await Promise.all(racers.map((r) => r.exited));
      for (const exit of exits) expect(exit.code, exit.stderr).toBe(0);
    }
    // The winners released on exit: the pair is free again.
    expect(state.open().pairLockHolder('race')).toBeUndefined();
  });

  it('takes over the lock of a process that was killed while holding it', async () => {
    const setup = state.open();
    const pairId = setup.addPair(pairConfig('held')).id;
    setup.close();
    const holder = startChild('hold', state.file, 'held');
    await holder.waitFor((line) => line === 'locked');
    const store = state.open();
    const owner = { pid: process.pid, host: hostname(), purpose: 'tether sync' };
    expect(() => store.acquirePairLock('held', owner)).toThrow(
      `pair "held" is being synced by pid ${holder.process.pid} (test hold)`,
    );
    holder.process.kill('SIGKILL');
    await holder.exited;
    expect(store.pairLockHolder('held')).toMatchObject({ pid: holder.process.pid, stale: true });
    const release = store.acquirePairLock('held', owner);
    expect(store.pairLockHolder('held')).toMatchObject({ pid: process.pid, stale: false });
    expect(store.listActivity({ pairId, kind: 'lock' })[0]?.message).toBe(
      `took over the lock of pair "held" left by pid ${holder.process.pid} (test hold), which is no longer running`,
    );
    release();
  });

  it('treats the pid of a process that has exited as stale', () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    expect(exited.status).toBe(0);
    const store = state.open();
    store.addPair(pairConfig('p'));
    store.acquirePairLock('p', { pid: exited.pid, host: hostname(), purpose: 'tether sync' });
    expect(store.pairLockHolder('p')?.stale).toBe(true);
    store.acquirePairLock('p', { pid: process.pid, host: hostname(), purpose: 'tether sync' });
    expect(store.pairLockHolder('p')?.pid).toBe(process.pid);
  });
});
