// Intent → desired state per host. Pure and deterministic: the same input
// always yields byte-identical states (sorted everywhere), so the deploy
// service can tell by hash which hosts really changed and bump only their
// generations.
//
// Everything the console puts on a host is named by database ids, unique by
// construction: a VIF, router or firewall by its own id, a vnet by its vnet
// id, a TAP device by its VIF's number. Names users chose only travel beside
// them as display names (`name`), so no farm, tenant or VM name can make two
// items collide on a host, and a rename changes nothing a host keys on.
import { createHash } from 'node:crypto';
import type {
  CompileFarm, CompileHost, CompileInput, CompileSegment, HostState, StateFirewall, StateRouter, StateVif, StateVnet,
  VnetKeyring,
} from './types.ts';
import { farmDhcp, hostNameOf } from './dhcp.ts';
import { addProxyVnets, relayed, relayHostOf, type Topology } from './relays.ts';
import { DEFAULT_PORT } from '../../agent/wire/constants.ts';
import { GUEST_MTU_DEFAULT } from '../../contract/limits.ts';

/** Point-to-point vnets for inter-router links across hosts are taken from the top of the id space. */
export const LINK_VNID_TOP = 0xffff_fffe;

export class CompileError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

interface HostAcc {
  host: CompileHost;
  vnets: Map<number, StateVnet>;
  vifs: StateVif[];
  routers: StateRouter[];
  firewalls: StateFirewall[];
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function prefixOf(cidr: string): number {
  const len = Number(cidr.split('/')[1]);
  if (!Number.isInteger(len)) throw new CompileError('cidr', `not a CIDR: ${cidr}`);
  return len;
}

/**
 * A TAP guest's device on its host: `sdv` and its VIF's number (a database
 * sequence, so unique in the deployment). At most 13 characters; the agent's
 * VLAN devices (`sdvb<vnet>`, `sdvt<vnet>`) have a letter after `sdv`.
 */
export const tapDeviceName = (serial: number): string => `sdv${serial}`;

/** A locally administered unicast MAC derived from a name (stable across compiles). */
export function derivedMac(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  const bytes = [0x02, 0x5e, h[0]!, h[1]!, h[2]!, h[3]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function compile(input: CompileInput): Map<string, HostState> {
  const hostsById = new Map(input.hosts.map((h) => [h.id, h]));
  const segments = new Map(input.segments.map((s) => [s.id, s]));
  const acc = new Map<string, HostAcc>();
  const at = (hostId: string, field: string): HostAcc => {
    const host = hostsById.get(hostId);
    if (!host) throw new CompileError(field, `placed on unknown host ${hostId}`);
    let a = acc.get(hostId);
    if (!a) acc.set(hostId, (a = { host, vnets: new Map(), vifs: [], routers: [], firewalls: [] }));
    return a;
  };
  const usedVnids = new Set(input.farms.flatMap((f) => f.vnets.map((v) => v.vnid)));
  let nextLinkVnid = LINK_VNID_TOP;
  const allocLinkVnid = () => {
    while (usedVnids.has(nextLinkVnid)) nextLinkVnid--;
    usedVnids.add(nextLinkVnid);
    return nextLinkVnid--;
  };

  // Farms in a fixed order so link vnet allocation is deterministic.
  for (const farm of [...input.farms].sort((a, b) => byString(a.id, b.id))) {
    compileFarm(farm, at, allocLinkVnid, input.vnetKeys);
  }
  // A segment's relay runs the role (and hears its LAN) even when it carries nothing itself.
  for (const s of input.segments) if (s.relayHostId && hostsById.has(s.relayHostId)) at(s.relayHostId, 'relayHostId');
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
  for (const a of [...acc.values()].sort((x, y) => byString(x.host.name, y.host.name))) {
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
      relay: relayFor(a.host, input.hosts, input.segments),
      ...(input.varpKey ? { varp: { key: input.varpKey } } : {}),
      // Only hosts with a resolver on some vnet need upstreams.
      ...(a.host.dnsUpstream?.length && vnets.some((v) => v.dhcp?.resolver) ? { dns: { upstream: [...a.host.dnsUpstream] } } : {}),
    });
  }
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

function relayFor(host: CompileHost, hosts: CompileHost[], segments: CompileSegment[]): HostState['relay'] {
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

function compileFarm(
  farm: CompileFarm,
  at: (hostId: string, field: string) => HostAcc,
  allocLinkVnid: () => number,
  vnetKeys: Map<number, VnetKeyring> | undefined,
): void {
  const vnets = new Map(farm.vnets.map((v) => [v.vnid, v]));
  const carry = (a: HostAcc, vnid: number, field: string) => {
    const v = vnets.get(vnid);
    if (!v) throw new CompileError(field, `unknown vnet ${vnid} in farm ${farm.name}`);
    if (!a.vnets.has(vnid)) {
      // Keys go only into the states of hosts that carry the vnet.
      const ring = v.security === 'none' ? undefined : vnetKeys?.get(vnid);
      const sealed = ring?.keys.length
        ? { keys: [...ring.keys].sort((x, y) => x.id - y.id).map((k) => ({ ...k })), sendKeyId: ring.sendKeyId }
        : {};
      a.vnets.set(vnid, { id: vnid, name: `${farm.name}/${v.name}`, farm: farm.id, security: v.security, mtu: v.mtu, peers: [], ...sealed, ...(dhcp.has(vnid) ? { dhcp: dhcp.get(vnid)! } : {}) });
    }
    return v;
  };

  // A guest's default gateway on a vnet: a router's address there (routers by
  // name), else a firewall's. Guests reach other vnets only through one.
  const gateways = new Map<number, string>();
  for (const r of [...farm.routers].sort((a, b) => byString(a.name, b.name))) {
    for (const itf of r.interfaces) if (!gateways.has(itf.vnid)) gateways.set(itf.vnid, itf.ip);
  }
  for (const fw of [...farm.firewalls].sort((a, b) => byString(a.name, b.name))) {
    for (const itf of fw.interfaces) if (!gateways.has(itf.vnid)) gateways.set(itf.vnid, itf.ip);
  }

  const dhcp = farmDhcp(farm, gateways);

  farm.vms.forEach((vm, i) => {
    if (!vm.hostId) return; // not placed: nothing to run
    const a = at(vm.hostId, `vms.${i}.hostId`);
    vm.vifs.forEach((vif, j) => {
      const v = carry(a, vif.vnid, `vms.${i}.vifs.${j}.vnet`);
      a.vifs.push({
        id: vif.id,
        name: `${farm.name}/${vm.name}/${vif.name}`,
        farm: farm.id,
        vnet: vif.vnid,
        mac: vif.mac,
        ip: `${vif.ip}/${prefixOf(v.cidr)}`,
        version: vm.locationVersion,
        guest: vm.guestKind === 'tap' && vif.serial !== null ? { kind: 'tap', ifname: tapDeviceName(vif.serial) } : { kind: vm.guestKind },
        ...(gateways.has(vif.vnid) ? { gateway: gateways.get(vif.vnid)! } : {}),
        ...(vm.limit ? { limit: { ...vm.limit } } : {}),
        ...(hostNameOf(vm.name) ? { hostName: hostNameOf(vm.name)! } : {}),
      });
    });
  });

  const routerHost = new Map<string, HostAcc>();
  const routerState = new Map<string, StateRouter>();
  farm.routers.forEach((r, i) => {
    if (!r.hostId) return;
    const a = at(r.hostId, `routers.${i}.hostId`);
    const state: StateRouter = {
      id: r.id,
      name: `${farm.name}/${r.name}`,
      farm: farm.id,
      interfaces: r.interfaces
        .map((itf, j) => {
          carry(a, itf.vnid, `routers.${i}.interfaces.${j}.vnet`);
          return { vnet: itf.vnid, mac: itf.mac, ip: `${itf.ip}/${itf.prefixLen}`, rip: itf.rip };
        })
        .sort((x, y) => x.vnet - y.vnet),
      staticRoutes: [...r.staticRoutes].sort((x, y) => byString(x.destination, y.destination)),
      links: [],
    };
    a.routers.push(state);
    routerHost.set(r.name, a);
    routerState.set(r.name, state);
  });

  // In the order of the routers' ids, so that renaming a router never renumbers the link vnets.
  const linkKey = (l: { a: string; b: string }) => `${routerState.get(l.a)?.id ?? ''}/${routerState.get(l.b)?.id ?? ''}`;
  for (const link of [...farm.routerLinks].sort((x, y) => byString(linkKey(x), linkKey(y)))) {
    const ha = routerHost.get(link.a);
    const hb = routerHost.get(link.b);
    const ra = routerState.get(link.a);
    const rb = routerState.get(link.b);
    if (!ha || !hb || !ra || !rb) continue; // an unplaced end: the link is down
    const len = prefixOf(link.cidr);
    // Co-located routers talk over an in-process channel (seed 004); across
    // hosts the link becomes a point-to-point vnet carried like any other.
    let vnet: number | null = null;
    if (ha !== hb) {
      vnet = allocLinkVnid();
      for (const h of [ha, hb]) {
        h.vnets.set(vnet, { id: vnet, name: `${farm.name}/link:${link.a}-${link.b}`, farm: farm.id, security: 'none', mtu: GUEST_MTU_DEFAULT, peers: [] });
      }
    }
    ra.links.push({ peer: rb.id, local: `${link.ipA}/${len}`, remote: link.ipB, rip: link.rip, vnet, peerHost: vnet ? hb.host.name : null });
    rb.links.push({ peer: ra.id, local: `${link.ipB}/${len}`, remote: link.ipA, rip: link.rip, vnet, peerHost: vnet ? ha.host.name : null });
  }

  // A VLAN bridge makes its host a carrier of the vnet, VIFs there or not.
  farm.vnets.forEach((v, i) => {
    v.vlans?.forEach((l, j) => {
      const a = at(l.hostId, `vnets.${i}.vlans.${j}.hostId`);
      carry(a, v.vnid, `vnets.${i}.vlans.${j}`);
      a.vnets.get(v.vnid)!.vlan = { interface: l.interface, vid: l.vid };
    });
  });

  farm.firewalls.forEach((fw, i) => {
    if (!fw.hostId) return;
    const a = at(fw.hostId, `firewalls.${i}.hostId`);
    a.firewalls.push({
      id: fw.id,
      name: `${farm.name}/${fw.name}`,
      farm: farm.id,
      defaultPolicy: fw.defaultPolicy,
      interfaces: fw.interfaces.map((itf, j) => {
        carry(a, itf.vnid, `firewalls.${i}.interfaces.${j}.vnet`);
        return { name: itf.name, vnet: itf.vnid, mac: itf.mac, ip: `${itf.ip}/${itf.prefixLen}` };
      }),
      rules: fw.rules,
    });
  });
}

/** Canonical JSON (sorted keys) of a state, for hashing and diffing. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function stateHash(state: HostState): string {
  return createHash('sha256').update(canonicalJson(state)).digest('hex');
}
