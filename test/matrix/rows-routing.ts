// Rows: virtual routers (a static route and RIP) and a virtual firewall,
// each the guests' gateway as the console compiles it.
import { expect } from 'vitest';
import { waitFor } from '../managed-agent.ts';
import { iperf } from '../overlay-fixture.ts';
import { GUEST_IFNAME, MatrixFarm, type Guest } from './farm.ts';
import { row } from './row.ts';
import { neighbourMac, ping, reaches, tcpConnect, tcpdumpLines } from './traffic.ts';
import type { MatrixWorld } from './world.ts';

export function routingRows(world: () => MatrixWorld) {
  const routers = () =>
    row('routers: static routes and RIP', async (note) => {
      const w = world();
      const { h, api } = w;
      const f = await MatrixFarm.create(w, 'routed');
      const ra = await f.vnet('ra', '10.60.1.0/24');
      const rb = await f.vnet('rb', '10.60.2.0/24');
      const rc = await f.vnet('rc', '10.60.3.0/24');
      // r1 (h1) joins ra and rb, r2 (h2) joins rb and rc; RIP runs between them on rb.
      const { router: r1 } = await f.edit((rev) =>
        api.router.create.mutate({
          farmId: f.id, expectedRevision: rev, name: 'r1', hostId: w.hosts.h1.id,
          interfaces: [{ vnetId: ra.id, ip: '10.60.1.1' }, { vnetId: rb.id, ip: '10.60.2.1', rip: true }],
        }),
      );
      const { router: r2 } = await f.edit((rev) =>
        api.router.create.mutate({
          farmId: f.id, expectedRevision: rev, name: 'r2', hostId: w.hosts.h2.id,
          interfaces: [{ vnetId: rb.id, ip: '10.60.2.2', rip: true }, { vnetId: rc.id, ip: '10.60.3.1' }],
        }),
      );
      // r3 (h3) serves rd and is linked to r2 point to point (router.link: a vnet of its own between the hosts), RIP on the link.
      const rd = await f.vnet('rd', '10.60.4.0/24');
      const { router: r3 } = await f.edit((rev) =>
        api.router.create.mutate({ farmId: f.id, expectedRevision: rev, name: 'r3', hostId: w.hosts.h3.id, interfaces: [{ vnetId: rd.id, ip: '10.60.4.1' }] }),
      );
      await f.edit((rev) => api.router.link.mutate({ expectedRevision: rev, routerAId: r2.id, routerBId: r3.id, rip: true }));
      // r1 reaches rc by a static route; r2 has none back to ra: only RIP can teach it.
      await f.edit((rev) => api.router.addStaticRoute.mutate({ routerId: r1.id, expectedRevision: rev, destination: '10.60.3.0/24', nextHop: '10.60.2.2' }));
      const vms = [
        await f.vm('x1', 'h3', ra, '10.60.1.10'), await f.vm('x2', 'h3', rb, '10.60.2.10'), await f.vm('x3', 'h3', rc, '10.60.3.10'), await f.vm('x4', 'h1', rd, '10.60.4.10'),
      ];
      // An emulated guest: the agent runs it with the gateway the console compiles into its VIF.
      await f.vm('e4', 'h2', rc, '10.60.3.20', { guestKind: 'emulated' });
      await f.deploy();
      const deployed = Date.now();
      const [x1, x2, x3, x4] = (await Promise.all([
        f.boot(vms[0]!, { gateway: '10.60.1.1' }), f.boot(vms[1]!, { gateway: '10.60.2.1' }), f.boot(vms[2]!, { gateway: '10.60.3.1' }), f.boot(vms[3]!, { gateway: '10.60.4.1' }),
      ])) as [Guest, Guest, Guest, Guest];

      expect(await reaches(h, x1, x2.ip), w.agentLogs()).toBe(true);
      const oneRouter = await ping(h, x1, x2.ip, 10);
      let learnt: { destination: string; nextHop: string | null; metric: number; source: string } | undefined;
      await waitFor(async () => {
        learnt = (await api.router.fib.query({ id: r2.id })).routes.find((r) => r.destination === '10.60.1.0/24');
        return learnt?.source === 'rip';
      }, 'r2 to learn 10.60.1.0/24 by RIP', 40_000, 500);
      const learntAfterS = (Date.now() - deployed) / 1000;
      const staticRoute = (await api.router.fib.query({ id: r1.id })).routes.find((r) => r.destination === '10.60.3.0/24');
      let overLink: typeof learnt;
      await waitFor(async () => {
        overLink = (await api.router.fib.query({ id: r1.id })).routes.find((r) => r.destination === '10.60.4.0/24');
        return overLink?.source === 'rip';
      }, 'r1 to learn 10.60.4.0/24 by RIP through r2', 40_000, 500);
      expect(await reaches(h, x1, x4.ip)).toBe(true);
      const threeRouters = await ping(h, x1, x4.ip, 10);
      expect(await reaches(h, x1, x3.ip)).toBe(true);
      const twoRouters = await ping(h, x1, x3.ip, 10);
      const emulated = await ping(h, x1, '10.60.3.20', 10);
      // And it reaches another subnet by itself only through that gateway (its probe, on h2's admin address).
      const e4 = (await api.host.report.query({ id: w.hosts.h2.id })).report?.vifs?.find((v) => v.ip.startsWith('10.60.3.20/'));
      const probe = await w.hosts.h2.agent.adminPost<{ sent: number; received: number }>(`/v1/vifs/${encodeURIComponent(e4!.id)}/ping`, { target: x1.ip, count: 5, intervalMs: 100 });
      const hops = await h.exec(x1.ns, 'traceroute', ['-n', '-q', '1', '-w', '1', x3.ip]);
      note(
        `routers: x1 → x2 through r1 ${oneRouter.received}/${oneRouter.sent}; r2 learnt 10.60.1.0/24 by RIP ` +
          `(via ${learnt?.nextHop}, metric ${learnt?.metric}, ${learntAfterS.toFixed(1)} s after the deploy returned); ` +
          `x1 → x3 over r1's ${staticRoute?.source} route and back over that RIP route ${twoRouters.received}/${twoRouters.sent}, ` +
          `→ an emulated guest there ${emulated.received}/${emulated.sent}, which pings x1 through its console-given gateway ${probe.received}/${probe.sent}; ` +
          `over r2's RIP link to r3 on h3 (router.link), r1 learnt 10.60.4.0/24 (metric ${overLink?.metric}) and x1 → x4 ${threeRouters.received}/${threeRouters.sent}` +
          (hops.code === 0 ? `; traceroute hops ${[...hops.stdout.matchAll(/^\s*\d+\s+(\S+)/gm)].map((m) => m[1]).join(' → ')}` : ''),
      );
      expect(oneRouter.received).toBe(10);
      expect(learnt).toMatchObject({ source: 'rip', nextHop: '10.60.2.1' });
      expect(staticRoute).toMatchObject({ source: 'static', nextHop: '10.60.2.2' });
      expect(twoRouters.received).toBe(10);
      expect(emulated.received).toBe(10);
      expect(probe).toMatchObject({ sent: 5, received: 5 });
      expect(overLink).toMatchObject({ source: 'rip', nextHop: '10.60.2.2', metric: 3 });
      expect(threeRouters.received).toBe(10);
    });

  const firewall = () =>
    row('firewall', async (note) => {
      const w = world();
      const { h, api } = w;
      const f = await MatrixFarm.create(w, 'guarded');
      const outside = await f.vnet('outside', '10.61.1.0/24');
      const inside = await f.vnet('inside', '10.61.2.0/24');
      // Default deny; one rule lets TCP port 5201 in from outside.
      const { firewall } = await f.edit((rev) =>
        api.firewall.create.mutate({
          farmId: f.id, expectedRevision: rev, name: 'fw', hostId: w.hosts.h2.id, defaultPolicy: 'deny',
          interfaces: [{ name: 'outside', vnetId: outside.id, ip: '10.61.1.1' }, { name: 'inside', vnetId: inside.id, ip: '10.61.2.1' }],
          rules: [{ action: 'allow', protocol: 'tcp', destination: '10.61.2.0/24', portFrom: 5201, interface: 'outside', description: 'iperf3' }],
        }),
      );
      const vms = [await f.vm('o1', 'h1', outside, '10.61.1.10'), await f.vm('i1', 'h3', inside, '10.61.2.10')];
      await f.deploy();
      const [o1, i1] = (await Promise.all([f.boot(vms[0]!, { gateway: '10.61.1.1' }), f.boot(vms[1]!, { gateway: '10.61.2.1' })])) as [Guest, Guest];
      // The guests reach the firewall's interfaces (their gateways): ARP, which no rule filters.
      for (const g of [o1, i1]) {
        const gw = g === o1 ? '10.61.1.1' : '10.61.2.1';
        await waitFor(async () => {
          await h.exec(g.ns, 'ping', ['-n', '-c', '1', '-W', '0.3', gw]);
          return (await neighbourMac(h, g, gw)) !== null;
        }, `${g.name} to resolve its gateway ${gw}`, 15_000, 100);
      }

      const allowed = await iperf(h, { ns: i1.ns, ip: i1.ip }, o1.ns, 2, 5201);
      const listener = h.spawn(i1.ns, 'iperf3', ['-s', '-1', '-B', i1.ip, '-p', '5202']);
      let denied = { ping: { sent: 0, received: 0 }, tcp: '' };
      const arrived = await tcpdumpLines(h, i1.ns, GUEST_IFNAME, ['icmp', 'or', 'tcp', 'port', '5202'], async () => {
        denied = { ping: await ping(h, o1, i1.ip, 5, 0.1), tcp: await tcpConnect(h, o1.ns, i1.ip, 5202) };
      });
      await h.kill(listener);
      const view = (await api.firewall.inspect.query({ id: firewall.id })).view;
      note(
        `firewall: allowed flow (tcp/5201 outside → inside) passes, iperf3 ${allowed.mbps.toFixed(1)} Mbit/s; denied flows: ping ${denied.ping.received}/${denied.ping.sent}, ` +
          `tcp/5202 ${denied.tcp} (with a listener there), ${arrived.length} of their packets reached the inside guest; ` +
          `firewall.inspect: rule 0 hit ${view.rules[0]?.hits} times, the default policy ${view.defaultHits}`,
      );
      expect(allowed.mbps).toBeGreaterThan(1);
      expect(denied.ping.received).toBe(0);
      expect(denied.tcp).toBe('timed out');
      expect(arrived).toEqual([]);
      expect(view.rules[0]?.hits).toBeGreaterThanOrEqual(1);
      expect(view.defaultHits).toBeGreaterThanOrEqual(2);
    });
  return { routers, firewall };
}
