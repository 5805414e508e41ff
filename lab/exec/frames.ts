/**
 * The Kubernetes exec channel protocol (`v4.channel.k8s.io`, `v5.channel.k8s.io`) as data: channel numbers,
 * frame encoding, what a client message means, and the Status objects the server sends. No I/O here.
 */

export const channels = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

export type ExecProtocol = 'v5.channel.k8s.io' | 'v4.channel.k8s.io';

/** The largest WebSocket message the lab sends: the channel byte and up to 256 KiB − 1 of payload. */
export const maxMessageBytes = 256 * 1024;
export const maxPayloadPerMessage = maxMessageBytes - 1;

/** One binary message: the channel byte, then the payload. */
export function encodeFrame(channel: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const frame = Buffer.allocUnsafe(payload.length + 1);
  frame[0] = channel;
  frame.set(payload, 1);
  return frame;
}

/** Splits a payload into pieces that each fit one message. */
export function splitPayload(payload: Buffer, limit = maxPayloadPerMessage): Buffer[] {
  if (payload.length <= limit) return [payload];
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < payload.length; offset += limit) pieces.push(payload.subarray(offset, offset + limit));
  return pieces;
}

export type ClientMessage =
  | { readonly kind: 'stdin'; readonly data: Buffer }
  /** v5 only: `[0xFF, channel]` half-closes a stream; channel 0 closes the process's stdin. */
  | { readonly kind: 'close'; readonly channel: number }
  | { readonly kind: 'resize' }
  | { readonly kind: 'ignored'; readonly reason: string };

/** What a message from the client asks for. Anything malformed or unknown is `ignored`, with the reason. */
export function parseClientMessage(message: Buffer, protocol: ExecProtocol): ClientMessage {
  const channel = message[0];
  if (channel === undefined) return { kind: 'ignored', reason: 'empty message (no channel byte)' };
  switch (channel) {
    case channels.stdin:
      return { kind: 'stdin', data: message.subarray(1) };
    case channels.resize:
      return { kind: 'resize' };
    case channels.close: {
      if (protocol !== 'v5.channel.k8s.io') return { kind: 'ignored', reason: 'CLOSE frames need v5.channel.k8s.io' };
      const closed = message[1];
      if (message.length !== 2 || closed === undefined) {
        return { kind: 'ignored', reason: `malformed CLOSE frame of ${message.length} bytes` };
      }
      return { kind: 'close', channel: closed };
    }
    case channels.stdout:
    case channels.stderr:
    case channels.status:
      return { kind: 'ignored', reason: `channel ${channel} only carries data from the server` };
    default:
      return { kind: 'ignored', reason: `unknown channel ${channel}` };
  }
}

/** The `metav1.Status` shapes the exec protocol and the API server's errors use. Key order is the wire order. */
export interface StatusCause {
  readonly reason: string;
  readonly message: string;
}

export interface KubernetesStatus {
  readonly kind?: 'Status';
  readonly apiVersion?: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: { readonly causes: readonly StatusCause[] };
  readonly code?: number;
}

/** Channel 3 after exit code 0. */
export function successStatus(): KubernetesStatus {
  return { metadata: {}, status: 'Success' };
}

/** Channel 3 after a non-zero exit: kubectl and client-go read the code from the `ExitCode` cause. */
export function exitCodeStatus(code: number): KubernetesStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** The status that ends a session with the given exit code. */
export function statusForExit(code: number): KubernetesStatus {
  return code === 0 ? successStatus() : exitCodeStatus(code);
}

/** Channel 3 when the command could not be started at all. */
export function internalErrorStatus(message: string): KubernetesStatus {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

/** A complete HTTP error body, as the API server sends it (`kubectl` prints its message). */
export function httpErrorStatus(code: number, reason: string, message: string): KubernetesStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export function encodeStatus(status: KubernetesStatus): Buffer {
  return encodeFrame(channels.status, Buffer.from(JSON.stringify(status), 'utf8'));
}
