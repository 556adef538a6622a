import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { decodeUdp, parseIp } from '../wire/index.ts';
import { LinkRegistry } from './links.ts';
import { VirtualRouter } from './router.ts';
import { routerSchema, type RouterSpecInput } from '../../contract/router.ts';
import { RIP_AFI_INET, RIP_AFI_UNSPEC, RIP_CMD_REQUEST, RIP_CMD_RESPONSE, RIP_INFINITY, decodeRip, encodeRip, maskLength } from './ripwire.ts';
import { TestLan, rawHost } from '../ipnode/testing.ts';
import { expectWireError } from '../wire/testing.ts';

const running: VirtualRouter[] = [];
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const r of running.splice(0)) r.stop();
  vi.useRealTimers();
});

type Edge = [number, number];

/** Routers r1..rN, each with LAN 10.N.0.0/24 on vnet 100+N, joined by in-process links with RIP on. */
function topology(n: number, edges: Edge[]) {
  const counters = new Counters();
  const links = new LinkRegistry(counters);
  const lan = new TestLan();
  const ids = Array.from({ length: n }, (_, i) => `farm/r${i + 1}`);
  links.setLocalRouters(ids);
  // A null edge is a removed link; the others keep their index, hence their addresses.
  const specOf = (i: number, es: (Edge | null)[]): RouterSpecInput => ({
    id: ids[i - 1]!,
    interfaces: [{ vnet: 100 + i, mac: `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`, ip: `10.${i}.0.1/24` }],
    links: es
      .map((e, k) => ({ e, k }))
      .filter((x): x is { e: Edge; k: number } => x.e !== null && x.e.includes(i))
      .map(({ e, k }) => {
        const other = e[0] === i ? e[1] : e[0];
        const low = e[0] === i; // the lower end takes .1
        const base = `169.254.${k}`;
        return { peer: ids[other - 1]!, local: `${base}.${low ? 1 : 2}/30`, remote: `${base}.${low ? 2 : 1}`, rip: true, vnet: null };
      }),
  });
  const routers = ids.map((_, i) => {
    const r = new VirtualRouter(routerSchema.parse(specOf(i + 1, edges)), { counters, logger: silentLogger, links, ports: lan });
    running.push(r);
    return r;
  });
  for (const r of routers) r.start();
  const route = (i: number, dest: string) => routers[i - 1]!.view().routes.find((r) => r.destination === dest);
  const relink = (es: (Edge | null)[]) => routers.forEach((r, i) => r.update(routerSchema.parse(specOf(i + 1, es))));
  return { routers, route, relink, lan, counters };
}

