// A virtual router (seeds 001 and 000): interfaces on vnets, each a port on
// that vnet's switch exactly like a guest port, so that frames addressed to
// the interface's MAC select this router (seed 000 claim 4); links to other
// routers (an in-process channel when the peer is co-located, seed 004, else
// a port on the link's point-to-point vnet); static routes; RIPv2. One
// forwarding table and one ARP cache per interface, all in userspace.
import { cidrToString, inPrefix, ipToString, parseCidr, parseIp, parseMac } from '../wire/index.ts';
import { NodeHost, nodeView, ping, traceroute, type InterfaceWish, type NodeDeps } from '../ipnode/index.ts';
import type { NodeView, PingOptions, PingResult, TraceHop } from '../ipnode/index.ts';
import { ChannelInterface, LinkRegistry, linkMac } from './links.ts';
import { Rip, type LocalRoute, type RipTimers } from './rip.ts';
import { ExternalLegs, type ConntrackTimeouts, type NatEntryView } from '../firewall/index.ts';
import type { RouterSpec } from '../../contract/router.ts';
import { GUEST_MTU_DEFAULT } from '../../contract/limits.ts';

export interface RouterDeps extends NodeDeps {
  links: LinkRegistry;
  /** Overrides the spec's RIP timers (tests). */
  rip?: Partial<RipTimers>;
  /** Overrides the spec's connection-tracking timeouts of its NAT (tests). */
  conntrack?: Partial<ConntrackTimeouts>;
  /** The source ports NAT allocates (tests). */
  natPorts?: { min: number; max: number };
}

/** An interface the router wants, and whether RIP runs on it. */
interface Desc extends InterfaceWish {
  rip: boolean;
}

export interface RouterView extends NodeView {
  rip: { prefix: string; nextHop: string; iface: string; metric: number; garbage: boolean; ageMs: number }[];
  unresolvedStaticRoutes: string[];
  /** Translations of the external legs' NAT. */
  nat: NatEntryView[];
}

export class VirtualRouter extends NodeHost<RouterSpec> {
  private readonly rip: Rip;
  private readonly legs: ExternalLegs;
  private statics: LocalRoute[] = [];
  private unresolved: string[] = [];

  constructor(
    spec: RouterSpec,
    private readonly deps: RouterDeps,
  ) {
    super('router', spec, deps, (name) => this.rip.interfaceDown(name));
    this.rip = new Rip(this.node, () => this.localRoutes(), { ...spec.ripTimers, ...deps.rip });
    this.legs = new ExternalLegs(this.node, { ...spec.conntrack, ...deps.conntrack }, deps.natPorts);
  }

  protected override starting(): void {
    this.rip.start();
    this.legs.start();
  }

  /** Re-plans links after the set of co-located routers changed (channel ↔ vnet). */
  relink(): void {
    if (this.running) this.reconcile();
  }

  protected override stopping(): void {
    this.rip.stop(true);
    this.legs.stop();
  }

  /** The interfaces the spec asks for, and the links that cannot be carried now (with the reason). */
  private descs(): { wanted: Desc[]; down: [string, string][] } {
    const { id, node, ifs } = this;
    const wanted: Desc[] = [];
    const down: [string, string][] = [];
    for (const i of this.spec.interfaces) {
      const wish = ifs.ethernet(`vnet${i.vnet}`, i.vnet, parseMac(i.mac), i.ip, ifs.mtu(i.vnet, i.mtu));
      wanted.push({ ...wish, rip: i.rip });
    }
    for (const l of this.spec.links) {
      const name = `link:${l.peer}`;
      const plan = this.deps.links.plan(id, l);
      if (plan.kind === 'down') {
        down.push([name, plan.reason]);
        continue;
      }
      if (plan.kind === 'channel') {
        wanted.push({
          name,
          rip: l.rip,
          key: JSON.stringify(['channel', l.peer, l.local]),
          build: () =>
            new ChannelInterface({
              name, routerId: id, peerId: l.peer, cidr: l.local, mtu: GUEST_MTU_DEFAULT, registry: this.deps.links, sink: node, stats: node.stats,
            }),
        });
      } else {
        wanted.push({ ...ifs.ethernet(name, plan.vnet, linkMac(id, l.peer), l.local, ifs.mtu(plan.vnet)), rip: l.rip });
      }
    }
    return { wanted, down };
  }

  protected reconcile(): void {
    const { wanted, down } = this.descs();
    this.ifs.reconcile(wanted, down);
    this.legs.sync(this.spec.interfaces.map((i) => ({ iface: `vnet${i.vnet}`, ip: i.ip, nat: i.nat })), this.ifs.ethernets());
    this.installStatics();
    this.rip.localChanged();
    this.rip.setInterfaces(wanted.filter((d) => d.rip && this.ifs.has(d.name)).map((d) => d.name));
  }

  /** Static routes whose next hop lies on a connected prefix; the others wait for one (and are reported). */
  private installStatics(): void {
    const fib = this.node.fib;
    fib.removeWhere((r) => r.source === 'static');
    this.statics = [];
    this.unresolved = [];
    const ifaces = this.node.interfaces();
    for (const s of this.spec.staticRoutes) {
      const dest = parseCidr(s.destination);
      const hop = parseIp(s.nextHop);
      const on = ifaces.find((i) => inPrefix(hop, i.network, i.prefixLen) && i.ip !== hop);
      if (!on) {
        this.unresolved.push(`${s.destination} via ${s.nextHop}`);
        continue;
      }
      fib.add({ prefix: dest.network, len: dest.prefixLen, nextHop: hop, iface: on.name, metric: s.metric, source: 'static' });
      this.statics.push({ prefix: dest.network, len: dest.prefixLen, metric: s.metric, iface: on.name });
    }
    if (this.unresolved.length) {
      this.deps.logger.warn('static routes without a connected next hop are not installed', { router: this.id, routes: this.unresolved });
    }
  }

  /** What RIP advertises as the router's own: connected prefixes (metric 1) and static routes. */
  private localRoutes(): LocalRoute[] {
    const out: LocalRoute[] = this.node.interfaces().map((i) => ({ prefix: i.network, len: i.prefixLen, metric: 1, iface: null }));
    return [...out, ...this.statics];
  }

  /** Gauges of its NAT (the translation table's size). */
  natGauges(): Record<string, number> {
    return this.legs.gauges();
  }

  view(): RouterView {
    const base = nodeView(this.node, this.ifs.ethernets());
    return {
      ...base,
      counters: { ...base.counters, ...this.legs.counters() },
      rip: this.rip.table().map((r) => ({
        prefix: cidrToString(r.prefix, r.len), nextHop: ipToString(r.nextHop), iface: r.iface, metric: r.metric, garbage: r.garbage, ageMs: r.ageMs,
      })),
      unresolvedStaticRoutes: [...this.unresolved],
      nat: this.legs.entries(),
    };
  }

  /** Pings `dst` from the router's own IP stack. */
  ping(dst: number, opts?: PingOptions): Promise<PingResult> {
    return ping(this.node, dst, opts);
  }

  /** Traces the path to `dst`, one hop at a time (for streaming to a caller). */
  traceroute(dst: number, opts?: { maxHops?: number; timeoutMs?: number; src?: number }): AsyncGenerator<TraceHop> {
    return traceroute(this.node, dst, opts);
  }
}
