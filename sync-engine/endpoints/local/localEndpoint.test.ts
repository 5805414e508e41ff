import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TetherError } from '../../errors.js';
import { createLocalEndpoint, probeCaseSensitivity } from './localEndpoint.js';
import { TempDirs, writeFile } from './testFixtures.js';
import { linkSync, readdirSync, statSync, symlinkSync, utimesSync } from 'node:fs';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe('createLocalEndpoint', () => {
  it('describes a local folder', async () => {
    const root = dirs.make();
    const endpoint = await createLocalEndpoint(root, { displayName: '~/work' });
    expect(endpoint.displayName).toBe('~/work');
    expect(endpoint.capabilities).toEqual({
      mtimePrecisionMs: 1,
      caseSensitive: true, // Linux filesystems under /tmp are case-sensitive.
      executableBit: true,
      remoteHash: true,
      resumableWrites: true,
      checksTargetOnWrite: true,
    });
    // The case probe leaves nothing behind.
    expect(readdirSync(root)).toEqual([]);
    await endpoint.close();
    await endpoint.close();
  });

  it('resolves a root reached through a symbolic link once, at creation', async () => {
    const real = dirs.make();
    const holder = dirs.make();
    writeFile(real, 'a', 'x');
    symlinkSync(real, join(holder, 'link'));
    const endpoint = await createLocalEndpoint(join(holder, 'link'));
    expect(endpoint.root).toBe(real);
    expect((await endpoint.scan()).entries.map((e) => e.path)).toEqual(['a']);
    await endpoint.close();
  });

  it('names a missing folder and says what to do', async () => {
    const missing = join(dirs.make(), 'not-here');
    const error = await createLocalEndpoint(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TetherError);
    expect(error).toMatchObject({ code: 'local-missing' });
    expect((error as Error).message).toBe(
      `the folder ${missing} does not exist; create it, reconnect the drive or share it lives on, or choose another folder`,
    );
    await expect(
      createLocalEndpoint(missing, { displayName: 'file:///mnt/share', missingCode: 'listing-failed' }),
    ).rejects.toMatchObject({
      code: 'listing-failed',
      message: expect.stringContaining('file:///mnt/share') as unknown,
    });
  });

  it('refuses a file as root', async () => {
    const root = dirs.make();
    const file = writeFile(root, 'plain', 'x');
    await expect(createLocalEndpoint(file)).rejects.toMatchObject({ code: 'bad-argument' });
  });
});

describe('probeCaseSensitivity', () => {
  it('finds this filesystem case-sensitive and cleans up its probe', async () => {
    const root = dirs.make();
    expect(await probeCaseSensitivity(root)).toBe(true);
    expect(readdirSync(root)).toEqual([]);
  });

  it('reads the answer off an entry already there, leaving the folder untouched', async () => {
    const root = dirs.make();
    writeFile(root, '1234', 'no letters to swap');
    writeFile(root, 'Data.csv', 'x');
    utimesSync(root, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const pinned = statSync(root, { bigint: true }).mtimeNs;
    expect(await probeCaseSensitivity(root)).toBe(true);
    expect(statSync(root, { bigint: true }).mtimeNs).toBe(pinned); // no probe file came and went
  });

  it('takes a case-swapped name that is the same file for a filesystem that folds case', async () => {
    const root = dirs.make();
    writeFile(root, 'data.csv', 'x');
    linkSync(join(root, 'data.csv'), join(root, 'DATA.CSV')); // what a case-folding filesystem shows
    expect(await probeCaseSensitivity(root)).toBe(false);
  });
});
