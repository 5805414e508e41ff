/**
 * The preload (sandboxed, context-isolated): exposes exactly the UI contract on `window.tether` and nothing else
 * (no ipcRenderer, no Node). Bundled to dist/main/preload.cjs by main/build.js: sandboxed preloads are one
 * CommonJS script that may require only 'electron'.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { IpcRendererEvent } from 'electron';
import { METHOD_NAMES } from '../sync-engine/ui/contract.js';

const methods = new Set<string>(METHOD_NAMES);

contextBridge.exposeInMainWorld('tether', {
  native: true,
  call(method: unknown, args: unknown): Promise<unknown> {
    if (typeof method !== 'string' || !methods.has(method)) {
      return Promise.resolve({
        ok: false,
        error: { code: 'bad-argument', message: `unknown method ${String(method)}` },
      });
    }
    return ipcRenderer.invoke('tether:call', method, args);
  },
  /** The paths of files dropped on the window (for `uploadFromDisk`); '' for what is not a file on disk. */
  pathsOf(files: unknown): string[] {
    if (!Array.isArray(files)) return [];
    return files.map((file: unknown) => {
      try {
        return webUtils.getPathForFile(file as File);
      } catch {
        return ''; // not a File (the renderer passes only Files; anything else has no path)
      }
    });
  },
  onEvent(listener: (event: string, data: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('onEvent needs a function');
    const handler = (_event: IpcRendererEvent, name: string, data: unknown): void => listener(name, data);
    ipcRenderer.on('tether:event', handler);
    return () => ipcRenderer.off('tether:event', handler);
  },
});
