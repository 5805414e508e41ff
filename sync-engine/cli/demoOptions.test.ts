import { describe, expect, it } from 'vitest';
import { demoOptions } from './demoOptions.js';
import type { DemoSurroundings } from './demoOptions.js';

const ELECTRON = '/repo/node_modules/electron/dist/electron';

/** A developer at a Linux desktop with Electron installed, unless a case says otherwise. */
const desktop: DemoSurroundings = {
  argv: [],
  env: { DISPLAY: ':0' },
  stdoutIsTTY: true,
  platform: 'linux',
  electronBinary: ELECTRON,
};

/** Vitest's asymmetric matchers are typed `any`; as `unknown` they fit the table's `expected`. */
const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);
const MISSING = matching(/the Electron binary is not installed/);
const NO_DISPLAY = matching(/no display for the Electron window/);

describe('demoOptions: whether and how `npm run demo` opens the app', () => {
  const cases: {
    description: string;
    given: Partial<DemoSurroundings>;
    expected: unknown;
  }[] = [
    {
      description: 'a terminal at a desktop with Electron: the Electron app',
      given: {},
      expected: { app: { kind: 'electron', binary: ELECTRON, opener: 'xdg-open' } },
    },
    {
      description: 'stdout piped (a script, `| tee`): summary and exit',
      given: { stdoutIsTTY: false },
      expected: { app: { kind: 'none', reason: 'stdout is not a terminal' } },
    },
    {
      description: 'CI set, even on a terminal: summary and exit',
      given: { env: { DISPLAY: ':0', CI: 'true' } },
      expected: { app: { kind: 'none', reason: 'CI is set' } },
    },
    {
      description: 'CI=false does not count as CI',
      given: { env: { DISPLAY: ':0', CI: 'false' } },
      expected: { app: { kind: 'electron', binary: ELECTRON, opener: 'xdg-open' } },
    },
    {
      description: '--no-ui on a terminal',
      given: { argv: ['--no-ui'] },
      expected: { app: { kind: 'none', reason: '--no-ui' } },
    },
    {
      description: 'TETHER_DEMO_UI=0 on a terminal',
      given: { env: { DISPLAY: ':0', TETHER_DEMO_UI: '0' } },
      expected: { app: { kind: 'none', reason: '--no-ui' } },
    },
    {
      description: '--ui forces the app on when stdout is not a terminal, and in CI',
      given: { argv: ['--ui'], stdoutIsTTY: false, env: { DISPLAY: ':0', CI: '1' } },
      expected: { app: { kind: 'electron', binary: ELECTRON, opener: 'xdg-open' } },
    },
    {
      description: 'a flag beats the environment',
      given: { argv: ['--ui'], env: { DISPLAY: ':0', TETHER_DEMO_UI: '0' } },
      expected: { app: { kind: 'electron', binary: ELECTRON, opener: 'xdg-open' } },
    },
    {
      description: '--no-open: no browser is started, not even when Electron does not come up',
      given: { argv: ['--no-open'] },
      expected: { app: { kind: 'electron', binary: ELECTRON } },
    },
    {
      description: 'the last of --ui and --no-ui wins',
      given: { argv: ['--ui', '--no-ui'] },
      expected: { app: { kind: 'none', reason: '--no-ui' } },
    },
    {
      description: 'Electron missing: the browser host, opened with xdg-open, saying why',
      given: { electronBinary: undefined },
      expected: { app: { kind: 'browser', note: MISSING, opener: 'xdg-open' } },
    },
    {
      description: 'a headless server (no DISPLAY) with Electron: the browser host, URL printed only',
      given: { env: {} },
      expected: { app: { kind: 'browser', note: NO_DISPLAY } },
    },
    {
      description: 'Wayland counts as a display',
      given: { env: { WAYLAND_DISPLAY: 'wayland-0' }, electronBinary: undefined },
      expected: { app: { kind: 'browser', note: MISSING, opener: 'xdg-open' } },
    },
    {
      description: 'macOS opens the URL with open',
      given: { platform: 'darwin', env: {}, electronBinary: undefined },
      expected: { app: { kind: 'browser', note: MISSING, opener: 'open' } },
    },
    {
      description: 'Windows prints the URL (start is a shell built-in)',
      given: { platform: 'win32', env: {}, electronBinary: undefined },
      expected: { app: { kind: 'browser', note: MISSING } },
    },
    {
      description: 'the test: forced on, the browser host, no browser started, a fixed port and folder',
      given: { argv: ['--ui', '--browser', '--no-open', '--port', '8123', '--dir', '/tmp/d'], stdoutIsTTY: false },
      expected: { dir: '/tmp/d', app: { kind: 'browser', port: 8123 } },
    },
    {
      description: 'TETHER_DEMO_UI=browser forces the browser host on',
      given: { stdoutIsTTY: false, env: { DISPLAY: ':0', TETHER_DEMO_UI: 'browser' } },
      expected: { app: { kind: 'browser', opener: 'xdg-open' } },
    },
    {
      description: 'a bad port',
      given: { argv: ['--port', '70000'] },
      expected: { error: '--port must be a port number from 0 to 65535, not "70000"' },
    },
    {
      description: 'a bad TETHER_DEMO_UI',
      given: { env: { TETHER_DEMO_UI: 'yes' } },
      expected: { error: 'TETHER_DEMO_UI must be 0, 1 or browser, not "yes"' },
    },
    {
      description: 'an unknown flag names itself and shows the usage',
      given: { argv: ['--electron'] },
      expected: { error: matching(/--electron[\s\S]*usage: npm run demo/) },
    },
    {
      description: 'an empty --dir',
      given: { argv: ['--dir', ''] },
      expected: { error: '--dir needs a folder' },
    },
  ];

  for (const { description, given, expected } of cases) {
    it(description, () => {
      expect(demoOptions({ ...desktop, ...given })).toStrictEqual(expected);
    });
  }
});
