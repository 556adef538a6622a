// The router manager end to end, without root: a real console
// (server/serve/http.ts) on a real database, real agent processes on 127.0.0.2-4
// holding their command streams over SSE, and a farm of two routers, a
// firewall and emulated guests across two hosts. The console asks for a
// router's live tables, pings and traces from a router's own IP stack (the
// answers streamed back through the agent), and reads a firewall's hit
// counters; a host whose agent is gone gives a clear error.
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../server/routers/_app.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';
import { expectError } from './farm-fixtures.ts';
import { pull, untrackProbe } from './command-fixture.ts';
import { startControlWorld, waitConverged, type ControlWorld } from './control-world.ts';

let w: ControlWorld;
const ids: Record<string, string> = {};

/**
 * Vnets a, b, c, d. r1 (h1) joins a and b, r2 (h2) joins b and c, static
 * routes between them; the firewall fw (h2) joins c and d and lets ICMP in.
 * Guests: ga (h2) on a, gc (h1) on c, gd (h1) on d.
 */
function farm(): FarmDocumentInput {
  return {
    version: 'softudc.farm/v1',
    name: 'mgr',
    vnets: [
      { name: 'a', cidr: '10.31.0.0/24' },
      { name: 'b', cidr: '10.32.0.0/24' },
      { name: 'c', cidr: '10.33.0.0/24' },
      { name: 'd', cidr: '10.34.0.0/24' },
    ],
    vms: [
      { name: 'ga', host: 'h2', vifs: [{ name: 'eth0', vnet: 'a', ip: '10.31.0.10' }] },
      { name: 'gc', host: 'h1', vifs: [{ name: 'eth0', vnet: 'c', ip: '10.33.0.10' }] },
      { name: 'gd', host: 'h1', vifs: [{ name: 'eth0', vnet: 'd', ip: '10.34.0.10' }] },
    ],
    routers: [
      {
        name: 'r1', host: 'h1',
        interfaces: [{ vnet: 'a', ip: '10.31.0.1' }, { vnet: 'b', ip: '10.32.0.1' }],
        staticRoutes: [{ destination: '10.33.0.0/24', nextHop: '10.32.0.2' }],
      },
      {
        name: 'r2', host: 'h2',
        interfaces: [{ vnet: 'b', ip: '10.32.0.2' }, { vnet: 'c', ip: '10.33.0.1' }],
        staticRoutes: [{ destination: '10.31.0.0/24', nextHop: '10.32.0.1' }, { destination: '10.34.0.0/24', nextHop: '10.33.0.254' }],
      },
    ],
    firewalls: [
      {
        name: 'fw', host: 'h2', defaultPolicy: 'deny',
        interfaces: [{ name: 'outside', vnet: 'c', ip: '10.33.0.254' }, { name: 'inside', vnet: 'd', ip: '10.34.0.254' }],
        rules: [{ action: 'allow', protocol: 'icmp', source: '10.33.0.0/24', destination: '10.34.0.0/24' }],
      },
    ],
  };
}

beforeAll(async () => {
  w = await startControlWorld();
  const imported = await w.caller.farm.import({ document: farm(), vnids: 'auto' });
  const r = await w.caller.farm.deploy({ id: imported.id, wait: true, timeoutMs: 30_000 });
  expect(r.timedOut).toBe(false);
  await waitConverged(w);
  const detail = await w.caller.farm.get({ id: imported.id });
  for (const x of [...detail.routers, ...detail.firewalls]) ids[x.name] = x.id;
}, 120_000);
afterAll(async () => {
  await w?.close();
});

interface Timed<T> {
  at: number;
  id: string;
  data: T;
}

/** Every event of a probe (router.ping or router.traceroute, then router.probe) with its arrival time. */
async function collect<T>(start: () => Promise<{ probeId: string }>): Promise<Timed<T>[]> {
  const { probeId } = await start();
  const s = await pull(() => w.caller.router.probe({ probeId }), (v) => ({ ...untrackProbe<T>(v), at: Date.now() }));
  return s.rest(30_000);
}

