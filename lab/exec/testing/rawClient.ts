import { WebSocket, type ClientOptions } from 'ws';

/** A raw exec client for tests: records every frame exactly as received. */
export interface Frame {
  readonly channel: number;
  readonly payload: Buffer;
}

export interface Session {
  readonly ws: WebSocket;
  readonly protocol: string;
  readonly frames: Frame[];
  /** Resolves when the socket closes: the close code and the frames received. */
  readonly closed: Promise<{ code: number; frames: Frame[] }>;
  /** Sends stdin (channel 0) and resolves once it is written to the socket. */
  send(data: Buffer | string): Promise<void>;
  /** v5 CLOSE of stdin: `[0xFF, 0]`. */
  closeStdin(): Promise<void>;
  sendRaw(message: Buffer | string): Promise<void>;
}

export const v5 = 'v5.channel.k8s.io';
export const v4 = 'v4.channel.k8s.io';

export function connect(url: string, protocols: string[] = [v5, v4], options: ClientOptions = {}): Promise<Session> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
  const frames: Frame[] = [];
  ws.on('message', (data: Buffer) => frames.push({ channel: data[0] ?? -1, payload: data.subarray(1) }));
  const closed = new Promise<{ code: number; frames: Frame[] }>((resolve) => {
    ws.on('close', (code) => resolve({ code, frames }));
  });
  const sendRaw = (message: Buffer | string): Promise<void> =>
    new Promise((resolve, reject) => ws.send(message, (error) => (error ? reject(error) : resolve())));
  return new Promise((resolve, reject) => {
    ws.once('open', () =>
      resolve({
        ws,
        protocol: ws.protocol,
        frames,
        closed,
        sendRaw,
        send: (data) => sendRaw(Buffer.concat([Buffer.from([0]), Buffer.from(data)])),
        closeStdin: () => sendRaw(Buffer.from([0xff, 0])),
      }),
    );
    ws.once('error', reject);
  });
}

/** The HTTP status and body of a refused upgrade. */
export function refusal(url: string, protocols: string[]): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, protocols);
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    ws.on('open', () => reject(new Error(`the upgrade was accepted with ${ws.protocol}`)));
    ws.on('error', () => undefined);
  });
}

export function channelText(frames: readonly Frame[], channel: number): string {
  return Buffer.concat(frames.filter((frame) => frame.channel === channel).map((frame) => frame.payload)).toString();
}

export function statusOf(frames: readonly Frame[]): unknown {
  const [status, ...more] = frames.filter((frame) => frame.channel === 3 && frame.payload.length > 0);
  if (status === undefined || more.length > 0) throw new Error(`expected one status frame, got ${more.length + 1}`);
  return JSON.parse(status.payload.toString()) as unknown;
}
