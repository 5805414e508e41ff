import { TRANSFER_ROUTES } from '../../sync-engine/ui/contract.js';
import type {
  EventName,
  MethodArgs,
  MethodName,
  MethodResult,
  RemoteRef,
  ServerMessage,
  TetherEvents,
  UiError,
} from '../../sync-engine/ui/contract.js';

/** An error from the engine, as it crosses the boundary: a code and a message (never an engine class). */
export class ApiError extends Error {
  readonly code: string;
  constructor(error: UiError) {
    super(error.message);
    this.code = error.code;
  }
}

/** What the Electron preload exposes on `window.tether` (contextBridge): the contract and nothing more. */
export interface Bridge {
  call(method: string, args: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: UiError }>;
  onEvent(listener: (event: string, data: unknown) => void): () => void;
  /** The paths on disk of files dropped on the window ('' for one that is not on disk). */
  pathsOf(files: File[]): string[];
  readonly native: true;
}

/** The browser host's streaming transfers (plain HTTP on the page's origin, with the page's token). */
export interface Transfers {
  /** PUTs `file` to `path`; `onProgress` follows the bytes sent. Rejects with the engine's error. */
  upload(remote: RemoteRef, path: string, file: File, onProgress: (sent: number, total: number) => void): Promise<void>;
  /** The URL the browser downloads a file (or a folder as .tar) from, with its own download UI. */
  downloadUrl(remote: RemoteRef, path: string): string;
}

declare global {
  interface Window {
    readonly tether?: Bridge;
  }
}

type EventListener = (event: EventName, data: TetherEvents[EventName]) => void;

export interface Api {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>>;
  on(listener: EventListener): () => void;
  /** Whether the host has native dialogs (Electron). */
  readonly native: boolean;
  /** 'open' while the connection to the engine works. */
  onStatus(listener: (status: 'open' | 'closed') => void): () => void;
  /** Streaming uploads and downloads in a browser; absent in Electron (`uploadFromDisk`, `downloadToDisk`). */
  readonly transfers?: Transfers;
  /** Electron: the disk paths of dropped files. */
  pathsOf?(files: File[]): string[];
}

function transferUrl(
  route: string,
  token: string,
  remote: RemoteRef,
  path: string,
  extra: Record<string, string> = {},
) {
  const query = new URLSearchParams({ token, remoteUrl: remote.remoteUrl, path, ...extra });
  if (remote.kubeconfig !== undefined) query.set('kubeconfig', remote.kubeconfig);
  return `${route}?${query.toString()}`;
}

function httpTransfers(token: string): Transfers {
  return {
    upload(remote, path, file, onProgress) {
      const url = transferUrl(TRANSFER_ROUTES.upload, token, remote, path, { mtimeMs: String(file.lastModified) });
      // XHR rather than fetch: it reports the bytes sent as they go.
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('PUT', url);
        xhr.responseType = 'json';
        xhr.upload.onprogress = (event) => onProgress(event.loaded, event.total);
        xhr.onload = () => {
          const body = xhr.response as { ok: true } | { ok: false; error: UiError } | null;
          if (body?.ok === true) resolve();
          else
            reject(
              new ApiError(
                body?.ok === false ? body.error : { code: 'internal', message: `upload failed (HTTP ${xhr.status})` },
              ),
            );
        };
        xhr.onerror = () =>
          reject(
            new ApiError({ code: 'remote-unreachable', message: `upload of ${file.name} failed: cannot reach Tether` }),
          );
        xhr.send(file);
      });
    },
    downloadUrl(remote, path) {
      return transferUrl(TRANSFER_ROUTES.download, token, remote, path);
    },
  };
}

/** The browser host's transport: one WebSocket with request ids, reconnecting after a drop. */
function socketApi(): Api {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const url = `ws://${location.host}/api?token=${encodeURIComponent(token)}`;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<EventListener>();
  const statusListeners = new Set<(status: 'open' | 'closed') => void>();
  let next = 1;
  let socket: WebSocket;
  let opened: Promise<WebSocket>;

  const open = (): void => {
    socket = new WebSocket(url);
    opened = new Promise((resolve, reject) => {
      socket.addEventListener('open', () => {
        for (const l of statusListeners) l('open');
        resolve(socket);
      });
      socket.addEventListener('close', () => {
        for (const l of statusListeners) l('closed');
        for (const p of pending.values())
          p.reject(new ApiError({ code: 'remote-unreachable', message: 'lost the connection to Tether' }));
        pending.clear();
        reject(
          new ApiError({ code: 'remote-unreachable', message: 'cannot reach Tether: is `tether ui` still running?' }),
        );
        setTimeout(open, 2000);
      });
    });
    opened.catch(() => undefined);
    socket.addEventListener('message', (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as ServerMessage;
      if ('event' in message) {
        for (const l of listeners) l(message.event, message.data as TetherEvents[EventName]);
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new ApiError(message.error));
    });
  };
  open();

  return {
    native: false,
    transfers: httpTransfers(token),
    async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      const ws = await opened;
      const id = next++;
      return new Promise<MethodResult<M>>((resolve, reject) => {
        // The engine answers with the method's result type (the contract); the socket carries it as JSON.
        pending.set(id, { resolve: (value) => resolve(value as MethodResult<M>), reject });
        ws.send(JSON.stringify({ id, method, args }));
      });
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
  };
}

function bridgeApi(bridge: Bridge): Api {
  return {
    native: true,
    async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      const answer = await bridge.call(method, args);
      if (!answer.ok) throw new ApiError(answer.error);
      return answer.result as MethodResult<M>;
    },
    on(listener) {
      return bridge.onEvent((event, data) => listener(event as EventName, data as TetherEvents[EventName]));
    },
    onStatus() {
      return () => undefined;
    },
    pathsOf(files) {
      return bridge.pathsOf(files);
    },
  };
}

export const api: Api = window.tether === undefined ? socketApi() : bridgeApi(window.tether);

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
