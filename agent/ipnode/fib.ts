// A virtual router's forwarding table (seed 001: each virtual router has its
// own IP stack with its own forwarding information table, outside the OS
// kernel). Longest-prefix match over one hash map per prefix length: a lookup
// probes only the lengths that hold routes, longest first, with u32 keys and
// no allocation. Several sources may offer the same prefix; the one with the
// lowest administrative distance, then the lowest metric, is the one used.
import { cidrToString, ipToString, prefixMask } from '../wire/index.ts';

export type RouteSource = 'connected' | 'static' | 'rip';

export interface Route {
  /** Network address, host bits zero. */
  prefix: number;
  len: number;
  /** null for a connected route: the destination itself is the next hop. */
  nextHop: number | null;
  /** The name of the outgoing interface. */
  iface: string;
  metric: number;
  source: RouteSource;
}

/** Preference between sources, lower wins (the conventional defaults: connected 0, static 1, RIP 120). */
export const ADMIN_DISTANCE: Readonly<Record<RouteSource, number>> = { connected: 0, static: 1, rip: 120 };

const MASKS: readonly number[] = Array.from({ length: 33 }, (_, len) => prefixMask(len));

export class FibError extends Error {
  readonly code = 'BAD_ROUTE';
}

interface Slot {
  best: Route;
  all: Route[];
}

function better(a: Route, b: Route): boolean {
  const da = ADMIN_DISTANCE[a.source];
  const db = ADMIN_DISTANCE[b.source];
  return da !== db ? da < db : a.metric < b.metric;
}

function sameOrigin(a: Route, b: Route): boolean {
  return a.source === b.source && a.iface === b.iface && a.nextHop === b.nextHop;
}

export class Fib {
  /** byLen[len]: network → slot. */
  private readonly byLen: (Map<number, Slot> | undefined)[] = new Array<Map<number, Slot> | undefined>(33);
  /** The lengths that hold at least one route, longest first: what a lookup probes. */
  private lens: number[] = [];
  private count = 0;
  /** Raised on every change, so callers can cache derived views. */
  version = 0;

  /**
   * Adds a route, or replaces the one from the same source, interface and
   * next hop for that prefix (a metric change). Throws FibError when host
   * bits are set or the length is out of range.
   */
  add(route: Route): void {
    const { prefix, len } = route;
    if (!(Number.isInteger(len) && len >= 0 && len <= 32)) throw new FibError(`route length ${len}: must be 0..32`);
    if (!(Number.isInteger(prefix) && prefix >= 0 && prefix <= 0xffffffff)) throw new FibError(`route prefix ${prefix}: not an IPv4 address`);
    if (((prefix & MASKS[len]!) >>> 0) !== prefix) throw new FibError(`route ${cidrToString(prefix, len)}: host bits set`);
    let map = this.byLen[len];
    if (!map) {
      map = this.byLen[len] = new Map();
      this.lens = [...this.lens, len].sort((a, b) => b - a);
    }
    const r: Route = { ...route };
    const slot = map.get(prefix);
    if (!slot) {
      map.set(prefix, { best: r, all: [r] });
      this.count++;
    } else {
      const i = slot.all.findIndex((x) => sameOrigin(x, r));
      if (i >= 0) slot.all[i] = r;
      else slot.all.push(r);
      slot.best = pickBest(slot.all);
    }
    this.version++;
  }

  /** Removes the routes for prefix/len that `match` accepts (all of them without it); returns how many. */
  remove(prefix: number, len: number, match?: (r: Route) => boolean): number {
    const map = this.byLen[len];
    const slot = map?.get(prefix);
    if (!map || !slot) return 0;
    const keep = match ? slot.all.filter((r) => !match(r)) : [];
    const removed = slot.all.length - keep.length;
    if (removed === 0) return 0;
    if (keep.length === 0) {
      map.delete(prefix);
      this.count--;
      if (map.size === 0) {
        this.byLen[len] = undefined;
        this.lens = this.lens.filter((l) => l !== len);
      }
    } else {
      slot.all = keep;
      slot.best = pickBest(keep);
    }
    this.version++;
    return removed;
  }

  /** Removes every route `match` accepts (e.g. all routes out of one interface); returns how many. */
  removeWhere(match: (r: Route) => boolean): number {
    let n = 0;
    for (const len of [...this.lens]) {
      const map = this.byLen[len];
      if (!map) continue;
      for (const prefix of [...map.keys()]) n += this.remove(prefix, len, match);
    }
    return n;
  }

  /** Longest-prefix match: the route used for `ip`, or undefined when none covers it. */
  lookup(ip: number): Route | undefined {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i]!;
      const slot = this.byLen[len]!.get((ip & MASKS[len]!) >>> 0);
      if (slot !== undefined) return slot.best;
    }
    return undefined;
  }

  /** The route in use for exactly prefix/len, if any. */
  get(prefix: number, len: number): Route | undefined {
    return this.byLen[len]?.get(prefix)?.best;
  }

  /** Every candidate for exactly prefix/len, in use first. */
  candidates(prefix: number, len: number): Route[] {
    const slot = this.byLen[len]?.get(prefix);
    return slot ? [slot.best, ...slot.all.filter((r) => r !== slot.best)] : [];
  }

  /** Number of prefixes (not candidates). */
  get size(): number {
    return this.count;
  }

  /** The routes in use, longest prefix first, then by address. */
  routes(): Route[] {
    const out: Route[] = [];
    for (const len of this.lens) {
      const map = this.byLen[len]!;
      const prefixes = [...map.keys()].sort((a, b) => a - b);
      for (const p of prefixes) out.push({ ...map.get(p)!.best });
    }
    return out;
  }

  clear(): void {
    this.byLen.fill(undefined);
    this.lens = [];
    this.count = 0;
    this.version++;
  }
}

function pickBest(all: Route[]): Route {
  let best = all[0]!;
  for (let i = 1; i < all.length; i++) if (better(all[i]!, best)) best = all[i]!;
  return best;
}

/** A route as text, for views and logs: `10.1.0.0/24 via 10.0.0.2 dev vnet7 [static/1]`. */
export function formatRoute(r: Route): string {
  const via = r.nextHop === null ? '' : ` via ${ipToString(r.nextHop)}`;
  return `${cidrToString(r.prefix, r.len)}${via} dev ${r.iface} [${r.source}/${r.metric}]`;
}
