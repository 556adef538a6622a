// How the socket address of a request reaches the API under Next.js. A route
// handler sees a Web Request, never the connection; scripts/serve.mjs, the
// server in front of Next.js, accepts the connection and writes its address
// into one request header, replacing whatever the client put there. The
// header carries a random key that server holds in this process's globals,
// so a request that did not pass through it (Next.js started another way)
// cannot pass off a header of its own as the connection.
import type { Connection } from './context.ts';

/** Written by scripts/serve.mjs (same names there). */
export const PEER_HEADER = 'x-softudc-peer';
export const PEER_KEY = Symbol.for('softudc.peerKey');

/** The connection scripts/serve.mjs stamped on this request, or undefined when it did not. */
export function stampedConnection(headers: Headers): Connection | undefined {
  const key = (globalThis as { [PEER_KEY]?: string })[PEER_KEY];
  const value = headers.get(PEER_HEADER);
  if (!key || !value) return undefined;
  const [given, address, tls] = value.split(' ');
  if (given !== key) return undefined;
  return { address: address || undefined, encrypted: tls === 'tls' };
}
