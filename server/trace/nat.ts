// NAT on an external leg (contract/nat.ts) as the trace sees a new flow's
// first packet: inbound, a floating IP or a port forward rewrites the
// destination, and nothing else reaches inside; outbound, a floating IP or
// an SNAT prefix rewrites the source to an external address.
import { inPrefix, ipToString, parseCidr, parseIp } from '../../agent/wire/addr.ts';
import type { NodeIface } from './topology.ts';
import type { Decider, TraceProtocol } from './types.ts';

interface Packet {
  src: number;
  dst: number;
  srcPort: number | null;
  dstPort: number | null;
}

export type NatOutcome =
  | { kind: 'none' }
  | { kind: 'translated'; pkt: Packet; reason: string; decidedBy: Decider }
  | { kind: 'refused'; reason: string; decidedBy: Decider | null };

/** The leg's ephemeral source port for a masqueraded flow is chosen live; the trace keeps the guest's. */
export function egressNat(leg: NodeIface, pkt: Packet, _protocol: TraceProtocol): NatOutcome {
  const nat = leg.nat!;
  const fip = nat.floatingIps.find((f) => parseIp(f.internal) === pkt.src);
  if (fip) {
    return {
      kind: 'translated', pkt: { ...pkt, src: parseIp(fip.external) },
      reason: `source ${ipToString(pkt.src)} leaves as its floating IP ${fip.external}`,
      decidedBy: { kind: 'nat', ref: fip.external, text: `floating IP ${fip.external} <-> ${fip.internal}` },
    };
  }
  const snat = nat.snat.find((n) => {
    const c = parseCidr(n);
    return inPrefix(pkt.src, c.network, c.prefixLen);
  });
  if (snat) {
    return {
      kind: 'translated', pkt: { ...pkt, src: leg.ip },
      reason: `source ${ipToString(pkt.src)} is masqueraded as the leg's address ${ipToString(leg.ip)} (source port chosen by the agent)`,
      decidedBy: { kind: 'nat', ref: snat, text: `SNAT ${snat}` },
    };
  }
  return { kind: 'none' };
}

export function ingressNat(leg: NodeIface, pkt: Packet, protocol: TraceProtocol): NatOutcome {
  const nat = leg.nat!;
  const fip = nat.floatingIps.find((f) => parseIp(f.external) === pkt.dst);
  if (fip) {
    return {
      kind: 'translated', pkt: { ...pkt, dst: parseIp(fip.internal) },
      reason: `floating IP ${fip.external} is translated to ${fip.internal}`,
      decidedBy: { kind: 'nat', ref: fip.external, text: `floating IP ${fip.external} <-> ${fip.internal}` },
    };
  }
  const fwd = nat.portForwards.find((p) => p.protocol === protocol && parseIp(p.external) === pkt.dst && p.externalPort === pkt.dstPort);
  if (fwd) {
    return {
      kind: 'translated', pkt: { ...pkt, dst: parseIp(fwd.internal), dstPort: fwd.internalPort },
      reason: `port forward ${fwd.protocol} ${fwd.external}:${fwd.externalPort} -> ${fwd.internal}:${fwd.internalPort}`,
      decidedBy: { kind: 'nat', ref: `${fwd.protocol}/${fwd.external}/${fwd.externalPort}`, text: `port forward ${fwd.protocol} ${fwd.external}:${fwd.externalPort} -> ${fwd.internal}:${fwd.internalPort}` },
    };
  }
  if (pkt.dst === leg.ip) return { kind: 'none' };
  return {
    kind: 'refused',
    reason: `inbound on an external leg reaches only floating IPs, port forwards and replies of NAT state; ${ipToString(pkt.dst)}${pkt.dstPort === null ? '' : `:${pkt.dstPort}`} is none of them`,
    decidedBy: null,
  };
}
