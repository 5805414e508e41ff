import type {
  EventName,
  MethodArgs,
  MethodName,
  MethodResult,
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
  readonly native: true;
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
  };
}

export const api: Api = window.tether === undefined ? socketApi() : bridgeApi(window.tether);

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
