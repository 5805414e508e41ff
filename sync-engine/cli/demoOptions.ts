import { parseArgs } from 'node:util';

/**
 * What `npm run demo` does after its scripted part, decided from its arguments and surroundings. Pure: the
 * caller passes the arguments, the environment, whether stdout is a terminal and where Electron's binary is.
 *
 * The app opens only where someone can use it and stop it: by default when stdout is a terminal and `CI` is
 * not set. Anything else (a pipe, `.ci/run`, `npm test`) gets today's summary and an exit, never a process that
 * waits for Ctrl-C. `--ui` (or `TETHER_DEMO_UI=1`) forces the app on, `--no-ui` (`TETHER_DEMO_UI=0`) off.
 */
export const demoUsage = `usage: npm run demo -- [--ui | --no-ui] [--browser] [--no-open] [--port N] [--dir DIR]

  --ui        open the app on the lab afterwards, even when stdout is not a terminal
  --no-ui     print the summary and exit (the default when stdout is not a terminal or CI is set)
  --browser   use the browser host even where the Electron app is installed
  --no-open   print the browser host's URL without starting a browser
  --port N    the browser host's port (default: a free one)
  --dir DIR   where the demo's files go (default: .tether-demo in the repository); it must be empty or a
              previous demo's folder, since the demo starts by clearing it
Environment: TETHER_DEMO_UI=0 (same as --no-ui), 1 (--ui) or browser (--ui --browser);
TETHER_DEMO_ELECTRON=/path/to/electron uses that Electron binary (e.g. a system-wide one).`;

export type DemoApp =
  | { readonly kind: 'none'; readonly reason: string }
  | {
      readonly kind: 'electron';
      readonly binary: string;
      /** For the browser host, should the Electron app not start. */
      readonly opener?: 'xdg-open' | 'open';
      readonly port?: number;
    }
  | {
      readonly kind: 'browser';
      /** Why not Electron (shown to the user), when it was not asked for explicitly. */
      readonly note?: string;
      /** The command that opens a URL in the user's browser, where one can be shown. */
      readonly opener?: 'xdg-open' | 'open';
      readonly port?: number;
    };

export interface DemoOptions {
  readonly dir?: string;
  readonly app: DemoApp;
}

export interface DemoSurroundings {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdoutIsTTY: boolean;
  readonly platform: NodeJS.Platform;
  /** Electron's binary when it is installed (the `electron` package throws where its download never ran). */
  readonly electronBinary: string | undefined;
}

/** A display the user looks at: always on macOS and Windows, on Linux and the BSDs only with X11 or Wayland. */
function hasDisplay(surroundings: DemoSurroundings): boolean {
  if (surroundings.platform === 'darwin' || surroundings.platform === 'win32') return true;
  const { DISPLAY, WAYLAND_DISPLAY } = surroundings.env;
  return (DISPLAY ?? '') !== '' || (WAYLAND_DISPLAY ?? '') !== '';
}

function opener(surroundings: DemoSurroundings): 'xdg-open' | 'open' | undefined {
  if (!hasDisplay(surroundings)) return undefined;
  if (surroundings.platform === 'darwin') return 'open';
  // Windows' `start` is a cmd.exe built-in, reachable only through a shell: the URL is printed instead.
  return surroundings.platform === 'win32' ? undefined : 'xdg-open';
}

function isCi(env: DemoSurroundings['env']): boolean {
  const ci = env['CI'];
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** Parses the demo's arguments; a bad one comes back as `{ error }` with what to type instead. */
export function demoOptions(surroundings: DemoSurroundings): DemoOptions | { readonly error: string } {
  let values: { ui?: boolean; browser?: boolean; open?: boolean; port?: string; dir?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...surroundings.argv],
      options: {
        ui: { type: 'boolean' },
        browser: { type: 'boolean' },
        open: { type: 'boolean' },
        port: { type: 'string' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowNegative: true,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return { error: `${error instanceof Error ? error.message : String(error)}\n${demoUsage}` };
  }
  if (values.help === true) return { error: demoUsage };

  let port: number | undefined;
  if (values.port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(values.port) || Number(values.port) > 65535) {
      return { error: `--port must be a port number from 0 to 65535, not ${JSON.stringify(values.port)}` };
    }
    port = Number(values.port);
  }
  if (values.dir === '') return { error: '--dir needs a folder' };
  const dir = values.dir === undefined ? {} : { dir: values.dir };

  const fromEnv = surroundings.env['TETHER_DEMO_UI'];
  if (fromEnv !== undefined && fromEnv !== '' && !['0', '1', 'browser'].includes(fromEnv)) {
    return { error: `TETHER_DEMO_UI must be 0, 1 or browser, not ${JSON.stringify(fromEnv)}` };
  }
  // A flag beats the environment, which beats the default.
  const wanted = values.ui ?? (fromEnv === '0' ? false : fromEnv === '1' || fromEnv === 'browser' ? true : undefined);
  if (wanted === false) return { ...dir, app: { kind: 'none', reason: '--no-ui' } };
  if (wanted === undefined) {
    if (!surroundings.stdoutIsTTY) return { ...dir, app: { kind: 'none', reason: 'stdout is not a terminal' } };
    if (isCi(surroundings.env)) return { ...dir, app: { kind: 'none', reason: 'CI is set' } };
  }

  const browserAsked = values.browser === true || fromEnv === 'browser';
  const open = values.open === false ? undefined : opener(surroundings);
  const opens = { ...(open === undefined ? {} : { opener: open }), ...(port === undefined ? {} : { port }) };
  if (!browserAsked && surroundings.electronBinary !== undefined && hasDisplay(surroundings)) {
    return { ...dir, app: { kind: 'electron', binary: surroundings.electronBinary, ...opens } };
  }
  const note = browserAsked
    ? undefined
    : surroundings.electronBinary === undefined
      ? 'the Electron binary is not installed (npm does not download it here; `node node_modules/electron/install.js` does where GitHub is reachable)'
      : 'there is no display for the Electron window (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  return {
    ...dir,
    app: {
      kind: 'browser',
      ...(note === undefined ? {} : { note }),
      ...opens,
    },
  };
}
