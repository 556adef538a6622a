// A virtual router (seeds 001 and 000): interfaces on vnets, each a port on
// that vnet's switch exactly like a guest port, so that frames addressed to
// the interface's MAC select this router (seed 000 claim 4); links to other
// routers (an in-process channel when the peer is co-located, seed 004, else
// a port on the link's point-to-point vnet); static routes; RIPv2. One
// forwarding table and one ARP cache per interface, all in userspace.
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { cidrToString, inPrefix, ipToString, parseCidr, parseIp, parseMac } from '../wire/index.ts';
import type { ArpOptions } from './arp.ts';
import { EthernetInterface, type NodeInterface } from './iface.ts';
import { ChannelInterface, LinkRegistry, linkMac } from './links.ts';
import { IpNode } from './node.ts';
import { Rip, type LocalRoute, type RipTimers } from './rip.ts';
import type { RouterSpec } from '../../contract/router.ts';
import { GUEST_MTU_DEFAULT } from '../../contract/limits.ts';
import { nodeView, type NodeView } from './view.ts';
import { ping, traceroute, type PingOptions, type PingResult, type TraceHop } from './probe.ts';

/** How a node's Ethernet interfaces reach the vnet switches (the agent, or a test harness). */
export interface PortHost {
  /** Connects the interface to its vnet's switch; throws when it cannot (unknown vnet, MAC in use). */
  attach(port: EthernetInterface): void;
  detach(port: EthernetInterface): void;
  /** The vnet's MTU, when the state gives one. */
  mtu?(vnet: number): number | undefined;
}

export interface RouterDeps {
  counters: Counters;
  logger: Logger;
  links: LinkRegistry;
  ports: PortHost;
  arp?: Partial<ArpOptions>;
  /** Overrides the spec's RIP timers (tests). */
  rip?: Partial<RipTimers>;
  icmpRate?: number;
  icmpBurst?: number;
}

interface Desc {
  name: string;
  /** Everything that, when changed, rebuilds the interface. */
  key: string;
  rip: boolean;
  build(): NodeInterface;
}

export interface RouterView extends NodeView {
  rip: { prefix: string; nextHop: string; iface: string; metric: number; garbage: boolean; ageMs: number }[];
  unresolvedStaticRoutes: string[];
}

export class VirtualRouter {
  readonly id: string;
  readonly node: IpNode;
  private spec: RouterSpec;
  private readonly rip: Rip;
  private readonly keys = new Map<string, string>();
  private readonly ethers = new Map<string, EthernetInterface>();
  private statics: LocalRoute[] = [];
  private unresolved: string[] = [];
  private readonly errors = new Map<string, string>();
  private running = false;

  constructor(
    spec: RouterSpec,
    private readonly deps: RouterDeps,
  ) {
    this.id = spec.id;
    this.spec = spec;
    this.node = new IpNode({
      kind: 'router', id: spec.id, counters: deps.counters, logger: deps.logger, icmpRate: deps.icmpRate, icmpBurst: deps.icmpBurst,
    });
    this.rip = new Rip(this.node, () => this.localRoutes(), { ...spec.ripTimers, ...deps.rip });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.rip.start();
    this.reconcile();
  }

  /** Applies a new spec in place: unchanged interfaces, their ARP caches and learned routes stay. */
  update(spec: RouterSpec): void {
    if (spec.id !== this.id) throw new Error(`router ${this.id}: cannot become ${spec.id}`);
    this.spec = spec;
    if (this.running) this.reconcile();
  }

  /** Re-plans links after the set of co-located routers changed (channel ↔ vnet). */
  relink(): void {
    if (this.running) this.reconcile();
  }

  stop(): void {
    if (!this.running) return;
    this.rip.stop(true);
    this.running = false;
    for (const name of [...this.keys.keys()]) this.removeInterface(name);
    this.node.close();
  }

