// The VIF reconcile: brings the VIFs of a desired state up, changes them in
// place or replaces them, and takes away the rest. Unchanged VIFs are left
// alone (same guest, same port: not one frame lost on them). An `incoming` VIF comes up
// inactive, active on its guest's first frame (agent/switch/incoming.ts); an `outgoing`
// VIF whose newer location another host announced goes inactive here (moved).
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { Switch } from '../switch/index.ts';
import type { LocalVif, Varp } from '../varp/index.ts';
import { createGuest, type GuestPort } from '../guests/index.ts';
import type { AgentState, StateIssue, VifSpec } from '../state.ts';
import { parseCidr, parseMac } from '../wire/index.ts';
import { VifShaper } from '../limit/shaper.ts';
import { SgCatalog, SgDropLog, VifFilter, sgBudget } from '../sg/index.ts';
import type { ConntrackTimeouts } from '../firewall/conntrack.ts';

export interface VifRuntime {
  spec: VifSpec;
  mac: number;
  ip: number;
  guest: GuestPort | null;
  error: string | null;
  /** The VIF's bandwidth limit on what its guest sends (passes everything without `limit`). */
  shaper: VifShaper;
  /** Its security groups (agent/sg), null when the VIF lists none (not filtered). */
  filter: VifFilter | null;
  /** A VIF the state marks incoming: waiting for its guest's first frame, or active since then. Null otherwise. */
  migration: { state: 'incoming' | 'active'; activatedAt: number | null } | null;
  /** The newer location version another host announced for this VIF: it is inactive here. Null while it lives here. */
  movedTo: number | null;
}

/** What one reconcile did to the VIFs. */
export interface VifChanges {
  added: string[];
  removed: string[];
  changed: string[];
  errors: StateIssue[];
}

export interface VifDeps {
  sw: Switch;
  counters: Counters;
  logger: Logger;
  /** The running VARP engine (null while the agent is stopped). */
  varp: () => Varp | null;
  /** Connection tracking of security groups: timeouts and bound per VIF (tests). */
  sgConntrack?: Partial<ConntrackTimeouts>;
  /** Namespace guests as veth pairs, which the kernel fast path can carry (agent/guests/tap.ts). */
  vethGuests?: boolean;
  /** An incoming VIF became active, or an active one moved away: the kernel fast path follows. */
  activeChanged?: (rt: VifRuntime) => void;
}

/** True when `v` comes up inactive: an incoming TAP guest (an emulated guest never speaks first, so it is active at once). */
export function startsInactive(v: VifSpec): boolean {
  return v.incoming === true && v.guest.kind === 'tap';
}

export class Vifs {
  private readonly vifs = new Map<string, VifRuntime>();
  private readonly sgLog: SgDropLog;
  /** The host's groups and address sets, compiled once per state and shared by every VIF's filter. */
  private readonly sgCatalog = new SgCatalog();
  /** Connections all filtered VIFs of this host may keep together. */
  private readonly sgBudget = sgBudget();

  constructor(private readonly d: VifDeps) {
    this.sgLog = new SgDropLog(d.logger, d.counters);
    d.counters.describe('softudc_sg_drops_total', 'Packets security groups dropped at a VIF, by direction and reason');
    d.counters.describe('softudc_sg_rule_hits_total', 'Flows a security group rule let open, over the host\'s VIFs (rules hit at least once, the 1000 most hit)');
  }

  get size(): number {
    return this.vifs.size;
  }

  values(): VifRuntime[] {
    return [...this.vifs.values()];
  }

  get(id: string): VifRuntime | undefined {
    return this.vifs.get(id);
  }

