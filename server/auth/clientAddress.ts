// Who is on the other end of a request: the address of the TCP connection,
// unless that connection comes from a proxy the operator named in
// SOFTUDC_TRUSTED_PROXIES, whose X-Forwarded-For is then believed. Anyone can
// write an X-Forwarded-For header, so believing it from everyone would let a
// client pick the address the sign-in limiter counts and the audit log
// records (a fresh allowance per forged address, or a victim's address to
// lock them out).
import { BlockList } from 'node:net';
import { consoleConfig, normalizeAddress, parseProxyList, type ProxyPrefix } from '../../config/index.ts';

export { normalizeAddress };

export const TRUSTED_PROXIES_ENV = 'SOFTUDC_TRUSTED_PROXIES';

export interface TrustedProxies {
  /** The setting as given (for messages). */
  readonly text: string;
  has(address: string): boolean;
}

/**
 * Parses a comma-separated list of addresses and CIDR prefixes (IPv4 or
 * IPv6), e.g. `10.0.0.5, 10.1.0.0/16, fd00::/8`. Empty: no proxy is trusted.
 */
export function parseTrustedProxies(text: string | undefined): TrustedProxies {
  const raw = (text ?? '').trim();
  const r = parseProxyList(raw);
  if (r.bad !== undefined) {
    throw new Error(`${TRUSTED_PROXIES_ENV}: "${r.bad}" is not an IP address or CIDR prefix (e.g. 10.0.0.5, 10.1.0.0/16, fd00::/8)`);
  }
  return fromPrefixes(raw, r.prefixes);
}

function fromPrefixes(text: string, prefixes: readonly ProxyPrefix[]): TrustedProxies {
  const list = new BlockList();
  for (const p of prefixes) list.addSubnet(p.address, p.prefix, p.family === 4 ? 'ipv4' : 'ipv6');
  return {
    text,
    has(address) {
      const a = normalizeAddress(address);
      return a !== null && list.check(a, a.includes(':') ? 'ipv6' : 'ipv4');
    },
  };
}

let cached: { setting: object; proxies: TrustedProxies } | undefined;

/** The process's trusted proxies, from the environment (SOFTUDC_TRUSTED_PROXIES, validated by config/). */
export function trustedProxies(env: Record<string, string | undefined> = process.env): TrustedProxies {
  const setting = consoleConfig(env).SOFTUDC_TRUSTED_PROXIES;
  if (!cached || cached.setting !== setting) cached = { setting, proxies: fromPrefixes(setting.text.trim(), setting.prefixes) };
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
