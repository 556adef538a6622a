// Helpers for the router manager tests: a subscription pulled one value at a
// time with deadlines (through createCaller), an agent's command stream as a
// scripted agent sees it, and answers an agent would send.
import { isTrackedEnvelope } from '@trpc/server/unstable-core-do-not-import';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';

export interface Pulled<T> {
  next(ms?: number): Promise<T | 'timeout'>;
  /** Every value until the subscription ends (or throws). */
  rest(ms?: number): Promise<T[]>;
  close(): Promise<void>;
  /** The error the subscription ends with. */
  error(ms?: number): Promise<unknown>;
}

/** Pulls values from a subscription with a deadline; `close()` aborts it like a client disconnect. */
export async function pull<T>(start: (signal: AbortSignal) => Promise<AsyncIterable<unknown>>, map: (v: unknown) => T): Promise<Pulled<T>> {
  const abort = new AbortController();
  const it = (await start(abort.signal))[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<unknown>> | null = null;
  const step = async (ms: number): Promise<IteratorResult<unknown> | 'timeout'> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
    pending ??= it.next();
    const r = await Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
    if (r !== 'timeout') pending = null;
    return r;
  };
  return {
    async next(ms = 5000) {
      const r = await step(ms);
      if (r === 'timeout') return r;
      if (r.done) throw new Error('subscription ended');
      return map(r.value);
    },
    async rest(ms = 10_000) {
      const out: T[] = [];
      for (;;) {
        const r = await step(ms);
        if (r === 'timeout') throw new Error(`no end within ${ms} ms after ${out.length} values`);
        if (r.done) return out;
        out.push(map(r.value));
      }
    },
    async close() {
      abort.abort();
      await it.return?.();
    },
    async error(ms = 10_000) {
      try {
        for (;;) {
          const r = await step(ms);
          if (r === 'timeout') return new Error('expected an error, got a timeout');
          if (r.done) return new Error('expected an error, the subscription ended');
        }
      } catch (e) {
        return e;
      }
    },
  };
}

/** A tracked value as [id, data]. */
export function untrack<T>(v: unknown): { id: string; data: T } {
  if (!isTrackedEnvelope(v)) throw new Error(`not a tracked value: ${JSON.stringify(v)}`);
  const [id, data] = v as unknown as [string, T];
  return { id, data };
}

/** A router.probe value as [id, the ping or traceroute event it carries]. */
export function untrackProbe<T>(v: unknown): { id: string; data: T } {
  const { id, data } = untrack<{ kind: string; event: T }>(v);
  return { id, data: data.event };
}

export interface Command {
  id: string;
  kind: string;
  args: Record<string, unknown>;
  expiresAt: Date;
}

/** A router view as an agent answers `router.view` (two connected routes). */
export function sampleRouterView(id: string) {
  return {
    id,
    interfaces: [
      { name: 'vnet100', kind: 'vnet' as const, vnet: 100, mac: '02:00:00:00:00:01', ip: '10.41.0.1/24', mtu: 1400, up: true },
      { name: 'vnet101', kind: 'vnet' as const, vnet: 101, mac: '02:00:00:00:00:02', ip: '10.42.0.1/24', mtu: 1400, up: true },
    ],
    routes: [
      { destination: '10.41.0.0/24', nextHop: null, iface: 'vnet100', metric: 0, source: 'connected', text: 'C 10.41.0.0/24 dev vnet100' },
      { destination: '10.42.0.0/24', nextHop: null, iface: 'vnet101', metric: 0, source: 'connected', text: 'C 10.42.0.0/24 dev vnet101' },
    ],
    routesTotal: 2,
    arp: [{ iface: 'vnet100', ip: '10.41.0.10', mac: '02:00:00:00:00:0a', state: 'REACHABLE', ageMs: 12, queued: 0 }],
    arpTotal: 1,
    counters: { forwarded_packets_total: 7 },
    rip: [],
    unresolvedStaticRoutes: [],
  };
}

/** Two vnets, a router `gw` on h1 joining them, a firewall `fw` on h1 and a router `edge` on h2. */
export function managedFarm(name: string): FarmDocumentInput {
  return {
    version: 'softudc.farm/v1',
    name,
    vnets: [
      { name: 'a', cidr: '10.41.0.0/24' },
      { name: 'b', cidr: '10.42.0.0/24' },
    ],
    vms: [],
    routers: [
      { name: 'gw', host: 'h1', interfaces: [{ vnet: 'a', ip: '10.41.0.1' }, { vnet: 'b', ip: '10.42.0.1' }] },
      { name: 'edge', host: 'h2', interfaces: [{ vnet: 'b', ip: '10.42.0.2' }] },
    ],
    firewalls: [
      {
        name: 'fw',
        host: 'h1',
        defaultPolicy: 'deny',
        interfaces: [{ name: 'out', vnet: 'a', ip: '10.41.0.254' }],
        rules: [{ action: 'allow', protocol: 'icmp', source: '0.0.0.0/0', destination: '0.0.0.0/0' }],
      },
    ],
  };
}
