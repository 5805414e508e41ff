import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TetherError } from '../errors.js';
import { StateStore } from '../state/store.js';
import { databasePath } from '../cli/home.js';
import { startBrowserHost } from './browserHost.js';
import { UiService } from './service.js';

/** Where `npm run build` puts the renderer: dist/renderer, found from this module in dist/ or in the sources. */
export function rendererDir(): string {
  for (const candidate of ['../../renderer/', '../../dist/renderer/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(`${dir}app.js`)) return dir;
  }
  throw new TetherError('not-found', 'the UI is not built: run `npm run build` first');
}

/** `tether ui`: serves until SIGINT/SIGTERM, then closes the service and the store. */
export async function runUiHost(options: { home: string; port?: number }): Promise<void> {
  const store = StateStore.open(databasePath(options.home));
  const service = new UiService({ store, home: options.home, live: true });
  try {
    // Pairs marked live are kept in sync while the UI runs; a pair that cannot start is reported, not fatal.
    await service.startLive().catch((error: unknown) => {
      process.stderr.write(
        `tether ui: live sync did not start: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    });
    const host = await startBrowserHost({
      service,
      rendererDir: rendererDir(),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
    process.stdout.write(`Tether UI: ${host.url}\n(open it in a browser on this machine; Ctrl-C stops it)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await host.close();
  } finally {
    await service.close();
    store.close();
  }
}
