// The host agent: owns the underlay socket, the VARP engine, the per-vnet
// switches and the guests, and reconciles them to a desired state. apply() is
// what a state file change, SIGHUP or (later) the console link calls; it is
// idempotent and serialised, and it leaves unchanged VIFs alone (same guest,
// same port: not one frame lost on them).
import { Counters, renderPrometheus } from './metrics.ts';
import type { Logger } from './log.ts';
import { Dispatcher } from './dispatch.ts';
import { Switch, type SwitchVarp } from './switch/index.ts';
import { UdpUnderlay } from './underlay/udp.ts';
import { Varp, type VarpConfig, type VarpIo } from './varp/index.ts';
import { createGuest, type GuestPort } from './guests/index.ts';
import { decodeVarpKey, parseState, StateError, type AgentState, type StateIssue, type VifSpec } from './state.ts';
import { parseCidr, parseIp, parseMac } from './wire/index.ts';
import { buildView, type AgentStateView } from './view.ts';
import { FileSequenceStore, SealedVnets } from './security/index.ts';
import { Relay } from './relay/index.ts';
import { VifShaper } from './limit/shaper.ts';
import { VlanManager } from './vlan/index.ts';
import { FRAME_FLAG_SEALED, FRAME_FLAGS_OFFSET, FRAME_HEADER_LEN, FRAME_VNET_OFFSET } from './wire/index.ts';
import { NodeManager } from './router/manager.ts';
import { GuestServices } from './dhcp/services.ts';

export type { AgentStateView } from './view.ts';

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
}

export interface ApplyResult {
  generation: number;
  added: string[];
  removed: string[];
  changed: string[];
  /** VIFs that could not be brought up (the rest of the state is applied). */
  errors: StateIssue[];
}

export interface VifRuntime {
  spec: VifSpec;
  mac: number;
  ip: number;
  guest: GuestPort | null;
  error: string | null;
  /** The VIF's bandwidth limit on what its guest sends (passes everything without `limit`). */
  shaper: VifShaper;
}

interface Core {
  underlay: UdpUnderlay;
  varp: Varp;
  key: Buffer | undefined;
  signature: string;
}

const VARP_FIELDS = ['lifetimeMs', 'requestCount', 'requestIntervalMs', 'queueLimit', 'failedHoldMs'] as const;

/** Stands in for the VARP engine while the agent is stopped: nothing resolves. */
const IDLE_VARP: SwitchVarp = { resolve: () => null, lookupIp: () => undefined, resolveIp: () => {}, refresh: () => {} };

export class Agent {
  readonly counters: Counters;
  readonly logger: Logger;
  private desired: AgentState;
  private appliedGeneration: number | null = null;
  private core: Core | null = null;
  private readonly sw: Switch;
  private readonly vifs = new Map<string, VifRuntime>();
  private readonly dispatcher: Dispatcher;
  private chain: Promise<unknown> = Promise.resolve();
  private running = false;
  private readonly seals: SealedVnets;
  private readonly relay: Relay;
  private readonly vlans: VlanManager;
  private lanPeers: readonly string[] = [];
  /** Virtual routers and firewalls (agent/router/manager.ts), ports on the same switch as the VIFs. */
  readonly nodes: NodeManager;
  /** DHCP and the vnet resolvers (agent/dhcp/services.ts), answered next to each port. */
  readonly services: GuestServices;

