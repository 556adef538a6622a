import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_TIME_EXCEEDED, ICMP_UNREACH_NET, ipToString, parseIp } from '../wire/index.ts';
import { LinkRegistry } from './links.ts';
import { VirtualRouter } from './router.ts';
import { routerSchema, type RouterSpecInput } from '../../contract/router.ts';
import { TestLan, emulatedHost } from '../ipnode/testing.ts';
import type { TraceHop } from '../ipnode/index.ts';

const running: VirtualRouter[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.stop();
});

/** r1 (vnet 10) — link — r2 — link — r3 (vnet 30, guest c). */
function chain() {
  const counters = new Counters();
  const links = new LinkRegistry(counters);
  const lan = new TestLan();
  links.setLocalRouters(['r1', 'r2', 'r3']);
  const link = (peer: string, local: string, remote: string) => ({ peer, local, remote, vnet: null });
  const specs: RouterSpecInput[] = [
    { id: 'r1', interfaces: [{ vnet: 10, mac: '02:00:00:00:01:10', ip: '10.10.0.1/24' }], links: [link('r2', '169.254.1.1/30', '169.254.1.2')], staticRoutes: [{ destination: '10.30.0.0/24', nextHop: '169.254.1.2' }] },
    {
      id: 'r2',
      links: [link('r1', '169.254.1.2/30', '169.254.1.1'), link('r3', '169.254.2.1/30', '169.254.2.2')],
      staticRoutes: [{ destination: '10.30.0.0/24', nextHop: '169.254.2.2' }, { destination: '10.10.0.0/24', nextHop: '169.254.1.1' }],
    },
    { id: 'r3', interfaces: [{ vnet: 30, mac: '02:00:00:00:03:30', ip: '10.30.0.1/24' }], links: [link('r2', '169.254.2.2/30', '169.254.2.1')], staticRoutes: [{ destination: '0.0.0.0/0', nextHop: '169.254.2.1' }] },
  ];
  const routers = specs.map((s) => {
    const r = new VirtualRouter(routerSchema.parse(s), { counters, logger: silentLogger, links, ports: lan });
    running.push(r);
    r.start();
    return r;
  });
  emulatedHost(lan, 30, 'c', 0x02_00_00_00_1e_0a, '10.30.0.10/24', '10.30.0.1');
  return { routers };
}

async function collect(it: AsyncGenerator<TraceHop>): Promise<TraceHop[]> {
  const out: TraceHop[] = [];
  for await (const h of it) out.push(h);
  return out;
}

describe('ping and traceroute from a router', () => {
  it('pings a guest three routers away, and its own addresses', async () => {
    const { routers } = chain();
    const r = await routers[0]!.ping(parseIp('10.30.0.10'), { count: 3, intervalMs: 1, timeoutMs: 500 });
    expect(r).toMatchObject({ sent: 3, received: 3, errors: [] });
    expect(r.rttsMs).toHaveLength(3);
    expect((await routers[0]!.ping(parseIp('10.10.0.1'), { timeoutMs: 200 })).received).toBe(1);
  });

  it('reports ICMP errors instead of replies', async () => {
    const { routers } = chain();
    const r = await routers[2]!.ping(parseIp('192.0.2.9'), { timeoutMs: 300 }); // r3's default route ends at r2, which has none
    expect(r.received).toBe(0);
    expect(r.errors).toEqual([{ from: parseIp('169.254.2.1'), type: ICMP_DEST_UNREACHABLE, code: ICMP_UNREACH_NET }]);
  });

  it('traces the hops one by one up to the destination', async () => {
    const { routers } = chain();
    const hops = await collect(routers[0]!.traceroute(parseIp('10.30.0.10'), { timeoutMs: 300 }));
    expect(hops.map((h) => [h.ttl, h.address === null ? null : ipToString(h.address), h.type, h.reached])).toEqual([
      [1, '169.254.1.2', ICMP_TIME_EXCEEDED, false],
      [2, '169.254.2.2', ICMP_TIME_EXCEEDED, false],
      [3, '10.30.0.10', ICMP_ECHO_REPLY, true],
    ]);
  });

  it('gives a silent hop as a null address and stops at maxHops', async () => {
    const { routers } = chain();
    routers[1]!.stop(); // r2 vanishes: its links are down, nobody answers
    const hops = await collect(routers[0]!.traceroute(parseIp('10.30.0.10'), { timeoutMs: 50, maxHops: 2 }));
    expect(hops.map((h) => [h.ttl, h.address])).toEqual([[1, null], [2, null]]);
  });
});
