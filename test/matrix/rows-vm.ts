// Row: a real VM (docs/operations.md "TAP guests"), placed by the console. A
// farm made through the API has a vnet with DHCP on, a virtual router as its
// gateway and a domain; a VM on h1 with guestKind "tap" and a namespace guest
// on h4 (across the segments). After the deploy, QEMU boots Debian's kernel
// with the busybox initramfs of test/netns/qemu-vm.ts in h1's namespace,
// attached to the TAP the agent made, found as an operator finds it (the
// host's report, vifs[].guest.ifname) with the documented line (vnet_hdr=on)
// and the MAC the API shows. Inside the VM: udhcpc gets exactly what the API
// says (address, prefix, the router's address, the vnet's MTU, the resolver
// the host reports), nslookup resolves the other VM's name through the
// agent's resolver, ping and iperf3 (both ways) reach the guest on h4 across
// the overlay, and h1's report lists the VM's lease. KVM where it boots a
// stock kernel, TCG otherwise (the line says which).
import { expect, it } from 'vitest';
import { waitFor } from '../managed-agent.ts';
import { requireAll } from '../require.ts';
import { bootVm, cachedInitramfs, debianKernel, vmPrerequisites, type Vm } from '../netns/qemu-vm.ts';
import { MatrixFarm, type Guest } from './farm.ts';
import { row } from './row.ts';
import { reaches } from './traffic.ts';
import type { MatrixWorld } from './world.ts';

