// The VARP messages a proxy vnetd originates (spec "RELAY", proxy mode): all
// carry its own COA, so hosts on each side only ever point at their own vnetd.
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, VARP_FLAG_PROXY, VARP_REQUEST, encodeVarp, type VarpMessage } from '../wire/index.ts';
import type { RelaySettings } from './types.ts';

/** An ANNOUNCE for (vnet, mac) at our COA, with the route's IP and location version. */
export function proxyAnnounce(s: RelaySettings, vnet: number, mac: number, r: { ip: number | null; version: number }, nonce: number, flags: number): Buffer {
  return encodeVarp(
    { opcode: VARP_ANNOUNCE, vnet, mac, flags: flags | (r.ip !== null ? VARP_FLAG_HAS_IP : 0), ip: r.ip ?? 0, coa: s.ownCoa, nonce, version: r.version },
    s.key,
  );
}

/** The same ANNOUNCE or WITHDRAW with our COA and the PROXY flag: hosts on the other side reach the VIF through us. */
export function proxyRewrite(s: RelaySettings, msg: VarpMessage, nonce: number): Buffer {
  return encodeVarp({ ...msg, coa: s.ownCoa, nonce, flags: (msg.flags & (VARP_FLAG_HAS_IP | VARP_FLAG_GRATUITOUS)) | VARP_FLAG_PROXY }, s.key);
}

/** A REQUEST under our COA: by MAC, or by IP (HAS_IP, zero MAC) when `mac` is 0. */
export function proxyRequest(s: RelaySettings, vnet: number, mac: number, ip: number | null, nonce: number): Buffer {
  const byIp = mac === 0;
  return encodeVarp({ opcode: VARP_REQUEST, vnet, mac, flags: byIp ? VARP_FLAG_HAS_IP : 0, ip: byIp ? ip! : 0, coa: s.ownCoa, nonce, version: 0 }, s.key);
}
