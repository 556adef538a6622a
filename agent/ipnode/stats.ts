// Per-node counters (one virtual router or firewall) in the agent's shared
// Counters, labelled with the node's kind and id, e.g.
// `softudc_router_forwarded_packets_total{router="farm/r1"}`. Names are built
// once and cached: the packet path increments by a precomputed string.
import type { Counters } from '../metrics.ts';

export type NodeKind = 'router' | 'firewall';

/** Why a node dropped a packet; one counter per reason. */
export type DropReason =
  | 'malformed' // IPv4 header fails version, length or checksum checks, or an ARP packet does not decode
  | 'martian' // source address never valid on a link (0/8, 127/8, multicast, broadcast, class E)
  | 'no_route' // no forwarding table entry covers the destination
  | 'ttl_exceeded' // TTL 0 or 1 on a packet to forward
  | 'host_unreachable' // ARP gave no answer for the next hop
  | 'arp_queue_full' // too many packets already waiting for one ARP resolution
  | 'link_down' // an in-process link whose peer router is not on this host
  | 'too_big' // larger than the egress MTU with Don't Fragment set
  | 'not_forwarded' // broadcast or multicast, which routers never forward (RFC 1812 5.3.5)
  | 'local_unhandled' // for this node, but no protocol handler (UDP port, TCP)
  | 'fragment' // a fragment addressed to the node itself (it does not reassemble)
  | 'unsupported' // an ethertype or an 802.1Q-tagged frame the node does not route
  | 'not_for_us' // a frame to another MAC (flooded to every port of the vnet)
  | 'filtered' // refused by a firewall rule or the default policy
  | 'invalid' // no connection for it and it cannot open one (a TCP segment without SYN, a stray reply or ICMP error)
  | 'conntrack_full'; // a new flow while the connection table is full

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class NodeStats {
  private readonly label: string;
  private readonly prefix: string;
  private readonly names = new Map<string, string>();
  /** Hot-path names, built once. */
  readonly forwarded: string;
  readonly local: string;
  readonly originated: string;

  constructor(
    readonly counters: Counters,
    readonly kind: NodeKind,
    readonly id: string,
  ) {
    this.label = `${kind}="${escapeLabel(id)}"`;
    this.prefix = `softudc_${kind}_`;
    this.forwarded = this.name('forwarded_packets_total');
    this.local = this.name('local_packets_total');
    this.originated = this.name('originated_packets_total');
  }

  /** The full counter name of `metric` for this node, with optional extra labels (`reason="x"`). */
  name(metric: string, extra?: string): string {
    const key = extra === undefined ? metric : `${metric}|${extra}`;
    let n = this.names.get(key);
    if (n === undefined) {
      n = `${this.prefix}${metric}{${this.label}${extra === undefined ? '' : `,${extra}`}}`;
      this.names.set(key, n);
    }
    return n;
  }

  inc(metric: string, extra?: string, by = 1): void {
    this.counters.inc(this.name(metric, extra), by);
  }

  drop(reason: DropReason): void {
    this.counters.inc(this.name('dropped_packets_total', `reason="${reason}"`));
  }

  get(metric: string, extra?: string): number {
    return this.counters.get(this.name(metric, extra));
  }

  dropped(reason: DropReason): number {
    return this.get('dropped_packets_total', `reason="${reason}"`);
  }

  /**
   * Every counter of this node, without the common prefix and node label (for views); `prefix`: another family
   * labelled by this node (the NAT's `softudc_nat_`).
   */
  snapshot(prefix = this.prefix): Record<string, number> {
    const out: Record<string, number> = {};
    const tag = `{${this.label}`;
    for (const [name, v] of Object.entries(this.counters.snapshot())) {
      if (!name.startsWith(prefix)) continue;
      const brace = name.indexOf('{');
      if (brace < 0 || !name.startsWith(tag, brace)) continue;
      const rest = name.slice(brace + tag.length);
      if (rest !== '}' && !rest.startsWith(',')) continue;
      const extra = rest === '}' ? '' : `{${rest.slice(1)}`;
      out[`${name.slice(prefix.length, brace)}${extra}`] = v;
    }
    return out;
  }
}
