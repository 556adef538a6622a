// Who is on the other end of a request: the address of the TCP connection,
// unless that connection comes from a proxy the operator named in
// SOFTUDC_TRUSTED_PROXIES, whose X-Forwarded-For is then believed. Anyone can
// write an X-Forwarded-For header, so believing it from everyone would let a
// client pick the address the sign-in limiter counts and the audit log
// records (a fresh allowance per forged address, or a victim's address to
// lock them out).
import { BlockList, isIP } from 'node:net';

export const TRUSTED_PROXIES_ENV = 'SOFTUDC_TRUSTED_PROXIES';

export interface TrustedProxies {
  /** The setting as given (for messages). */
  readonly text: string;
  has(address: string): boolean;
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is `192.0.2.1`. */
export function normalizeAddress(address: string): string | null {
  const a = address.trim();
  const v4 = a.toLowerCase().startsWith('::ffff:') ? a.slice(7) : a;
  if (isIP(v4) === 4) return v4;
  return isIP(a) === 6 ? a.toLowerCase() : null;
}

/**
 * Parses a comma-separated list of addresses and CIDR prefixes (IPv4 or
 * IPv6), e.g. `10.0.0.5, 10.1.0.0/16, fd00::/8`. Empty: no proxy is trusted.
 */
export function parseTrustedProxies(text: string | undefined): TrustedProxies {
  const raw = (text ?? '').trim();
  const list = new BlockList();
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const slash = item.indexOf('/');
    const addr = normalizeAddress(slash < 0 ? item : item.slice(0, slash));
    const family = addr === null ? 0 : isIP(addr);
    const lenText = slash < 0 ? String(family === 4 ? 32 : 128) : item.slice(slash + 1);
    const len = /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
    if (addr === null || !(len >= 0 && len <= (family === 4 ? 32 : 128))) {
      throw new Error(`${TRUSTED_PROXIES_ENV}: "${item}" is not an IP address or CIDR prefix (e.g. 10.0.0.5, 10.1.0.0/16, fd00::/8)`);
    }
    list.addSubnet(addr, len, family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    text: raw,
    has(address) {
      const a = normalizeAddress(address);
      return a !== null && list.check(a, isIP(a) === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

let cached: { text: string | undefined; proxies: TrustedProxies } | undefined;

/** The process's trusted proxies, from the environment (parsed once per value). */
export function trustedProxies(env: Record<string, string | undefined> = process.env): TrustedProxies {
  const text = env[TRUSTED_PROXIES_ENV];
  if (!cached || cached.text !== text) cached = { text, proxies: parseTrustedProxies(text) };
  return cached.proxies;
}

/** Where a request came from, and over what. */
export interface RequestOrigin {
  /** The client's address, or undefined when the server could not tell (no socket address). */
  address: string | undefined;
  /** Whether the client's request arrived over HTTPS (the connection's, or a trusted proxy's word). */
  secure: boolean;
}

/**
 * The client of a connection from `peer`: the peer itself, unless it is a
 * trusted proxy; then X-Forwarded-For is read from the right (each proxy
 * appends the address it saw), skipping trusted proxies, and the first
 * address that is not one is the client. X-Forwarded-Proto likewise counts
 * only from a trusted proxy.
 */
export function requestOrigin(o: {
  peer: string | undefined;
  /** Whether the connection itself is TLS. */
  encrypted: boolean;
  forwardedFor: string | null;
  forwardedProto: string | null;
  trusted: TrustedProxies;
}): RequestOrigin {
  const peer = o.peer === undefined ? null : normalizeAddress(o.peer);
  if (peer === null) return { address: undefined, secure: o.encrypted };
  if (!o.trusted.has(peer)) return { address: peer, secure: o.encrypted };
  let client = peer;
  const hops = (o.forwardedFor ?? '').split(',').map((s) => s.trim()).filter(Boolean).reverse();
  for (const hop of hops) {
    const a = normalizeAddress(hop);
    // A hop that is not an address: the trusted proxy nearest to it is as far as we can see.
    if (a === null) break;
    client = a;
    if (!o.trusted.has(a)) break;
  }
  const proto = o.forwardedProto?.split(',')[0]?.trim().toLowerCase();
  return { address: client, secure: proto ? proto === 'https' : o.encrypted };
}
