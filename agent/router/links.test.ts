import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { LinkRegistry, linkMac } from './links.ts';
import { VirtualRouter } from './router.ts';
import { routerSchema, type RouterSpecInput } from '../../contract/router.ts';
import { TestLan, emulatedHost } from '../ipnode/testing.ts';
import { isGroupMac, isLocalMac } from '../wire/index.ts';

const running: VirtualRouter[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.stop();
});

function specs(linkVnet: number | null): [RouterSpecInput, RouterSpecInput] {
  return [
    {
      id: 'farm/r1',
      interfaces: [{ vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.1/24' }],
      staticRoutes: [{ destination: '10.20.0.0/24', nextHop: '169.254.0.2' }],
      links: [{ peer: 'farm/r2', local: '169.254.0.1/30', remote: '169.254.0.2', vnet: linkVnet }],
    },
    {
      id: 'farm/r2',
      interfaces: [{ vnet: 20, mac: '02:00:00:00:02:01', ip: '10.20.0.1/24' }],
      staticRoutes: [{ destination: '10.10.0.0/24', nextHop: '169.254.0.1' }],
      links: [{ peer: 'farm/r1', local: '169.254.0.2/30', remote: '169.254.0.1', vnet: linkVnet }],
    },
  ];
}

function build(lan: TestLan, registry: LinkRegistry, counters: Counters, list: RouterSpecInput[]): VirtualRouter[] {
  return list.map((s) => {
    const r = new VirtualRouter(routerSchema.parse(s), { counters, logger: silentLogger, links: registry, ports: lan });
    running.push(r);
    r.start();
    return r;
  });
}

describe('inter-router links', () => {
  it('co-located routers use the in-process channel: no Ethernet frame on the link', async () => {
    const counters = new Counters();
    const registry = new LinkRegistry(counters);
    const lan = new TestLan();
    const [s1, s2] = specs(null);
    registry.setLocalRouters(['farm/r1', 'farm/r2']);
    const [r1, r2] = build(lan, registry, counters, [s1, s2]);
    const a = emulatedHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    emulatedHost(lan, 20, 'b', 0x02_00_00_00_14_0a, '10.20.0.10/24', '10.20.0.1');
    const framesBefore = lan.frames;
    expect((await a.ping('10.20.0.10', { count: 5, intervalMs: 1, timeoutMs: 500 })).received).toBe(5);
    expect(registry.channelPackets).toBe(10); // 5 requests one way, 5 replies back
    // Only the two access vnets carried frames: ARP + 5×2 on each side, nothing for the link.
    expect(lan.frames - framesBefore).toBeLessThanOrEqual(2 * (10 + 4));
    expect(r1!.view().interfaces.find((i) => i.name === 'link:farm/r2')).toMatchObject({ kind: 'channel', up: true, vnet: null });
    // The peer's interface answers ping on its link address, through the channel.
    expect((await a.ping('169.254.0.2', { timeoutMs: 500 })).received).toBe(1);

    // The peer goes away: the channel is down, packets are dropped and counted.
    r2!.stop();
    expect((await a.ping('10.20.0.10', { timeoutMs: 100 })).received).toBe(0);
    expect(r1!.view().counters['dropped_packets_total{reason="link_down"}']).toBe(1);
    expect(r1!.view().interfaces.find((i) => i.name === 'link:farm/r2')?.up).toBe(false);
  });

  it('the same link across hosts becomes a port on its point-to-point vnet, and the channel is not used', async () => {
    const counters = new Counters();
    const lan = new TestLan();
    const [s1, s2] = specs(4_000_000_000);
    // Two registries: as if r1 and r2 lived in two agents sharing the link vnet.
    const reg1 = new LinkRegistry(counters);
    const reg2 = new LinkRegistry(new Counters());
    reg1.setLocalRouters(['farm/r1']);
    reg2.setLocalRouters(['farm/r2']);
    const [r1] = build(lan, reg1, counters, [s1]);
    build(lan, reg2, counters, [s2]);
    const a = emulatedHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    emulatedHost(lan, 20, 'b', 0x02_00_00_00_14_0a, '10.20.0.10/24', '10.20.0.1');
    expect((await a.ping('10.20.0.10', { count: 3, intervalMs: 1, timeoutMs: 500 })).received).toBe(3);
    expect(reg1.channelPackets).toBe(0);
    const link = r1!.view().interfaces.find((i) => i.name === 'link:farm/r2')!;
    expect(link).toMatchObject({ kind: 'vnet', vnet: 4_000_000_000, ip: '169.254.0.1/30' });
    expect(r1!.view().arp).toEqual(expect.arrayContaining([expect.objectContaining({ iface: 'link:farm/r2', ip: '169.254.0.2', state: 'REACHABLE' })]));
  });

  it('re-plans a link when the peer arrives on or leaves the host', async () => {
    const counters = new Counters();
    const registry = new LinkRegistry(counters);
    const lan = new TestLan();
    const [s1, s2] = specs(4_000_000_001);
    registry.setLocalRouters(['farm/r1']);
    const [r1] = build(lan, registry, counters, [s1]);
    expect(r1!.view().interfaces.find((i) => i.name === 'link:farm/r2')?.kind).toBe('vnet');
    registry.setLocalRouters(['farm/r1', 'farm/r2']);
    r1!.relink();
    build(lan, registry, counters, [s2]);
    expect(r1!.view().interfaces.find((i) => i.name === 'link:farm/r2')?.kind).toBe('channel');
    const a = emulatedHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    emulatedHost(lan, 20, 'b', 0x02_00_00_00_14_0a, '10.20.0.10/24', '10.20.0.1');
    expect((await a.ping('10.20.0.10', { timeoutMs: 500 })).received).toBe(1);
    expect(registry.channelPackets).toBe(2);
  });

  it('a link with no vnet to a router on another host is down and says why', () => {
    const counters = new Counters();
    const registry = new LinkRegistry(counters);
    registry.setLocalRouters(['farm/r1']);
    const [r1] = build(new TestLan(), registry, counters, [specs(null)[0]]);
    expect(r1!.interfaceErrors()).toEqual([{ iface: 'link:farm/r2', error: expect.stringMatching(/not on this host/) }]);
  });

  it('derives stable, locally administered unicast MACs for link ports', () => {
    const m = linkMac('farm/r1', 'farm/r2');
    expect(m).toBe(linkMac('farm/r1', 'farm/r2'));
    expect(m).not.toBe(linkMac('farm/r2', 'farm/r1'));
    expect(isLocalMac(m) && !isGroupMac(m)).toBe(true);
  });
});
