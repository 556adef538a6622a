// The host agent, as a composition root: the underlay and VARP engine
// (core.ts), the receive path (receive.ts), the per-vnet switch, the VIFs
// (vifs.ts), VLAN uplinks and the routers and firewalls, reconciled to a
// desired state. apply() is what a state file change, SIGHUP or the console
// link calls; it is idempotent and serialised.
import type { VarpEntryView } from '../varp/index.ts';
import { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { Switch, type SwitchVarp } from '../switch/index.ts';
import type { GuestPort } from '../guests/index.ts';
import { parseState, StateError, type AgentState, type StateIssue } from '../state.ts';
import { buildView, kernelCounterEntries, type AgentStateView, type VarpPage } from './view.ts';
import { renderAgentMetrics } from './metrics-view.ts';
import { FileSequenceStore, SealedVnets } from '../security/index.ts';
import { VlanManager } from '../vlan/index.ts';
import { NodeManager } from '../nodes/index.ts';
import { Vifs } from './vifs.ts';
import { Receive } from './receive.ts';
import { CoreManager } from './core.ts';
import { GuestServices } from '../dhcp/services.ts';
import { KernelPath, type DatapathMode } from '../bpf/fastpath.ts';
import { agentConfig } from '../../config/index.ts';
import { admittedAddresses } from '../underlay/admission.ts';
import { inspectVif } from './inspect.ts';
import type { CommandArgs, VifInspectData } from '../../contract/commands.ts';

export type { AgentStateView } from './view.ts';
export type { VifRuntime } from './vifs.ts';

export interface AgentOptions {
  /** The initial desired state (parsed or raw JSON; it is validated). */
  state: unknown;
  logger: Logger;
  counters?: Counters;
  /**
   * Where sealed vnets reserve their sequence numbers (agent/security/sequence.ts):
   * with it a restarted agent never reuses a GCM nonce and its peers accept it at once.
   */
  sealSequenceFile?: string;
  /** The kernel fast path (agent/bpf/): SOFTUDC_DATAPATH by default. */
  datapath?: DatapathMode;
}

export interface ApplyResult {
  generation: number;
  added: string[];
  removed: string[];
  changed: string[];
  /** VIFs that could not be brought up (the rest of the state is applied). */
  errors: StateIssue[];
}

/** Stands in for the VARP engine while the agent is stopped: nothing resolves. */
const IDLE_VARP: SwitchVarp = { resolve: () => null, lookupIp: () => undefined, resolveIp: () => {}, refresh: () => {} };

export class Agent {
  readonly counters: Counters;
  readonly logger: Logger;
  private desired: AgentState;
  private appliedGeneration: number | null = null;
  private readonly sw: Switch;
  private readonly vifs: Vifs;
  private readonly receive: Receive;
  private readonly core: CoreManager;
  private chain: Promise<unknown> = Promise.resolve();
  private running = false;
  private readonly seals: SealedVnets;
  private readonly vlans: VlanManager;
  /** Virtual routers and firewalls (agent/nodes/manager.ts), ports on the same switch as the VIFs. */
  readonly nodes: NodeManager;
  /** DHCP and the vnet resolvers (agent/dhcp/services.ts), answered next to each port. */
  readonly services: GuestServices;
  /** The kernel fast path (agent/bpf/fastpath.ts): the maps follow every apply and the VARP cache. */
  readonly kernel: KernelPath;
  /** Told when an incoming VIF became active or a VIF moved away (the console link reports at once). */
  onVifMoved: (() => void) | null = null;

  constructor(opts: AgentOptions) {
    this.desired = parseState(opts.state);
    this.logger = opts.logger;
    const counters = (this.counters = opts.counters ?? new Counters());
    const logger = this.logger;
    const varp = () => this.core.current?.varp ?? null;
    // What the kernel carried per remote host goes into the underlay's own per-peer counters.
    this.kernel = new KernelPath(opts.datapath ?? agentConfig().SOFTUDC_DATAPATH, logger, counters, (coa, d) => this.core.current?.underlay.remotes.addKernel(counters, coa, d));
    this.seals = new SealedVnets(logger, opts.sealSequenceFile ? new FileSequenceStore(opts.sealSequenceFile) : undefined);
    this.sw = new Switch(
      {
        get varp(): SwitchVarp {
          return varp() ?? IDLE_VARP;
        },
        sendTo: (d, coa, port) => this.core.current?.underlay.sendToIp(d, coa, port),
        flood: (d, peers) => {
          this.core.current?.underlay.flood(d, peers);
          this.receive.fromSelf(d);
        },
      },
      counters,
    );
    const sw = this.sw;
    this.receive = new Receive({ counters, logger, sw, seals: this.seals, core: () => this.core.current });
    this.vifs = new Vifs({ sw, counters, logger, varp, vethGuests: this.kernel.possible, activeChanged: () => this.vifMoved() });
    this.core = new CoreManager({
      counters,
      logger,
      sw,
      seals: this.seals,
      receive: this.receive,
      vifs: this.vifs,
      varpChanged: () => this.kernel.varpChanged(),
    });
    this.vlans = new VlanManager({
      logger,
      counters,
      attach: (vnet, mac) => varp()?.attach({ vnet, mac, ip: null, version: 0 }),
      detach: (vnet, mac) => varp()?.detach(vnet, mac),
      fromLan: (vnet, frame) => sw.fromUplink(vnet, frame),
      headroom: sw.headroom,
    });
    this.services = new GuestServices(this.counters, this.logger);
    this.sw.services = this.services;
    this.nodes = new NodeManager({
      counters,
      logger,
      attachment: {
        addPort: (p) => sw.addPort(p),
        removePort: (id) => sw.removePort(id),
        // An external leg's vnet is host-local: its ports are never announced over VARP.
        announce: (vnet, mac, ip) => (this.vlans.isExternal(vnet) ? undefined : varp()?.attach({ vnet, mac, ip, version: 1 })),
        withdraw: (vnet, mac) => (this.vlans.isExternal(vnet) ? undefined : varp()?.detach(vnet, mac)),
      },
    });
  }

  /** Binds the underlay and brings up the initial state. Throws when the underlay cannot bind. */
  start(): Promise<ApplyResult> {
    this.running = true;
    return this.serialise(() => this.applyNow(this.desired));
  }

  stop(): Promise<void> {
    return this.serialise(async () => {
      if (!this.running) return;
      this.running = false;
      await this.kernel.stop();
      this.nodes.stop();
      await this.vifs.removeAll();
      await this.vlans.stopAll();
      this.receive.stop();
      await this.core.stop();
      this.services.stop();
      this.logger.info('agent stopped');
    });
  }

  /** Reconciles to `state` (validated here; StateError names the bad field). Serialised with other applies. */
  apply(state: unknown): Promise<ApplyResult> {
    return this.serialise(() => this.applyNow(parseState(state)));
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private async applyNow(s: AgentState): Promise<ApplyResult> {
    const result: ApplyResult = { generation: s.generation, added: [], removed: [], changed: [], errors: [] };
    if (!this.running) {
      this.desired = s;
      return result;
    }
    if (this.appliedGeneration !== null && s.generation < this.appliedGeneration) {
      this.logger.warn('applying an older generation', { generation: s.generation, applied: this.appliedGeneration });
    }
    this.receive.admission.configure(s);
    const reattach = await this.core.reconcile(s);

    for (const [i, v] of s.vnets.entries()) {
      let sealer;
      try {
        sealer = this.seals.apply(v);
      } catch (err) {
        throw new StateError([{ field: `vnets[${i}].keys`, message: (err as Error).message }]);
      }
      const vlan = await this.vlans.sync(v.id, v.vlan);
      if (vlan.error) result.errors.push({ field: `vnets[${i}].vlan`, message: vlan.error });
      const ext = await this.vlans.syncExternal(v.id, v.external);
      if (ext.error) result.errors.push({ field: `vnets[${i}].external`, message: ext.error });
      this.sw.upsertVnet({ id: v.id, security: v.security, peers: v.peers, sealer, uplink: vlan.uplink ?? ext.uplink });
    }
    if (reattach) this.vlans.announceAll();
    this.receive.configureRelay(s);
    this.services.configure(s);

    // A VIF about to be filtered leaves the kernel fast path first: no frame may pass it unfiltered.
    await this.kernel.withdraw(s.vifs.filter((v) => v.securityGroups !== undefined).map((v) => v.id));
    await this.vifs.reconcile(s, reattach, result);

    const nodes = this.nodes.apply(s);
    if (reattach) this.nodes.announceAll();
    result.added.push(...nodes.added);
    result.removed.push(...nodes.removed);
    result.changed.push(...nodes.changed);
    result.errors.push(...nodes.errors);

    const vnetIds = new Set(s.vnets.map((v) => v.id));
    await this.vlans.retain(vnetIds);
    for (const v of this.sw.vnetView()) if (!vnetIds.has(v.id)) this.sw.removeVnet(v.id);
    this.seals.retain(vnetIds);
    await this.syncKernel(s);
    this.desired = s;
    this.appliedGeneration = s.generation;
    return result;
  }

  private vifMoved(): void {
    void this.serialise(() => this.syncKernel());
    this.onVifMoved?.();
  }

  /**
   * The kernel fast path to the applied state: the VIFs that live here (an
   * incoming VIF stays out until its guest's first frame, which must reach the
   * agent; one that moved away leaves) and the switch's active ports.
   */
  private async syncKernel(s: AgentState = this.desired): Promise<void> {
    if (!this.running) return;
    const vifs = this.vifs.values().filter((rt) => this.vifs.active(rt));
    await this.kernel.apply({ state: s, admitted: admittedAddresses(s), vifs, ports: this.sw.portList(), varp: this.core.current?.varp ?? null });
  }

  /** The guest behind a VIF (running), for diagnostics. */
  guest(vifId: string): GuestPort | undefined {
    return this.vifs.get(vifId)?.guest ?? undefined;
  }

  get generation(): number | null {
    return this.appliedGeneration;
  }

  /** `vif.inspect`: the live state of one VIF for a trace; undefined when the VIF is not on this host. */
  inspectVif(a: CommandArgs['vif.inspect']): VifInspectData | undefined {
    const rt = this.vifs.get(a.vifId);
    return rt ? inspectVif({ rt, sw: this.sw, varp: this.core.current?.varp ?? null, kernel: this.kernel }, a) : undefined;
  }

  /** The state view; the VARP cache listed one page at a time (the first by default). */
  snapshot(varpPage?: VarpPage): AgentStateView {
    const core = this.core.current;
    return buildView({
      varpPage,
      state: this.desired,
      appliedGeneration: this.appliedGeneration,
      underlay: core?.underlay ?? null,
      varp: core?.varp ?? null,
      sw: this.sw,
      vifs: this.vifs.values(),
      counters: this.counters,
      nodes: this.nodes,
      services: this.services,
      kernel: this.kernel,
    });
  }

  /**
   * The switch's ports and the VARP cache entry of (vnet, MAC), for a live
   * packet trace (agent/control/traceLookup.ts).
   */
  traceVarp(): { local(vnet: number, mac: number): string | null; entry(vnet: number, mac: number): VarpEntryView | undefined } {
    return {
      local: (vnet, mac) => this.sw.portList().find((p) => p.vnet === vnet && p.mac === mac)?.id ?? null,
      entry: (vnet, mac) => {
        const e = this.core.current?.varp.entryPage(1, { vnet, mac: mac - 1 }).entries[0];
        return e && e.vnet === vnet && e.mac === mac ? e : undefined;
      },
    };
  }

  /** Prometheus text: every counter plus gauges for the applied generation, VIFs and VARP entries. */
  metrics(): string {
    return renderAgentMetrics({
      counters: this.counters,
      appliedGeneration: this.appliedGeneration,
      vifs: this.vifs.size,
      ports: this.sw.portCount(),
      varp: this.core.current?.varp ?? null,
      kernel: kernelCounterEntries(this.kernel.view()),
      gauges: this.nodes.natGauges(),
      ruleHits: this.vifs.values().flatMap((rt) => (rt.filter ? rt.filter.hits().map((h) => ({ vif: rt.spec.id, ...h })) : [])),
    });
  }
}
