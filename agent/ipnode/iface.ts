// A node's interfaces. Whatever carries them, the forwarding code sees one
// shape: a name, an address with its prefix, an MTU and output(frame, nextHop).
// - EthernetInterface: a port on a vnet's switch, attached like a guest port
//   (GuestPort); it resolves next hops with its own ARP cache.
// - ChannelInterface (links.ts): an in-process channel to a co-located router
//   (seed 004), no Ethernet, no ARP, no socket.
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  BROADCAST_MAC,
  ETH_TYPE_OFFSET,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  WireError,
  cidrToString,
  decodeArp,
  encodeArp,
  inPrefix,
  isGroupMac,
  parseCidr,
} from '../wire/index.ts';
import type { GuestPort } from '../guests/types.ts';
import { ArpCache, type ArpOptions } from './arp.ts';
import { HEADROOM, LIMITED_BROADCAST, isMulticast } from './packet.ts';
import type { NodeStats } from './stats.ts';

/** What the forwarding core needs from an interface. */
export interface NodeInterface {
  readonly name: string;
  readonly ip: number;
  readonly prefixLen: number;
  readonly network: number;
  /** The subnet's directed broadcast, or -1 on /31 and /32 (RFC 3021). */
  readonly broadcast: number;
  readonly mtu: number;
  /** False while the interface cannot carry packets (a link whose peer is absent); absent means up. */
  readonly up?: boolean;
  /** Sends `frame` (HEADROOM bytes, then the IPv4 packet) towards `nextHop`. Never throws. */
  output(frame: Buffer, nextHop: number): void;
  /** Drops timers and queued packets. */
  close(): void;
}

/** Where interfaces hand what they receive. */
export interface PacketSink {
  receiveIp(ingress: NodeInterface, buf: Buffer, off: number): void;
  /** Frames whose next hop never answered ARP: the sink answers ICMP host unreachable. */
  hostUnreachable(ingress: NodeInterface, frames: Buffer[]): void;
}

export interface AddressInfo {
  ip: number;
  prefixLen: number;
  network: number;
  broadcast: number;
}

export function addressInfo(cidr: string): AddressInfo {
  const c = parseCidr(cidr);
  const broadcast = c.prefixLen >= 31 ? -1 : (c.network | ~c.mask) >>> 0;
  return { ip: c.ip, prefixLen: c.prefixLen, network: c.network, broadcast };
}

/** What every interface kind holds: its name, address, MTU, and its node's counters. */
export abstract class AddressedInterface {
  readonly ip: number;
  readonly prefixLen: number;
  readonly network: number;
  readonly broadcast: number;
  /** The interface's transmit counter (`tx_frames_total{interface=…}`). */
  protected readonly txName: string;

  constructor(
    readonly name: string,
    cidr: string,
    readonly mtu: number,
    protected readonly stats: NodeStats,
  ) {
    const a = addressInfo(cidr);
    this.ip = a.ip;
    this.prefixLen = a.prefixLen;
    this.network = a.network;
    this.broadcast = a.broadcast;
    this.txName = stats.name('tx_frames_total', `interface="${name}"`);
  }
}

/** RFC 1112 6.4: an IPv4 group maps to 01:00:5e plus its low 23 bits. */
const IPV4_MULTICAST_MAC_BASE = 0x01005e000000;

export interface EthernetInterfaceOptions {
  name: string;
  /** The switch port id (unique on the host). */
  portId: string;
  vnet: number;
  mac: number;
  cidr: string;
  mtu: number;
  sink: PacketSink;
  stats: NodeStats;
  arp?: Partial<ArpOptions>;
}

export class EthernetInterface extends AddressedInterface implements NodeInterface, GuestPort {
  readonly id: string;
  readonly vnet: number;
  readonly mac: number;
  onFrame: (frame: Buffer) => void = () => {};
  readonly arp: ArpCache;
  /** Addresses besides its own the interface answers ARP for (an external leg's floating IPs and forward addresses). */
  extraAddresses: ReadonlySet<number> = new Set();
  private running = false;
  private readonly sink: PacketSink;
  private readonly macHi: number;
  private readonly macLo: number;

  constructor(o: EthernetInterfaceOptions) {
    super(o.name, o.cidr, o.mtu, o.stats);
    this.id = o.portId;
    this.vnet = o.vnet;
    this.mac = o.mac;
    this.sink = o.sink;
    this.macHi = Math.floor(o.mac / 0x1_0000_0000);
    this.macLo = o.mac % 0x1_0000_0000;
    this.arp = new ArpCache(
      {
        request: (ip) => {
          this.stats.inc('arp_requests_sent_total');
          this.sendArp(ARP_OP_REQUEST, BROADCAST_MAC, 0, ip);
        },
        transmit: (frame, mac) => this.emit(frame, mac),
        unreachable: (frames) => this.sink.hostUnreachable(this, frames),
        overflow: () => this.stats.drop('arp_queue_full'),
      },
      o.arp,
    );
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.close();
  }