const DOMAIN = 'example.internal';
const IPERF_PORT = 5201;
/** The addresses an nslookup answer gives (not the server's own "Address: <ip>:53" line). */
const aOf = (out: string) => [...out.matchAll(/Address(?: \d+)?:?\s+(\d+\.\d+\.\d+\.\d+)(?![\d:#])/g)].map((m) => m[1]);
/** The server busybox nslookup asked ("Server: 10.1.0.254" or "Server:\t\t10.1.0.254#53"). */
const serverOf = (out: string) => /Server:\s+(\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1];
/** iperf3's receiver line: Mbit/s. */
const receiverMbps = (out: string) => {
  const m = /([\d.]+) Mbits\/sec(?:\s+\d+)?\s+receiver/.exec(out);
  return m ? Number(m[1]) : null;
};

export function vmRows(world: () => MatrixWorld) {
  const realVm = () => {
    const missing = vmPrerequisites();
    if (missing && !requireAll) {
      console.warn(`[skip] matrix row "real VM": ${missing} (bash .ci/install-deps.sh)`);
      it.skip('real VM', () => {});
      return;
    }
    row('real VM', async (note) => {
      if (missing) throw new Error(`SOFTUDC_REQUIRE_ALL=1 but a prerequisite is missing: ${missing}`);
      const w = world();
      const { h, api } = w;
      const initramfs = cachedInitramfs(debianKernel()!.version);
      const f = await MatrixFarm.create(w, 'vmrow');
      const v = await f.vnet('lan', '10.67.0.0/24', { dhcp: { domain: DOMAIN, leaseTime: 600 } });
      // The vnet's gateway is a virtual router's address on it (no gateway set on the vnet).
      const { router } = await f.edit((rev) =>
        api.router.create.mutate({ farmId: f.id, expectedRevision: rev, name: 'gw', hostId: w.hosts.h2.id, interfaces: [{ vnetId: v.id, ip: '10.67.0.1' }] }),
      );
      const vmView = await f.vm('vm-1', 'h1', v, '10.67.0.11', { guestKind: 'tap' });
      const guestView = await f.vm('web-2', 'h4', v, '10.67.0.12');
      await f.deploy();
      const guest: Guest = await f.boot(guestView, { ns: await h.addNs('gvmrow-web2') });
      const iperf = h.spawn(guest.ns, 'iperf3', ['-s', '-B', guest.ip, '-p', String(IPERF_PORT)]);

      // What the console assigned, read back through the API as an operator would.
      const vnet = await api.vnet.get.query({ id: v.id });
      const vif = (await api.vm.get.query({ id: vmView.id })).vifs[0]!;
      const gateway = vnet.dhcp.gateway ?? (await api.router.get.query({ id: router.id })).interfaces.find((i) => i.vnetId === v.id)?.ip;
      const tap = await f.tapOf('h1', vif.mac);
      let resolver: string | undefined;
      await waitFor(async () => {
        resolver = (await api.host.report.query({ id: w.hosts.h1.id })).report?.services?.vnets.find((x) => x.vnet === v.vnid)?.resolver;
        return resolver !== undefined;
      }, "the vnet's resolver in h1's report", 15_000, 250);

      let vm: Vm | undefined;
      try {
        vm = await bootVm(h, { ns: w.hosts.h1.ns, initramfs: await initramfs, tap, mac: vif.mac, vnetHdr: true, accel: 'auto' });
        const accel = vm.opts.accel === 'kvm' ? 'KVM' : 'TCG';
        const leaseOut = await vm.must('udhcpc -i eth0 -f -q -n -t 6 -T 2 -O mtu -s /udhcpc.sh', 60_000);
        const lease = Object.fromEntries([...(/LEASE (.*)/.exec(leaseOut)?.[1] ?? '').matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1]!, m[2]!]));
        const linkMtu = (await vm.must('cat /sys/class/net/eth0/mtu')).trim();
        const lookup = await vm.run('nslookup web-2', 30_000);
        const ping = await vm.run(`ping -c 5 -W 2 ${guest.ip}`, 60_000);
        const back = await reaches(h, guest, vif.ip, 10_000);
        const rates: Record<string, number | null> = {};
        const outputs: string[] = [];
        for (const reverse of [false, true]) {
          const r = await vm.run(`iperf3 -c ${guest.ip} -p ${IPERF_PORT} -t 2 -f m --connect-timeout 5000${reverse ? ' -R' : ''}`, 90_000);
          rates[reverse ? 'back' : 'there'] = receiverMbps(r.output);
          outputs.push(r.output);
        }
        // Which path h1 reports for the VM, and what went through its GRO pair (docs/operations.md "Kernel fast path").
        let gro = 0;
        let groIn = 0;
        let path: string | undefined;
        await waitFor(async () => {
          const r = (await api.host.report.query({ id: w.hosts.h1.id })).report;
          gro = r?.counters.softudc_kernel_rx_gro_out_total ?? 0;
          groIn = r?.counters.softudc_kernel_rx_gro_in_total ?? 0;
          const p = r?.vifs?.find((x) => x.mac === vif.mac)?.path;
          path = p ? (p.reason ? `${p.path}: ${p.reason}` : p.path) : undefined;
          return gro > 0;
        }, "h1's report counting frames through the GRO pair", 15_000, 250).catch(() => {});
        let reported: { hostName: string | null; ip: string; mac: string } | undefined;
        await waitFor(async () => {
          const s = (await api.host.report.query({ id: w.hosts.h1.id })).report?.services;
          reported = s?.leases?.find((l) => l.mac === vif.mac);
          return reported !== undefined;
        }, "h1's report listing vm-1's lease", 15_000, 250).catch(() => {});

        note(
          `real VM: QEMU (${accel}, vnet_hdr=on) on h1's TAP ${tap} (host report), MAC ${vif.mac}; udhcpc got ${lease.ip}/${lease.mask} router ${lease.router} ` +
            `MTU ${lease.mtu} (link ${linkMtu}) DNS ${lease.dns} domain ${lease.domain}; API says ${vif.ip}/${v.cidr.split('/')[1]} gateway ${gateway} MTU ${vnet.mtu} resolver ${resolver}; ` +
            `nslookup web-2 (server ${serverOf(lookup.output)}) → ${aOf(lookup.output).join(',') || 'nothing'}; ping VM → web-2 (h4) ${/(\d+) packets received/.exec(ping.output)?.[1] ?? '?'}/5, back ${back ? 'yes' : 'no'}; ` +
            `iperf3 VM → web-2 ${rates.there} Mbit/s, web-2 → VM ${rates.back} Mbit/s (h1's path for the VM: ${path ?? '?'}, its GRO pair ${groIn} frames in, ${gro} out); h1 reports lease ${reported?.hostName} ${reported?.ip}`,
        );
        expect(lease).toMatchObject({ ip: vif.ip, mask: v.cidr.split('/')[1], router: gateway, mtu: String(vnet.mtu), dns: resolver, domain: `${f.name}.${DOMAIN}`, hostname: 'vm-1' });
        expect(linkMtu).toBe(String(vnet.mtu));
        expect(aOf(lookup.output), lookup.output).toEqual([guest.ip]);
        expect(serverOf(lookup.output)).toBe(resolver);
        expect(ping.code, ping.output).toBe(0);
        expect(back).toBe(true);
        expect(rates.there ?? 0, outputs[0]).toBeGreaterThan(0);
        expect(rates.back ?? 0, outputs[1]).toBeGreaterThan(0);
        expect(reported).toMatchObject({ hostName: 'vm-1', ip: vif.ip, mac: vif.mac });
        // The VM's TCP from web-2 came in on h1's kernel path, through its GRO pair.
        expect(path).toBe('kernel');
        expect(gro).toBeGreaterThan(0);
      } finally {
        await vm?.stop();
        await h.kill(iperf);
      }
    }, 480_000);
  };
  return { realVm };
}
