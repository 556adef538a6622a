// The proxy's route table (spec "RELAY", proxy mode): where each (vnet, MAC)
// is, on this LAN (its real COA) or far (the peer vnetd that proxies it),
// learnt from announcements and answers that pass through, trusted for the
// VARP lifetime. Bounded per vnet and in all: a new route beyond a bound is
// not learnt, counted as `route_table_full`.
import { VARP_FLAG_HAS_IP, type VarpMessage } from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import { VnetMap } from '../varp/vnet-map.ts';
import { RELAY_COUNTERS as C, type Endpoint } from './types.ts';

export interface ProxyRoute {
  vnet: number;
  mac: number;
  coa: number;
  port: number;
  ip: number | null;
  version: number;
  far: boolean;
  since: number;
  refreshing: boolean;
}

export interface ProxyRouteView {
  vnet: number;
  mac: number;
  ip: number | null;
  coa: number;
  far: boolean;
  version: number;
  ageMs: number;
}

/** Routes kept at most on one vnet, and in all. */
export const MAX_ROUTES_PER_VNET = 16_384;
export const MAX_ROUTES = 65_536;
export const now = (): number => performance.now();

export class ProxyRoutes {
  private readonly routes = new VnetMap<ProxyRoute>();
  private readonly byIp = new VnetMap<number>();
  private nextSweep = 0;

  constructor(
    private readonly counters: Counters,
    private readonly lifetimeMs: () => number,
  ) {}

  get(vnet: number, mac: number): ProxyRoute | undefined {
    return this.routes.get(vnet, mac);
  }

  /** The route of (vnet, MAC), or of the MAC known for (vnet, IP) when `mac` is 0. */
  lookup(vnet: number, mac: number, ip: number): { mac: number; route: ProxyRoute } | undefined {
    const m = mac !== 0 ? mac : this.byIp.get(vnet, ip);
    if (m === undefined) return undefined;
    const route = this.routes.get(vnet, m);
    return route ? { mac: m, route } : undefined;
  }

  fresh(r: ProxyRoute): boolean {
    return now() - r.since < this.lifetimeMs();
  }

  /** True (and counted) when a fresh route knows a newer location version than `msg`. */
  older(msg: VarpMessage): boolean {
    const cur = this.routes.get(msg.vnet, msg.mac);
    if (!cur || !this.fresh(cur) || msg.version >= cur.version) return false;
    this.counters.inc(C.proxyIgnored('stale_version'));
    return true;
  }

  /** Records where (vnet, MAC) is; false when the message is older than what we know (or the table is full). */
  learn(msg: VarpMessage, at: Endpoint, far: boolean): boolean {
    const cur = this.routes.get(msg.vnet, msg.mac);
    if (cur && this.fresh(cur) && msg.version < cur.version) {
      this.counters.inc(C.proxyIgnored('stale_version'));
      return false;
    }
    if (!cur && (this.routes.size >= MAX_ROUTES || this.routes.sizeOf(msg.vnet) >= MAX_ROUTES_PER_VNET)) {
      this.counters.inc(C.proxyIgnored('route_table_full'));
      return false;
    }
    const ip = msg.flags & VARP_FLAG_HAS_IP ? msg.ip : null;
    if (cur?.ip != null && cur.ip !== ip && this.byIp.get(msg.vnet, cur.ip) === msg.mac) this.byIp.delete(msg.vnet, cur.ip);
    this.routes.set(msg.vnet, msg.mac, { vnet: msg.vnet, mac: msg.mac, coa: at.address, port: at.port, ip, version: msg.version, far, since: now(), refreshing: false });
    if (ip !== null) this.byIp.set(msg.vnet, ip, msg.mac);
    this.counters.inc(C.proxyRoutesLearnt(far ? 'far' : 'lan'));
    return true;
  }

  forget(vnet: number, mac: number, withdrawn = true): void {
    const r = this.routes.get(vnet, mac);
    if (!r) return;
    if (r.ip !== null && this.byIp.get(vnet, r.ip) === mac) this.byIp.delete(vnet, r.ip);
    this.routes.delete(vnet, mac);
    if (withdrawn) this.counters.inc(C.proxyRoutesWithdrawn);
  }

  /** Expiry is checked on use; routes long past it are forgotten now and then so the table does not only grow. */
  sweep(t: number): void {
    if (t < this.nextSweep) return;
    const lifetime = this.lifetimeMs();
    this.nextSweep = t + Math.min(5_000, lifetime / 2);
    for (const r of [...this.routes.values()]) if (t - r.since > 2 * lifetime) this.forget(r.vnet, r.mac, false);
  }

  views(): ProxyRouteView[] {
    const t = now();
    return [...this.routes.values()]
      .filter((r) => this.fresh(r))
      .map((r) => ({ vnet: r.vnet, mac: r.mac, ip: r.ip, coa: r.coa, far: r.far, version: r.version, ageMs: Math.round(t - r.since) }));
  }
}
