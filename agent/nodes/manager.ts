// The node manager (seed 001's router manager, on the agent): creates,
// updates and removes this host's virtual routers and firewalls from the
// desired state (`routers`, `firewalls`), connects their interfaces to the
// vnet switches as ports that may forward other hosts' packets, announces
// their MACs by VARP like any VIF, and keeps the link registry (seed 004's
// vrFIB) in step with which routers live here. Idempotent: an unchanged node
// keeps its ARP caches, learned routes and counters; a changed one is
// reconfigured in place.
import type { z } from 'zod';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { VirtualFirewall, type ConntrackTimeouts, type FirewallView } from '../firewall/index.ts';
import { firewallSchema, type FirewallSpec } from '../../contract/firewall.ts';
import type { ArpOptions, EthernetInterface, NodeHost, PortHost } from '../ipnode/index.ts';
import { LinkRegistry, VirtualRouter, type RipTimers, type RouterView } from '../router/index.ts';
import { routerSchema, type RouterSpec } from '../../contract/router.ts';

/** What the manager needs from the agent: its switch and its VARP engine. */
export interface NodeAttachment {
  /** Switch.addPort with `forwarder: true` (exempt from source-IP port security, MAC still bound). Throws when it cannot. */
  addPort(port: { id: string; vnet: number; mac: number; ip: number; guest: EthernetInterface; forwarder: true; arpIps: { has(ip: number): boolean } }): void;
  removePort(id: string): void;
  /** VARP attach / detach, so that other hosts resolve the interface's MAC and IP. */
  announce(vnet: number, mac: number, ip: number): void;
  withdraw(vnet: number, mac: number): void;
}

export interface NodeManagerOptions {
  counters: Counters;
  logger: Logger;
  attachment: NodeAttachment;
  arp?: Partial<ArpOptions>;
  rip?: Partial<RipTimers>;
  conntrack?: Partial<ConntrackTimeouts>;
}

export interface NodeIssue {
  field: string;
  message: string;
}

export interface NodeApplyResult {
  added: string[];
  removed: string[];
  changed: string[];
  errors: NodeIssue[];
}

/** The part of a desired state the manager reads (the agent's state is loose: these fields pass through). */
export interface NodeState {
  vnets?: readonly { id: number; mtu?: number | undefined }[];
  routers?: unknown;
  firewalls?: unknown;
}

interface Entry<T, S> {
  node: T;
  key: string;
  spec: S;
}

export class NodeManager {
  readonly links: LinkRegistry;
  private readonly routers = new Map<string, Entry<VirtualRouter, RouterSpec>>();
  private readonly firewalls = new Map<string, Entry<VirtualFirewall, FirewallSpec>>();
  private mtus = new Map<number, number>();
  private readonly ports: PortHost;

  constructor(private readonly o: NodeManagerOptions) {
    this.links = new LinkRegistry(o.counters);
    const a = o.attachment;
    this.ports = {
      attach: (p) => {
        a.addPort({ id: p.id, vnet: p.vnet, mac: p.mac, ip: p.ip, guest: p, forwarder: true, arpIps: { has: (ip) => p.extraAddresses.has(ip) } });
        try {
          a.announce(p.vnet, p.mac, p.ip);
        } catch (err) {
          a.removePort(p.id);
          throw err;
        }
      },
      detach: (p) => {
        a.withdraw(p.vnet, p.mac);
        a.removePort(p.id);
      },
      mtu: (vnet) => this.mtus.get(vnet),
    };
  }

  /** Reconciles to the state's `routers` and `firewalls`; a bad entry is reported by field and skipped. */
  apply(state: NodeState): NodeApplyResult {
    const result: NodeApplyResult = { added: [], removed: [], changed: [], errors: [] };
    this.mtus = new Map((state.vnets ?? []).flatMap((v) => (v.mtu === undefined ? [] : [[v.id, v.mtu] as const])));
    const routers = parseList('routers', state.routers, routerSchema, result.errors);
    const firewalls = parseList('firewalls', state.firewalls, firewallSchema, result.errors);

    const localBefore = [...this.routers.keys()].sort().join('\n');
    this.links.setLocalRouters(routers.map((r) => r.spec.id));
    const relinkAll = localBefore !== routers.map((r) => r.spec.id).sort().join('\n');

    this.reconcile(this.routers, routers, result, {
      create: (spec) => new VirtualRouter(spec, { counters: this.o.counters, logger: this.o.logger, links: this.links, ports: this.ports, arp: this.o.arp, rip: this.o.rip }),
      relink: (node) => relinkAll && node.relink(),
    });
    this.reconcile(this.firewalls, firewalls, result, {
      create: (spec) => new VirtualFirewall(spec, { counters: this.o.counters, logger: this.o.logger, ports: this.ports, arp: this.o.arp, conntrack: this.o.conntrack }),
      relink: () => {},
    });
    return result;
  }