  /**
   * Brings the VIFs to those of `s`; `reattach` when VARP was rebuilt (every
   * kept VIF announces itself again). A VIF that cannot come up is reported
   * in `out.errors`, the others are applied.
   */
  async reconcile(s: AgentState, reattach: boolean, out: VifChanges): Promise<void> {
    this.sgCatalog.apply(s.securityGroups ?? [], s.addressSets ?? []);
    const next = new Map(s.vifs.map((v) => [v.id, v]));
    const replaced = new Set<string>();
    for (const rt of this.values()) {
      const n = next.get(rt.spec.id);
      // A VIF that moved away comes back only with a new location version: a fresh start.
      if (!n || rt.error !== null || !sameIdentity(rt.spec, n) || (rt.movedTo !== null && n.version !== rt.spec.version)) {
        await this.remove(rt);
        if (!n) out.removed.push(rt.spec.id);
        else replaced.add(n.id); // new vnet, MAC or guest kind, or a retry after an error
      }
    }
    for (const n of s.vifs) {
      const rt = this.vifs.get(n.id);
      try {
        if (!rt) {
          await this.add(n, s);
          (replaced.has(n.id) ? out.changed : out.added).push(n.id);
        } else if (canonical(rt.spec) !== canonical(n)) {
          await this.change(rt, n, s);
          out.changed.push(n.id);
        } else if (reattach && this.active(rt)) {
          this.d.varp()?.attach(localVif(n, rt));
        }
      } catch (err) {
        const field = `vifs[${s.vifs.indexOf(n)}]`;
        const message = (err as Error).message;
        const cur = this.vifs.get(n.id);
        if (cur) cur.error = message; // replaced (retried) on the next apply
        out.errors.push({ field, message });
        this.d.counters.inc('softudc_agent_vif_errors_total');
        this.d.logger.error('VIF not brought up', { vif: n.id, field, error: message });
      }
    }
    // Groups and rules live beside the VIFs in the state: a VIF left unchanged may still have new rules.
    for (const rt of this.vifs.values()) this.syncFilter(rt);
  }

  /** Brings a VIF's filter to its groups in `s`: created, updated in place (open connections kept), or removed. */
  private syncFilter(rt: VifRuntime): void {
    const ids = rt.spec.securityGroups;
    if (ids === undefined) {
      rt.filter?.stop();
      rt.filter = null;
    } else if (rt.filter === null) {
      rt.filter = new VifFilter(rt.spec.id, ids, this.sgCatalog, { counters: this.d.counters, log: this.sgLog, conntrack: this.d.sgConntrack, budget: this.sgBudget });
    } else if (rt.filter.update(ids, this.sgCatalog)) {
      this.d.logger.info('VIF security groups changed', { vif: rt.spec.id, groups: ids, connections: rt.filter.conntrack.size });
    }
    const port = this.d.sw.port(rt.spec.id);
    if (port) port.filter = rt.filter;
  }

  /** True when the VIF lives here: not waiting for its guest, not moved away. */
  active(rt: VifRuntime): boolean {
    return rt.movedTo === null && rt.migration?.state !== 'incoming';
  }

  /**
   * Another host announced (vnet, mac) with the newer location `version`
   * (agent/varp/varp.ts): the VM runs there now. Its port here goes inactive:
   * frames for its MAC follow VARP to the new host, and what the paused VM's
   * TAP still sends is dropped and counted. The state moves it back with a new version.
   */
  moved(vnet: number, mac: number, version: number): void {
    for (const rt of this.vifs.values()) {
      if (rt.spec.vnet !== vnet || rt.mac !== mac || !this.active(rt) || version <= rt.spec.version) continue;
      rt.movedTo = version;
      this.d.sw.deactivatePort(rt.spec.id);
      this.d.counters.inc('softudc_vif_moved_away_total');
      this.d.logger.info('VIF moved to another host', { vif: rt.spec.id, version: rt.spec.version, newVersion: version });
      this.d.activeChanged?.(rt);
    }
  }

  /** Withdraws every VIF from `varp` (a VARP engine being retired). */
  detachAll(varp: Varp): void {
    for (const rt of this.vifs.values()) varp.detach(rt.spec.vnet, rt.mac);
  }

  async removeAll(): Promise<void> {
    for (const rt of this.values()) await this.remove(rt);
  }

  private async add(n: VifSpec, s: AgentState): Promise<void> {
    const shaper = new VifShaper(n.id, this.d.counters);
    shaper.configure(n.limit);
    const inactive = startsInactive(n);
    const migration = inactive ? { state: 'incoming' as const, activatedAt: null } : null;
    const rt: VifRuntime = { spec: n, mac: parseMac(n.mac), ip: parseCidr(n.ip).ip, guest: null, error: null, shaper, filter: null, migration, movedTo: null };
    this.vifs.set(n.id, rt);
    this.syncFilter(rt); // filtering from the first frame
    try {
      await this.startGuest(rt, s);
    } catch (err) {
      rt.error = (err as Error).message;
      throw err;
    }
    if (inactive) {
      this.d.logger.info('VIF incoming: attached, waiting for its guest\'s first frame', { vif: n.id, vnet: n.vnet, mac: n.mac, version: n.version });
      return;
    }
    this.d.varp()?.attach(localVif(n, rt));
    this.d.logger.info('VIF up', { vif: n.id, vnet: n.vnet, mac: n.mac, ip: n.ip, version: n.version, guest: n.guest.kind });
  }

