// DHCP and DNS next to every port: the switch hands each guest frame here
// before port security. DHCP client packets (UDP to port 67) on a vnet with
// DHCP are answered here and never forwarded; DHCP server packets from a guest
// (UDP from port 67, also behind VLAN tags or in a first fragment) are rogue
// and dropped; ARP and DNS for the vnet's
// resolver address are answered here. Everything else goes on to port
// security untouched. Answers go to the asking guest only. Never throws.
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { AgentState } from '../state.ts';
import type { SwitchPort } from '../switch/switch.ts';
import { arpReply, arpRequestTarget } from '../switch/arp.ts';
import { decodeIpv4 } from '../wire/ipv4.ts';
import { decodeUdp, peekUdp } from '../wire/udp.ts';
import { ETH_SRC_OFFSET, ETHERTYPE_ARP } from '../wire/constants.ts';
import { ipToString, macToString, parseCidr, parseIp } from '../wire/addr.ts';
import { GUEST_MTU_DEFAULT } from '../../contract/limits.ts';
import { decodeDhcp, DHCP_SERVER_PORT } from './codec.ts';
import { udpFrame } from './frames.ts';
import { serveDhcp, type DhcpScope } from './server.ts';
import { DNS_PORT } from '../dns/codec.ts';
import { VnetResolver } from '../dns/resolver.ts';
import { UpstreamForwarder } from '../dns/upstream.ts';

const P = 'softudc_dhcp_';
const D = 'softudc_dns_';

/** The MAC the agent answers with for a vnet's resolver: locally administered, 02:5f and the vnet id. */
export function serviceMac(vnet: number): number {
  return 0x025f_0000_0000 + (vnet >>> 0);
}

interface VnetServices {
  dhcp: boolean;
  resolverIp: number | null;
  serverIp: number | null;
  mac: number;
  resolver: VnetResolver | null;
  base: Omit<DhcpScope, 'mac' | 'ip' | 'prefixLen' | 'mask' | 'serverIp' | 'hostName' | 'mtu'> & { mtu: number };
}

export interface Lease {
  vif: string;
  vnet: number;
  mac: string;
  ip: string;
  hostName: string | null;
  /** When the last ACK was sent, ms since the epoch; null once released. */
  ackedAt: number;
  leaseTime: number;
}

/** Per vnet since the agent started (reported to the console beside the leases). */
export interface ServiceStats {
  vnet: number;
  dhcpReplies: number;
  dhcpDrops: number;
  dnsAnswers: number;
  dnsForwarded: number;
  dnsDrops: number;
}

/** What the agent's view and report show: per-vnet counts and the live leases, newest first. */
export interface ServicesView {
  /** `resolver`: the vnet's resolver address (what DHCP hands out as the first DNS server), when it has one. */
  vnets: (ServiceStats & { leases: number; farm?: string; resolver?: string })[];
  leases: Lease[];
}

