import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tether } from '../helpers/cli.js';
import { tempDir } from '../helpers/trees.js';

describe('tether pair and status (CLI contract)', () => {
  let root: { path: string; cleanup: () => Promise<void> };
  let home: string;
  let local: string;

  beforeAll(async () => {
    root = await tempDir('pairs');
    home = join(root.path, 'home');
    local = join(root.path, 'local');
    await mkdir(local);
    await mkdir(join(root.path, 'remote'));
  });
  afterAll(() => root.cleanup());

  it('adds, lists (text and JSON) and removes a pair', async () => {
    const added = await tether(
      [
        'pair',
        'add',
        'data',
        '--local',
        local,
        '--remote',
        `file://${root.path}/remote`,
        '--mode',
        'push',
        '--ignore',
        '*.tmp',
      ],
      home,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('added pair data');

    const listed = await tether(['pair', 'list', '--json'], home);
    expect(listed.code).toBe(0);
    const pairs = JSON.parse(listed.stdout) as {
      name: string;
      mode: string;
      compare: string;
      ignore: string[];
      localPath: string;
    }[];
    expect(pairs).toHaveLength(1);
    expect(pairs[0]).toMatchObject({
      name: 'data',
      mode: 'push',
      compare: 'size-mtime',
      ignore: ['*.tmp'],
      localPath: local,
    });

    const status = await tether(['status', 'data', '--json'], home);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'data', state: 'idle' });

    const text = await tether(['pair', 'list'], home);
    expect(text.stdout).toContain(`data  ${local}`);

    const removed = await tether(['pair', 'remove', 'data'], home);
    expect(removed.code).toBe(0);
    expect(JSON.parse((await tether(['pair', 'list', '--json'], home)).stdout)).toEqual([]);
  });

  it.each([
    [
      ['pair', 'add', 'x', '--local', '/nonexistent/folder', '--remote', 'file:///tmp'],
      1,
      /local folder \/nonexistent\/folder does not exist/,
    ],
    [
      ['pair', 'add', 'x', '--local', '.', '--remote', 'ftp://host/x'],
      2,
      /invalid remote URL "ftp:\/\/host\/x": unknown scheme/,
    ],
    [['pair', 'add', 'x', '--local', '.', '--remote', 'pvc://Bad_NS/x'], 2, /not a valid namespace name/],
    [['pair', 'add', 'bad name', '--local', '.', '--remote', 'file:///tmp'], 2, /pair name/i],
    [
      ['pair', 'add', 'x', '--local', '.', '--remote', 'file:///tmp', '--mode', 'sideways'],
      2,
      /Allowed choices are two-way, push, pull, mirror-push, mirror-pull/,
    ],
    [['pair', 'add', 'x', '--local', '.', '--remote', 'file:///tmp', '--max-delete', 'lots'], 2, /max-delete/],
    [['sync', 'nope'], 1, /no pair named "nope"/],
    [['pair', 'remove', 'nope'], 1, /no pair named "nope"/],
    [['status', 'nope'], 1, /no pair named "nope"/],
  ])('refuses %j with one clear line', async (args, code, message) => {
    const result = await tether(args, home);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/); // no stack traces
  });

  it('refuses a second pair with the same name', async () => {
    const args = ['pair', 'add', 'twice', '--local', local, '--remote', `file://${root.path}/remote`];
    expect((await tether(args, home)).code).toBe(0);
    const again = await tether(args, home);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
  });
});
