// Inter-router links (seed 004). Two virtual routers on the same host talk
// over a lightweight in-process channel — a direct function call handing the
// IPv4 packet to the peer's link interface, with no Ethernet header, no
// encapsulation and no socket (the seed's "direct function calls between the
// services" embodiment). The LinkRegistry plays the seed's vrFIB: it knows
// which routers live in this agent and, for a link, answers "channel" when the
// peer is one of them, else "vnet" (the link's point-to-point vnet, carried by
// the switch and the underlay like any other). The routing code sees the same
// NodeInterface either way.
import { createHash } from 'node:crypto';
import type { Counters } from '../metrics.ts';
import { AddressedInterface, HEADROOM, type NodeInterface, type NodeStats, type PacketSink } from '../ipnode/index.ts';

export interface LinkEndpoint {
  readonly routerId: string;
  readonly peerId: string;
  /** Hands an IPv4 packet (no link-layer header, not to be modified) to this end. */
  receive(packet: Buffer): void;
}

export type LinkPlan = { kind: 'channel' } | { kind: 'vnet'; vnet: number } | { kind: 'down'; reason: string };

export interface LinkSpecLike {
  peer: string;
  vnet: number | null;
}

const CHANNEL_PACKETS = 'softudc_link_channel_packets_total';

export class LinkRegistry {
  private readonly endpoints = new Map<string, LinkEndpoint>();
  private local = new Set<string>();
  /** Raised whenever an endpoint comes or goes, so channels re-resolve their peer. */
  epoch = 0;

  constructor(readonly counters: Counters) {
    counters.describe(CHANNEL_PACKETS, 'Packets handed between co-located virtual routers over in-process links (never on the underlay).');
  }

  /** The routers that live in this agent (the manager sets it before building any router). */
  setLocalRouters(ids: Iterable<string>): void {
    this.local = new Set(ids);
    this.epoch++;
  }

  isLocal(routerId: string): boolean {
    return this.local.has(routerId);
  }

  /** vrFIB lookup: how `routerId`'s link to `link.peer` is carried. */
  plan(routerId: string, link: LinkSpecLike): LinkPlan {
    if (link.peer === routerId) return { kind: 'down', reason: 'a router cannot link to itself' };
    if (this.local.has(link.peer)) return { kind: 'channel' };
    if (link.vnet !== null) return { kind: 'vnet', vnet: link.vnet };
    return { kind: 'down', reason: `peer router ${link.peer} is not on this host and the link has no vnet` };
  }

  register(ep: LinkEndpoint): () => void {
    const k = endpointKey(ep.routerId, ep.peerId);
    this.endpoints.set(k, ep);
    this.epoch++;
    return () => {
      if (this.endpoints.get(k) === ep) {
        this.endpoints.delete(k);
        this.epoch++;
      }
    };
  }

  /** The other end of `routerId`'s link to `peerId`, when it is up in this process. */
  peerOf(routerId: string, peerId: string): LinkEndpoint | undefined {
    return this.endpoints.get(endpointKey(peerId, routerId));
  }

  /** Packets carried by every in-process channel of this registry. */
  get channelPackets(): number {
    return this.counters.get(CHANNEL_PACKETS);
  }

  channelCounterName(): string {
    return CHANNEL_PACKETS;
  }
}

function endpointKey(routerId: string, peerId: string): string {
  return `${routerId}\n${peerId}`;
}

/** A stable, locally administered unicast MAC for a router's interface on a link vnet (links carry none). */
export function linkMac(routerId: string, peerId: string): number {
  const h = createHash('sha256').update(`link\n${routerId}\n${peerId}`).digest();
  // 0x02: locally administered, unicast (IEEE 802 U/L and I/G bits).
  return 0x02_5f * 0x1_0000_0000 + h.readUInt32BE(0);
}

export interface ChannelInterfaceOptions {
  name: string;
  routerId: string;
  peerId: string;
  cidr: string;
  mtu: number;
  registry: LinkRegistry;
  sink: PacketSink;
  stats: NodeStats;
}

export class ChannelInterface extends AddressedInterface implements NodeInterface {
  readonly routerId: string;
  readonly peerId: string;
  private readonly registry: LinkRegistry;
  private peer: LinkEndpoint | undefined;
  private epoch = -1;
  private unregister: (() => void) | null;

  constructor(o: ChannelInterfaceOptions) {
    super(o.name, o.cidr, o.mtu, o.stats);
    this.routerId = o.routerId;
    this.peerId = o.peerId;
    this.registry = o.registry;
    const sink = o.sink;
    this.unregister = o.registry.register({
      routerId: o.routerId,
      peerId: o.peerId,
      receive: (packet) => sink.receiveIp(this, packet, 0),
    });
  }

  /** True while the peer router's end of the link exists in this process. */
  get up(): boolean {
    return this.resolve() !== undefined;
  }

  output(frame: Buffer, _nextHop: number): void {
    const peer = this.resolve();
    if (peer === undefined) return this.stats.drop('link_down');
    const c = this.stats.counters;
    c.inc(this.txName);
    c.inc(CHANNEL_PACKETS);
    // Point to point: no next-hop resolution, no link-layer header.
    peer.receive(frame.subarray(HEADROOM));
  }

  close(): void {
    this.unregister?.();
    this.unregister = null;
    this.peer = undefined;
  }

  private resolve(): LinkEndpoint | undefined {
    if (this.unregister === null) return undefined;
    if (this.epoch !== this.registry.epoch) {
      this.peer = this.registry.peerOf(this.routerId, this.peerId);
      this.epoch = this.registry.epoch;
    }
    return this.peer;
  }
}