  private async startGuest(rt: VifRuntime, s: AgentState): Promise<void> {
    const vnet = s.vnets.find((v) => v.id === rt.spec.vnet);
    const guest = createGuest(rt.spec, {
      logger: this.d.logger.child({ vif: rt.spec.id }),
      counters: this.d.counters,
      mtu: vnet?.mtu,
      vnet,
      headroom: this.d.sw.headroom,
      veth: this.d.vethGuests,
    });
    const port = { id: rt.spec.id, vnet: rt.spec.vnet, mac: rt.mac, ip: rt.ip, guest, limit: rt.shaper, filter: rt.filter };
    if (rt.migration?.state === 'incoming') this.d.sw.addInactivePort(port, { activated: () => this.activated(rt) });
    else {
      this.d.sw.addPort(port);
      if (rt.movedTo !== null) this.d.sw.deactivatePort(port.id); // a guest restarted after its VIF moved away stays out
    }
    try {
      await guest.start();
    } catch (err) {
      this.d.sw.removePort(rt.spec.id);
      await guest.stop().catch(() => {});
      throw err;
    }
    rt.guest = guest;
  }

  /** The guest of an incoming VIF sent its first frame: the VIF lives here now, with its location version. */
  private activated(rt: VifRuntime): void {
    rt.migration = { state: 'active', activatedAt: Date.now() };
    const n = rt.spec;
    this.d.varp()?.attach(localVif(n, rt));
    this.d.counters.inc('softudc_vif_activations_total');
    this.d.logger.info('VIF active: its guest spoke, announced', { vif: n.id, vnet: n.vnet, mac: n.mac, version: n.version });
    this.d.activeChanged?.(rt);
  }

  /** Same vnet, MAC and guest kind: an in-place change (address, version, guest options). */
  private async change(rt: VifRuntime, n: VifSpec, s: AgentState): Promise<void> {
    const prev = rt.spec;
    rt.spec = n;
    rt.ip = parseCidr(n.ip).ip;
    this.d.sw.setPortIp(n.id, rt.ip);
    rt.shaper.configure(n.limit);
    // The location version, the bandwidth limit, the security groups, `incoming` and `outgoing` are not the guest's business.
    const own = (v: VifSpec) => canonical({ ...v, version: 0, limit: undefined, securityGroups: undefined, incoming: undefined, outgoing: undefined });
    const guestChanged = own(prev) !== own(n);
    if (guestChanged && rt.guest) {
      if (rt.guest.update) {
        await rt.guest.update(n);
      } else {
        const old = rt.guest;
        rt.guest = null;
        this.d.sw.removePort(n.id);
        await old.stop();
        await this.startGuest(rt, s);
      }
    }
    if (rt.movedTo !== null) return; // inactive until a new version brings it back (reconcile)
    if (rt.migration?.state === 'incoming') {
      if (startsInactive(n)) return; // still waiting for its guest
      // No longer incoming before its guest spoke: the state says it lives here now.
      this.d.sw.activatePort(n.id);
      rt.migration = null;
      this.d.activeChanged?.(rt);
    } else if (!startsInactive(n)) {
      rt.migration = null; // the move is finished: a plain VIF
    }
    // A new location version is a migration (or a re-placement): announce again.
    this.d.varp()?.attach(localVif(n, rt));
    this.d.logger.info('VIF changed', { vif: n.id, ip: n.ip, version: n.version, previousVersion: prev.version });
  }

  private async remove(rt: VifRuntime): Promise<void> {
    this.d.varp()?.detach(rt.spec.vnet, rt.mac);
    this.d.sw.removePort(rt.spec.id);
    this.vifs.delete(rt.spec.id);
    rt.shaper.stop();
    rt.filter?.stop();
    rt.filter = null;
    const g = rt.guest;
    rt.guest = null;
    if (g) {
      await g.stop().catch((err: Error) => this.d.logger.warn('guest stop failed', { vif: rt.spec.id, error: err.message }));
    }
    this.d.logger.info('VIF down', { vif: rt.spec.id });
  }
}

/** What VARP knows of a VIF attached here; `outgoing` lets it go on a newer location announced elsewhere. */
function localVif(n: VifSpec, rt: VifRuntime): LocalVif {
  return { vnet: n.vnet, mac: rt.mac, ip: rt.ip, version: n.version, outgoing: n.outgoing === true };
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
