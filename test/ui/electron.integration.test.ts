import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron as electron } from 'playwright-core';
import { expect, it } from 'vitest';

/**
 * The desktop app itself, driven by Playwright's Electron support. Needs the Electron binary, which npm does not
 * download here (allowScripts denies electron's postinstall; `node node_modules/electron/install.js` fetches it
 * where GitHub is reachable); where it is missing this test is skipped and says so.
 */
function electronBinary(): string | undefined {
  try {
    // The electron package exports the binary's path, and throws when the binary was never downloaded.
    return createRequire(import.meta.url)('electron') as string;
  } catch {
    return undefined;
  }
}

const binary = electronBinary();
if (binary === undefined) {
  process.stdout.write(
    'SKIPPED: Electron smoke test: the Electron binary is not installed (run `node node_modules/electron/install.js` where GitHub is reachable)\n',
  );
}

it.skipIf(binary === undefined)('starts the desktop app: a sandboxed window with only the contract API', async () => {
  const home = await mkdtemp(join(tmpdir(), 'tether-electron-'));
  const app = await electron.launch({
    executablePath: binary!,
    args: ['.', '--no-sandbox'],
    env: { ...(process.env as Record<string, string>), TETHER_HOME: home },
  });
  try {
    const window = await app.firstWindow();
    await window.getByRole('heading', { name: 'Pairs' }).waitFor();
    expect(await window.title()).toBe('Tether');
    // Page-side code as text: this file is compiled for Node, without the DOM's types.
    expect(await window.evaluate('Object.keys(window.tether).sort().join(",")')).toBe('call,native,onEvent');
    expect(await window.evaluate('typeof require + "," + typeof process')).toBe('undefined,undefined');
    expect(await window.evaluate('window.tether.call("listPairs", {})')).toEqual({ ok: true, result: [] });
    expect(await window.evaluate('window.tether.call("removePair", { name: "../x" })')).toMatchObject({
      ok: false,
      error: { code: 'bad-argument' },
    });
  } finally {
    await app.close();
    await rm(home, { recursive: true, force: true });
  }
});