export class GuestServices {
  private vnets = new Map<number, VnetServices>();
  /** The farm each vnet belongs to, as the state says (reported beside its counts). */
  private farms = new Map<number, string>();
  private readonly stats = new Map<number, ServiceStats>();
  private vifs = new Map<string, { hostName?: string; mtu?: number; prefixLen: number }>();
  private readonly leases = new Map<string, Lease>();
  private readonly upstream: UpstreamForwarder;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly counters: Counters,
    private readonly logger: Logger,
  ) {
    this.upstream = new UpstreamForwarder(counters);
  }

  /** Takes the vnets' `dhcp` settings and the VIFs' host names from a validated state. */
  configure(s: AgentState): void {
    const vnets = new Map<number, VnetServices>();
    const prefixes = new Map<number, { network: number; prefixLen: number }>();
    for (const v of s.vifs) if (!prefixes.has(v.vnet)) prefixes.set(v.vnet, parseCidr(v.ip));
    const recursive = (s.dns?.upstream.length ?? 0) > 0;
    for (const v of s.vnets) {
      const d = v.dhcp;
      if (!d) continue;
      const resolverIp = d.resolver !== undefined ? parseIp(d.resolver) : null;
      const gateway = d.gateway !== undefined ? parseIp(d.gateway) : undefined;
      const net = prefixes.get(v.id) ?? { network: 0, prefixLen: 32 };
      vnets.set(v.id, {
        dhcp: d.enabled,
        resolverIp,
        serverIp: resolverIp ?? gateway ?? null,
        mac: serviceMac(v.id),
        resolver: resolverIp === null ? null : new VnetResolver({ domain: d.domain, names: (d.names ?? []).map((n) => ({ name: n.name, ip: parseIp(n.ip) })), ...net, recursive }),
        base: {
          serverMac: serviceMac(v.id),
          gateway,
          dnsServers: [...(resolverIp !== null ? [resolverIp] : []), ...(d.dnsServers ?? []).map(parseIp)],
          domain: d.domain,
          leaseTime: d.leaseTime,
          routes: (d.routes ?? []).map((r) => ({ ...pick(parseCidr(r.destination)), gateway: parseIp(r.gateway) })),
          mtu: v.mtu ?? GUEST_MTU_DEFAULT,
        },
      });
    }
    this.vnets = vnets;
    this.farms = new Map(s.vnets.flatMap((v) => (v.farm !== undefined ? [[v.id, v.farm] as const] : [])));
    for (const id of this.stats.keys()) if (!vnets.has(id)) this.stats.delete(id);
    this.vifs = new Map(s.vifs.map((v) => [v.id, { hostName: v.hostName, mtu: v.mtu, prefixLen: parseCidr(v.ip).prefixLen }]));
    for (const id of this.leases.keys()) if (!this.vifs.has(id)) this.leases.delete(id);
    this.upstream.configure((s.dns?.upstream ?? []).map(parseIp), new Set(vnets.keys()));
  }

  stop(): void {
    this.upstream.stop();
  }

  /** Leases acknowledged and neither released nor expired, the newest first. */
  leaseList(now = Date.now()): Lease[] {
    for (const [id, l] of this.leases) if (l.ackedAt + l.leaseTime * 1000 < now) this.leases.delete(id);
    return [...this.leases.values()].sort((a, b) => b.ackedAt - a.ackedAt || (a.vif < b.vif ? -1 : 1));
  }

  view(now = Date.now()): ServicesView {
    const leases = this.leaseList(now);
    const perVnet = new Map<number, number>();
    for (const l of leases) perVnet.set(l.vnet, (perVnet.get(l.vnet) ?? 0) + 1);
    const vnets = [...this.vnets.keys()].sort((a, b) => a - b).map((vnet) => {
      const farm = this.farms.get(vnet);
      const resolverIp = this.vnets.get(vnet)?.resolverIp ?? null;
      return { ...this.stat(vnet), leases: perVnet.get(vnet) ?? 0, ...(farm !== undefined ? { farm } : {}), ...(resolverIp !== null ? { resolver: ipToString(resolverIp) } : {}) };
    });
    return { vnets, leases };
  }

  private stat(vnet: number): ServiceStats {
    let s = this.stats.get(vnet);
    if (!s) this.stats.set(vnet, (s = { vnet, dhcpReplies: 0, dhcpDrops: 0, dnsAnswers: 0, dnsForwarded: 0, dnsDrops: 0 }));
    return s;
  }

  /** True when the frame was taken here (answered or dropped); false: on to port security. */
  fromGuest(port: SwitchPort, frame: Buffer): boolean {
    const v = this.vnets.get(port.vnet);
    if (v === undefined || frame.length < 14) return false;
    const u = peekUdp(frame);
    if (u !== null) {
      if (u.srcPort === DHCP_SERVER_PORT && v.dhcp) {
        this.stat(port.vnet).dhcpDrops++;
        return this.drop(`${P}dropped_total{reason="rogue_server"}`);
      }
      // The services answer untagged, whole datagrams only: others go on to port security.
      if (u.tagged || u.fragment) return false;
      if (u.dstPort === DHCP_SERVER_PORT && v.dhcp) {
        if (frame.readUIntBE(ETH_SRC_OFFSET, 6) !== port.mac) return false; // port security counts it
        this.dhcp(port, v, frame, u.ip);
        return true;
      }
      if (u.dstPort === DNS_PORT && u.dst === v.resolverIp) {
        if (frame.readUIntBE(ETH_SRC_OFFSET, 6) !== port.mac) return false;
        this.dns(port, v, frame, u.ip);
        return true;
      }
      return false;
    }
    if (v.resolverIp !== null && frame.readUInt16BE(12) === ETHERTYPE_ARP) {
      const tpa = arpRequestTarget(frame);
      if (tpa !== v.resolverIp) return false;
      if (frame.readUIntBE(ETH_SRC_OFFSET, 6) !== port.mac) return false;
      this.counters.inc(`${D}arp_answered_total`);
      this.send(port, arpReply(port.mac, port.ip, v.mac, tpa));
      return true;
    }
    return false;
  }

  private drop(name: string): true {
    this.counters.inc(name);
    return true;
  }

  private send(port: SwitchPort, frame: Buffer): void {
    try {
      port.guest.deliver(frame);
    } catch {
      this.counters.inc(`${P}deliver_errors_total`);
    }
  }

  /** Counts a dropped packet of one vnet, in its stats and as `<prefix>dropped_total{reason}`. */
  private dropper(stat: ServiceStats, key: 'dhcpDrops' | 'dnsDrops', prefix: string): (reason: string) => void {
    return (reason) => {
      stat[key]++;
      this.counters.inc(`${prefix}dropped_total{reason="${reason}"}`);
    };
  }

  /** Decodes IPv4 and UDP with their checksums; the error code when malformed. */
  private udp(frame: Buffer, at: number) {
    try {
      const ip = decodeIpv4(frame.subarray(at));
      return { ip, udp: decodeUdp(ip.payload, ip) };
    } catch (err) {
      return { error: codeOf(err) };
    }
  }

  private dhcp(port: SwitchPort, v: VnetServices, frame: Buffer, at: number): void {
    const stat = this.stat(port.vnet);
    const drop = this.dropper(stat, 'dhcpDrops', P);
    const p = this.udp(frame, at);
    if ('error' in p) return drop(`malformed_${p.error}`);
    if (p.ip.src !== 0 && p.ip.src !== port.ip) return drop('ipv4_src');
    let req;
    try {
      req = decodeDhcp(p.udp.payload);
    } catch (err) {
      return drop(`malformed_${codeOf(err)}`);
    }
    const vif = this.vifs.get(port.id);
    if (v.serverIp === null || vif === undefined) return drop('no_server_address');
    const scope: DhcpScope = {
      ...v.base,
      mac: port.mac,
      ip: port.ip,
      prefixLen: vif.prefixLen,
      mask: vif.prefixLen === 0 ? 0 : (0xffffffff << (32 - vif.prefixLen)) >>> 0,
      serverIp: v.serverIp,
      hostName: vif.hostName,
      mtu: vif.mtu ?? v.base.mtu,
    };
    const out = serveDhcp(scope, req);
    if (out.frame === null) {
      if (out.result === 'released') this.leases.delete(port.id);
      if (out.result === 'released' || out.result === 'declined') this.counters.inc(`${P}${out.result}_total`);
      else drop(out.result);
      if (out.result === 'declined') this.logger.warn('a guest declined its DHCP address (in use on its link?)', { vif: port.id, ip: ipToString(port.ip) });
      return;
    }
    stat.dhcpReplies++;
    this.counters.inc(`${P}replies_total{type="${out.result}"}`);
    if (out.result === 'ack') {
      this.leases.set(port.id, { vif: port.id, vnet: port.vnet, mac: macToString(port.mac), ip: ipToString(port.ip), hostName: vif.hostName ?? null, ackedAt: Date.now(), leaseTime: scope.leaseTime });
    }
    this.send(port, out.frame);
  }

  private dns(port: SwitchPort, v: VnetServices, frame: Buffer, at: number): void {
    const stat = this.stat(port.vnet);
    const drop = this.dropper(stat, 'dnsDrops', D);
    const p = this.udp(frame, at);
    if ('error' in p) return drop(`malformed_${p.error}`);
    if (v.resolver === null || v.resolverIp === null) return drop('no_resolver');
    if (p.ip.src !== port.ip) return drop('ipv4_src');
    const resolverIp = v.resolverIp;
    const answer = (payload: Buffer) =>
      this.send(port, udpFrame({ srcMac: v.mac, dstMac: port.mac, src: resolverIp, dst: port.ip, srcPort: DNS_PORT, dstPort: p.udp.srcPort, payload }));
    let out;
    try {
      out = v.resolver.resolve(p.udp.payload);
    } catch (err) {
      return drop(`malformed_${codeOf(err)}`);
    }
    if (out.kind === 'drop') return drop(out.reason);
    if (out.kind === 'forward') {
      const sent = () => {
        stat.dnsForwarded++;
        this.counters.inc(`${D}forwarded_total`);
      };
      // Refusals are counted by the forwarder as softudc_dns_upstream_dropped_total{reason}.
      return this.upstream.forward(port.vnet, p.udp.payload, out.query.questions[0]!, { reply: answer, sent, dropped: () => void stat.dnsDrops++ });
    }
    stat.dnsAnswers++;
    this.counters.inc(`${D}answers_total{rcode="${RCODE_NAMES[out.rcode] ?? out.rcode}"}`);
    answer(out.payload);
  }
}

const RCODE_NAMES: Record<number, string> = { 0: 'noerror', 1: 'formerr', 2: 'servfail', 3: 'nxdomain', 4: 'notimp', 5: 'refused' };

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code.toLowerCase() : 'unknown';
}

function pick(c: { network: number; prefixLen: number }) {
  return { destination: c.network, prefixLen: c.prefixLen };
}