  /** Interface build errors by name (a vnet not carried, a MAC in use), for the agent's report. */
  interfaceErrors(): { iface: string; error: string }[] {
    return [...this.errors].map(([iface, error]) => ({ iface, error }));
  }

  private descs(): Desc[] {
    const { id, node } = this;
    const out: Desc[] = [];
    for (const i of this.spec.interfaces) {
      const name = `vnet${i.vnet}`;
      const mtu = i.mtu ?? this.deps.ports.mtu?.(i.vnet) ?? GUEST_MTU_DEFAULT;
      const mac = parseMac(i.mac);
      out.push({
        name,
        rip: i.rip,
        key: JSON.stringify(['vnet', i.vnet, mac, i.ip, mtu]),
        build: () => this.ether(name, i.vnet, mac, i.ip, mtu),
      });
    }
    for (const l of this.spec.links) {
      const name = `link:${l.peer}`;
      const plan = this.deps.links.plan(id, l);
      if (plan.kind === 'down') {
        this.errors.set(name, plan.reason);
        continue;
      }
      if (plan.kind === 'channel') {
        out.push({
          name,
          rip: l.rip,
          key: JSON.stringify(['channel', l.peer, l.local]),
          build: () =>
            new ChannelInterface({
              name, routerId: id, peerId: l.peer, cidr: l.local, mtu: GUEST_MTU_DEFAULT, registry: this.deps.links, sink: node, stats: node.stats,
            }),
        });
      } else {
        const mtu = this.deps.ports.mtu?.(plan.vnet) ?? GUEST_MTU_DEFAULT;
        const mac = linkMac(id, l.peer);
        out.push({ name, rip: l.rip, key: JSON.stringify(['vnet', plan.vnet, mac, l.local, mtu]), build: () => this.ether(name, plan.vnet, mac, l.local, mtu) });
      }
    }
    return out;
  }

  private ether(name: string, vnet: number, mac: number, cidr: string, mtu: number): EthernetInterface {
    return new EthernetInterface({
      name, portId: `router:${this.id}/${name}`, vnet, mac, cidr, mtu, sink: this.node, stats: this.node.stats, arp: this.deps.arp,
    });
  }

  private reconcile(): void {
    this.errors.clear();
    const wanted = this.descs();
    const byName = new Map(wanted.map((d) => [d.name, d]));
    for (const [name, key] of [...this.keys]) {
      if (byName.get(name)?.key !== key) this.removeInterface(name);
    }
    for (const d of wanted) {
      if (this.keys.has(d.name)) continue;
      try {
        const i = d.build();
        if (i instanceof EthernetInterface) {
          this.deps.ports.attach(i);
          this.ethers.set(d.name, i);
          void i.start();
        }
        this.node.addInterface(i);
        this.keys.set(d.name, d.key);
      } catch (err) {
        this.errors.set(d.name, (err as Error).message);
        this.deps.logger.warn('router interface not brought up', { router: this.id, iface: d.name, error: (err as Error).message });
      }
    }
    this.installStatics();
    this.rip.localChanged();
    this.rip.setInterfaces(wanted.filter((d) => d.rip && this.keys.has(d.name)).map((d) => d.name));
  }

  private removeInterface(name: string): void {
    this.rip.interfaceDown(name);
    this.node.removeInterface(name);
    const e = this.ethers.get(name);
    if (e) {
      this.ethers.delete(name);
      this.deps.ports.detach(e);
    }
    this.keys.delete(name);
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

  view(): RouterView {
    return {
      ...nodeView(this.node, this.ethers),
      rip: this.rip.table().map((r) => ({
        prefix: cidrToString(r.prefix, r.len), nextHop: ipToString(r.nextHop), iface: r.iface, metric: r.metric, garbage: r.garbage, ageMs: r.ageMs,
      })),
      unresolvedStaticRoutes: [...this.unresolved],
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

  /** The Ethernet interfaces (switch ports) this router has now. */
  ports(): EthernetInterface[] {
    return [...this.ethers.values()];
  }
}
