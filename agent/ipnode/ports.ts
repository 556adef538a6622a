// The one interface reconcile of routers and firewalls. A node says which
// interfaces it wants — each with a name, a key holding everything that, when
// changed, rebuilds it, and how to build it — and NodeInterfaces brings the
// IpNode in step: an interface whose key is unchanged keeps its ARP cache and
// routes; a changed one is rebuilt; Ethernet interfaces are attached to their
// vnet's switch as ports (PortHost) and detached when they go. An interface
// that cannot be brought up is remembered with the reason, for the report.
import type { Logger } from '../log.ts';
import { GUEST_MTU_DEFAULT } from '../../contract/limits.ts';
import type { ArpOptions } from './arp.ts';
import { EthernetInterface, type NodeInterface } from './iface.ts';
import type { IpNode } from './node.ts';

/** How a node's Ethernet interfaces reach the vnet switches (the agent, or a test harness). */
export interface PortHost {
  /** Connects the interface to its vnet's switch; throws when it cannot (unknown vnet, MAC in use). */
  attach(port: EthernetInterface): void;
  detach(port: EthernetInterface): void;
  /** The vnet's MTU, when the state gives one. */
  mtu?(vnet: number): number | undefined;
}

/** One interface a node wants. */
export interface InterfaceWish {
  name: string;
  /** Everything that, when changed, rebuilds the interface. */
  key: string;
  build(): NodeInterface;
}

export interface NodeInterfacesOptions {
  node: IpNode;
  ports: PortHost;
  logger: Logger;
  arp?: Partial<ArpOptions> | undefined;
  /** Called before an interface is removed (a router withdraws its RIP state for it). */
  onRemove?: (name: string) => void;
}

export class NodeInterfaces {
  private readonly keys = new Map<string, string>();
  private readonly ethers = new Map<string, EthernetInterface>();
  private readonly errors = new Map<string, string>();

  constructor(private readonly o: NodeInterfacesOptions) {}

  /** The MTU of an interface on `vnet`: its own when given, else the vnet's, else the default. */
  mtu(vnet: number, own?: number): number {
    return own ?? this.o.ports.mtu?.(vnet) ?? GUEST_MTU_DEFAULT;
  }

  /** An Ethernet interface on `vnet`: a port on its switch, named `<kind>:<id>/<name>`. */
  ethernet(name: string, vnet: number, mac: number, cidr: string, mtu: number): InterfaceWish {
    const node = this.o.node;
    return {
      name,
      key: JSON.stringify(['vnet', vnet, mac, cidr, mtu]),
      build: () =>
        new EthernetInterface({
          name, portId: `${node.stats.kind}:${node.id}/${name}`, vnet, mac, cidr, mtu, sink: node, stats: node.stats, arp: this.o.arp,
        }),
    };
  }

  /**
   * Brings the node's interfaces to `wanted`; `down` lists interfaces that
   * cannot exist now, with the reason (reported like build errors).
   */
  reconcile(wanted: readonly InterfaceWish[], down: readonly [name: string, reason: string][] = []): void {
    this.errors.clear();
    for (const [name, reason] of down) this.errors.set(name, reason);
    const byName = new Map(wanted.map((w) => [w.name, w]));
    for (const [name, key] of [...this.keys]) {
      if (byName.get(name)?.key !== key) this.remove(name);
    }
    const { node, ports, logger } = this.o;
    for (const w of wanted) {
      if (this.keys.has(w.name)) continue;
      try {
        const i = w.build();
        if (i instanceof EthernetInterface) {
          ports.attach(i);
          this.ethers.set(w.name, i);
          void i.start();
        }
        node.addInterface(i);
        this.keys.set(w.name, w.key);
      } catch (err) {
        const kind = node.stats.kind;
        this.errors.set(w.name, (err as Error).message);
        logger.warn(`${kind} interface not brought up`, { [kind]: node.id, iface: w.name, error: (err as Error).message });
      }
    }
  }

  /** True when the interface is up (built and added to the node). */
  has(name: string): boolean {
    return this.keys.has(name);
  }

  /** Removes every interface (the node stops). */
  clear(): void {
    for (const name of [...this.keys.keys()]) this.remove(name);
  }

  private remove(name: string): void {
    this.o.onRemove?.(name);
    this.o.node.removeInterface(name);
    const e = this.ethers.get(name);
    if (e) {
      this.ethers.delete(name);
      this.o.ports.detach(e);
    }
    this.keys.delete(name);
  }

  /** Interface build errors by name (a vnet not carried, a MAC in use), for the agent's report. */
  interfaceErrors(): { iface: string; error: string }[] {
    return [...this.errors].map(([iface, error]) => ({ iface, error }));
  }

  /** The Ethernet interfaces (switch ports) by name. */
  ethernets(): ReadonlyMap<string, EthernetInterface> {
    return this.ethers;
  }

  /** The Ethernet interfaces (switch ports) the node has now. */
  ports(): EthernetInterface[] {
    return [...this.ethers.values()];
  }
}