  private reconcile<S extends { id: string }, T extends NodeHost<S>>(
    map: Map<string, Entry<T, S>>,
    wanted: { spec: S; field: string }[],
    result: NodeApplyResult,
    how: { create(spec: S): T; relink(node: T): void },
  ): void {
    const ids = new Set(wanted.map((w) => w.spec.id));
    for (const [id, e] of [...map]) {
      if (ids.has(id)) continue;
      e.node.stop();
      map.delete(id);
      result.removed.push(id);
      this.o.logger.info(`${kindOf(e.node)} down`, { id });
    }
    // A vnet MTU change reconfigures in place too (only the interfaces it touches are rebuilt).
    const mtus = JSON.stringify([...this.mtus].sort((x, y) => x[0] - y[0]));
    for (const { spec, field } of wanted) {
      const key = JSON.stringify(spec) + mtus;
      const e = map.get(spec.id);
      if (!e) {
        const node = how.create(spec);
        map.set(spec.id, { node, key, spec });
        node.start();
        result.added.push(spec.id);
        this.o.logger.info(`${kindOf(node)} up`, { id: spec.id });
      } else if (e.key !== key) {
        e.node.update(spec);
        e.key = key;
        e.spec = spec;
        result.changed.push(spec.id);
      } else {
        how.relink(e.node);
      }
      const node = map.get(spec.id)!.node;
      for (const { iface, error } of node.interfaceErrors()) {
        result.errors.push({ field, message: `interface ${iface}: ${error}` });
        this.o.counters.inc(`softudc_agent_${kindOf(node)}_interface_errors_total`);
      }
    }
  }

  /** Announces every node port again (after the agent rebuilt its VARP engine). */
  announceAll(): void {
    for (const p of this.allPorts()) this.o.attachment.announce(p.vnet, p.mac, p.ip);
  }

  allPorts(): EthernetInterface[] {
    return [...this.routers.values(), ...this.firewalls.values()].flatMap((e) => e.node.ports());
  }

  router(id: string): VirtualRouter | undefined {
    return this.routers.get(id)?.node;
  }

  firewall(id: string): VirtualFirewall | undefined {
    return this.firewalls.get(id)?.node;
  }

  /** The NAT gauges of every router and firewall with external legs. */
  natGauges(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of [...this.routers.values(), ...this.firewalls.values()]) Object.assign(out, e.node.natGauges());
    return out;
  }

  view(): { routers: RouterView[]; firewalls: FirewallView[] } {
    return {
      routers: [...this.routers.values()].map((e) => e.node.view()),
      firewalls: [...this.firewalls.values()].map((e) => e.node.view()),
    };
  }

  stop(): void {
    for (const e of this.firewalls.values()) e.node.stop();
    for (const e of this.routers.values()) e.node.stop();
    this.firewalls.clear();
    this.routers.clear();
    this.links.setLocalRouters([]);
  }
}

function kindOf(n: NodeHost<{ id: string }>): 'router' | 'firewall' {
  return n.node.stats.kind;
}

function parseList<S extends { id: string }>(
  name: string, raw: unknown, schema: z.ZodType<S>, errors: NodeIssue[],
): { spec: S; field: string }[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    errors.push({ field: name, message: 'must be an array' });
    return [];
  }
  const out: { spec: S; field: string }[] = [];
  const seen = new Set<string>();
  raw.forEach((item, i) => {
    const field = `${name}[${i}]`;
    const r = schema.safeParse(item);
    if (!r.success) {
      for (const issue of r.error.issues) errors.push({ field: `${field}${pathText(issue.path)}`, message: issue.message });
      return;
    }
    if (seen.has(r.data.id)) {
      errors.push({ field: `${field}.id`, message: `duplicate id "${r.data.id}"` });
      return;
    }
    seen.add(r.data.id);
    out.push({ spec: r.data, field });
  });
  return out;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}
