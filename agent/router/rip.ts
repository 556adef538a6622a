// RIPv2 (RFC 2453) for one virtual router: the routing protocol task of seed
// 000 claim 5 / seed 001 claim 3. It runs on the interfaces (and links) where
// it is enabled, advertises the router's connected and static routes plus
// what it learned, and feeds learned routes into the router's forwarding
// table. Periodic updates every 30 s with jitter (3.8), triggered updates
// rate-limited to one per 1–5 s (3.10.1), split horizon with poisoned reverse
// (3.4.3), a route timeout of 180 s then 120 s of garbage collection (3.8),
// metric 16 = infinity. Timers are configurable (tests shorten them) and unref'd.
//
// Over 300 lines on purpose: one protocol state machine whose receive, route
// timers and update sending share the same private table; the wire format
// (ripwire.ts) and the types (riptypes.ts) are already apart.
import { inPrefix, prefixMask, type WireError } from '../wire/index.ts';
import { isMartianSource, isMulticast, type IpNode, type NodeInterface } from '../ipnode/index.ts';
import { RIP_DEFAULTS, type LocalRoute, type RipRouteView, type RipTimers } from './riptypes.ts';
import {
  RIP_AFI_INET,
  RIP_AFI_UNSPEC,
  RIP_CMD_REQUEST,
  RIP_CMD_RESPONSE,
  RIP_GROUP,
  RIP_INFINITY,
  RIP_MAX_RTES,
  RIP_PORT,
  RIP_VERSION,
  decodeRip,
  encodeRip,
  maskLength,
  type RipEntry,
} from './ripwire.ts';

export { RIP_DEFAULTS, type LocalRoute, type RipRouteView, type RipTimers } from './riptypes.ts';

interface RipRoute {
  prefix: number;
  len: number;
  nextHop: number;
  /** '' for a withdrawn local route that is advertised as unreachable until collected. */
  iface: string;
  metric: number;
  changed: boolean;
  timer: NodeJS.Timeout | null;
  garbage: boolean;
  updatedAt: number;
}

const key = (prefix: number, len: number) => prefix * 64 + len;

