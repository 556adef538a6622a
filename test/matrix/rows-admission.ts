// Row: underlay admission (docs/wire.md "Admission"). A machine on h1's LAN
// that is no host of the deployment sends FRAMEs straight to h1's underlay
// port, aimed at a guest there; none may reach the guest. The same datagrams
// from a host the console lists do (the control).
import { expect } from 'vitest';
import { inject } from '../overlay-fixture.ts';
import {
  ETHERTYPE_IPV4, ICMP_ECHO_REQUEST, IPPROTO_ICMP, encodeEthernet, encodeFrame, encodeIcmp, encodeIpv4, parseIp, parseMac,
} from '../../agent/wire/index.ts';
import { MatrixFarm, type Guest } from './farm.ts';
import { row } from './row.ts';
import { reaches } from './traffic.ts';
import { SEGMENTS, type MatrixWorld } from './world.ts';

const FRAMES = 200;
/** On h1's LAN, not a host of the deployment. */
const STRANGER = `${SEGMENTS.s1}.66`;
const FORGED_SRC = '10.58.0.66';
const NOT_ADMITTED = 'softudc_underlay_rx_dropped_total{reason="not_admitted"}';

export function admissionRows(world: () => MatrixWorld) {
  const admission = () =>
    row('underlay admission', async (note) => {
      const w = world();
      const { h } = w;
      const f = await MatrixFarm.create(w, 'admit');
      const v = await f.vnet('lan', '10.58.0.0/24');
      const vms = [await f.vm('m1', 'h1', v, '10.58.0.1'), await f.vm('m2', 'h2', v, '10.58.0.2')];
      await f.deploy();
      const [m1, m2] = (await Promise.all(vms.map((vm) => f.boot(vm)))) as [Guest, Guest];
      expect(await reaches(h, m2, m1.ip), w.agentLogs()).toBe(true);

      const frames = Array.from({ length: FRAMES }, (_, seq) => {
        const icmp = encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id: 0x5d, seq, payload: Buffer.alloc(16) });
        const ip = encodeIpv4({ protocol: IPPROTO_ICMP, src: parseIp(FORGED_SRC), dst: parseIp(m1.ip), payload: icmp });
        const eth = encodeEthernet({ dst: parseMac(m1.mac), src: parseMac('02:5d:ee:00:00:66'), ethertype: ETHERTYPE_IPV4, payload: ip });
        return encodeFrame({ vnet: v.vnid, ethernet: eth });
      });
      const h1 = w.hosts.h1;
      // Counted by the guest's own kernel (a capture on its interface misses frames of a burst).
      const echoes = async () => {
        const icmp = (await h.mustExec(m1.ns, 'cat', ['/proc/net/snmp'])).split('\n').filter((l) => l.startsWith('Icmp:'));
        return Number(icmp[1]!.trim().split(/\s+/)[icmp[0]!.trim().split(/\s+/).indexOf('InEchos')]);
      };
      const before = await h1.agent.counter(NOT_ADMITTED);
      const e0 = await echoes();
      await h.mustExec(w.router, 'ip', ['addr', 'add', `${STRANGER}/24`, 'dev', 'brs1']);
      try {
        await inject(h, w.router, STRANGER, h1.address, frames);
      } finally {
        await h.mustExec(w.router, 'ip', ['addr', 'del', `${STRANGER}/24`, 'dev', 'brs1']);
      }
      await new Promise((r) => setTimeout(r, 500)); // time for any late delivery to be counted
      const dropped = (await h1.agent.counter(NOT_ADMITTED)) - before;
      const fromStranger = (await echoes()) - e0;
      // Control: the same datagrams from h2, a host the console lists for h1.
      await inject(h, w.hosts.h2.ns, w.hosts.h2.address, h1.address, frames);
      let fromPeer = 0;
      for (let i = 0; i < 30 && fromPeer < FRAMES; i++) {
        await new Promise((r) => setTimeout(r, 100));
        fromPeer = (await echoes()) - e0 - fromStranger;
      }
      note(
        `admission: ${fromStranger} of ${FRAMES} FRAMEs from a non-peer (${STRANGER}) delivered to the guest on h1, ` +
          `${dropped} dropped and counted (not_admitted); the same ${FRAMES} from peer h2's address: ${fromPeer} delivered`,
      );
      expect(fromStranger).toBe(0);
      expect(dropped).toBe(FRAMES);
      expect(fromPeer).toBe(FRAMES);
    });
  return { admission };
}
