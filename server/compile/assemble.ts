// Farms' parts (farm.ts) → one desired state per host: what depends on more
// than one farm or on the hosts and LAN segments alone. Per host: the flood
// peers of each vnet (its other carriers, relays taken into account), the
// underlay (peers, multicast, admitted members), the relay role, the vnets'
// keys and the VARP key; per proxy relay, the vnets it proxies. With `only`,
// states are written for those hosts alone: the parts of every farm that
// reaches them (or, for a relay, its LAN) must be given, the others may be
// left out.
import type { CompileHost, CompileSegment, FarmPart, HostState, StateFirewall, StateRouter, StateAddressSet, StateSecurityGroup, StateVif, StateVnet, VnetKeyring } from './types.ts';
import { addProxyVnets, relayed, relayHostOf, type Topology } from './relays.ts';
import { byString, CompileError } from './common.ts';
import { DEFAULT_PORT } from '../../agent/wire/constants.ts';

export interface AssembleInput {
  hosts: CompileHost[];
  segments: CompileSegment[];
  /** In the farms' id order. */
  parts: FarmPart[];
  port?: number;
  /** Keyrings of auth/conf vnets by vnet id; given only to hosts that carry the vnet (and proxy relays it crosses). */
  vnetKeys?: Map<number, VnetKeyring>;
  /** The deployment's VARP key (base64), written to every host that runs something. */
  varpKey?: string;
}

interface HostAcc {
  host: CompileHost;
  vnets: Map<number, StateVnet>;
  vifs: StateVif[];
  routers: StateRouter[];
  firewalls: StateFirewall[];
  securityGroups: StateSecurityGroup[];
  addressSets: StateAddressSet[];
}

/** The states of the hosts that run something or relay (all of them, or those in `only`), by host name. */
export function assemble(input: AssembleInput, only?: ReadonlySet<string>): Map<string, HostState> {
  const hostsById = new Map(input.hosts.map((h) => [h.id, h]));
  const segments = new Map(input.segments.map((s) => [s.id, s]));
  const acc = new Map<string, HostAcc>();
  const at = (hostId: string): HostAcc | undefined => {
    const host = hostsById.get(hostId);
    if (!host) return undefined;
    let a = acc.get(hostId);
    if (!a) acc.set(hostId, (a = { host, vnets: new Map(), vifs: [], routers: [], firewalls: [], securityGroups: [], addressSets: [] }));
    return a;
  };
  // One vnet id is one farm's network: two parts carrying it would merge two farms' segments.
  const owner = new Map<number, string>();
  for (const part of input.parts) {
    for (const vnid of [...part.sealedVnids, ...part.hosts.flatMap((p) => p.vnets.map((v) => v.id))]) {
      const other = owner.get(vnid);
      if (other !== undefined && other !== part.farmId) {
        throw new CompileError('vnid', `vnet id ${vnid} is carried by two deployed farms; refusing to merge their networks`);
      }
      owner.set(vnid, part.farmId);
    }
  }
  for (const part of input.parts) {
    for (const p of part.hosts) {
      const a = at(p.hostId);
      if (!a) continue; // a part compiled for a host deleted since: it runs nowhere
      for (const v of p.vnets) {
        // Keys go only into the states of hosts that carry the vnet.
        const ring = v.security === 'none' ? undefined : input.vnetKeys?.get(v.id);
        const sealed = ring?.keys.length
          ? { keys: [...ring.keys].sort((x, y) => x.id - y.id).map((k) => ({ ...k })), sendKeyId: ring.sendKeyId }
          : {};
        a.vnets.set(v.id, { ...v, peers: [], ...sealed });
      }
      a.vifs.push(...p.vifs);
      a.routers.push(...p.routers);
      a.firewalls.push(...p.firewalls);
      a.securityGroups.push(...(p.securityGroups ?? []));
      a.addressSets.push(...(p.addressSets ?? []));
    }
  }
  // A segment's relay runs the role (and hears its LAN) even when it carries nothing itself.
  for (const s of input.segments) if (s.relayHostId) at(s.relayHostId);
  const topo: Topology = { hostsById, segments };
  addProxyVnets([...acc.values()], topo);

  // Carriers of every vnet: the hosts a flood on it must reach.
  const carriers = new Map<number, CompileHost[]>();
  for (const a of acc.values()) {
    for (const vnid of a.vnets.keys()) {
      let s = carriers.get(vnid);
      if (!s) carriers.set(vnid, (s = []));
      s.push(a.host);
    }
  }

  const out = new Map<string, HostState>();
  const chosen = [...acc.values()].filter((a) => !only || only.has(a.host.id));
  for (const a of chosen.sort((x, y) => byString(x.host.name, y.host.name))) {
    const vnets = [...a.vnets.values()].sort((x, y) => x.id - y.id);
    // Peers: the other carriers this host floods to directly; those behind relays are reached through them.
    const crossing = new Set<StateVnet>();
    const far = new Set<string>();
    for (const v of vnets) {
      const others = (carriers.get(v.id) ?? []).filter((h) => h !== a.host);
      v.peers = others.filter((h) => !relayed(topo, a.host, h)).map((h) => h.address).sort(byString);
      for (const h of others) if (relayed(topo, a.host, h)) far.add(h.address);
      if (others.some((h) => relayed(topo, a.host, h))) crossing.add(v);
    }
    const direct = [...new Set(vnets.flatMap((v) => v.peers))].sort(byString);
    const multicast = multicastFor(a.host, direct, input.hosts, segments);
    const peers = multicast === null ? unicastRelayPeers(a, direct, crossing, acc.values(), topo) : direct;
    const members = admittedMembers(a.host, multicast, far, input.hosts);
    out.set(a.host.name, {
      host: a.host.name,
      underlay: {
        address: a.host.address,
        port: a.host.port || input.port || DEFAULT_PORT,
        multicast,
        peers,
        ...(members.length > 0 ? { members } : {}),
      },
      vnets,
      vifs: a.vifs.sort((x, y) => byString(x.id, y.id)),
      routers: a.routers.sort((x, y) => byString(x.id, y.id)),
      firewalls: a.firewalls.sort((x, y) => byString(x.id, y.id)),
      // Absent when no VIF here belongs to a group, so hosts without groups get the state they had before groups existed.
      ...(a.securityGroups.length ? { securityGroups: a.securityGroups.sort((x, y) => byString(x.id, y.id)) } : {}),
      ...(a.addressSets.length ? { addressSets: a.addressSets.sort((x, y) => byString(x.id, y.id)) } : {}),
      relay: relayFor(a.host, input.hosts, input.segments),
      ...(input.varpKey ? { varp: { key: input.varpKey } } : {}),
      // Only hosts with a resolver on some vnet need upstreams.
      ...(a.host.dnsUpstream?.length && vnets.some((v) => v.dhcp?.resolver) ? { dns: { upstream: [...a.host.dnsUpstream] } } : {}),
    });
  }
  return out;
}