describe('RIPv2 among four routers', () => {
  it('converges on a ring: every LAN everywhere, with the shortest hop counts', () => {
    const ring: Edge[] = [[1, 2], [2, 3], [3, 4], [4, 1]];
    const t = topology(4, ring);
    vi.advanceTimersByTime(40_000);
    for (let i = 1; i <= 4; i++) {
      for (let j = 1; j <= 4; j++) {
        const r = t.route(i, `10.${j}.0.0/24`);
        expect(r, `r${i} → LAN ${j}`).toBeDefined();
        const hops = Math.min(Math.abs(i - j), 4 - Math.abs(i - j));
        expect(r!.source).toBe(i === j ? 'connected' : 'rip');
        if (i !== j) expect(r!.metric, `r${i} → LAN ${j}`).toBe(hops + 1);
      }
    }
    // The link prefixes are learned too (each router knows all four).
    expect(t.routers[0]!.view().routes.filter((r) => r.destination.startsWith('169.254.'))).toHaveLength(4);

    // A packet from LAN 1 reaches LAN 3 through three routers.
    const a = rawHost(t.lan, 101, 'a', 0x02_00_00_01_00_0a, '10.1.0.10/24', '10.1.0.1');
    const c = rawHost(t.lan, 103, 'c', 0x02_00_00_03_00_0a, '10.3.0.10/24', '10.3.0.1');
    a.udp('10.3.0.10', 9, Buffer.from('over rip'));
    expect(c.received.map((p) => [p.ttl, decodeUdp(p.payload).payload.toString()])).toEqual([[61, 'over rip']]);
  });

  it('reconverges when a ring link is removed: traffic takes the long way round', () => {
    const t = topology(4, [[1, 2], [2, 3], [3, 4], [4, 1]]);
    vi.advanceTimersByTime(40_000);
    expect(t.route(1, '10.2.0.0/24')).toMatchObject({ iface: 'link:farm/r2', metric: 2 });
    const before = t.routers[0]!.view().interfaces.find((i) => i.name === 'link:farm/r4');
    t.relink([null, [2, 3], [3, 4], [4, 1]]); // link r1–r2 removed, the others unchanged
    expect(t.routers[0]!.view().interfaces.find((i) => i.name === 'link:farm/r4')).toEqual(before);
    expect(t.route(1, '10.2.0.0/24')).toBeUndefined(); // withdrawn at once, before anything is relearned
    vi.advanceTimersByTime(40_000);
    expect(t.route(1, '10.2.0.0/24')).toMatchObject({ iface: 'link:farm/r4', metric: 4, source: 'rip' });
    expect(t.route(2, '10.1.0.0/24')).toMatchObject({ iface: 'link:farm/r3', metric: 4, source: 'rip' });
    expect(t.route(1, '10.3.0.0/24')).toMatchObject({ iface: 'link:farm/r4', metric: 3 });
  });

  it('in a chain, a cut makes the far LANs unreachable, then garbage-collects them', () => {
    const t = topology(4, [[1, 2], [2, 3], [3, 4]]);
    vi.advanceTimersByTime(40_000);
    expect(t.route(1, '10.4.0.0/24')).toMatchObject({ metric: 4 });
    t.routers[1]!.update(
      routerSchema.parse({
        id: 'farm/r2',
        interfaces: [{ vnet: 102, mac: '02:00:00:00:00:02', ip: '10.2.0.1/24' }],
        links: [{ peer: 'farm/r1', local: '169.254.0.2/30', remote: '169.254.0.1', rip: true, vnet: null }],
      }),
    );
    vi.advanceTimersByTime(6_000); // triggered updates, rate-limited to one per 1–5 s
    const rip1 = () => t.routers[0]!.view().rip;
    expect(t.route(1, '10.4.0.0/24')).toBeUndefined();
    expect(t.route(1, '10.3.0.0/24')).toBeUndefined();
    expect(rip1().find((r) => r.prefix === '10.4.0.0/24')).toMatchObject({ metric: RIP_INFINITY, garbage: true });
    expect(t.route(1, '10.2.0.0/24')).toMatchObject({ metric: 2 }); // the near side is untouched
    vi.advanceTimersByTime(121_000);
    expect(rip1().find((r) => r.prefix === '10.4.0.0/24')).toBeUndefined();
    expect(rip1().find((r) => r.prefix === '10.3.0.0/24')).toBeUndefined();
    expect(t.counters.sum('softudc_router_rip_routes_collected_total')).toBeGreaterThanOrEqual(2);
  });
});

