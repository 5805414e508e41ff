import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finished, startTether, tether } from '../helpers/cli.js';
import { put, waitFor } from './harness.js';

/** `tether watch` in one process; `tether pause`, `resume` and `status` in others, as a user runs them. */
let root: string | undefined;
afterEach(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

interface StatusJson {
  state: string;
  paused: boolean;
  watcher?: { pid: number };
  liveStatus?: { state: string; cycles: number };
}

describe('tether watch / pause / resume / status across processes', () => {
  it('pauses and resumes a running watcher, and shows its state to other processes', async () => {
    root = mkdtempSync(join(tmpdir(), 'tether-live-cli-'));
    const home = join(root, 'home');
    const local = join(root, 'local');
    const remote = join(root, 'remote');
    for (const dir of [home, local, remote]) mkdirSync(dir);
    expect((await tether(['pair', 'add', 'p', '--local', local, '--remote', `file://${remote}`], home)).code).toBe(0);
    const configured = await tether(['live', 'p', '--on', '--poll', '600', '--debounce', '200'], home);
    expect(configured.stderr).toBe('');
    expect(configured.stdout).toMatch(/live settings of p \(live\)/);

    const watch = startTether(['watch', '--all', '--json'], home);
    const done = finished(watch);
    let out = '';
    watch.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const lines = (): { pair: string; state: string }[] =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { pair: string; state: string });
    try {
      await waitFor('the watcher idle', () => lines().some((l) => l.state === 'idle'), 30_000);
      put(local, 'one.txt', '1');
      await waitFor('one.txt pushed', () => existsSync(join(remote, 'one.txt')), 30_000);

      const paused = await tether(['pause', 'p'], home);
      expect(paused.stdout).toBe('paused p\n');
      await waitFor('the watcher paused', () => lines().at(-1)?.state === 'paused', 30_000);
      const status = JSON.parse((await tether(['status', 'p', '--json'], home)).stdout) as StatusJson;
      expect(status).toMatchObject({ state: 'paused', paused: true, liveStatus: { state: 'paused' } });
      expect(status.watcher?.pid).toBe(watch.pid);

      put(local, 'two.txt', '2'); // while paused: not synced
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(existsSync(join(remote, 'two.txt'))).toBe(false);

      expect((await tether(['resume', '--all'], home)).stdout).toBe('resumed p\n');
      await waitFor('two.txt pushed after resume', () => existsSync(join(remote, 'two.txt')), 30_000);
    } finally {
      watch.kill('SIGINT');
    }
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    // The watcher is gone: status no longer shows one.
    const after = JSON.parse((await tether(['status', 'p', '--json'], home)).stdout) as StatusJson;
    expect(after.watcher).toBeUndefined();
    expect(after.state).toBe('idle');
  }, 120_000);

  it('stores live settings; refuses watch without pairs, bad rules, and pause of an unknown pair', async () => {
    root = mkdtempSync(join(tmpdir(), 'tether-live-cli-'));
    const home = join(root, 'home');
    mkdirSync(home);
    const none = await tether(['watch', '--all'], home);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no pair is marked live/);
    const unknown = await tether(['pause', 'nope'], home);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no pair named "nope"/);
    const bad = await tether(['watch', '--all', '--upload-limit', 'fast'], home);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bandwidth limit "fast"/);

    const local = join(root, 'local');
    mkdirSync(local);
    await tether(['pair', 'add', 'p', '--local', local, '--remote', `file://${join(root, 'remote')}`], home);
    const set = await tether(
      ['live', 'p', '--quiet', '60', '--marker', '*.done', '--keep-newest', 'ckpt/checkpoint-*=3', '--exclude', 'tmp'],
      home,
    );
    expect(set.code).toBe(0);
    const listed = JSON.parse((await tether(['pair', 'list', '--json'], home)).stdout) as {
      live: boolean;
      options: { live: unknown };
    }[];
    expect(listed[0]).toMatchObject({
      live: false,
      options: {
        live: {
          checkpoints: { quietMs: 60_000, markers: ['*.done'], keepNewest: [{ glob: 'ckpt/checkpoint-*', count: 3 }] },
          selection: { include: [], exclude: ['tmp'] },
        },
      },
    });
    const badRule = await tether(['live', 'p', '--keep-newest', 'checkpoint-*'], home);
    expect(badRule.code).toBe(2);
    expect(badRule.stderr).toMatch(/GLOB=N/);
    const badMarker = await tether(['live', 'p', '--marker', 'run/COMPLETE'], home);
    expect(badMarker.code).toBe(2);
    expect(badMarker.stderr).toMatch(/marker "run\/COMPLETE" must be a name pattern/);
  }, 60_000);
});