/**
 * The hosts whose states a change of one farm's part can change: the hosts
 * the part reaches (before or after the change) and the relays of their LAN
 * segments (a relay proxies the vnets that cross it and, without multicast,
 * floods to its LAN's carriers).
 */
export function affectedHosts(touched: Iterable<string>, hosts: CompileHost[], segments: CompileSegment[]): Set<string> {
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const relayOf = new Map(segments.map((s) => [s.id, s.relayHostId]));
  const out = new Set<string>();
  for (const id of touched) {
    const h = byId.get(id);
    if (!h) continue;
    out.add(id);
    const relay = h.segmentId ? relayOf.get(h.segmentId) : null;
    if (relay && byId.has(relay)) out.add(relay);
  }
  return out;
}

/**
 * The hosts whose farms' parts assembling `affected` needs: those hosts, and
 * every host of the LAN segment of a relay among them.
 */
export function neededHosts(affected: ReadonlySet<string>, hosts: CompileHost[], segments: CompileSegment[]): Set<string> {
  const relaySegments = new Set(segments.filter((s) => s.relayHostId && affected.has(s.relayHostId)).map((s) => s.id));
  const out = new Set(affected);
  for (const h of hosts) if (h.segmentId && relaySegments.has(h.segmentId)) out.add(h.id);
  return out;
}

/**
 * Who a host accepts FRAMEs and VARP from beyond its peers and relay peers
 * (wire.md "Admission"): with multicast, every other host of its LAN segment
 * (their floods, and the segment's vnetd re-flooding what came from afar,
 * arrive by the group); and the carriers of its vnets behind relays, whose
 * answers and unicast FRAMEs come straight to it.
 */
function admittedMembers(host: CompileHost, multicast: string | null, far: Set<string>, hosts: CompileHost[]): string[] {
  const members = new Set(far);
  if (multicast !== null && host.segmentId) {
    for (const h of hosts) if (h !== host && h.segmentId === host.segmentId) members.add(h.address);
  }
  members.delete(host.address);
  return [...members].sort(byString);
}

/**
 * On a LAN without multicast the relay only hears what is sent to it: members
 * list their relay among the peers of every vnet that crosses it, and the
 * relay lists the LAN's hosts, to which it re-floods what comes from afar.
 */
function unicastRelayPeers(
  a: HostAcc, direct: string[], crossing: Set<StateVnet>, all: Iterable<HostAcc>, topo: Topology,
): string[] {
  const peers = new Set(direct);
  const relay = relayHostOf(topo, a.host);
  if (relay && relay !== a.host && crossing.size > 0) {
    for (const v of crossing) if (!v.peers.includes(relay.address)) v.peers = [...v.peers, relay.address].sort(byString);
    peers.add(relay.address);
  }
  if (relay === a.host) {
    for (const o of all) {
      if (o !== a && o.host.segmentId === a.host.segmentId && o.vnets.size > 0) peers.add(o.host.address);
    }
  }
  return [...peers].sort(byString);
}

/**
 * Multicast only works when this host and every peer sit on one LAN segment
 * that has it; otherwise REQUESTs and broadcasts go by unicast to the peers
 * (spec: `multicast: null`), and segments are joined by vnetd relays.
 */
function multicastFor(
  host: CompileHost, peers: string[], hosts: CompileHost[], segments: Map<string, CompileSegment>,
): string | null {
  const seg = host.segmentId ? segments.get(host.segmentId) : undefined;
  if (!seg || !seg.multicast) return null;
  const byAddress = new Map(hosts.map((h) => [h.address, h]));
  const sameLan = peers.every((p) => byAddress.get(p)?.segmentId === seg.id);
  return sameLan ? seg.multicastGroup : null;
}

/** A host's relay role: enabled on its segment's relay, with the other segments' relays as peers. */
export function relayFor(host: CompileHost, hosts: CompileHost[], segments: CompileSegment[]): HostState['relay'] {
  const mine = segments.find((s) => s.relayHostId === host.id);
  if (!mine) return null;
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const peers = segments
    .filter((s) => s !== mine && s.relayHostId)
    .map((s) => byId.get(s.relayHostId!)?.address)
    .filter((a): a is string => !!a)
    .sort(byString);
  return { enabled: true, peers, proxy: mine.proxyMode };
}