describe('RIPv2 on a vnet interface', () => {
  function withNeighbour() {
    const counters = new Counters();
    const lan = new TestLan();
    const r = new VirtualRouter(
      routerSchema.parse({
        id: 'r1',
        interfaces: [
          { vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.1/24', rip: true },
          { vnet: 20, mac: '02:00:00:00:01:02', ip: '10.20.0.1/24' },
        ],
      }),
      { counters, logger: silentLogger, links: new LinkRegistry(counters), ports: lan },
    );
    running.push(r);
    // The neighbour is on the vnet before the router starts, so it hears the first request.
    const n = rawHost(lan, 10, 'n', 0x02_00_00_00_0a_02, '10.10.0.2/24');
    r.start();
    const rip = () =>
      n.received.filter((p) => p.protocol === 17).map((p) => ({ dst: p.dst, ttl: p.ttl, msg: decodeRip(decodeUdp(p.payload).payload) }));
    const advertise = (entries: [string, number, number][], srcPort = 520) =>
      n.udp('224.0.0.9', 520, encodeRip({
        command: RIP_CMD_RESPONSE,
        version: 2,
        entries: entries.map(([a, len, metric]) => ({ afi: RIP_AFI_INET, tag: 0, address: parseIp(a), mask: len ? (0xffffffff << (32 - len)) >>> 0 : 0, nextHop: 0, metric })),
      }), { ttl: 1 }, srcPort);
    return { r, n, rip, advertise, counters };
  }

  it('asks for the table on start, multicasts to 224.0.0.9 with TTL 1, and advertises connected routes', () => {
    const { rip } = withNeighbour();
    const first = rip();
    expect(first[0]).toMatchObject({ dst: parseIp('224.0.0.9'), ttl: 1, msg: { command: RIP_CMD_REQUEST, entries: [{ afi: RIP_AFI_UNSPEC, metric: 16 }] } });
    const resp = first.find((m) => m.msg.command === RIP_CMD_RESPONSE)!;
    expect(resp.msg.entries.map((e) => [e.address, maskLength(e.mask), e.metric])).toEqual([
      [parseIp('10.10.0.0'), 24, 1],
      [parseIp('10.20.0.0'), 24, 1],
    ]);
  });

  it('learns routes, applies poisoned reverse, times them out after 180 s and collects them 120 s later', () => {
    const { r, rip, advertise } = withNeighbour();
    advertise([['10.99.0.0', 24, 1], ['0.0.0.0', 0, 3]]);
    expect(r.view().routes.find((x) => x.destination === '10.99.0.0/24')).toMatchObject({ nextHop: '10.10.0.2', metric: 2, source: 'rip' });
    expect(r.view().routes.find((x) => x.destination === '0.0.0.0/0')).toMatchObject({ metric: 4 });
    const before = rip().length;
    vi.advanceTimersByTime(36_000); // one periodic update
    const periodic = rip().slice(before).filter((m) => m.msg.command === RIP_CMD_RESPONSE).at(-1)!;
    const learned = periodic.msg.entries.find((e) => e.address === parseIp('10.99.0.0'))!;
    expect(learned.metric).toBe(RIP_INFINITY); // learned on this interface: poisoned back to it
    vi.advanceTimersByTime(180_000 - 36_000 + 1);
    expect(r.view().routes.find((x) => x.destination === '10.99.0.0/24')).toBeUndefined();
    expect(r.view().rip.find((x) => x.prefix === '10.99.0.0/24')).toMatchObject({ garbage: true, metric: 16 });
    vi.advanceTimersByTime(120_000);
    expect(r.view().rip).toEqual([]);
  });

  it('answers a whole-table request by unicast, rate-limits triggered updates, and ignores bad responses', () => {
    const { r, n, rip, advertise, counters } = withNeighbour();
    n.udp('10.10.0.1', 520, encodeRip({ command: RIP_CMD_REQUEST, version: 2, entries: [{ afi: 0, tag: 0, address: 0, mask: 0, nextHop: 0, metric: 16 }] }), {}, 5555);
    const reply = rip().at(-1)!;
    expect(reply.dst).toBe(parseIp('10.10.0.2'));
    expect(reply.msg.command).toBe(RIP_CMD_RESPONSE);

    vi.advanceTimersByTime(6_000); // let the start-up trigger window pass
    const trig0 = r.view().counters['rip_triggered_updates_total'] ?? 0;
    for (let i = 0; i < 5; i++) advertise([[`10.${50 + i}.0.0`, 24, 1]]);
    expect((r.view().counters['rip_triggered_updates_total'] ?? 0) - trig0).toBe(1);
    vi.advanceTimersByTime(5_001);
    expect((r.view().counters['rip_triggered_updates_total'] ?? 0) - trig0).toBe(2); // the rest in one update
    expect(r.view().routes.filter((x) => x.source === 'rip')).toHaveLength(5);

    advertise([['10.77.0.0', 24, 1]], 5555); // not from port 520
    advertise([['10.78.0.1', 24, 1], ['127.0.0.0', 8, 1], ['224.0.0.0', 4, 1], ['10.79.0.0', 24, 17]]);
    expect(r.view().routes.filter((x) => x.source === 'rip')).toHaveLength(5);
    expect(counters.get('softudc_router_rip_ignored_total{router="r1",reason="port"}')).toBe(1);
    expect(counters.get('softudc_router_rip_bad_entries_total{router="r1"}')).toBe(4);
  });
});

describe('RIP codec', () => {
  it('round-trips and refuses malformed messages with a code', () => {
    const p = { command: RIP_CMD_RESPONSE, version: 2, entries: [{ afi: 2, tag: 7, address: parseIp('10.1.0.0'), mask: 0xffffff00, nextHop: 0, metric: 3 }] };
    const buf = encodeRip(p);
    expect(buf.length).toBe(24);
    expect(decodeRip(buf)).toEqual(p);
    expectWireError(() => decodeRip(buf.subarray(0, 3)), 'TRUNCATED');
    expectWireError(() => decodeRip(buf.subarray(0, 10)), 'BAD_LENGTH');
    expectWireError(() => decodeRip(Buffer.from([3, 2, 0, 0])), 'BAD_OPCODE');
    expectWireError(() => decodeRip(Buffer.from([2, 0, 0, 0])), 'BAD_VERSION');
    expectWireError(() => decodeRip(Buffer.alloc(4 + 26 * 20, 0).fill(2, 0, 2)), 'BAD_LENGTH');
    expect([maskLength(0), maskLength(0xffffffff), maskLength(0xfffffc00), maskLength(0xff00ff00)]).toEqual([0, 32, 22, -1]);
  });
});
