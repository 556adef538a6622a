import { describe, expect, it } from 'vitest';
import { ADMIN_DISTANCE, Fib, FibError, formatRoute, type Route, type RouteSource } from './fib.ts';
import { parseIp, prefixMask } from '../wire/index.ts';
// A deterministic generator (mulberry32), so a failure reproduces.
import { rng } from '../../test/agent-fuzz.ts';

const SOURCES: RouteSource[] = ['connected', 'static', 'rip'];
const MASKS = Array.from({ length: 33 }, (_, l) => prefixMask(l));

/** The reference: scan every route, keep the longest match, then the best source and metric. */
function bruteLookup(routes: Route[], ip: number): Route | undefined {
  let best: Route | undefined;
  for (const r of routes) {
    if (((ip & MASKS[r.len]!) >>> 0) !== r.prefix) continue;
    if (!best || r.len > best.len) best = r;
    else if (r.len === best.len) {
      const d = ADMIN_DISTANCE[r.source] - ADMIN_DISTANCE[best.source];
      if (d < 0 || (d === 0 && r.metric < best.metric)) best = r;
    }
  }
  return best;
}

function randomRoute(rand: () => number, n: number): Route {
  // Lengths cluster the way real tables do (/8../32 with many /24), plus a few short ones.
  const len = rand() < 0.05 ? Math.floor(rand() * 8) : 8 + Math.floor(rand() * 25);
  const prefix = ((Math.floor(rand() * 2 ** 32) & prefixMask(len)) >>> 0);
  return {
    prefix,
    len,
    nextHop: rand() < 0.3 ? null : Math.floor(rand() * 2 ** 32),
    iface: `if${n % 7}`,
    metric: 1 + Math.floor(rand() * 15),
    source: SOURCES[Math.floor(rand() * 3)]!,
  };
}

describe('Fib longest-prefix match', () => {
  for (const seed of [1, 2, 3]) {
    it(`agrees with a brute-force scan on a random table (seed ${seed})`, () => {
      const rand = rng(seed);
      const fib = new Fib();
      let routes: Route[] = [];
      for (let i = 0; i < 3000; i++) {
        const r = randomRoute(rand, i);
        // Same prefix, source, interface and next hop replaces (as Fib.add does).
        routes = routes.filter((x) => !(x.prefix === r.prefix && x.len === r.len && x.source === r.source && x.iface === r.iface && x.nextHop === r.nextHop));
        routes.push(r);
        fib.add(r);
      }
      const check = (n: number) => {
        const mismatches: string[] = [];
        for (let i = 0; i < n; i++) {
          // Half the probes inside a known prefix, half anywhere.
          let ip: number;
          if (rand() < 0.5 && routes.length > 0) {
            const r = routes[Math.floor(rand() * routes.length)]!;
            ip = (r.prefix | (Math.floor(rand() * 2 ** 32) & ~prefixMask(r.len))) >>> 0;
          } else ip = Math.floor(rand() * 2 ** 32);
          const want = bruteLookup(routes, ip);
          const got = fib.lookup(ip);
          const key = (r: Route | undefined) => (r ? `${r.prefix}/${r.len} d${ADMIN_DISTANCE[r.source]} m${r.metric}` : 'none');
          if (key(want) !== key(got)) mismatches.push(`${ip}: want ${key(want)}, got ${key(got)}`);
        }
        expect(mismatches).toEqual([]);
      };
      check(5000);
      // Remove a third of the routes (by origin) and check again.
      const gone = routes.filter(() => rand() < 0.33);
      for (const g of gone) {
        fib.remove(g.prefix, g.len, (x) => x.source === g.source && x.iface === g.iface && x.nextHop === g.nextHop);
      }
      routes = routes.filter((r) => !gone.includes(r));
      check(5000);
      // Remove everything out of one interface.
      fib.removeWhere((r) => r.iface === 'if3');
      routes = routes.filter((r) => r.iface !== 'if3');
      check(3000);
      expect(fib.size).toBe(new Set(routes.map((r) => `${r.prefix}/${r.len}`)).size);
    });
  }

  it('prefers the longer prefix, then connected over static over RIP, then the lower metric', () => {
    const fib = new Fib();
    const ip = parseIp;
    fib.add({ prefix: 0, len: 0, nextHop: ip('10.0.0.1'), iface: 'a', metric: 1, source: 'static' });
    fib.add({ prefix: ip('10.1.0.0'), len: 16, nextHop: ip('10.0.0.2'), iface: 'a', metric: 3, source: 'rip' });
    fib.add({ prefix: ip('10.1.0.0'), len: 16, nextHop: ip('10.0.0.3'), iface: 'b', metric: 2, source: 'rip' });
    expect(fib.lookup(ip('10.1.2.3'))?.nextHop).toBe(ip('10.0.0.3'));
    fib.add({ prefix: ip('10.1.0.0'), len: 16, nextHop: ip('10.0.0.9'), iface: 'c', metric: 9, source: 'static' });
    expect(fib.lookup(ip('10.1.2.3'))?.iface).toBe('c');
    fib.add({ prefix: ip('10.1.2.0'), len: 24, nextHop: null, iface: 'd', metric: 1, source: 'connected' });
    expect(fib.lookup(ip('10.1.2.3'))?.iface).toBe('d');
    expect(fib.lookup(ip('10.1.3.3'))?.iface).toBe('c');
    expect(fib.lookup(ip('192.0.2.1'))?.nextHop).toBe(ip('10.0.0.1'));
    expect(fib.candidates(ip('10.1.0.0'), 16).map((r) => r.iface)).toEqual(['c', 'a', 'b']);
    fib.remove(ip('10.1.0.0'), 16, (r) => r.source === 'static');
    expect(fib.lookup(ip('10.1.3.3'))?.iface).toBe('b');
    expect(formatRoute(fib.get(ip('10.1.0.0'), 16)!)).toBe('10.1.0.0/16 via 10.0.0.3 dev b [rip/2]');
    fib.clear();
    expect(fib.lookup(ip('10.1.2.3'))).toBeUndefined();
  });

  it('a host route and the default route are matched like any other', () => {
    const fib = new Fib();
    fib.add({ prefix: parseIp('198.18.0.7'), len: 32, nextHop: null, iface: 'h', metric: 1, source: 'static' });
    expect(fib.lookup(parseIp('198.18.0.7'))?.iface).toBe('h');
    expect(fib.lookup(parseIp('198.18.0.6'))).toBeUndefined();
    fib.add({ prefix: 0, len: 0, nextHop: 1, iface: 'd', metric: 1, source: 'static' });
    expect(fib.lookup(0xffffffff)?.iface).toBe('d');
  });

  it('refuses host bits and bad lengths with a coded error', () => {
    const fib = new Fib();
    expect(() => fib.add({ prefix: parseIp('10.0.0.1'), len: 24, nextHop: null, iface: 'a', metric: 1, source: 'static' })).toThrow(FibError);
    expect(() => fib.add({ prefix: 0, len: 33, nextHop: null, iface: 'a', metric: 1, source: 'static' })).toThrow(/0\.\.32/);
    expect(fib.size).toBe(0);
  });
});
