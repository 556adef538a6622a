// Test fixtures for routers and firewalls (imported by *.test.ts and the
// benchmark only): a minimal learning-free L2 segment per vnet, raw hosts that
// send hand-made IPv4 packets and keep what they receive, and emulated guests.
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { EmulatedGuest } from '../guests/emulated.ts';
import type { GuestPort } from '../guests/types.ts';
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  BROADCAST_MAC,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  IPPROTO_UDP,
  decodeArp,
  decodeIcmp,
  decodeIpv4,
  encodeArp,
  encodeEthernet,
  encodeIpv4,
  encodeUdp,
  inPrefix,
  isGroupMac,
  parseCidr,
  parseIp,
  type IcmpMessage,
  type Ipv4Input,
  type Ipv4Packet,
} from '../wire/index.ts';
import type { EthernetInterface } from './iface.ts';
import type { PortHost } from './ports.ts';

interface Attached {
  mac: number;
  guest: GuestPort;
}

/** Vnets as plain broadcast domains: unicast to the port with the destination MAC, group frames to all others. */
export class TestLan implements PortHost {
  private readonly vnets = new Map<number, Map<number, Attached>>();
  readonly mtus = new Map<number, number>();
  frames = 0;

  plug(vnet: number, mac: number, guest: GuestPort): void {
    let v = this.vnets.get(vnet);
    if (!v) this.vnets.set(vnet, (v = new Map()));
    if (v.has(mac)) throw new Error(`MAC already bound on vnet ${vnet}`);
    v.set(mac, { mac, guest });
    guest.onFrame = (frame) => this.carry(vnet, mac, frame);
  }

  unplug(vnet: number, mac: number): void {
    const a = this.vnets.get(vnet)?.get(mac);
    if (!a) return;
    a.guest.onFrame = () => {};
    this.vnets.get(vnet)!.delete(mac);
  }

  attach(port: EthernetInterface): void {
    this.plug(port.vnet, port.mac, port);
  }

  detach(port: EthernetInterface): void {
    this.unplug(port.vnet, port.mac);
  }

  mtu(vnet: number): number | undefined {
    return this.mtus.get(vnet);
  }

  private carry(vnet: number, from: number, frame: Buffer): void {
    this.frames++;
    const v = this.vnets.get(vnet);
    if (!v) return;
    const dst = frame.readUIntBE(0, 6);
    if (isGroupMac(dst)) {
      for (const a of [...v.values()]) if (a.mac !== from) a.guest.deliver(frame);
      return;
    }
    v.get(dst)?.guest.deliver(frame);
  }
}

/** A host that sends whatever IPv4 packets a test makes and records what arrives. */
export class RawHost implements GuestPort {
  onFrame: (frame: Buffer) => void = () => {};
  readonly received: Ipv4Packet[] = [];
  readonly arp = new Map<number, number>();
  readonly ip: number;
  readonly prefixLen: number;
  readonly gateway: number | null;

  constructor(
    readonly id: string,
    readonly mac: number,
    cidr: string,
    gateway?: string,
  ) {
    const c = parseCidr(cidr);
    this.ip = c.ip;
    this.prefixLen = c.prefixLen;
    this.gateway = gateway ? parseIp(gateway) : null;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  deliver(frame: Buffer): void {
    const dst = frame.readUIntBE(0, 6);
    if (dst !== this.mac && dst !== BROADCAST_MAC && !isGroupMac(dst)) return;
    const type = frame.readUInt16BE(12);
    const body = frame.subarray(14);
    if (type === ETHERTYPE_ARP) {
      const a = decodeArp(body);
      if (a.op === ARP_OP_REPLY) this.arp.set(a.spa, a.sha);
      if (a.op === ARP_OP_REQUEST && a.tpa === this.ip) {
        this.arp.set(a.spa, a.sha);
        this.emit(a.sha, ETHERTYPE_ARP, encodeArp({ op: ARP_OP_REPLY, sha: this.mac, spa: this.ip, tha: a.sha, tpa: a.spa }));
      }
    } else if (type === ETHERTYPE_IPV4) {
      this.received.push(decodeIpv4(body));
    }
  }

  private emit(dst: number, type: number, payload: Buffer): void {
    this.onFrame(encodeEthernet({ dst, src: this.mac, ethertype: type, payload }));
  }

  /** The next hop's MAC, asking by ARP (answered synchronously on a TestLan). */
  resolve(dst: number): number {
    const hop = inPrefix(dst, this.ip, this.prefixLen) ? dst : this.gateway;
    if (hop === null) throw new Error(`${this.id}: no route to ${dst}`);
    if (!this.arp.has(hop)) this.emit(BROADCAST_MAC, ETHERTYPE_ARP, encodeArp({ op: ARP_OP_REQUEST, sha: this.mac, spa: this.ip, tha: 0, tpa: hop }));
    const mac = this.arp.get(hop);
    if (mac === undefined) throw new Error(`${this.id}: ARP for ${hop} unanswered`);
    return mac;
  }

  /** Sends an IPv4 packet (fields as given, source defaulting to this host). */
  send(p: Omit<Ipv4Input, 'src'> & { src?: number }): void {
    // RFC 1112 6.4: groups map to 01:00:5e plus their low 23 bits, no ARP.
    const mac = p.dst >>> 28 === 0xe ? 0x01005e000000 + (p.dst & 0x7fffff) : this.resolve(p.dst);
    this.emit(mac, ETHERTYPE_IPV4, encodeIpv4({ ...p, src: p.src ?? this.ip }));
  }

  /** Sends a ready IPv4 packet as it is (e.g. a fragment). */
  sendRaw(packet: Buffer): void {
    const dst = packet.readUInt32BE(16);
    this.emit(this.resolve(dst), ETHERTYPE_IPV4, packet);
  }

  udp(dst: string | number, dstPort: number, payload: Buffer, extra: Partial<Ipv4Input> = {}, srcPort = 40000): void {
    const d = typeof dst === 'string' ? parseIp(dst) : dst;
    const u = encodeUdp({ srcPort, dstPort, payload }, { src: this.ip, dst: d });
    this.send({ protocol: IPPROTO_UDP, dst: d, payload: u, ...extra });
  }

  /** ICMP messages received, decoded, with the sender. */
  icmp(): { src: number; msg: IcmpMessage }[] {
    return this.received.filter((p) => p.protocol === 1).map((p) => ({ src: p.src, msg: decodeIcmp(p.payload) }));
  }
}

/** An emulated guest (ARP, ICMP echo, UDP echo, ping) plugged into `lan`. */
export function emulatedHost(lan: TestLan, vnet: number, id: string, mac: number, cidr: string, gateway?: string, counters = new Counters()): EmulatedGuest {
  const g = new EmulatedGuest(
    { id, vnet, mac: macText(mac), ip: cidr, version: 1, guest: { kind: 'emulated' }, ...(gateway ? { gateway } : {}) },
    { logger: silentLogger, counters },
  );
  lan.plug(vnet, mac, g);
  void g.start();
  return g;
}

export function rawHost(lan: TestLan, vnet: number, id: string, mac: number, cidr: string, gateway?: string): RawHost {
  const h = new RawHost(id, mac, cidr, gateway);
  lan.plug(vnet, mac, h);
  return h;
}

export function macText(mac: number): string {
  return mac.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}
