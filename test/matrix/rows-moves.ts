// Rows: a VM migrated to another host under a 10 ms ping, and the wide area:
// two LAN segments joined by vnetd relays, then in proxy mode with direct
// unicast between the segments blocked by the router.
import { expect } from 'vitest';
import { waitFor } from '../managed-agent.ts';
import { continuousPing } from '../overlay-fixture.ts';
import { MatrixFarm, type Guest } from './farm.ts';
import { once, row } from './row.ts';
import { ping, reaches } from './traffic.ts';
import type { MatrixWorld } from './world.ts';

const relayCounter = (family: string, label: string) => `softudc_relay_${family}{${label}}`;

export function movesRows(world: () => MatrixWorld) {
  const migration = () =>
    row('migration', async (note) => {
      const w = world();
      const { h, api } = w;
      const f = await MatrixFarm.create(w, 'moving');
      const v = await f.vnet('lan', '10.64.0.0/24');
      const vm = await f.vm('m1', 'h1', v, '10.64.0.10');
      const pinger = await f.vm('q1', 'h2', v, '10.64.0.20');
      await f.deploy();
      const [m1, q1] = (await Promise.all([f.boot(vm), f.boot(pinger)])) as [Guest, Guest];
      expect(await reaches(h, q1, m1.ip)).toBe(true);

      const pinging = continuousPing(h, q1.ns, m1.ip, 10);
      await new Promise((r) => setTimeout(r, 1000));
      const dest = w.hosts.h3;
      // The hypervisor's part of a live migration: the VM keeps running on h1
      // until h3 has its port (the agent's TAP, up), then continues there.
      let switched = false;
      const hypervisorMove = waitFor(async () => {
        const r = await h.exec(dest.ns, 'ip', ['-j', 'link', 'show', 'dev', m1.tap]);
        if (r.code !== 0 || !(JSON.parse(r.stdout) as Array<{ flags: string[] }>)[0]?.flags.includes('UP')) return false;
        await w.hosts.h1.hv.detach(m1.tap);
        await dest.hv.attach({ tap: m1.tap, netns: m1.ns, mac: m1.mac, cidr: `${m1.ip}/24`, mtu: v.mtu });
        switched = true;
        return true;
      }, `the TAP of ${m1.name} on ${dest.name}`, 30_000, 20);
      const started = Date.now();
      const moved = await api.vm.migrate.mutate({ id: m1.id, hostId: dest.id, expectedRevision: f.rev, wait: true, timeoutMs: 30_000 });
      f.rev = moved.farmRevision;
      const appliedS = (Date.now() - started) / 1000;
      await hypervisorMove;
      await new Promise((r) => setTimeout(r, 1500));
      const run = await pinging.stop();
      const entry = await w.hosts.h2.agent.entry(m1.mac, v.vnid);
      const after = await ping(h, q1, m1.ip, 5);
      note(
        `migration: vm.migrate m1 h1 → h3 (applied on every host ${appliedS.toFixed(1)} s after the call) under a 10 ms ping from h2: ` +
          `lost ${run.lost} of ${run.lost + run.received}, longest gap ${run.gapMs.toFixed(0)} ms; h2 now maps m1 to ${entry?.coa} (location version ${entry?.version}); ` +
          `ping afterwards ${after.received}/${after.sent}`,
      );
      expect(moved.timedOut).toBe(false);
      expect(moved.vm.hostName).toBe('h3');
      expect(switched).toBe(true);
      expect(entry).toMatchObject({ coa: dest.address, version: moved.vm.locationVersion });
      expect(run.received).toBeGreaterThan(100);
      // What a guest notices: a pause of the hypervisor's switch and VARP's update, not an outage.
      expect(run.lost).toBeLessThan(150);
      expect(after.received).toBe(5);
    });

  // Segment s1 (h1–h3) and s2 (h4, h5): each gets a relay host through the API.
  const withRelays = once(async () => {
    const w = world();
    await w.admin.segment.update.mutate({ id: w.segments.s1, relayHostId: w.hosts.h3.id });
    await w.admin.segment.update.mutate({ id: w.segments.s2, relayHostId: w.hosts.h5.id });
    await w.settled('the relays');
    return w;
  });

  const relays = () =>
    row('relays', async (note) => {
      const w = await withRelays();
      const { h } = w;
      const f = await MatrixFarm.create(w, 'wide');
      const v = await f.vnet('lan', '10.62.0.0/24');
      const vms = [await f.vm('w1', 'h1', v, '10.62.0.1'), await f.vm('w2', 'h4', v, '10.62.0.2')];
      const [h1, h3, h5] = [w.hosts.h1.agent, w.hosts.h3.agent, w.hosts.h5.agent];
      const out = relayCounter('relayed_out_total', 'kind="varp"');
      const into = relayCounter('relayed_in_total', 'kind="varp"');
      // From the deploy on: the new VIFs' announcements cross the relays too.
      const before = { out: await h3.counter(out), in: await h5.counter(into) };
      await f.deploy();
      const [w1, w2] = (await Promise.all(vms.map((vm) => f.boot(vm)))) as [Guest, Guest];
      expect(await reaches(h, w1, w2.ip), w.agentLogs()).toBe(true);
      const there = await ping(h, w1, w2.ip, 20);
      const back = await ping(h, w2, w1.ip, 10);
      const after = { out: await h3.counter(out), in: await h5.counter(into) };
      const entry = await h1.entry(w2.mac, v.vnid);
      note(
        `relays: segments s1 and s2 with relays h3 and h5 (segment.update); w1 (h1, s1) → w2 (h4, s2) ${there.received}/${there.sent}, back ${back.received}/${back.sent}; ` +
          `resolved through the relays (h3 relayed ${after.out - before.out} VARP messages out, h5 took ${after.in - before.in} in), frames go direct: h1 maps w2 to ${entry?.coa}`,
      );
      expect(there.received).toBe(20);
      expect(back.received).toBe(10);
      expect(after.out - before.out).toBeGreaterThan(0);
      expect(after.in - before.in).toBeGreaterThan(0);
      expect(entry).toMatchObject({ coa: w.hosts.h4.address, proxy: false });
    });

  const proxy = () =>
    row('relays: proxy mode', async (note) => {
      const w = await withRelays();
      const { h } = w;
      const nft = (args: string) => h.mustExec(w.router, 'nft', args.split(' '));
      const [s1, s2] = ['198.18.1.0/24', '198.18.2.0/24'];
      const [r1, r2] = [w.hosts.h3.address, w.hosts.h5.address];
      // The router between the segments lets only the relays talk to each other.
      await nft('add table inet matrix');
      await nft('add chain inet matrix xfwd { type filter hook forward priority 0 ; policy accept ; }');
      await nft(`add rule inet matrix xfwd ip saddr ${r1} ip daddr ${r2} accept`);
      await nft(`add rule inet matrix xfwd ip saddr ${r2} ip daddr ${r1} accept`);
      await nft(`add rule inet matrix xfwd ip saddr ${s1} ip daddr ${s2} counter drop`);
      await nft(`add rule inet matrix xfwd ip saddr ${s2} ip daddr ${s1} counter drop`);
      try {
        for (const s of [w.segments.s1, w.segments.s2]) await w.admin.segment.update.mutate({ id: s, proxyMode: true });
        await w.settled('proxy mode');
        const f = await MatrixFarm.create(w, 'proxied');
        const v = await f.vnet('lan', '10.63.0.0/24');
        const vms = [await f.vm('p1', 'h2', v, '10.63.0.1'), await f.vm('p2', 'h4', v, '10.63.0.2')];
        await f.deploy();
        const [p1, p2] = (await Promise.all(vms.map((vm) => f.boot(vm)))) as [Guest, Guest];
        const forwarded = relayCounter('proxy_forwarded_frames_total', 'to="far"');
        const before = await w.hosts.h3.agent.counter(forwarded);
        expect(await reaches(h, p1, p2.ip, 30_000), w.agentLogs()).toBe(true);
        const there = await ping(h, p1, p2.ip, 20);
        const back = await ping(h, p2, p1.ip, 10);
        const farBound = (await w.hosts.h3.agent.counter(forwarded)) - before;
        const entries = { h2: await w.hosts.h2.agent.entry(p2.mac, v.vnid), h4: await w.hosts.h4.agent.entry(p1.mac, v.vnid) };
        // The underlay itself: h2 cannot reach h4 directly, the relays reach each other.
      const direct = await ping(h, w.hosts.h2.ns, w.hosts.h4.address, 2, 0.2);
      const relayToRelay = await ping(h, w.hosts.h3.ns, r2, 2, 0.2);
      const drops = [...(await h.mustExec(w.router, 'nft', ['list', 'chain', 'inet', 'matrix', 'xfwd'])).matchAll(/packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
        note(
          `relays, proxy mode (segment.update proxyMode), the router drops direct unicast between the segments ` +
            `(underlay h2 → h4 ${direct.received}/${direct.sent}, relay h3 → relay h5 ${relayToRelay.received}/${relayToRelay.sent}, ${drops} packets dropped): ` +
            `p1 (h2, s1) → p2 (h4, s2) ${there.received}/${there.sent}, back ${back.received}/${back.sent}; h2 maps p2 to ${entries.h2?.coa} (proxy ${entries.h2?.proxy}), ` +
            `h4 maps p1 to ${entries.h4?.coa} (proxy ${entries.h4?.proxy}); h3 forwarded ${farBound} frames to the far relay`,
        );
        expect(there.received).toBeGreaterThanOrEqual(19);
        expect(back.received).toBeGreaterThanOrEqual(9);
        expect(entries.h2).toMatchObject({ coa: r1, proxy: true });
        expect(entries.h4).toMatchObject({ coa: r2, proxy: true });
        expect(farBound).toBeGreaterThanOrEqual(there.received);
        expect(direct.received).toBe(0);
        expect(relayToRelay.received).toBe(2);
      } finally {
        await h.exec(w.router, 'nft', ['delete', 'table', 'inet', 'matrix']);
      }
    });
  return { migration, relays, proxy };
}
