// Rows: plain vnets and their isolation, port security, bandwidth limits and
// a vnet bridged to a VLAN on a host interface.
import { expect } from 'vitest';
import { metricSum } from '../netns/agents.ts';
import { addVlanLan, iperf } from '../overlay-fixture.ts';
import { GUEST_IFNAME, MatrixFarm, type Guest } from './farm.ts';
import { row } from './row.ts';
import { neighbourMac, ping, reaches, tcpdumpLines } from './traffic.ts';
import type { MatrixWorld } from './world.ts';

const portSecurityDrops = (reason: string) => `softudc_switch_port_security_drops_total{reason="${reason}"}`;

export function basicRows(world: () => MatrixWorld) {
  const plain = () =>
    row('plain vnets', async (note) => {
      const w = world();
      const { h } = w;
      const a = await MatrixFarm.create(w, 'plain-a');
      const b = await MatrixFarm.create(w, 'plain-b');
      // Two vnets of two farms with the same prefix and the same addresses.
      const va = await a.vnet('lan', '10.50.0.0/24');
      const vb = await b.vnet('lan', '10.50.0.0/24');
      const vms = [
        await a.vm('a1', 'h1', va, '10.50.0.11'),
        await a.vm('a2', 'h2', va, '10.50.0.12'),
        await a.vm('a3', 'h2', va, '10.50.0.13'),
        await b.vm('b1', 'h1', vb, '10.50.0.11'),
        await b.vm('b2', 'h2', vb, '10.50.0.12'),
      ];
      await Promise.all([a.deploy(), b.deploy()]);
      const [a1, a2, , b1, b2] = (await Promise.all(vms.map((vm, i) => (i < 3 ? a : b).boot(vm)))) as Guest[];
      expect(await reaches(h, a1!, '10.50.0.12'), w.agentLogs()).toBe(true);
      expect(await reaches(h, b1!, '10.50.0.12')).toBe(true);
      const inA = await ping(h, a1!, '10.50.0.12', 20);
      let inB = { sent: 0, received: 0 };
      let onlyInA = { sent: 0, received: 0 };
      // Whatever vnet B carries, none of it may reach a guest of vnet A.
      const leaked = await tcpdumpLines(h, a2!.ns, GUEST_IFNAME, ['ether', 'src', b1!.mac], async () => {
        inB = await ping(h, b1!, '10.50.0.12', 20);
        onlyInA = await ping(h, b1!, '10.50.0.13', 5, 0.2);
      });
      const answeredBy = { a: await neighbourMac(h, a1!, '10.50.0.12'), b: await neighbourMac(h, b1!, '10.50.0.12') };
      note(
        `plain vnets: ${inA.received}/${inA.sent} pings across hosts on vnet A, ${inB.received}/${inB.sent} on vnet B with the same addresses ` +
          `(each answered by its own vnet's guest: ${answeredBy.a === a2!.mac && answeredBy.b === b2!.mac}); ` +
          `B → an address only on A ${onlyInA.received}/${onlyInA.sent}; ${leaked.length} frames of B seen in A's guest`,
      );
      expect(inA).toEqual({ sent: 20, received: 20 });
      expect(inB).toEqual({ sent: 20, received: 20 });
      expect(answeredBy).toEqual({ a: a2!.mac, b: b2!.mac });
      expect(onlyInA.received).toBe(0);
      expect(leaked).toEqual([]);
    });

  const portSecurity = () =>
    row('port security', async (note) => {
      const w = world();
      const { h } = w;
      const f = await MatrixFarm.create(w, 'portsec');
      const v = await f.vnet('lan', '10.53.0.0/24');
      const vms = [await f.vm('p1', 'h1', v, '10.53.0.1'), await f.vm('p2', 'h2', v, '10.53.0.2'), await f.vm('p3', 'h2', v, '10.53.0.3')];
      await f.deploy();
      const [p1, p2, p3] = (await Promise.all(vms.map((vm) => f.boot(vm)))) as [Guest, Guest, Guest];
      expect(await reaches(h, p1, p2.ip)).toBe(true);
      expect(await reaches(h, p1, p3.ip)).toBe(true);
      const h1 = w.hosts.h1.agent;
      const before = { ip: await h1.counter(portSecurityDrops('ipv4_src')), mac: await h1.counter(portSecurityDrops('src_mac')) };

      // p1 knows p2's MAC for good, so every ping it sends is one frame on its wire, seen by tcpdump there.
      const pinNeighbour = () => h.mustExec(p1.ns, 'ip', ['neigh', 'replace', p2.ip, 'lladdr', p2.mac, 'dev', GUEST_IFNAME, 'nud', 'permanent']);
      await pinNeighbour();
      /** Pings p2 from p1; the frames p1 put on its wire and the ones p2 received, both matching `filter`. */
      const spoof = async (filter: string[], args: string[]) => {
        let r = { sent: 0, received: 0 };
        let sent: string[] = [];
        const arrived = await tcpdumpLines(h, p2.ns, GUEST_IFNAME, filter, async () => {
          sent = await tcpdumpLines(h, p1.ns, GUEST_IFNAME, ['-Q', 'out', ...filter], async () => (r = await ping(h, p1, p2.ip, 5, 0.1, args)));
        });
        return { ...r, frames: sent.length, arrived: arrived.length };
      };

      // p1 sends from p3's address.
      await h.mustExec(p1.ns, 'ip', ['addr', 'add', `${p3.ip}/32`, 'dev', GUEST_IFNAME]);
      const spoofedIp = await spoof(['ip', 'src', p3.ip], ['-I', p3.ip]);
      await h.mustExec(p1.ns, 'ip', ['addr', 'del', `${p3.ip}/32`, 'dev', GUEST_IFNAME]);
      const mid = { ip: await h1.counter(portSecurityDrops('ipv4_src')), mac: await h1.counter(portSecurityDrops('src_mac')) };

      // p1 sends from a MAC that is not its VIF's.
      const forgedMac = '02:5d:ee:ee:ee:01';
      // A new MAC flushes the link's neighbours, the pinned one too.
      const setMac = (mac: string) => h.mustExec(p1.ns, 'ip', ['link', 'set', GUEST_IFNAME, 'address', mac]).then(pinNeighbour);
      await setMac(forgedMac);
      const spoofedMac = await spoof(['ether', 'src', forgedMac], []);
      await setMac(p1.mac);
      const after = { ip: await h1.counter(portSecurityDrops('ipv4_src')), mac: await h1.counter(portSecurityDrops('src_mac')) };
      await h.mustExec(p1.ns, 'ip', ['neigh', 'flush', 'dev', GUEST_IFNAME]);
      const own = await ping(h, p1, p2.ip, 5, 0.1);
      note(
        `port security: p1 sent ${spoofedIp.frames} frames from another guest's address (${p3.ip}) and ${spoofedMac.frames} from a forged MAC: ` +
          `${spoofedIp.arrived + spoofedMac.arrived} reached p2 (${spoofedIp.received + spoofedMac.received} answered); ` +
          `h1 counted ipv4_src +${mid.ip - before.ip}, src_mac +${after.mac - mid.mac}; from its own addresses ${own.received}/${own.sent}`,
      );
      expect(spoofedIp.frames).toBe(5);
      expect(spoofedMac.frames).toBe(5);
      expect(spoofedIp.arrived + spoofedMac.arrived).toBe(0);
      expect(spoofedIp.received + spoofedMac.received).toBe(0);
      expect(mid.ip - before.ip).toBe(spoofedIp.frames);
      expect(after.mac - mid.mac).toBe(spoofedMac.frames);
      expect(own.received).toBe(5);
    });

  const bandwidth = () =>
    row('bandwidth limit', async (note) => {
      const LIMIT = 40;
      const w = world();
      const f = await MatrixFarm.create(w, 'bandwidth');
      const v = await f.vnet('lan', '10.54.0.0/24');
      const vms = [
        await f.vm('bw-limited', 'h1', v, '10.54.0.1', { bandwidthMbps: LIMIT }),
        await f.vm('bw-server', 'h2', v, '10.54.0.2'),
        await f.vm('bw-free', 'h1', v, '10.54.0.3'),
      ];
      await f.deploy();
      const [limited, server, free] = (await Promise.all(vms.map((vm) => f.boot(vm)))) as [Guest, Guest, Guest];
      expect(await reaches(w.h, limited, server.ip)).toBe(true);
      expect(await reaches(w.h, free, server.ip)).toBe(true);
      // UDP at twice the limit, datagrams filling the MTU: what arrives is what the limiter let through.
      const udp = ['-u', '-b', `${2 * LIMIT}M`, '-l', String(v.mtu - 28)];
      const dropped = async () => metricSum(await w.hosts.h1.agent.metrics(), 'softudc_vif_limit_dropped_frames_total');
      const droppedBefore = await dropped();
      const lim = await iperf(w.h, { ns: server.ns, ip: server.ip }, limited.ns, 3, 5401, udp);
      const droppedByLimit = (await dropped()) - droppedBefore;
      const unlimited = await iperf(w.h, { ns: server.ns, ip: server.ip }, free.ns, 3, 5402, udp);
      note(
        `bandwidth limit: VM with bandwidthMbps ${LIMIT}, iperf3 UDP offered ${2 * LIMIT} Mbit/s → ${lim.mbps.toFixed(1)} received ` +
          `(${((lim.mbps / LIMIT - 1) * 100).toFixed(1)} % from the limit), ${droppedByLimit} frames dropped by its limiter; ` +
          `an unlimited VM beside it: ${unlimited.mbps.toFixed(1)} Mbit/s`,
      );
      // iperf3 counts UDP payload, 2 % less than the IP bytes the limit counts.
      expect(lim.mbps).toBeLessThanOrEqual(LIMIT * 1.05);
      expect(lim.mbps).toBeGreaterThanOrEqual(LIMIT * 0.85);
      expect(droppedByLimit).toBeGreaterThan(0);
      expect(unlimited.mbps).toBeGreaterThan(LIMIT * 1.5);
    });

  const vlan = () =>
    row('VLAN bridge', async (note) => {
      const w = world();
      const { h } = w;
      const f = await MatrixFarm.create(w, 'vlan');
      const v = await f.vnet('lan', '10.55.0.0/24');
      // Host h1's LAN port lan0: VLAN 300 carries a machine of the vnet's subnet, VLAN 301 another.
      const lan = await addVlanLan(h, w.hosts.h1.ns, 'lan0', 'mvl', { 300: '10.55.0.100/24', 301: '10.55.0.101/24' });
      const onVlan = lan.machines[300]!;
      await f.edit((rev) => w.api.vnet.setVlan.mutate({ id: v.id, expectedRevision: rev, hostId: w.hosts.h1.id, interface: 'lan0', vid: 300 }));
      const vm = await f.vm('vl2', 'h2', v, '10.55.0.2');
      await f.deploy();
      const g = await f.boot(vm);
      expect(await reaches(h, onVlan, g.ip), w.agentLogs()).toBe(true);
      let toGuest = { sent: 0, received: 0 };
      const tagged = await tcpdumpLines(h, lan.lan, 'eth0', ['vlan'], async () => {
        toGuest = await ping(h, onVlan, g.ip, 10);
      });
      const fromGuest = await ping(h, g, '10.55.0.100', 10);
      const otherVlan = await ping(h, g, '10.55.0.101', 3, 0.2);
      note(
        `VLAN bridge: vnet.setVlan on h1 lan0 VID 300; a namespace on VLAN 300 → the guest on h2 ${toGuest.received}/${toGuest.sent}, ` +
          `the guest → it ${fromGuest.received}/${fromGuest.sent}, ${tagged.filter((l) => /vlan 300/.test(l)).length} frames tagged 300 on the link; ` +
          `a machine of the same subnet on VLAN 301 ${otherVlan.received}/${otherVlan.sent}`,
      );
      expect(toGuest.received).toBe(10);
      expect(fromGuest.received).toBe(10);
      expect(tagged.filter((l) => /vlan 300, p 0, ethertype IPv4.*10\.55\.0\.100 > 10\.55\.0\.2: ICMP echo request/.test(l)).length).toBe(10);
      expect(otherVlan.received).toBe(0);
    });
  return { plain, portSecurity, bandwidth, vlan };
}
