// What a router and a firewall have in common around their IpNode: built from
// a spec with an id, started, updated in place (unchanged interfaces keep
// their ARP caches and routes) and stopped; their interfaces kept by the one
// reconcile (NodeInterfaces). A kind adds its own protocol state through the
// hooks and says which interfaces it wants in reconcile().
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { ArpOptions } from './arp.ts';
import type { EthernetInterface } from './iface.ts';
import { IpNode } from './node.ts';
import { NodeInterfaces, type PortHost } from './ports.ts';
import type { NodeKind } from './stats.ts';

/** What every node kind is given. */
export interface NodeDeps {
  counters: Counters;
  logger: Logger;
  ports: PortHost;
  arp?: Partial<ArpOptions>;
  icmpRate?: number;
  icmpBurst?: number;
}

export abstract class NodeHost<S extends { id: string }> {
  readonly id: string;
  readonly node: IpNode;
  protected spec: S;
  protected readonly ifs: NodeInterfaces;
  protected running = false;

  constructor(kind: NodeKind, spec: S, deps: NodeDeps, onRemove?: (iface: string) => void) {
    this.id = spec.id;
    this.spec = spec;
    this.node = new IpNode({ kind, id: spec.id, counters: deps.counters, logger: deps.logger, icmpRate: deps.icmpRate, icmpBurst: deps.icmpBurst });
    this.ifs = new NodeInterfaces({ node: this.node, ports: deps.ports, logger: deps.logger, arp: deps.arp, ...(onRemove ? { onRemove } : {}) });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.starting();
    this.reconcile();
  }

  /** Applies a new spec in place: unchanged interfaces, their ARP caches and routes stay. */
  update(spec: S): void {
    if (spec.id !== this.id) throw new Error(`${this.node.stats.kind} ${this.id}: cannot become ${spec.id}`);
    const old = this.spec;
    this.spec = spec;
    this.updated(old);
    if (this.running) this.reconcile();
  }

  stop(): void {
    if (!this.running) return;
    this.stopping();
    this.running = false;
    this.ifs.clear();
    this.node.close();
  }

  /** Interface build errors by name (a vnet not carried, a MAC in use), for the agent's report. */
  interfaceErrors(): { iface: string; error: string }[] {
    return this.ifs.interfaceErrors();
  }

  /** The Ethernet interfaces (switch ports) this node has now. */
  ports(): EthernetInterface[] {
    return this.ifs.ports();
  }

  /** Brings the interfaces (and whatever depends on them) to the spec. */
  protected abstract reconcile(): void;

  /** Runs when the node starts, before its interfaces come up. */
  protected starting(): void {}

  /** Runs after a new spec replaced `old`, before the interfaces are reconciled. */
  protected updated(_old: S): void {}

  /** Runs when the node stops, while its interfaces are still up. */
  protected stopping(): void {}
}
