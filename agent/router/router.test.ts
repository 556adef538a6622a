import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_TIME_EXCEEDED,
  ICMP_UNREACH_HOST,
  ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_NET,
  IPV4_FLAG_DF,
  decodeIpv4,
  decodeUdp,
  ipToString,
  parseIp,
} from '../wire/index.ts';
import { VirtualRouter } from './router.ts';
import { routerSchema, type RouterSpecInput } from '../../contract/router.ts';
import { TestLan, emulatedHost, rawHost } from '../ipnode/testing.ts';
import { LinkRegistry } from './links.ts';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';

const routers: VirtualRouter[] = [];
afterEach(() => {
  for (const r of routers.splice(0)) r.stop();
  vi.useRealTimers();
});

function testDeps(lan: TestLan, counters = new Counters()) {
  return { counters, logger: silentLogger, links: new LinkRegistry(counters), ports: lan };
}

function router(lan: TestLan, spec: RouterSpecInput, deps = testDeps(lan)): VirtualRouter {
  const r = new VirtualRouter(routerSchema.parse(spec), deps);
  routers.push(r);
  r.start();
  return r;
}

/** Router r1 between vnet 10 (10.10.0.0/24) and vnet 20 (10.20.0.0/24). */
function twoNets(lan = new TestLan()) {
  const r1 = router(lan, {
    id: 'farm/r1',
    interfaces: [
      { vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.1/24' },
      { vnet: 20, mac: '02:00:00:00:01:02', ip: '10.20.0.1/24' },
    ],
  });
  return { lan, r1 };
}

describe('VirtualRouter forwarding', () => {
  it('forwards between vnets: emulated guests ping each other through it, and it answers ping on its own addresses', async () => {
    const { lan, r1 } = twoNets();
    const a = emulatedHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    emulatedHost(lan, 20, 'b', 0x02_00_00_00_14_0a, '10.20.0.10/24', '10.20.0.1');
    const res = await a.ping('10.20.0.10', { count: 3, intervalMs: 1, timeoutMs: 500 });
    expect(res.received).toBe(3);
    expect((await a.ping('10.10.0.1', { timeoutMs: 500 })).received).toBe(1);
    expect((await a.ping('10.20.0.1', { timeoutMs: 500 })).received).toBe(1); // the far interface's address
    const v = r1.view();
    expect(v.counters['forwarded_packets_total']).toBe(6); // 3 requests + 3 replies
    expect(v.counters['icmp_echo_replies_total']).toBe(2);
    expect(v.arp.map((e) => [e.iface, e.ip, e.state])).toEqual([
      ['vnet10', '10.10.0.10', 'REACHABLE'],
      ['vnet20', '10.20.0.10', 'REACHABLE'],
    ]);
    expect(v.routes.map((r) => r.text)).toEqual(['10.10.0.0/24 dev vnet10 [connected/0]', '10.20.0.0/24 dev vnet20 [connected/0]']);
  });

  it('decrements the TTL with a valid checksum, and answers TTL 1 with time exceeded from the ingress address', () => {
    const { lan, r1 } = twoNets();
    const a = rawHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    const b = rawHost(lan, 20, 'b', 0x02_00_00_00_14_0a, '10.20.0.10/24', '10.20.0.1');
    a.udp('10.20.0.10', 9, Buffer.from('ttl two'), { ttl: 2 });
    expect(b.received).toHaveLength(1);
    expect(b.received[0]!.ttl).toBe(1); // decodeIpv4 verified the updated checksum
    expect(decodeUdp(b.received[0]!.payload, b.received[0]!).payload.toString()).toBe('ttl two');

    a.udp('10.20.0.10', 9, Buffer.from('ttl one'), { ttl: 1 });
    expect(b.received).toHaveLength(1);
    const [err] = a.icmp();
    expect(err!.src).toBe(parseIp('10.10.0.1'));
    expect(err!.msg.type).toBe(ICMP_TIME_EXCEEDED);
    const quoted = decodeIpv4(err!.msg.payload);
    expect(ipToString(quoted.dst)).toBe('10.20.0.10');
    expect(quoted.ttl).toBe(1); // the header as it arrived
    expect(r1.view().counters['dropped_packets_total{reason="ttl_exceeded"}']).toBe(1);
  });

  it('answers net unreachable without a route and host unreachable when ARP fails, and bounds the ARP queue', () => {
    vi.useFakeTimers();
    const lan = new TestLan();
    const r1 = router(lan, {
      id: 'farm/r1',
      interfaces: [
        { vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.1/24' },
        { vnet: 20, mac: '02:00:00:00:01:02', ip: '10.20.0.1/24' },
      ],
    });
    const a = rawHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    a.udp('192.0.2.1', 9, Buffer.from('x'));
    expect(a.icmp().map((m) => [m.msg.type, m.msg.code])).toEqual([[ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NET]]);

    for (let i = 0; i < 12; i++) a.udp('10.20.0.99', 9, Buffer.from(`p${i}`)); // nobody there
    const far = () => r1.view().arp.filter((e) => e.iface === 'vnet20');
    expect(far()).toEqual([expect.objectContaining({ ip: '10.20.0.99', state: 'INCOMPLETE', queued: 8 })]);
    expect(r1.view().counters['dropped_packets_total{reason="arp_queue_full"}']).toBe(4);
    expect(a.icmp()).toHaveLength(1);
    vi.advanceTimersByTime(3_000); // three requests, one second apart, then FAILED
    const unreach = a.icmp().slice(1);
    expect(unreach).toHaveLength(8);
    expect(unreach.every((m) => m.msg.type === ICMP_DEST_UNREACHABLE && m.msg.code === ICMP_UNREACH_HOST)).toBe(true);
    expect(r1.view().counters['arp_requests_sent_total']).toBe(3);
    // While FAILED, new packets fail at once, without new requests.
    a.udp('10.20.0.99', 9, Buffer.from('again'));
    expect(a.icmp()).toHaveLength(10);
    expect(r1.view().counters['arp_requests_sent_total']).toBe(3);
    vi.advanceTimersByTime(3_000);
    expect(far()).toEqual([]);
  });

  it('rate-limits ICMP errors with a token bucket', () => {
    const lan = new TestLan();
    const r1 = router(lan, { id: 'r', interfaces: [{ vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.1/24' }] }, { ...testDeps(lan), icmpRate: 10, icmpBurst: 5 } as never);
    const a = rawHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    for (let i = 0; i < 50; i++) a.udp('192.0.2.1', 9, Buffer.from('x'));
    expect(a.icmp().length).toBeGreaterThanOrEqual(5);
    expect(a.icmp().length).toBeLessThan(10);
    expect(r1.view().counters['icmp_rate_limited_total']).toBe(50 - a.icmp().length);
    expect(r1.view().counters['dropped_packets_total{reason="no_route"}']).toBe(50);
  });

  it('fragments to a smaller egress MTU, or answers fragmentation needed when DF is set', () => {
    const lan = new TestLan();
    lan.mtus.set(20, 576);
    twoNets(lan);
    const a = rawHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    const b = rawHost(lan, 20, 'b', 0x02_00_00_00_14_0a, '10.20.0.10/24', '10.20.0.1');
    const data = Buffer.alloc(1000, 7);
    a.udp('10.20.0.10', 9, data, { id: 4242 });
    expect(b.received.map((p) => [p.totalLength <= 576, p.id, p.fragmentOffset, p.flags & 1])).toEqual([
      [true, 4242, 0, 1],
      [true, 4242, 69, 0],
    ]);
    const joined = Buffer.concat(b.received.map((p) => p.payload));
    expect(joined.length).toBe(1008);
    expect(joined.subarray(8).equals(data)).toBe(true);

    a.udp('10.20.0.10', 9, data, { flags: IPV4_FLAG_DF });
    const [needFrag] = a.icmp();
    expect([needFrag!.msg.type, needFrag!.msg.code]).toEqual([ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NEEDFRAG]);
    expect(needFrag!.msg.type === ICMP_DEST_UNREACHABLE && needFrag!.msg.nextHopMtu).toBe(576);
  });

  it('follows static routes over a transit vnet', async () => {
    const lan = new TestLan();
    router(lan, {
      id: 'r1',
      interfaces: [
        { vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.1/24' },
        { vnet: 99, mac: '02:00:00:00:01:99', ip: '10.99.0.1/24' },
      ],
      staticRoutes: [{ destination: '10.20.0.0/16', nextHop: '10.99.0.2', metric: 1 }],
    });
    const r2 = router(lan, {
      id: 'r2',
      interfaces: [
        { vnet: 20, mac: '02:00:00:00:02:01', ip: '10.20.0.1/24' },
        { vnet: 99, mac: '02:00:00:00:02:99', ip: '10.99.0.2/24' },
      ],
      staticRoutes: [
        { destination: '10.10.0.0/24', nextHop: '10.99.0.1' },
        { destination: '172.16.0.0/12', nextHop: '10.77.0.1' }, // next hop on no connected prefix
      ],
    });
    const a = emulatedHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    emulatedHost(lan, 20, 'b', 0x02_00_00_00_14_0a, '10.20.0.10/24', '10.20.0.1');
    expect((await a.ping('10.20.0.10', { timeoutMs: 500 })).received).toBe(1);
    expect(r2.view().unresolvedStaticRoutes).toEqual(['172.16.0.0/12 via 10.77.0.1']);
    expect(r2.view().routes.find((r) => r.source === 'static')?.text).toBe('10.10.0.0/24 via 10.99.0.1 dev vnet99 [static/1]');
  });

  it('updates in place: an added interface routes at once, a removed one takes its routes with it', async () => {
    const lan = new TestLan();
    const spec = { id: 'r1', interfaces: [{ vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.1/24' }] };
    const r1 = router(lan, spec);
    const a = emulatedHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    emulatedHost(lan, 30, 'c', 0x02_00_00_00_1e_0a, '10.30.0.10/24', '10.30.0.1');
    expect((await a.ping('10.30.0.10', { timeoutMs: 200 })).received).toBe(0);
    r1.update(routerSchema.parse({ ...spec, interfaces: [...spec.interfaces, { vnet: 30, mac: '02:00:00:00:01:30', ip: '10.30.0.1/24' }] }));
    expect((await a.ping('10.30.0.10', { timeoutMs: 500 })).received).toBe(1);
    expect(r1.view().arp.map((e) => e.ip)).toContain('10.10.0.10'); // the unchanged interface kept its cache
    r1.update(routerSchema.parse(spec));
    expect(r1.view().routes.map((r) => r.destination)).toEqual(['10.10.0.0/24']);
    expect((await a.ping('10.30.0.10', { timeoutMs: 200 })).received).toBe(0);
  });

  it('counts malformed and stray traffic without throwing', () => {
    const { lan, r1 } = twoNets();
    const a = rawHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    a.resolve(parseIp('10.20.0.10'));
    const port = r1.ports().find((p) => p.vnet === 10)!;
    const header = Buffer.from('020000000101020000000a0a0800', 'hex');
    for (let i = 0; i < 500; i++) {
      const body = Buffer.alloc(Math.floor(Math.random() * 80));
      for (let j = 0; j < body.length; j++) body[j] = Math.floor(Math.random() * 256);
      if (body.length > 0) body[0] = 0x45;
      expect(() => port.deliver(Buffer.concat([header, body]))).not.toThrow();
    }
    expect(() => port.deliver(Buffer.alloc(5))).not.toThrow();
    expect(r1.view().counters['dropped_packets_total{reason="malformed"}']).toBeGreaterThan(400);
  });
});

describe('router spec', () => {
  it('names the offending field', () => {
    const r = routerSchema.safeParse({ id: 'r', interfaces: [{ vnet: 1, mac: '01:00:00:00:00:01', ip: '10.0.0.0/24' }], links: [{ peer: 'x', local: '10.9.0.1/30', remote: '10.8.0.2' }] });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'interfaces.0.vnet: vnet ids 0 and 1 are reserved',
        'interfaces.0.mac: must be a unicast, nonzero MAC address',
        'interfaces.0.ip: must be a host address of its prefix, not the network or broadcast address',
      ]),
    );
    // Refinements across fields run once the fields themselves are valid.
    const r2 = routerSchema.safeParse({ id: 'r', links: [{ peer: 'x', local: '10.9.0.1/30', remote: '10.8.0.2' }] });
    expect(r2.error!.issues.map((i) => i.path.join('.'))).toEqual(['links.0.remote']);
  });
});
