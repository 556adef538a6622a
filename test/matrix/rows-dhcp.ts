// Row: DHCP and DNS for guests (docs/operations.md "Addresses and names for
// guests"), configured only through the API: a vnet's DHCP settings (gateway,
// domain, lease time, a classless static route) and its VMs' names, deployed
// to the managed agents. A guest's busybox udhcpc gets exactly what the
// console assigned; busybox nslookup resolves another VM of the farm on
// another host, short and as <vm>.<farm>.<domain>; a guest of another farm
// learns nothing about it. A name outside the farms is REFUSED until the host
// gets an upstream resolver (host.update dnsUpstream), then a real DNS server
// in the router namespace answers it through the agent. The host's report
// lists the lease, and the vnet's answers and forwards.
import { expect } from 'vitest';
import { nslookup, udhcpc } from '../dhcp-fixture.ts';
import { waitFor } from '../managed-agent.ts';
import { startUpstream } from './dns-upstream.ts';
import { GUEST_IFNAME, MatrixFarm, type Guest } from './farm.ts';
import { row } from './row.ts';
import { reaches } from './traffic.ts';
import { SEGMENTS, type MatrixWorld } from './world.ts';

const DOMAIN = 'example.internal';
/** The upstream resolver: the router namespace's address on h1's LAN. */
const UPSTREAM = `${SEGMENTS.s1}.254`;
const OUTSIDE = { name: 'outside.example.com', ip: '192.0.2.80' };
const refused = 'softudc_dns_answers_total{rcode="refused"}';
/** The addresses an nslookup answer gives (not the server's own "Address: <ip>:53" or "<ip>#53" line). */
const aOf = (out: string) => [...out.matchAll(/Address(?: \d+)?:?\s+(\d+\.\d+\.\d+\.\d+)(?![\d:#])/g)].map((m) => m[1]);

export function dhcpRows(world: () => MatrixWorld) {
  const dhcpDns = () =>
    row('DHCP and DNS', async (note) => {
      const w = world();
      const { h } = w;
      const a = await MatrixFarm.create(w, 'names-a');
      const b = await MatrixFarm.create(w, 'names-b');
      const route = { destination: '10.120.0.0/16', gateway: '10.65.0.2' };
      const va = await a.vnet('lan', '10.65.0.0/24', { mtu: 1380, dhcp: { gateway: '10.65.0.1', domain: DOMAIN, leaseTime: 600, routes: [route] } });
      const vb = await b.vnet('lan', '10.66.0.0/24', { dhcp: { domain: DOMAIN } });
      const vms = [await a.vm('dns-1', 'h1', va, '10.65.0.11'), await a.vm('dns-2', 'h2', va, '10.65.0.12'), await b.vm('other-1', 'h1', vb, '10.66.0.11')];
      await Promise.all([a.deploy(), b.deploy()]);
      const [d1, d2, o1] = (await Promise.all(vms.map((vm, i) => (i < 2 ? a : b).boot(vm)))) as [Guest, Guest, Guest];

      // The guest forgets what the hypervisor set and asks by DHCP.
      const env = await udhcpc(h, d1.ns, w.file('dns-1-udhcpc'));
      const got = { ip: env.ip, mask: env.mask, router: env.router, mtu: env.mtu, dns: env.dns?.trim(), domain: env.domain, hostname: env.hostname, lease: env.lease, staticroutes: env.staticroutes?.trim() };
      const linkMtu = (await h.mustExec(d1.ns, 'cat', [`/sys/class/net/${GUEST_IFNAME}/mtu`])).trim();
      expect(await reaches(h, d1, d2.ip), w.agentLogs()).toBe(true);

      const resolver = '10.65.0.254'; // the vnet's highest free host address (server/compile/dhcp.ts)
      const short = await nslookup(h, d1.ns, 'dns-2', resolver);
      const fqdn = await nslookup(h, d1.ns, `dns-2.names-a.${DOMAIN}`, resolver);
      // Farm B's guest on the same host, with the same domain, asks its own resolver about farm A's VM.
      const otherShort = await nslookup(h, o1.ns, 'dns-2', '10.66.0.254');
      const otherFqdn = await nslookup(h, o1.ns, `dns-2.names-a.${DOMAIN}`, '10.66.0.254');
      const refusedBefore = await w.hosts.h1.agent.counter(refused);
      const noUpstream = await nslookup(h, d1.ns, OUTSIDE.name, resolver);
      const refusedCount = (await w.hosts.h1.agent.counter(refused)) - refusedBefore;

      const upstream = await startUpstream(h, w.router, UPSTREAM, { [OUTSIDE.name]: OUTSIDE.ip });
      let viaUpstream = '';
      let otherViaUpstream = '';
      try {
        await w.admin.host.update.mutate({ id: w.hosts.h1.id, dnsUpstream: [UPSTREAM] });
        await w.settled('the upstream resolver');
        viaUpstream = await nslookup(h, d1.ns, OUTSIDE.name, resolver);
        otherViaUpstream = await nslookup(h, o1.ns, `dns-2.names-a.${DOMAIN}`, '10.66.0.254');
      } finally {
        await w.admin.host.update.mutate({ id: w.hosts.h1.id, dnsUpstream: [] });
        await upstream.stop();
      }
      const asked = upstream.queries.filter((q) => q.type === 1).map((q) => q.name);

      // The host's report (the host page) lists the lease and the vnet's answers and forwards.
      let lease: { hostName: string | null; ip: string; mac: string } | undefined;
      let counts: { name: string; dnsAnswers: number; dnsForwarded: number; dhcpReplies: number } | undefined;
      await waitFor(async () => {
        const s = (await w.api.host.report.query({ id: w.hosts.h1.id })).report?.services;
        lease = s?.leases?.find((l) => l.vnet === va.vnid);
        counts = s?.vnets.find((v) => v.vnet === va.vnid);
        return lease !== undefined && (counts?.dnsForwarded ?? 0) > 0;
      }, "h1's report listing dns-1's lease and the forwarded query", 15_000, 250);
      await w.settled('no upstream resolver');

      note(
        `DHCP and DNS: udhcpc got ${got.ip}/${got.mask} router ${got.router} MTU ${got.mtu} (link ${linkMtu}) DNS ${got.dns} domain ${got.domain} ` +
          `host name ${got.hostname} lease ${got.lease}s routes "${got.staticroutes}"; nslookup dns-2 → ${aOf(short).join(',')}, FQDN → ${aOf(fqdn).join(',')}; ` +
          `another farm's guest: ${aOf(otherShort).length + aOf(otherFqdn).length + aOf(otherViaUpstream).length} answers about it; ` +
          `${OUTSIDE.name} without upstream: ${/REFUSED/.test(noUpstream) ? 'REFUSED' : 'answered'} (+${refusedCount} counted), with upstream → ${aOf(viaUpstream).join(',')} ` +
          `(upstream asked ${asked.length}: ${asked.join(', ')}); h1 reports lease ${lease?.hostName} ${lease?.ip}, ${counts?.name}: ${counts?.dhcpReplies} DHCP replies, ` +
          `${counts?.dnsAnswers} DNS answers, ${counts?.dnsForwarded} forwarded`,
      );
      expect(got).toEqual({
        ip: d1.ip, mask: '24', router: '10.65.0.1', mtu: '1380', dns: resolver, domain: `names-a.${DOMAIN}`, hostname: 'dns-1', lease: '600',
        staticroutes: `${route.destination} ${route.gateway} 0.0.0.0/0 10.65.0.1`,
      });
      expect(linkMtu).toBe('1380');
      expect(aOf(short)).toEqual([d2.ip]);
      expect(aOf(fqdn)).toEqual([d2.ip]);
      for (const out of [otherShort, otherFqdn, otherViaUpstream]) expect(out).not.toContain(d2.ip);
      expect(otherShort).toMatch(/NXDOMAIN/);
      expect(otherFqdn).toMatch(/REFUSED/);
      expect(noUpstream).toMatch(/REFUSED/);
      expect(refusedCount).toBeGreaterThanOrEqual(1);
      expect(aOf(viaUpstream)).toEqual([OUTSIDE.ip]);
      expect(asked).toContain(OUTSIDE.name);
      expect(lease).toMatchObject({ hostName: 'dns-1', ip: d1.ip, mac: d1.mac });
      expect(counts).toMatchObject({ name: 'names-a/lan' });
      expect(counts!.dhcpReplies).toBeGreaterThanOrEqual(2);
      expect(counts!.dnsAnswers).toBeGreaterThanOrEqual(2);
    });
  return { dhcpDns };
}