  constructor(opts: AgentOptions) {
    this.desired = parseState(opts.state);
    this.logger = opts.logger;
    this.counters = opts.counters ?? new Counters();
    this.dispatcher = new Dispatcher(this.counters);
    this.seals = new SealedVnets(this.logger, opts.sealSequenceFile ? new FileSequenceStore(opts.sealSequenceFile) : undefined);
    this.relay = this.createRelay();
    this.vlans = new VlanManager({
      logger: this.logger,
      counters: this.counters,
      attach: (vnet, mac) => this.core?.varp.attach({ vnet, mac, ip: null, version: 0 }),
      detach: (vnet, mac) => this.core?.varp.detach(vnet, mac),
      fromLan: (vnet, frame) => this.sw.fromUplink(vnet, frame),
    });
    const self = this;
    this.sw = new Switch(
      {
        get varp(): SwitchVarp {
          return self.core?.varp ?? IDLE_VARP;
        },
        sendTo: (d, coa, port) => this.core?.underlay.sendToIp(d, coa, port),
        flood: (d, peers) => {
          this.core?.underlay.flood(d, peers);
          this.relay.fromSelf(d);
        },
      },
      this.counters,
    );
    this.services = new GuestServices(this.counters, this.logger);
    this.sw.services = this.services;
    this.nodes = new NodeManager({
      counters: this.counters,
      logger: this.logger,
      attachment: {
        addPort: (p) => this.sw.addPort(p),
        removePort: (id) => this.sw.removePort(id),
        announce: (vnet, mac, ip) => this.core?.varp.attach({ vnet, mac, ip, version: 1 }),
        withdraw: (vnet, mac) => this.core?.varp.detach(vnet, mac),
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
      this.nodes.stop();
      for (const rt of [...this.vifs.values()]) await this.removeVif(rt);
      await this.vlans.stopAll();
      this.relay.stop();
      this.services.stop();
      const core = this.core;
      this.core = null;
      if (core) {
        core.varp.stop();
        await core.underlay.stop();
      }
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
    const reattach = await this.reconcileCore(s);
    const core = this.core!;

    for (const v of s.vnets) {
      let sealer;
      try {
        sealer = this.seals.apply(v);
      } catch (err) {
        throw new StateError([{ field: `vnets[${s.vnets.indexOf(v)}].keys`, message: (err as Error).message }]);
      }
      const vlan = await this.vlans.sync(v.id, v.vlan);
      if (vlan.error) result.errors.push({ field: `vnets[${s.vnets.indexOf(v)}].vlan`, message: vlan.error });
      this.sw.upsertVnet({ id: v.id, security: v.security, peers: v.peers, sealer, uplink: vlan.uplink });
    }
    if (reattach) this.vlans.announceAll();
    this.configureRelay(s);
    this.services.configure(s);

    const next = new Map(s.vifs.map((v) => [v.id, v]));
    const replaced = new Set<string>();
    for (const rt of [...this.vifs.values()]) {
      const n = next.get(rt.spec.id);
      if (!n || rt.error !== null || !sameIdentity(rt.spec, n)) {
        await this.removeVif(rt);
        if (!n) result.removed.push(rt.spec.id);
        else replaced.add(n.id); // new vnet, MAC or guest kind, or a retry after an error
      }
    }
    for (const n of s.vifs) {
      const rt = this.vifs.get(n.id);
      try {
        if (!rt) {
          await this.addVif(n, s);
          (replaced.has(n.id) ? result.changed : result.added).push(n.id);
        } else if (canonical(rt.spec) !== canonical(n)) {
          await this.changeVif(rt, n, s);
          result.changed.push(n.id);
        } else if (reattach) {
          core.varp.attach({ vnet: n.vnet, mac: rt.mac, ip: rt.ip, version: n.version });
        }
      } catch (err) {
        const field = `vifs[${s.vifs.indexOf(n)}]`;
        const message = (err as Error).message;
        const cur = this.vifs.get(n.id);
        if (cur) cur.error = message; // replaced (retried) on the next apply
        result.errors.push({ field, message });
        this.counters.inc('softudc_agent_vif_errors_total');
        this.logger.error('VIF not brought up', { vif: n.id, field, error: message });
      }
    }

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
    this.desired = s;
    this.appliedGeneration = s.generation;
    return result;
  }

  /** Builds or adjusts the underlay and VARP; true when they were rebuilt (VIFs must attach again). */
  private async reconcileCore(s: AgentState): Promise<boolean> {
    const varpPartial: Partial<VarpConfig> = {};
    for (const f of VARP_FIELDS) if (s.varp?.[f] !== undefined) varpPartial[f] = s.varp[f];
    const signature = JSON.stringify([s.underlay.address, s.underlay.port, varpPartial, s.varp?.key ?? null]);
    const old = this.core;
    if (old && old.signature === signature) {
      old.underlay.setPeers(s.underlay.peers);
      await old.underlay.setMulticast(s.underlay.multicast);
      return false;
    }
    const key = s.varp?.key ? decodeVarpKey(s.varp.key) : undefined;
    const underlay = new UdpUnderlay({ ...s.underlay, counters: this.counters, logger: this.logger });
    const io: VarpIo = {
      ownCoa: parseIp(s.underlay.address),
      port: s.underlay.port,
      sendFlood: (m) => {
        underlay.flood(m);
        this.relay.fromSelf(m);
      },
      sendTo: (m, a, p) => underlay.sendToIp(m, a, p),
      transmit: (_vnet, coa, p, frames) => {
        for (const f of frames) {
          // Held plain while VARP resolved: sealed now, so sequences leave in order.
          const out = this.sw.outbound(f);
          if (out) underlay.sendToIp(out, coa, p);
        }
      },
    };
    let varp: Varp;
    try {
      varp = new Varp(io, this.counters, { ...varpPartial, key });
    } catch (err) {
      throw new StateError([{ field: (err as Error).message.split(':')[0] ?? 'varp', message: (err as Error).message }]);
    }
    // Same address and port (only VARP settings changed): the socket is
    // exclusive, so the old core must let go of it before the new one binds.
    const sameSocket = old !== null && old.underlay.address === s.underlay.address && old.underlay.port === s.underlay.port;
    if (old && sameSocket) await this.retireCore(old);
    try {
      await underlay.start();
    } catch (err) {
      if (old && sameSocket) this.core = null;
      throw new StateError([{ field: 'underlay.address', message: (err as Error).message }]);
    }
    varp.start();
    const target = { varp, sw: this.sw, varpKey: key, ownAddress: s.underlay.address, ownPort: s.underlay.port };
    underlay.on('message', (buf, from) => {
      if (!this.relay.intercept(buf, from)) this.dispatcher.handle(target, buf, from);
    });
    // Only now let go of an old core on another address: a new one that cannot
    // bind keeps the old running.
    if (old && !sameSocket) await this.retireCore(old);
    this.core = { underlay, varp, key, signature };
    this.seals.setSender(io.ownCoa);
    this.logger.info('underlay up', {
      address: s.underlay.address,
      port: s.underlay.port,
      multicast: s.underlay.multicast,
      joined: underlay.joined,
      io: underlay.io,
      ...underlay.offloads,
    });
    return old !== null;
  }

  private async retireCore(old: Core): Promise<void> {
    for (const rt of this.vifs.values()) old.varp.detach(rt.spec.vnet, rt.mac);
    old.varp.stop();
    await old.underlay.stop();
  }

  private async addVif(n: VifSpec, s: AgentState): Promise<void> {
    const shaper = new VifShaper(n.id, this.counters);
    shaper.configure(n.limit);
    const rt: VifRuntime = { spec: n, mac: parseMac(n.mac), ip: parseCidr(n.ip).ip, guest: null, error: null, shaper };
    this.vifs.set(n.id, rt);
    try {
      await this.startGuest(rt, s);
    } catch (err) {
      rt.error = (err as Error).message;
      throw err;
    }
    this.core!.varp.attach({ vnet: n.vnet, mac: rt.mac, ip: rt.ip, version: n.version });
    this.logger.info('VIF up', { vif: n.id, vnet: n.vnet, mac: n.mac, ip: n.ip, version: n.version, guest: n.guest.kind });
  }

  private async startGuest(rt: VifRuntime, s: AgentState): Promise<void> {
    const vnet = s.vnets.find((v) => v.id === rt.spec.vnet);
    const guest = createGuest(rt.spec, {
      logger: this.logger.child({ vif: rt.spec.id }),
      counters: this.counters,
      mtu: vnet?.mtu,
      vnet,
    });
    this.sw.addPort({ id: rt.spec.id, vnet: rt.spec.vnet, mac: rt.mac, ip: rt.ip, guest });
    guest.onFrame = rt.shaper.wrap(guest.onFrame); // the limit applies before the switch sees a frame
    try {
      await guest.start();
    } catch (err) {
      this.sw.removePort(rt.spec.id);
      await guest.stop().catch(() => {});
      throw err;
    }
    rt.guest = guest;
  }

  /** Same vnet, MAC and guest kind: an in-place change (address, version, guest options). */
  private async changeVif(rt: VifRuntime, n: VifSpec, s: AgentState): Promise<void> {
    const prev = rt.spec;
    rt.spec = n;
    rt.ip = parseCidr(n.ip).ip;
    this.sw.setPortIp(n.id, rt.ip);
    rt.shaper.configure(n.limit);
    // The location version and the bandwidth limit are not the guest's business.
    const guestChanged = canonical({ ...prev, version: 0, limit: undefined }) !== canonical({ ...n, version: 0, limit: undefined });
    if (guestChanged && rt.guest) {
      if (rt.guest.update) {
        await rt.guest.update(n);
      } else {
        const old = rt.guest;
        rt.guest = null;
        this.sw.removePort(n.id);
        await old.stop();
        await this.startGuest(rt, s);
      }
    }
    // A new location version is a migration (or a re-placement): announce again.
    this.core!.varp.attach({ vnet: n.vnet, mac: rt.mac, ip: rt.ip, version: n.version });
    this.logger.info('VIF changed', { vif: n.id, ip: n.ip, version: n.version, previousVersion: prev.version });
  }

  private async removeVif(rt: VifRuntime): Promise<void> {
    this.core?.varp.detach(rt.spec.vnet, rt.mac);
    this.sw.removePort(rt.spec.id);
    this.vifs.delete(rt.spec.id);
    rt.shaper.stop();
    const g = rt.guest;
    rt.guest = null;
    if (g) {
      await g.stop().catch((err: Error) => this.logger.warn('guest stop failed', { vif: rt.spec.id, error: err.message }));
    }
    this.logger.info('VIF down', { vif: rt.spec.id });
  }

  /** The vnetd relay role, wired to this agent's underlay, VARP engine and switch. */
  private createRelay(): Relay {
    return new Relay(
      {
        sendTo: (buf, coa, port) => this.core?.underlay.sendToIp(buf, coa, port),
        floodLan: (buf, exclude) => {
          const u = this.core?.underlay;
          if (!u) return;
          if (u.multicast !== null) return u.sendTo(buf, u.multicast);
          for (const p of this.lanPeers) if (!exclude.has(parseIp(p))) u.sendTo(buf, p);
        },
        handleVarp: (msg, from) => this.core?.varp.handle(msg, from),
        handleFrame: (msg, coa, datagram) => this.sw.fromUnderlay(msg, coa, datagram),
        local: (vnet, mac) => this.core?.varp.local(vnet, mac),
        localByIp: (vnet, ip) => this.core?.varp.localByIp(vnet, ip),
        frameDestination: (d) => {
          if (!(d.readUInt16BE(FRAME_FLAGS_OFFSET) & FRAME_FLAG_SEALED)) return d.readUIntBE(FRAME_HEADER_LEN, 6);
          return this.seals.get(d.readUInt32BE(FRAME_VNET_OFFSET))?.peekDestination(d) ?? null;
        },
      },
      this.counters,
      this.logger.child({ role: 'vnetd' }),
    );
  }

  private configureRelay(s: AgentState): void {
    this.lanPeers = s.underlay.peers;
    const core = this.core;
    if (!core || !s.relay || !s.relay.enabled) return this.relay.configure(null);
    const v = core.varp.config;
    const own = parseIp(s.underlay.address);
    this.relay.configure({
      peers: s.relay.peers.map(parseIp).filter((p) => p !== own),
      proxy: s.relay.proxy,
      ownCoa: own,
      port: s.underlay.port,
      key: core.key,
      lifetimeMs: v.lifetimeMs,
      requestCount: v.requestCount,
      requestIntervalMs: v.requestIntervalMs,
      queueLimit: v.queueLimit,
    });
  }


  /** The guest behind a VIF (running), for diagnostics. */
  guest(vifId: string): GuestPort | undefined {
    return this.vifs.get(vifId)?.guest ?? undefined;
  }

  get generation(): number | null {
    return this.appliedGeneration;
  }

  snapshot(): AgentStateView {
    return buildView({
      state: this.desired,
      appliedGeneration: this.appliedGeneration,
      underlay: this.core?.underlay ?? null,
      varp: this.core?.varp ?? null,
      sw: this.sw,
      vifs: [...this.vifs.values()],
      counters: this.counters,
      nodes: this.nodes,
    });
  }

  /** Prometheus text: every counter plus gauges for the applied generation, VIFs and VARP entries. */
  metrics(): string {
    const gauges: Record<string, number> = {
      softudc_agent_applied_generation: this.appliedGeneration ?? -1,
      softudc_agent_vifs: this.vifs.size,
      softudc_switch_ports: this.sw.portCount(),
      'softudc_varp_entries{state="INCOMPLETE"}': 0,
      'softudc_varp_entries{state="REACHABLE"}': 0,
      'softudc_varp_entries{state="FAILED"}': 0,
    };
    for (const e of this.core?.varp.entries() ?? []) gauges[`softudc_varp_entries{state="${e.state}"}`]! += 1;
    return renderPrometheus(this.counters, gauges);
  }
}

function sameIdentity(a: VifSpec, b: VifSpec): boolean {
  return a.vnet === b.vnet && parseMac(a.mac) === parseMac(b.mac) && a.guest.kind === b.guest.kind;
}

/** Key-order independent JSON, so an unchanged VIF written in another order stays unchanged. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
}
