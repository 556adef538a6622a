// Wide area (seed 002; wire.md "RELAY"; docs/agent-state.md `relay`): LAN
// segments that multicast cannot cross are joined by one vnetd relay each.
// Floods between hosts of two such segments go through the relays, never
// directly (that would deliver every broadcast twice), so a host's flood
// peers are the carriers it reaches directly; on a unicast-only LAN it also
// floods to its own relay, and the relay floods back to the LAN's hosts.
import type { CompileHost, CompileSegment, StateVnet } from './types.ts';

export interface Topology {
  hostsById: Map<string, CompileHost>;
  segments: Map<string, CompileSegment>;
}

interface Carrier {
  host: CompileHost;
  vnets: Map<number, StateVnet>;
}

/** The host running the vnetd role for a host's segment, if there is one. */
export function relayHostOf(t: Topology, h: CompileHost): CompileHost | undefined {
  const seg = h.segmentId ? t.segments.get(h.segmentId) : undefined;
  return seg?.relayHostId ? t.hostsById.get(seg.relayHostId) : undefined;
}

/** True when a and b sit on different segments that both have a relay: floods between them cross the relays. */
export function relayed(t: Topology, a: CompileHost, b: CompileHost): boolean {
  if (!a.segmentId || !b.segmentId || a.segmentId === b.segmentId) return false;
  return relayHostOf(t, a) !== undefined && relayHostOf(t, b) !== undefined;
}

/**
 * A proxy relay forwards unicast FRAMEs by their destination MAC, which it can
 * only read in a `conf` vnet with the vnet's keys (docs/agent-state.md "Proxy
 * mode"), and resolves destinations only on vnets it carries: it carries every
 * vnet that has carriers both on its LAN and behind another relay (a sealed
 * one with its keys), without VIFs.
 */
export function addProxyVnets(accs: Carrier[], t: Topology): void {
  const carriers = new Map<number, Carrier[]>();
  for (const a of accs) {
    for (const vnid of a.vnets.keys()) {
      let l = carriers.get(vnid);
      if (!l) carriers.set(vnid, (l = []));
      l.push(a);
    }
  }
  for (const seg of [...t.segments.values()].sort((x, y) => (x.id < y.id ? -1 : 1))) {
    if (!seg.proxyMode || !seg.relayHostId) continue;
    const relay = accs.find((a) => a.host.id === seg.relayHostId);
    if (!relay) continue;
    for (const [vnid, list] of carriers) {
      const template = list[0]!.vnets.get(vnid)!;
      if ((template.security !== 'none' && !template.keys?.length) || relay.vnets.has(vnid)) continue;
      const here = list.some((a) => a.host.segmentId === seg.id && a !== relay);
      const far = list.some((a) => relayed(t, relay.host, a.host));
      if (!here || !far) continue;
      // A carrier's VLAN bridge is its own, never the relay's.
      const { vlan: _vlan, ...common } = template;
      const keys = template.keys ? { keys: template.keys.map((k) => ({ ...k })) } : {};
      relay.vnets.set(vnid, { ...common, ...keys, peers: [] });
    }
  }
}
