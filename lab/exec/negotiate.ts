import type { ExecProtocol } from './frames.js';

/** Subprotocols the lab speaks, best first. Older ones (`channel.k8s.io`, v2, v3, base64) are refused. */
export const supportedProtocols: readonly ExecProtocol[] = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/** The subprotocols a client offers in `Sec-WebSocket-Protocol` (one header or several, comma-separated). */
export function offeredProtocols(header: string | readonly string[] | undefined): string[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  return values
    .flatMap((value) => value.split(','))
    .map((token) => token.trim())
    .filter((token) => token.length > 0);
}

/** The protocol the server picks: v5 when offered and allowed, else v4, else none (the upgrade is refused). */
export function chooseProtocol(offered: readonly string[], v4Only: boolean): ExecProtocol | undefined {
  const allowed = v4Only
    ? supportedProtocols.filter((protocol) => protocol === 'v4.channel.k8s.io')
    : supportedProtocols;
  return allowed.find((protocol) => offered.includes(protocol));
}

/** Why the upgrade was refused, for the 400 Status. */
export function noProtocolMessage(offered: readonly string[], v4Only: boolean): string {
  const accepted = v4Only ? 'v4.channel.k8s.io' : 'v5.channel.k8s.io or v4.channel.k8s.io';
  const what = offered.length === 0 ? 'no subprotocol' : `only ${offered.join(', ')}`;
  return `unable to upgrade connection: the client offered ${what}; this server accepts ${accepted}`;
}
