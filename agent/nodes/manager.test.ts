import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { NodeManager, type NodeAttachment } from './manager.ts';
import { TestLan, emulatedHost } from '../ipnode/testing.ts';

const managers: NodeManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.stop();
});

function harness() {
  const lan = new TestLan();
  const announced = new Map<string, number>();
  const ports = new Map<string, { vnet: number; mac: number }>();
  const attachment: NodeAttachment = {
    addPort: (p) => {
      if (ports.has(p.id)) throw new Error(`port ${p.id} already exists`);
      lan.plug(p.vnet, p.mac, p.guest);
      ports.set(p.id, p);
    },
    removePort: (id) => {
      const p = ports.get(id);
      if (p) lan.unplug(p.vnet, p.mac);
      ports.delete(id);
    },
    announce: (vnet, mac, ip) => void announced.set(`${vnet}/${mac}`, ip),
    withdraw: (vnet, mac) => void announced.delete(`${vnet}/${mac}`),
  };
  const m = new NodeManager({ counters: new Counters(), logger: silentLogger, attachment });
  managers.push(m);
  return { m, lan, announced, ports };
}

const r1 = {
  id: 'farm/r1',
  interfaces: [
    { vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.1/24' },
    { vnet: 20, mac: '02:00:00:00:01:02', ip: '10.20.0.1/24' },
  ],
  staticRoutes: [],
  links: [{ peer: 'farm/r2', local: '169.254.0.1/30', remote: '169.254.0.2', rip: false, vnet: 4000, peerHost: 'h2' }],
};
const r2 = {
  id: 'farm/r2',
  interfaces: [{ vnet: 30, mac: '02:00:00:00:02:01', ip: '10.30.0.1/24' }],
  staticRoutes: [{ destination: '10.10.0.0/24', nextHop: '169.254.0.1', metric: 1 }],
  links: [{ peer: 'farm/r1', local: '169.254.0.2/30', remote: '169.254.0.1', rip: false, vnet: 4000, peerHost: 'h1' }],
};
const fw = {
  id: 'farm/fw',
  defaultPolicy: 'allow',
  interfaces: [{ name: 'in', vnet: 50, mac: '02:00:00:00:05:01', ip: '10.50.0.1/24' }],
  rules: [],
};

describe('NodeManager', () => {
  it('adds, changes and removes routers and firewalls, attaching and announcing their ports', async () => {
    const { m, lan, announced, ports } = harness();
    const res = m.apply({ vnets: [{ id: 10 }, { id: 20, mtu: 1200 }], routers: [r1], firewalls: [fw] });
    expect(res).toEqual({ added: ['farm/r1', 'farm/fw'], removed: [], changed: [], errors: [] });
    // Peer not here: the link is a port on vnet 4000.
    expect([...ports.keys()].sort()).toEqual(['firewall:farm/fw/in', 'router:farm/r1/link:farm/r2', 'router:farm/r1/vnet10', 'router:farm/r1/vnet20']);
    expect(announced.size).toBe(4);
    expect(m.router('farm/r1')!.view().interfaces.find((i) => i.name === 'vnet20')?.mtu).toBe(1200);

    // An unchanged apply is a no-op; the router keeps learned state.
    const a = emulatedHost(lan, 10, 'a', 0x02_00_00_00_0a_0a, '10.10.0.10/24', '10.10.0.1');
    expect((await a.ping('10.10.0.1', { timeoutMs: 500 })).received).toBe(1);
    expect(m.apply({ vnets: [{ id: 10 }, { id: 20, mtu: 1200 }], routers: [r1], firewalls: [fw] })).toEqual({ added: [], removed: [], changed: [], errors: [] });
    expect(m.router('farm/r1')!.view().arp).toHaveLength(1);

    // r2 arrives on this host: the link becomes an in-process channel on both sides.
    const res2 = m.apply({ vnets: [{ id: 10 }, { id: 20, mtu: 1200 }], routers: [r1, r2], firewalls: [] });
    expect(res2).toMatchObject({ added: ['farm/r2'], removed: ['farm/fw'], changed: [] });
    expect(ports.has('router:farm/r1/link:farm/r2')).toBe(false);
    expect(m.router('farm/r1')!.view().interfaces.find((i) => i.name === 'link:farm/r2')).toMatchObject({ kind: 'channel', up: true });
    expect((await a.ping('169.254.0.2', { timeoutMs: 500 })).received).toBe(1);
    expect(m.links.channelPackets).toBe(2);
    expect(announced.has(`50/${0x02_00_00_00_05_01}`)).toBe(false);
  });

  it('reports a bad entry by field and still applies the rest', () => {
    const { m } = harness();
    const res = m.apply({
      routers: [{ ...r1, interfaces: [{ vnet: 10, mac: 'zz', ip: '10.10.0.1/24' }] }, r2, { ...r2 }],
      firewalls: { not: 'an array' },
    });
    expect(res.errors).toEqual([
      { field: 'routers[0].interfaces[0].mac', message: 'must be a MAC address aa:bb:cc:dd:ee:ff' },
      { field: 'routers[2].id', message: 'duplicate id "farm/r2"' },
      { field: 'firewalls', message: 'must be an array' },
    ]);
    expect(res.added).toEqual(['farm/r2']);
  });

  it('reports an interface that cannot attach (a MAC already in use on the vnet)', () => {
    const { m } = harness();
    const clash = { ...fw, interfaces: [{ name: 'in', vnet: 10, mac: '02:00:00:00:01:01', ip: '10.10.0.2/24' }] };
    const res = m.apply({ routers: [r1], firewalls: [clash] });
    expect(res.errors).toEqual([{ field: 'firewalls[0]', message: expect.stringMatching(/^interface in: MAC already bound on vnet 10/) }]);
  });
});
