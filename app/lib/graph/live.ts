// Live state derived from agent reports: what state each VM is in, which
// hosts have tunnels between them, and how many packets those carry.
import type { FarmDetail, HostItem, RouterOutputs } from './elements.ts';

/** One host's latest report as `host.report` / `host.reports` give it (VIFs and VARP in full detail only). */
export type HostReportView = RouterOutputs['host']['report'];
export type ReportBody = NonNullable<HostReportView['report']>;

export type HostLite = Pick<HostItem, 'id' | 'name' | 'address' | 'status' | 'desiredGeneration' | 'appliedGeneration' | 'segmentId' | 'segmentName'>;

export type VmState = 'running' | 'pending' | 'down' | 'unplaced' | 'undeployed';

const vifKey = (vnid: number, mac: string) => `${vnid}/${mac.toLowerCase()}`;

/**
 * A VM is running when its host is online and reports every one of its VIFs
 * (matched by vnet id and MAC), pending while the host has not caught up,
 * down when its host is not online.
 */
export function vmStates(farms: readonly FarmDetail[], hosts: readonly HostLite[], reports: ReadonlyMap<string, HostReportView>): Map<string, VmState> {
  const hostById = new Map(hosts.map((h) => [h.id, h]));
  const reported = new Map<string, Set<string>>();
  for (const [hostId, r] of reports) {
    if (r.report?.vifs) reported.set(hostId, new Set(r.report.vifs.map((v) => vifKey(v.vnet, v.mac))));
  }
  const out = new Map<string, VmState>();
  for (const farm of farms) {
    const vnid = new Map(farm.vnets.map((v) => [v.id, v.vnid]));
    for (const vm of farm.vms) {
      if (!vm.hostId) out.set(vm.id, 'unplaced');
      else if (farm.deployedRevision === null) out.set(vm.id, 'undeployed');
      else {
        // The report stream carries the freshest liveness; the host list is the fallback.
        const status = reports.get(vm.hostId)?.status ?? hostById.get(vm.hostId)?.status;
        if (status !== 'online') out.set(vm.id, 'down');
        else {
          const seen = reported.get(vm.hostId);
          const all = vm.vifs.every((f) => seen?.has(vifKey(vnid.get(f.vnetId) ?? -1, f.mac)));
          out.set(vm.id, all && seen ? 'running' : 'pending');
        }
      }
    }
  }
  return out;
}

export interface Tunnel {
  /** Host ids, a < b. */
  a: string;
  b: string;
  /** Vnet ids (vnid) both hosts carry, from placements. */
  vnets: number[];
  /** Whether either host's VARP cache points at the other. */
  observed: boolean;
}

const pairKey = (x: string, y: string) => (x < y ? `${x}|${y}` : `${y}|${x}`);

/** Host pairs that exchange encapsulated frames: they carry a common vnet of a deployed farm, or VARP says so. */
export function tunnels(farms: readonly FarmDetail[], hosts: readonly HostLite[], reports: ReadonlyMap<string, HostReportView>): Tunnel[] {
  const hostsOfVnet = new Map<number, Set<string>>();
  const carry = (vnid: number | undefined, hostId: string | null) => {
    if (vnid === undefined || !hostId) return;
    let s = hostsOfVnet.get(vnid);
    if (!s) hostsOfVnet.set(vnid, (s = new Set()));
    s.add(hostId);
  };
  for (const farm of farms) {
    if (farm.deployedRevision === null) continue;
    const vnid = new Map(farm.vnets.map((v) => [v.id, v.vnid]));
    for (const vm of farm.vms) for (const f of vm.vifs) carry(vnid.get(f.vnetId), vm.hostId);
    for (const r of farm.routers) for (const i of r.interfaces) carry(vnid.get(i.vnetId), r.hostId);
    for (const fw of farm.firewalls) for (const i of fw.interfaces) carry(vnid.get(i.vnetId), fw.hostId);
  }
  const pairs = new Map<string, Tunnel>();
  const get = (x: string, y: string) => {
    const key = pairKey(x, y);
    let t = pairs.get(key);
    if (!t) pairs.set(key, (t = { a: x < y ? x : y, b: x < y ? y : x, vnets: [], observed: false }));
    return t;
  };
  for (const [vnid, set] of [...hostsOfVnet].sort((p, q) => p[0] - q[0])) {
    const ids = [...set].sort();
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) get(ids[i]!, ids[j]!).vnets.push(vnid);
  }
  const hostByAddress = new Map(hosts.map((h) => [h.address, h.id]));
  for (const [hostId, r] of reports) {
    for (const e of r.report?.varp ?? []) {
      const other = hostByAddress.get(e.coa);
      if (other && other !== hostId && e.state === 'REACHABLE') get(hostId, other).observed = true;
    }
  }
  return [...pairs.values()].sort((p, q) => pairKey(p.a, p.b).localeCompare(pairKey(q.a, q.b)));
}

/** Datagrams sent by the agent on the underlay; a `{peer="<address>"}` label splits them per peer. */
export const UNDERLAY_TX = 'softudc_underlay_tx_datagrams_total';
export const UNDERLAY_RX = 'softudc_underlay_rx_datagrams_total';
/** Per remote care-of address: `peerCounter(UNDERLAY_PEER_TX, address)`. */
export const UNDERLAY_PEER_TX = 'softudc_underlay_peer_tx_datagrams_total';
export const UNDERLAY_PEER_RX = 'softudc_underlay_peer_rx_datagrams_total';
export const peerCounter = (family: string, peerAddress: string) => `${family}{peer="${peerAddress}"}`;

/**
 * Packets per second from a to b and back. Per-peer counters give exact
 * figures; without them, a host with a single tunnel puts all its underlay
 * traffic on it; otherwise the direction is unknown (null).
 */
export function tunnelRates(
  t: Tunnel,
  hostsById: ReadonlyMap<string, HostLite>,
  rates: ReadonlyMap<string, Record<string, number>>,
  tunnelCount: ReadonlyMap<string, number>,
): { ab: number | null; ba: number | null } {
  const one = (from: string, to: string): number | null => {
    const r = rates.get(from);
    const peer = hostsById.get(to);
    if (!r || !peer) return null;
    const exact = r[peerCounter(UNDERLAY_PEER_TX, peer.address)];
    if (exact !== undefined) return exact;
    return tunnelCount.get(from) === 1 ? (r[UNDERLAY_TX] ?? null) : null;
  };
  return { ab: one(t.a, t.b), ba: one(t.b, t.a) };
}

export function countTunnels(ts: readonly Tunnel[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of ts) {
    out.set(t.a, (out.get(t.a) ?? 0) + 1);
    out.set(t.b, (out.get(t.b) ?? 0) + 1);
  }
  return out;
}