  close(): void {
    this.running = false;
    this.arp.forget();
  }

  /** Switch → interface. Never throws. */
  deliver(frame: Buffer): void {
    if (!this.running) return;
    if (frame.length < HEADROOM) return this.stats.drop('malformed');
    const dst = frame.readUInt16BE(0) * 0x1_0000_0000 + frame.readUInt32BE(2);
    // The switch floods group frames to every port of the vnet: keep ours only.
    if (dst !== this.mac && !isGroupMac(dst)) return this.stats.drop('not_for_us');
    const type = frame.readUInt16BE(ETH_TYPE_OFFSET);
    if (type === ETHERTYPE_IPV4) this.sink.receiveIp(this, frame, HEADROOM);
    else if (type === ETHERTYPE_ARP) this.onArp(frame);
    else this.stats.drop('unsupported'); // 802.1Q-tagged, IPv6, ...
  }

  output(frame: Buffer, nextHop: number): void {
    if (!this.running) return this.stats.drop('link_down');
    let mac: number | undefined;
    if (isMulticast(nextHop)) mac = IPV4_MULTICAST_MAC_BASE + (nextHop & 0x7fffff);
    else if (nextHop === LIMITED_BROADCAST || nextHop === this.broadcast) mac = BROADCAST_MAC;
    else mac = this.arp.lookup(nextHop);
    if (mac === undefined) this.arp.enqueue(nextHop, frame);
    else this.emit(frame, mac);
  }

  private emit(frame: Buffer, dstMac: number): void {
    if (!this.running) return;
    frame.writeUInt16BE(Math.floor(dstMac / 0x1_0000_0000), 0);
    frame.writeUInt32BE(dstMac % 0x1_0000_0000, 2);
    frame.writeUInt16BE(this.macHi, 6);
    frame.writeUInt32BE(this.macLo, 8);
    frame.writeUInt16BE(ETHERTYPE_IPV4, ETH_TYPE_OFFSET);
    this.stats.counters.inc(this.txName);
    this.onFrame(frame);
  }

  private onArp(frame: Buffer): void {
    let p;
    try {
      p = decodeArp(frame.subarray(HEADROOM));
    } catch (err) {
      if (err instanceof WireError) return this.stats.drop('malformed');
      throw err;
    }
    const forUs = p.tpa === this.ip || this.extraAddresses.has(p.tpa);
    // Only neighbours on our own subnet are worth a cache entry.
    const onLink = inPrefix(p.spa, this.network, this.prefixLen);
    if (p.spa !== 0 && p.spa !== this.ip && p.sha !== 0 && !isGroupMac(p.sha) && onLink) this.arp.learn(p.spa, p.sha, forUs);
    if (p.op === ARP_OP_REQUEST && forUs && p.spa !== 0 && !isGroupMac(p.sha)) {
      this.stats.inc('arp_replies_sent_total');
      this.sendArp(ARP_OP_REPLY, p.sha, p.sha, p.spa, p.tpa);
    }
  }

  /**
   * Gratuitous ARP (RFC 5227 2.4 announcements) for the interface's address
   * and its extra addresses: neighbours and the LAN's switches learn where
   * they are now (a node that moved to another host is found at once).
   */
  announce(): void {
    for (const ip of [this.ip, ...this.extraAddresses]) {
      this.stats.inc('arp_announcements_sent_total');
      this.sendArp(ARP_OP_REQUEST, BROADCAST_MAC, 0, ip, ip);
    }
  }

  private sendArp(op: number, dstMac: number, tha: number, tpa: number, spa = this.ip): void {
    if (!this.running) return;
    const payload = encodeArp({ op, sha: this.mac, spa, tha, tpa });
    const frame = Buffer.allocUnsafe(HEADROOM + payload.length);
    frame.writeUIntBE(dstMac, 0, 6);
    frame.writeUIntBE(this.mac, 6, 6);
    frame.writeUInt16BE(ETHERTYPE_ARP, ETH_TYPE_OFFSET);
    payload.copy(frame, HEADROOM);
    this.stats.counters.inc(this.txName);
    this.onFrame(frame);
  }

  override toString(): string {
    return `${this.name} (vnet ${this.vnet}, ${cidrToString(this.ip, this.prefixLen)})`;
  }
}