export class Rip {
  private readonly timers: RipTimers;
  private readonly enabled = new Set<string>();
  private readonly routes = new Map<number, RipRoute>();
  private local = new Map<number, LocalRoute>();
  private readonly changedLocal = new Set<number>();
  private periodic: NodeJS.Timeout | null = null;
  private triggerTimer: NodeJS.Timeout | null = null;
  private triggerPending = false;
  private running = false;
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly node: IpNode,
    private readonly localRoutes: () => LocalRoute[],
    timers: Partial<RipTimers> = {},
  ) {
    this.timers = { ...RIP_DEFAULTS, ...timers };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unlisten = this.node.onUdp(RIP_PORT, (i, src, sp, _dst, payload) => this.receive(i, src, sp, payload));
    this.local = this.snapshotLocal();
    this.schedulePeriodic();
  }

  /** Stops the protocol; with `poison` it first tells neighbours every route is gone (a graceful exit). */
  stop(poison = true): void {
    if (!this.running) return;
    if (poison) for (const name of this.enabled) this.sendResponse(name, RIP_GROUP, RIP_PORT, 'poison');
    this.running = false;
    this.unlisten?.();
    this.unlisten = null;
    for (const t of [this.periodic, this.triggerTimer]) if (t) clearTimeout(t);
    this.periodic = this.triggerTimer = null;
    for (const r of this.routes.values()) {
      if (r.timer) clearTimeout(r.timer);
      if (r.iface) this.uninstall(r);
    }
    this.routes.clear();
    this.enabled.clear();
  }

  /** The interfaces RIP runs on. Newly enabled ones ask their neighbours for a full table at once. */
  setInterfaces(names: Iterable<string>): void {
    const next = new Set(names);
    for (const n of [...this.enabled]) if (!next.has(n)) this.disable(n);
    for (const n of next) {
      if (this.enabled.has(n)) continue;
      this.enabled.add(n);
      if (!this.running) continue;
      this.sendRequest(n);
      this.sendResponse(n, RIP_GROUP, RIP_PORT, 'all');
    }
  }

  private disable(name: string): void {
    this.enabled.delete(name);
    this.interfaceDown(name);
  }

  /** Routes learned over `name` are unreachable now (the interface or link went away). */
  interfaceDown(name: string): void {
    for (const r of this.routes.values()) if (r.iface === name && !r.garbage) this.invalidate(r);
  }

  /** The router's connected or static routes changed: advertise the difference in a triggered update. */
  localChanged(): void {
    if (!this.running) return;
    const next = this.snapshotLocal();
    for (const [k, l] of next) {
      const old = this.local.get(k);
      if (!old || old.metric !== l.metric || old.iface !== l.iface) this.changedLocal.add(k);
      const learned = this.routes.get(k);
      if (learned && !learned.iface) this.drop(learned); // a withdrawn local route is back
    }
    for (const [k, l] of this.local) {
      if (next.has(k) || this.routes.has(k)) continue;
      // Withdrawn: advertise it as unreachable until garbage collection (RFC 2453 3.10).
      const r: RipRoute = { prefix: l.prefix, len: l.len, nextHop: 0, iface: '', metric: RIP_INFINITY, changed: true, timer: null, garbage: false, updatedAt: Date.now() };
      this.routes.set(k, r);
      this.startGarbage(r);
    }
    this.local = next;
    this.trigger();
  }

  table(): RipRouteView[] {
    const now = Date.now();
    return [...this.routes.values()]
      .filter((r) => r.iface !== '')
      .map((r) => ({ prefix: r.prefix, len: r.len, nextHop: r.nextHop, iface: r.iface, metric: r.metric, garbage: r.garbage, ageMs: now - r.updatedAt }))
      .sort((a, b) => a.prefix - b.prefix || a.len - b.len);
  }

  // ---- receive ----

  private receive(ingress: NodeInterface, src: number, srcPort: number, payload: Buffer): void {
    const st = this.node.stats;
    if (!this.enabled.has(ingress.name)) return st.inc('rip_ignored_total', 'reason="not_enabled"');
    let p;
    try {
      p = decodeRip(payload);
    } catch (err) {
      return st.inc('rip_ignored_total', `reason="${(err as WireError).code ?? 'malformed'}"`);
    }
    if (p.command === RIP_CMD_REQUEST) return this.onRequest(ingress, src, srcPort, p.entries);
    // RFC 2453 3.9.2: responses come from port 520, from a neighbour on the link, never from ourselves.
    if (srcPort !== RIP_PORT) return st.inc('rip_ignored_total', 'reason="port"');
    if (!inPrefix(src, ingress.network, ingress.prefixLen) || this.node.isOwnAddress(src)) {
      return st.inc('rip_ignored_total', 'reason="source"');
    }
    if (p.version < RIP_VERSION) return st.inc('rip_ignored_total', 'reason="version"');
    st.inc('rip_responses_received_total');
    for (const e of p.entries) this.onEntry(ingress, src, e);
  }

  private onEntry(ingress: NodeInterface, src: number, e: RipEntry): void {
    const st = this.node.stats;
    if (e.afi !== RIP_AFI_INET) return; // authentication or another family
    const len = maskLength(e.mask);
    const valid =
      e.metric >= 1 && e.metric <= RIP_INFINITY && len >= 0 && ((e.address & e.mask) >>> 0) === e.address &&
      !isMulticast(e.address) && e.address >>> 28 !== 0xf && e.address >>> 24 !== 127 && (e.address >>> 24 !== 0 || len === 0);
    if (!valid) return st.inc('rip_bad_entries_total');
    const metric = Math.min(e.metric + 1, RIP_INFINITY); // the cost of the network it came over
    const useHop = e.nextHop !== 0 && inPrefix(e.nextHop, ingress.network, ingress.prefixLen) && !this.node.isOwnAddress(e.nextHop);
    const nextHop = useHop ? e.nextHop : src;
    const k = key(e.address, len);
    if (this.local.has(k)) return; // our own routes always win
    const r = this.routes.get(k);
    if (!r || !r.iface) {
      if (metric >= RIP_INFINITY) return;
      if (r) this.drop(r);
      const fresh: RipRoute = { prefix: e.address, len, nextHop, iface: ingress.name, metric, changed: true, timer: null, garbage: false, updatedAt: Date.now() };
      this.routes.set(k, fresh);
      this.install(fresh);
      this.startTimeout(fresh);
      return this.trigger();
    }
    const sameRouter = r.nextHop === nextHop && r.iface === ingress.name;
    const halfStale = !r.garbage && metric === r.metric && Date.now() - r.updatedAt > this.timers.timeoutMs / 2;
    if (sameRouter) {
      if (metric < RIP_INFINITY) {
        r.updatedAt = Date.now();
        this.startTimeout(r);
      }
      if (metric === r.metric) return;
      if (metric >= RIP_INFINITY) {
        if (!r.garbage) this.invalidate(r);
        return;
      }
    } else if (!(metric < r.metric || (halfStale && metric < RIP_INFINITY))) {
      return;
    }
    // A better route, or news from the router we use.
    r.nextHop = nextHop;
    r.iface = ingress.name;
    r.metric = metric;
    r.garbage = false;
    r.changed = true;
    r.updatedAt = Date.now();
    this.install(r);
    this.startTimeout(r);
    this.trigger();
  }

  private onRequest(ingress: NodeInterface, src: number, srcPort: number, entries: RipEntry[]): void {
    this.node.stats.inc('rip_requests_received_total');
    const whole = entries.length === 1 && entries[0]!.afi === RIP_AFI_UNSPEC && entries[0]!.metric === RIP_INFINITY;
    if (whole) return this.sendResponse(ingress.name, src, srcPort, 'all');
    // RFC 2453 3.9.1: a specific request is answered entry by entry, without split horizon.
    const answer = entries.map((e) => {
      const len = maskLength(e.mask);
      const k = len < 0 ? -1 : key(e.address, len);
      const metric = this.local.get(k)?.metric ?? this.routes.get(k)?.metric ?? RIP_INFINITY;
      return { ...e, metric };
    });
    this.send(ingress.name, src, srcPort, RIP_CMD_RESPONSE, answer);
  }

  // ---- routes and timers ----

  private install(r: RipRoute): void {
    const fib = this.node.fib;
    fib.remove(r.prefix, r.len, (x) => x.source === 'rip');
    fib.add({ prefix: r.prefix, len: r.len, nextHop: r.nextHop, iface: r.iface, metric: r.metric, source: 'rip' });
  }

  private uninstall(r: RipRoute): void {
    this.node.fib.remove(r.prefix, r.len, (x) => x.source === 'rip');
  }

  private invalidate(r: RipRoute): void {
    r.metric = RIP_INFINITY;
    r.changed = true;
    this.uninstall(r);
    this.startGarbage(r);
    this.trigger();
  }

  private drop(r: RipRoute): void {
    if (r.timer) clearTimeout(r.timer);
    if (r.iface) this.uninstall(r);
    this.routes.delete(key(r.prefix, r.len));
  }

  private startTimeout(r: RipRoute): void {
    r.garbage = false;
    this.arm(r, this.timers.timeoutMs, () => {
      this.node.stats.inc('rip_routes_timed_out_total');
      this.invalidate(r);
    });
  }

  private startGarbage(r: RipRoute): void {
    r.garbage = true;
    this.arm(r, this.timers.garbageMs, () => {
      this.node.stats.inc('rip_routes_collected_total');
      this.drop(r);
    });
  }

  private arm(r: RipRoute, ms: number, fn: () => void): void {
    if (r.timer) clearTimeout(r.timer);
    r.timer = setTimeout(() => {
      r.timer = null;
      if (this.running) fn();
    }, ms);
    r.timer.unref();
  }

  // ---- send ----

  private schedulePeriodic(): void {
    const { updateMs, jitter } = this.timers;
    const delay = updateMs * (1 + jitter * (2 * Math.random() - 1));
    this.periodic = setTimeout(() => {
      this.periodic = null;
      if (!this.running) return;
      for (const name of this.enabled) this.sendResponse(name, RIP_GROUP, RIP_PORT, 'all');
      this.clearChanged();
      this.schedulePeriodic();
    }, delay);
    this.periodic.unref();
  }

  /** RFC 2453 3.10.1: at most one triggered update per 1–5 s; changes in between wait for the next one. */
  private trigger(): void {
    if (!this.running) return;
    if (this.triggerTimer) {
      this.triggerPending = true;
      return;
    }
    this.node.stats.inc('rip_triggered_updates_total');
    for (const name of this.enabled) this.sendResponse(name, RIP_GROUP, RIP_PORT, 'changed');
    this.clearChanged();
    const { triggerMinMs, triggerMaxMs } = this.timers;
    this.triggerTimer = setTimeout(() => {
      this.triggerTimer = null;
      if (this.triggerPending) {
        this.triggerPending = false;
        this.trigger();
      }
    }, triggerMinMs + Math.random() * (triggerMaxMs - triggerMinMs));
    this.triggerTimer.unref();
  }

  private clearChanged(): void {
    for (const r of this.routes.values()) r.changed = false;
    this.changedLocal.clear();
  }

  private sendRequest(name: string): void {
    const whole = { afi: RIP_AFI_UNSPEC, tag: 0, address: 0, mask: 0, nextHop: 0, metric: RIP_INFINITY };
    this.send(name, RIP_GROUP, RIP_PORT, RIP_CMD_REQUEST, [whole]);
  }

  /** A response out of `name`: everything, only what changed, or everything as unreachable. */
  private sendResponse(name: string, dst: number, dstPort: number, what: 'all' | 'changed' | 'poison'): void {
    const entries: RipEntry[] = [];
    const add = (prefix: number, len: number, metric: number) =>
      entries.push({ afi: RIP_AFI_INET, tag: 0, address: prefix, mask: prefixMask(len), nextHop: 0, metric });
    for (const [k, l] of this.local) {
      if (what === 'changed' && !this.changedLocal.has(k)) continue;
      // Poisoned reverse for a static route whose next hop is on this very interface.
      add(l.prefix, l.len, what === 'poison' || l.iface === name ? RIP_INFINITY : Math.min(l.metric, RIP_INFINITY));
    }
    for (const [k, r] of this.routes) {
      if (this.local.has(k) || (what === 'changed' && !r.changed)) continue;
      add(r.prefix, r.len, what === 'poison' || r.iface === name ? RIP_INFINITY : r.metric);
    }
    if (entries.length === 0 && what === 'changed') return;
    const chunks = Math.max(1, Math.ceil(entries.length / RIP_MAX_RTES));
    for (let c = 0; c < chunks; c++) {
      this.send(name, dst, dstPort, RIP_CMD_RESPONSE, entries.slice(c * RIP_MAX_RTES, (c + 1) * RIP_MAX_RTES));
    }
  }

  private send(name: string, dst: number, dstPort: number, command: number, entries: RipEntry[]): void {
    const i = this.node.interface(name);
    if (!i) return;
    const payload = encodeRip({ command, version: RIP_VERSION, entries });
    // RIP never leaves the link: multicast goes out with TTL 1; unicast answers go to on-link requesters.
    const ok = this.node.sendUdp({ via: name, dst, src: i.ip, srcPort: RIP_PORT, dstPort, payload, ttl: isMulticast(dst) ? 1 : 64 });
    if (ok) this.node.stats.inc(command === RIP_CMD_REQUEST ? 'rip_requests_sent_total' : 'rip_responses_sent_total');
  }

  private snapshotLocal(): Map<number, LocalRoute> {
    const m = new Map<number, LocalRoute>();
    for (const l of this.localRoutes()) {
      if (isMartianSource(l.prefix) && l.len !== 0) continue;
      m.set(key(l.prefix, l.len), l);
    }
    return m;
  }
}
