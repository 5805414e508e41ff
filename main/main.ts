/**
 * Tether's desktop app, Electron's main process: one window on the built renderer, the engine (UiService over the
 * state store, controller and endpoints) in this process, reached only through the preload's contract API, every
 * argument validated here (`UiService.call`). Tray with the overall status; notifications for conflicts and
 * halts; a native folder picker; S3 credentials encrypted with safeStorage.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  safeStorage,
  session,
  Tray,
} from 'electron';
import type { IpcMainInvokeEvent, OpenDialogOptions, SaveDialogOptions } from 'electron';
import { databasePath, tetherHome } from '../sync-engine/cli/home.js';
import { StateStore } from '../sync-engine/state/store.js';
import type { PairView } from '../sync-engine/ui/contract.js';
import { fileVault } from '../sync-engine/ui/fileVault.js';
import { isMethodName } from '../sync-engine/ui/schemas.js';
import { UiService } from '../sync-engine/ui/service.js';
import { hardenContents, hardenSession, windowOptions } from './security.js';

const rendererIndex = fileURLToPath(new URL('../renderer/index.html', import.meta.url));
const preload = fileURLToPath(new URL('./preload.cjs', import.meta.url));
const trayIcon = fileURLToPath(new URL('../../main/trayIcon.png', import.meta.url));
const appUrl = pathToFileURL(rendererIndex).href;

let window: BrowserWindow | undefined;
let tray: Tray | undefined;

function overallStatus(pairs: readonly PairView[]): string {
  if (pairs.length === 0) return 'Tether: no pairs';
  const count = (test: (p: PairView) => boolean): number => pairs.filter(test).length;
  const halted = count((p) => p.state === 'halted');
  const syncing = count((p) => p.running || p.state === 'syncing' || p.state === 'scanning');
  const paused = count((p) => p.state === 'paused');
  const parts = [`${pairs.length} pair(s)`];
  if (syncing > 0) parts.push(`${syncing} syncing`);
  if (halted > 0) parts.push(`${halted} halted`);
  if (paused > 0) parts.push(`${paused} paused`);
  return `Tether: ${parts.join(', ')}`;
}

function showWindow(): void {
  if (window === undefined || window.isDestroyed()) {
    window = new BrowserWindow(windowOptions(preload));
    window.once('ready-to-show', () => window?.show());
    void window.loadFile(rendererIndex);
  } else {
    if (window.isMinimized()) window.restore();
    window.focus();
  }
}

async function start(): Promise<void> {
  app.enableSandbox();
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', showWindow);
  app.on('web-contents-created', (_event, contents) => hardenContents(contents, () => appUrl));
  await app.whenReady();
  hardenSession(session.defaultSession);

  const home = tetherHome();
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const store = StateStore.open(databasePath(home));
  const service = new UiService({
    store,
    home,
    vault: fileVault(home, safeStorage),
    pickFolder: async (title) => {
      const options: OpenDialogOptions = {
        title: title ?? 'Choose a folder',
        properties: ['openDirectory', 'createDirectory'],
      };
      const picked =
        window === undefined ? await dialog.showOpenDialog(options) : await dialog.showOpenDialog(window, options);
      return picked.canceled ? undefined : picked.filePaths[0];
    },
    // Uploads and downloads stream between disk and the remote in this process, through native dialogs: the
    // renderer never holds file contents (and, sandboxed, cannot read the disk itself).
    disk: {
      pickFiles: async (title) => {
        const options: OpenDialogOptions = { title, properties: ['openFile', 'multiSelections'] };
        const picked =
          window === undefined ? await dialog.showOpenDialog(options) : await dialog.showOpenDialog(window, options);
        return picked.canceled ? undefined : picked.filePaths;
      },
      pickSavePath: async (defaultName) => {
        const options: SaveDialogOptions = { title: 'Save download as', defaultPath: defaultName };
        const picked =
          window === undefined ? await dialog.showSaveDialog(options) : await dialog.showSaveDialog(window, options);
        return picked.canceled ? undefined : picked.filePath;
      },
    },
    live: true,
  });
  // Pairs marked live are kept in sync while the app runs; a failure to start is shown, not fatal.
  service.startLive().catch((error: unknown) => {
    new Notification({
      title: 'Tether: live sync did not start',
      body: error instanceof Error ? error.message : String(error),
    }).show();
  });

  ipcMain.handle('tether:call', (event: IpcMainInvokeEvent, method: unknown, args: unknown) => {
    // Only our own page may call, and only the contract's methods (validated again, with their arguments).
    if (event.senderFrame?.url !== appUrl) {
      return {
        ok: false,
        error: { code: 'permission-denied', message: 'calls are accepted from the Tether window only' },
      };
    }
    if (!isMethodName(method)) {
      return { ok: false, error: { code: 'bad-argument', message: `unknown method ${String(method)}` } };
    }
    return service.call(method, args);
  });

  tray = new Tray(nativeImage.createFromPath(trayIcon));
  const refreshTray = async (): Promise<void> => {
    const status = overallStatus(await service.listPairs());
    tray?.setToolTip(status);
    tray?.setContextMenu(
      Menu.buildFromTemplate([
        { label: status, enabled: false },
        { type: 'separator' },
        { label: 'Open Tether', click: showWindow },
        { label: 'Quit', click: () => app.quit() },
      ]),
    );
  };
  tray.on('click', showWindow);
  await refreshTray();

  service.on((event, data) => {
    if (window !== undefined && !window.isDestroyed()) window.webContents.send('tether:event', event, data);
    if (event === 'pairsChanged') void refreshTray();
    if (event === 'notice' && Notification.isSupported()) {
      const notice = data as { pair: string; level: string; message: string };
      new Notification({
        title: notice.level === 'error' ? `Tether: ${notice.pair} halted` : `Tether: ${notice.pair}`,
        body: notice.message,
      }).show();
    }
  });

  app.on('activate', showWindow);
  app.on('window-all-closed', () => {
    // The tray keeps Tether running; Quit from the tray menu ends it.
  });
  app.on('will-quit', (event) => {
    event.preventDefault();
    app.removeAllListeners('will-quit');
    void service.close().finally(() => {
      store.close();
      app.quit();
    });
  });
  showWindow();
}

void start().catch((error: unknown) => {
  dialog.showErrorBox('Tether could not start', error instanceof Error ? error.message : String(error));
  app.exit(1);
});
