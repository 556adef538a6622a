// The external legs of one router or firewall: the NAT engine (nat.ts) hooked
// into its IpNode, kept in step with the spec's interfaces that carry `nat`;
// the legs answer ARP for their floating IPs and forward addresses, and
// announce all their addresses (gratuitous ARP) when they come up or their
// set of addresses changes, so that the LAN finds a node that moved to this
// host at once.
import { parseCidr } from '../wire/index.ts';
import type { EthernetInterface, IpNode } from '../ipnode/index.ts';
import type { NatSpec } from '../../contract/nat.ts';
import type { ConntrackTimeouts } from './conntrack.ts';
import { Nat, type NatEntryView, type NatLeg } from './nat.ts';

/** Announcements are repeated once after this long (a frame lost while the LAN's bridge learns). */
const ANNOUNCE_REPEAT_MS = 250;

export interface LegSpec {
  /** The node interface's name. */
  iface: string;
  /** The interface's address, `a.b.c.d/len`. */
  ip: string;
  nat?: NatSpec | undefined;
}

export class ExternalLegs {
  readonly nat: Nat;
  /** The node's counter label, `router="id"` or `firewall="id"`. */
  readonly label: string;
  private announced = new Map<EthernetInterface, string>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly node: IpNode,
    timeouts?: Partial<ConntrackTimeouts>,
    ports?: { min: number; max: number },
  ) {
    const label = (this.label = `${node.stats.kind}="${node.id.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
    this.nat = new Nat({ counters: node.stats.counters, label, ...(timeouts ? { timeouts } : {}), ...(ports ? { portMin: ports.min, portMax: ports.max } : {}) });
  }

  start(): void {
    this.nat.start();
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.announced.clear();
    this.nat.stop();
    this.node.nat = null;
  }

  /** After the node's interfaces were reconciled: NAT configured, ARP extras set, new addresses announced. */
  sync(specs: readonly LegSpec[], ethers: ReadonlyMap<string, EthernetInterface>): void {
    const legs: NatLeg[] = specs.filter((s) => s.nat).map((s) => ({ iface: s.iface, ip: parseCidr(s.ip).ip, nat: s.nat! }));
    this.nat.configure(legs);
    this.node.nat = this.nat.active ? this.nat : null;
    const seen = new Set<EthernetInterface>();
    for (const l of legs) {
      const e = ethers.get(l.iface);
      if (!e) continue;
      seen.add(e);
      const extra = this.nat.extraAddresses(l.iface);
      e.extraAddresses = new Set(extra);
      const key = JSON.stringify([e.ip, extra.sort((a, b) => a - b)]);
      if (this.announced.get(e) === key) continue;
      this.announced.set(e, key);
      e.announce();
      const t = setTimeout(() => {
        this.timers.delete(t);
        e.announce();
      }, ANNOUNCE_REPEAT_MS);
      t.unref();
      this.timers.add(t);
    }
    for (const e of [...this.announced.keys()]) {
      if (seen.has(e)) continue;
      this.announced.delete(e);
      e.extraAddresses = new Set();
    }
  }

  /** The gauge of its translation table's size (`softudc_nat_connections{router="id"}`), when it has external legs. */
  gauges(): Record<string, number> {
    return this.nat.active ? { [`softudc_nat_connections{${this.label}}`]: this.nat.conntrack.size } : {};
  }

  /** The NAT's counters and table size for the node's view (`nat_translated_packets_total{direction="in"}`, `nat_connections`…). */
  counters(): Record<string, number> {
    if (!this.nat.active) return {};
    const out: Record<string, number> = { nat_connections: this.nat.conntrack.size };
    for (const [k, v] of Object.entries(this.node.stats.snapshot('softudc_nat_'))) out[`nat_${k}`] = v;
    return out;
  }

  entries(): NatEntryView[] {
    return this.nat.entries();
  }
}
