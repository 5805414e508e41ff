import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadSettings, saveSettings } from '../ui/settings.js';
import type { DemoApp } from './demoOptions.js';
import { say, startService, waitForLine } from './demoProcess.js';
import type { Interruption, Service } from './demoProcess.js';

/**
 * The demo's last part: the app on the running lab, with the demo's pairs in it. The Electron app where its
 * binary is installed and a display is there, else the browser host (`tether ui`) on 127.0.0.1; either runs
 * as a child with the demo's TETHER_HOME, the lab's kubeconfig and alice's S3 keys in its environment, and
 * stays up until Ctrl-C (or until the user quits it).
 */
export interface LabAccess {
  readonly kubeconfig: string;
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly region: string };
  /** alice's S3 keys: the app's PHFS pairs and storage browser use them, from the environment, never stored. */
  readonly keys?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface AppContext {
  readonly repo: string;
  readonly home: string;
  readonly lab: LabAccess | undefined;
  readonly interruption: Interruption;
  /** An Electron that exits sooner did not open a window (another Tether app runs, or it crashed); default 5 s. */
  readonly electronEarlyExitMs?: number;
}

/** Settings the app reads (the New pair wizard's kubeconfig, the storage browser's PHFS store): the lab's. */
export function pointSettingsAtLab(home: string, lab: LabAccess): void {
  saveSettings(home, {
    ...loadSettings(home),
    kubeconfig: lab.kubeconfig,
    phfsEndpoint: lab.s3.endpoint,
    phfsBucket: lab.s3.bucket,
  });
}

/**
 * `env` with these S3 keys as the SDK's credentials: a profile or session token from the user's environment
 * would otherwise win over them (the SDK skips environment keys when AWS_PROFILE is set).
 */
export function withS3Keys(
  env: NodeJS.ProcessEnv,
  keys: { readonly accessKeyId: string; readonly secretAccessKey: string },
): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = { ...env, AWS_ACCESS_KEY_ID: keys.accessKeyId };
  result['AWS_SECRET_ACCESS_KEY'] = keys.secretAccessKey;
  delete result['AWS_PROFILE'];
  delete result['AWS_DEFAULT_PROFILE'];
  delete result['AWS_SESSION_TOKEN'];
  return result;
}

function appEnvironment(context: AppContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TETHER_HOME: context.home };
  if (context.lab === undefined) return env;
  env['KUBECONFIG'] = context.lab.kubeconfig;
  env['AWS_REGION'] = context.lab.s3.region;
  return context.lab.keys === undefined ? env : withS3Keys(env, context.lab.keys);
}

/** Starts a browser on `url` where the options found a display; never fails the demo if it cannot. */
function openInBrowser(opener: 'xdg-open' | 'open', url: string): void {
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.once('error', () => say(`(${opener} is not available: open the URL yourself)`));
    child.unref();
  } catch {
    say(`(${opener} could not be started: open the URL yourself)`);
  }
}

type Ended =
  { readonly how: 'signal'; readonly signal: string } | { readonly how: 'exit'; readonly code: number | null };

async function until(service: Service, interruption: Interruption): Promise<Ended> {
  return Promise.race([
    interruption.received.then((signal): Ended => ({ how: 'signal', signal })),
    service.exited.then((code): Ended => ({ how: 'exit', code })),
  ]);
}

async function runElectron(binary: string, context: AppContext): Promise<'fallback' | number> {
  say('\nOpening the desktop app on the lab (Electron), with the pairs above in it.');
  // Chromium refuses to run as root with its sandbox on; only then is it turned off.
  const args = [context.repo, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
  const app = startService(binary, args, appEnvironment(context));
  const started = Date.now();
  say('The lab keeps running while the app is open. Quit the app (tray menu: Quit), or press Ctrl-C here, to');
  say('stop both.');
  const ended = await until(app, context.interruption);
  if (ended.how === 'signal') {
    await app.stop(15_000);
    return 0;
  }
  if (Date.now() - started < (context.electronEarlyExitMs ?? 5_000)) {
    const why = app.stderr().trim().split('\n').slice(-3).join('\n');
    say(`The desktop app exited at once (code ${String(ended.code)})${why === '' ? '' : `:\n${why}`}`);
    say('(one Tether app per user: if yours is open, it keeps its own pairs.) Serving the demo in a browser instead.');
    return 'fallback';
  }
  say(`\n(the app was closed${ended.code === 0 ? '' : ` with exit code ${String(ended.code)}`}: stopping the lab)`);
  return ended.code === 0 ? 0 : 1;
}

async function runBrowserHost(app: Extract<DemoApp, { kind: 'browser' }>, context: AppContext): Promise<number> {
  say('');
  if (app.note !== undefined) say(`The desktop app cannot open here: ${app.note}.`);
  say('Serving the same app to your browser instead (tether ui), on the lab, with the pairs above in it.');
  const bin = join(context.repo, 'bin', 'tether.js');
  const args = [bin, 'ui', '--port', String(app.port ?? 0)];
  const host = startService(process.execPath, args, appEnvironment(context), { forwardStderr: true });
  const printed = await waitForLine(
    host,
    /^Tether UI: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/,
    context.interruption,
    60_000,
  );
  const url = printed?.[1];
  if (url === undefined) {
    await host.stop(15_000);
    if (context.interruption.signal !== undefined) return 0;
    // Its own messages were forwarded to stderr as they came.
    process.stderr.write(
      `demo: the browser host did not start${host.child.exitCode === null ? ' in 60 s' : ` (exit code ${String(host.child.exitCode)}; its messages are above)`}\n`,
    );
    return 1;
  }
  say('\n  open this in your browser:');
  say(`\n    ${url}\n`);
  say('  (the token in it is the key; the app listens on 127.0.0.1 only: from another machine, forward the port');
  say(`  with ssh -L ${new URL(url).port}:127.0.0.1:${new URL(url).port} and open the same URL there)`);
  if (app.opener !== undefined) openInBrowser(app.opener, url);
  say('\nThe app and the lab keep running until you press Ctrl-C.');
  const ended = await until(host, context.interruption);
  if (ended.how === 'exit') {
    process.stderr.write(`demo: the browser host stopped on its own (exit code ${String(ended.code)})\n`);
    return 1;
  }
  say(`\n(${ended.signal}: stopping the app)`);
  const code = await host.stop(15_000);
  say(code === 0 ? '(app stopped)' : `(the app exited with code ${String(code)})`);
  return code === 0 ? 0 : 1;
}

/** Opens the app and waits until it is done with; resolves with the demo's exit code for this part. */
export async function runApp(app: Exclude<DemoApp, { kind: 'none' }>, context: AppContext): Promise<number> {
  if (context.lab !== undefined) pointSettingsAtLab(context.home, context.lab);
  if (app.kind === 'electron') {
    const result = await runElectron(app.binary, context);
    if (result !== 'fallback') return result;
    const { binary: _binary, kind: _kind, ...browser } = app;
    return runBrowserHost({ kind: 'browser', ...browser }, context);
  }
  return runBrowserHost(app, context);
}