describe('router manager with real agents', () => {
  it('router.inspect shows the router live: connected and static routes, interfaces, counters', async () => {
    const r = await w.caller.router.inspect({ id: ids.r1! });
    expect(r.router).toMatchObject({ name: 'r1', agentId: ids.r1, host: { name: 'h1', id: w.hostIds.h1 } });
    expect(r.view.id).toBe(ids.r1);
    const routes = r.view.routes.map((x) => [x.destination, x.source, x.nextHop]).sort();
    expect(routes).toEqual([
      ['10.31.0.0/24', 'connected', null],
      ['10.32.0.0/24', 'connected', null],
      ['10.33.0.0/24', 'static', '10.32.0.2'],
    ]);
    expect(r.view.interfaces.map((i) => i.ip).sort()).toEqual(['10.31.0.1/24', '10.32.0.1/24']);
    expect(r.view.interfaces.every((i) => i.kind === 'vnet' && i.up)).toBe(true);
    const fib = await w.caller.router.fib({ id: ids.r2! });
    expect(fib.routes.map((x) => x.destination).sort()).toEqual(['10.31.0.0/24', '10.32.0.0/24', '10.33.0.0/24', '10.34.0.0/24']);
    expect(fib.router.host.name).toBe('h2');
  }, 30_000);

  it('router.ping streams each reply from a guest on another host as it arrives, then the summary', async () => {
    const t0 = Date.now();
    const events = await collect<{ type: string; seq?: number; from?: string; received?: number; sent?: number }>(() =>
      w.caller.router.ping({ id: ids.r1!, target: '10.31.0.10', count: 3, intervalMs: 400, timeoutMs: 2_000 }),
    );
    expect(events.map((e) => e.data.type)).toEqual(['reply', 'reply', 'reply', 'summary']);
    expect(events.slice(0, 3).map((e) => e.data.seq)).toEqual([1, 2, 3]);
    expect(events.slice(0, 3).every((e) => e.data.from === '10.31.0.10')).toBe(true);
    expect(events[3]!.data).toMatchObject({ sent: 3, received: 3, lossPct: 0 });
    // Streamed, not batched: the first reply came before the last probe was even sent (800 ms in).
    expect(events[0]!.at - t0).toBeLessThan(events[3]!.at - t0 - 400);
    const cmd = events[0]!.id.split(':')[0];
    expect(events.map((e) => e.id)).toEqual([0, 1, 2, 3].map((s) => `${cmd}:${s}`));

    // The ARP cache now knows the guest.
    const r = await w.caller.router.inspect({ id: ids.r1! });
    expect(r.view.arp.some((a) => a.ip === '10.31.0.10' && a.mac !== null)).toBe(true);
  }, 30_000);

  it('router.traceroute to a guest two vnets away streams the hops: r2, then the guest', async () => {
    const events = await collect<{ type: string; ttl?: number; address?: string | null; reached?: boolean; hops?: number }>(() =>
      w.caller.router.traceroute({ id: ids.r1!, target: '10.33.0.10', maxHops: 5, timeoutMs: 2_000 }),
    );
    expect(events.map((e) => e.data)).toEqual([
      { type: 'hop', ttl: 1, address: '10.32.0.2', rttMs: expect.any(Number), reached: false, icmpType: 11 },
      { type: 'hop', ttl: 2, address: '10.33.0.10', rttMs: expect.any(Number), reached: true, icmpType: 0 },
      { type: 'summary', reached: true, hops: 2 },
    ]);
  }, 30_000);

  it('router.traceroute over SSE with an API token of a viewer, as the browser subscribes', async () => {
    const { token } = await w.caller.apiToken.create({ name: 'ui', role: 'viewer' });
    const url = `${w.consoleUrl}/api/trpc`;
    const auth = { authorization: `Bearer ${token}` };
    const client = createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({
            url, transformer: superjson, EventSource,
            eventSourceOptions: () => ({ fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...auth } }) }),
          }),
          false: httpLink({ url, transformer: superjson, headers: () => auth }),
        }),
      ],
    });
    const fib = await client.router.fib.query({ id: ids.r1! });
    expect(fib.routesTotal).toBe(3);
    const { probeId } = await client.router.traceroute.mutate({ id: ids.r1!, target: '10.33.0.10', maxHops: 4 });
    const hops = await new Promise<{ id: string | undefined; data: { type: string } }[]>((resolve, reject) => {
      const got: { id: string | undefined; data: { type: string } }[] = [];
      const sub = client.router.probe.subscribe({ probeId }, {
        onData: (v) => {
          got.push({ id: v.id, data: v.data.event });
          if (v.data.event.type === 'summary') {
            sub.unsubscribe();
            resolve(got);
          }
        },
        onError: reject,
      });
    });
    expect(hops.map((h) => h.data.type)).toEqual(['hop', 'hop', 'summary']);
    expect(hops.every((h) => /^[0-9a-f-]{36}:\d$/.test(h.id ?? ''))).toBe(true);
    // Bad input is refused over HTTP with the field named, as the UI shows it.
    const err = await client.router.fib.query({ id: 'nope' }).catch((e: { data?: { code?: string; field?: string } }) => e);
    expect(err).toMatchObject({ data: { code: 'BAD_REQUEST', field: 'id' } });
  }, 30_000);

  it('firewall.inspect shows the rule that let a ping through, its connection, and /v1/state sums it up', async () => {
    const before = await w.caller.firewall.inspect({ id: ids.fw! });
    expect(before.firewall).toMatchObject({ agentId: ids.fw, host: { name: 'h2' } });
    const hitsBefore = before.view.rules[0]!.hits;
    const ping = await collect<{ type: string; received?: number }>(() =>
      w.caller.router.ping({ id: ids.r2!, target: '10.34.0.10', count: 2, intervalMs: 100, timeoutMs: 2_000 }),
    );
    expect(ping.at(-1)!.data).toMatchObject({ type: 'summary', received: 2 });
    const after = await w.caller.firewall.inspect({ id: ids.fw! });
    expect(after.view.defaultPolicy).toBe('deny');
    expect(after.view.rules).toHaveLength(1);
    expect(after.view.rules[0]).toMatchObject({ action: 'allow', protocol: 'icmp', source: '10.33.0.0/24', destination: '10.34.0.0/24' });
    expect(after.view.rules[0]!.hits).toBeGreaterThan(hitsBefore);
    expect(after.view.connections.byProtocol.icmp).toBeGreaterThanOrEqual(1);
    expect(after.view.connections.sample.some((c) => c.protocol === 'icmp' && c.from.startsWith('10.33.0.1:') && c.rule === 0)).toBe(true);

    const state = await w.agents.h2.state();
    expect(state.routers?.map((r) => r.id)).toEqual([ids.r2]);
    expect(state.routers?.[0]).toMatchObject({ routes: 4, interfaces: [{ vnet: expect.any(Number) }, { vnet: expect.any(Number) }] });
    expect(state.firewalls?.[0]).toMatchObject({ id: ids.fw, defaultPolicy: 'deny', rules: 1 });
    expect(state.firewalls![0]!.ruleHits).toBeGreaterThanOrEqual(after.view.rules[0]!.hits);
  }, 30_000);

  it('a host whose agent is gone gives a clear PRECONDITION_FAILED naming it', async () => {
    await w.agents.h2.kill('SIGTERM');
    const e = await expectError(w.caller.router.inspect({ id: ids.r2! }), 'PRECONDITION_FAILED', null);
    expect(e.message).toMatch(/^host h2 is offline/);
    // The other host still answers.
    expect((await w.caller.router.fib({ id: ids.r1! })).routes).toHaveLength(3);
  }, 30_000);
});
