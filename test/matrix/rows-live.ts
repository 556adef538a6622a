// Row: live migration driven by the console (docs/operations.md "Live
// migration of a VM"). A TAP VM on h1 runs in real QEMU (test/netns/qemu-vm.ts,
// the documented line, vnet_hdr=on) with a monitor socket; a namespace guest
// on h4 pings it every 10 ms. vm.migrate {live: true} to h2: the console
// keeps the VIF on h1, marked outgoing, and gives h2 the same VIF incoming; once h2's report
// lists it (its TAP made), a QEMU `-incoming` attached to that TAP starts
// there and the source's monitor runs `migrate` (downtime-limit 10 ms), as an
// operator (or libvirt) would. The VM's first frame on h2 activates the VIF (GRATUITOUS ANNOUNCE),
// h2 reports it, and the console finishes the move by itself: vm.get shows
// h2, h1's report no longer has the VIF. Asserted: the move works (pings
// resume, the console finishes it, h4 maps the VM to h2 with the new version).
// Printed, not asserted: the ping's longest gap and the replies lost against
// the aim of at most 2 (on a loaded TCG machine QEMU's own pause, 40+ ms at
// times, loses more whatever the agents do).
import { createConnection } from 'node:net';
import { expect, it } from 'vitest';
import { continuousPing } from '../overlay-fixture.ts';
import { waitFor } from '../managed-agent.ts';
import { requireAll } from '../require.ts';
import { Vm, bootVm, cachedInitramfs, debianKernel, vmPrerequisites } from '../netns/qemu-vm.ts';
import { MatrixFarm } from './farm.ts';
import { row } from './row.ts';
import { reaches } from './traffic.ts';
import type { MatrixWorld } from './world.ts';

const MIGRATE_PORT = 4467;
/** QEMU's downtime-limit for the migration (ms). */
const DOWNTIME_LIMIT_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One HMP command on the QEMU monitor socket: its answer (the text before the next prompt). */
async function hmp(socket: string, line: string): Promise<string> {
  const c = createConnection(socket);
  try {
    let buf = '';
    let sent = false;
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`monitor: no answer to ${line}`)), 10_000);
      c.on('error', reject);
      c.on('data', (d: Buffer) => {
        buf += d.toString();
        const at = buf.indexOf('(qemu)');
        if (at < 0) return;
        if (!sent) {
          // The banner and the first prompt: now the command.
          buf = buf.slice(at + '(qemu)'.length);
          sent = true;
          c.write(`${line}\n`);
          return;
        }
        clearTimeout(timer);
        resolve(buf.slice(0, at));
      });
    });
  } finally {
    c.destroy();
  }
}

interface ReportedVif { mac: string; guest?: { ifname?: string }; migration?: { state: string; activatedAt: number | null } }

export function liveRows(world: () => MatrixWorld) {
  const liveMigration = () => {
    const missing = vmPrerequisites();
    if (missing && !requireAll) {
      console.warn(`[skip] matrix row "live migration": ${missing} (bash .ci/install-deps.sh)`);
      it.skip('live migration', () => {});
      return;
    }
    row('live migration', async (note) => {
      if (missing) throw new Error(`SOFTUDC_REQUIRE_ALL=1 but a prerequisite is missing: ${missing}`);
      const w = world();
      const { h, api } = w;
      const initramfs = cachedInitramfs(debianKernel()!.version);
      const f = await MatrixFarm.create(w, 'liveconrow');
      const v = await f.vnet('lan', '10.69.0.0/24');
      const vmView = await f.vm('lv-1', 'h1', v, '10.69.0.11', { guestKind: 'tap' });
      const pingerView = await f.vm('lq-1', 'h4', v, '10.69.0.12');
      await f.deploy();
      const pinger = await f.boot(pingerView, { ns: await h.addNs('livecon-q1') });
      const vif = vmView.vifs[0]!;
      const tap = await f.tapOf('h1', vif.mac);
      const prefix = v.cidr.split('/')[1];
      const [src, dst] = [w.hosts.h1, w.hosts.h2];
      const monitor = w.file('livecon-mon.sock');

      let vm: Vm | undefined;
      let dest: Vm | undefined;
      try {
        vm = await bootVm(h, { ns: src.ns, initramfs: await initramfs, tap, mac: vif.mac, vnetHdr: true, accel: 'auto', extra: ['-monitor', `unix:${monitor},server,nowait`] });
        const accel = vm.opts.accel;
        await vm.must(`ip link set eth0 mtu ${v.mtu} up && ip addr add ${vif.ip}/${prefix} dev eth0`);
        await waitFor(() => reaches(h, pinger, vif.ip, 2000), `${pinger.name} reaching the VM on h1`, 30_000, 500);

        const pinging = continuousPing(h, pinger.ns, vif.ip, 10);
        await sleep(1000);
        const started = await api.vm.migrate.mutate({ id: vmView.id, hostId: dst.id, expectedRevision: f.rev, live: true, wait: true, timeoutMs: 30_000 });
        // h2's report lists the VIF incoming, with the TAP the agent made for it.
        let incoming: ReportedVif | undefined;
        await waitFor(async () => {
          const r = await api.host.report.query({ id: dst.id });
          incoming = (r.report?.vifs as ReportedVif[] | undefined)?.find((x) => x.mac === vif.mac);
          return incoming?.guest?.ifname !== undefined && incoming.migration?.state === 'incoming';
        }, `the incoming VIF ${vif.mac} in h2's report`, 30_000, 200);
        const destTap = incoming!.guest!.ifname!;

        // The hypervisor's part: QEMU -incoming on h2 attached to that TAP, then `migrate` from the source's monitor.
        dest = new Vm(h, { ns: dst.ns, initramfs: await initramfs, tap: destTap, mac: vif.mac, vnetHdr: true, accel, extra: ['-incoming', `tcp:${dst.address}:${MIGRATE_PORT}`] });
        await waitFor(async () => (await h.exec(dst.ns, 'ss', ['-Hltn', `sport = :${MIGRATE_PORT}`])).stdout.trim() !== '', 'QEMU -incoming listening on h2', 30_000, 100);
        // h2's reports while the VM moves: when it activated the VIF (its report says so at once).
        let activatedAt: number | null = null;
        let watching = true;
        const watch = (async () => {
          while (watching && activatedAt === null) {
            const r = await api.host.report.query({ id: dst.id });
            activatedAt = (r.report?.vifs as ReportedVif[] | undefined)?.find((x) => x.mac === vif.mac)?.migration?.activatedAt ?? null;
            await sleep(20);
          }
        })();
        // QEMU pauses the VM for its last copy up to downtime-limit (default 300 ms); every ms of it loses pings
        // whatever the agents do, so the row asks for at most 10 ms, as an operator does (virsh migrate-setmaxdowntime).
        await hmp(monitor, `migrate_set_parameter downtime-limit ${DOWNTIME_LIMIT_MS}`);
        await hmp(monitor, `migrate -d tcp:${dst.address}:${MIGRATE_PORT}`);
        let info = '';
        await waitFor(async () => {
          info = await hmp(monitor, 'info migrate');
          return /Migration status: (completed|failed|cancelled)/.test(info);
        }, 'QEMU to finish migrating', 120_000, 20);
        const completedAt = Date.now();
        const downtime = /downtime: (\d+) ms/.exec(info)?.[1];

        // The console finishes the move by itself once h2 reports the VIF active.
        let moved = await api.vm.get.query({ id: vmView.id });
        await waitFor(async () => {
          moved = await api.vm.get.query({ id: vmView.id });
          return moved.hostId === dst.id && moved.migratingToHostId === null;
        }, 'the console to finish the move (vm.get on h2)', 30_000, 200);
        watching = false;
        await watch;
        let srcHasVif = true;
        await waitFor(async () => {
          const r = await api.host.report.query({ id: src.id });
          srcHasVif = ((r.report?.vifs as ReportedVif[] | undefined) ?? []).some((x) => x.mac === vif.mac);
          return !srcHasVif;
        }, "h1's report without the VIF", 30_000, 200);
        let after: ReportedVif | undefined;
        await waitFor(async () => {
          const r = await api.host.report.query({ id: dst.id });
          after = (r.report?.vifs as ReportedVif[] | undefined)?.find((x) => x.mac === vif.mac);
          return after !== undefined;
        }, "h2's report with the VIF", 30_000, 200);
        await sleep(1500);
        const run = await pinging.stop();
        const entry = await w.hosts.h4.agent.entry(vif.mac, v.vnid);
        const resumed = await reaches(h, pinger, vif.ip, 2000);
        // h1 had the VIF outgoing: it let it go once h2 answered its REQUEST (fresh nonce, signed with the VARP key).
        const srcVerify = await src.agent.counter('softudc_varp_move_verify_requests_sent_total');
        const srcLetGo = await src.agent.counter('softudc_varp_local_moved_away_total');
        const fromVm = await dest.run(`ping -c 3 -W 2 ${pinger.ip}`, 30_000);

        note(
          `live migration: vm.migrate live lv-1 h1 → h2 (QEMU ${accel === 'kvm' ? 'KVM' : 'TCG'}, vnet_hdr=on; h2 listed the VIF incoming on TAP ${destTap}), ` +
            `QEMU migrate ${/Migration status: (\w+)/.exec(info)?.[1]} (downtime ${downtime ?? '?'} ms, limit ${DOWNTIME_LIMIT_MS}) under a 10 ms ping from h4: ` +
            `lost ${run.lost} of ${run.lost + run.received}, longest gap ${run.gapMs.toFixed(0)} ms (${run.lostInGap} lost in it), aim ≤ 2 lost: ${run.lost <= 2 ? 'met' : 'missed'}; ` +
            `h2 activated the VIF ${activatedAt !== null ? activatedAt - completedAt : '?'} ms after the monitor saw QEMU completed; ` +
            `h1 (VIF outgoing) sent ${srcVerify} verifying REQUEST(s) and let the VIF go ${srcLetGo} time(s); ` +
            `the console finished the move: vm.get on ${f.hostName(moved.hostId)} (location version ${started.vm.locationVersion}), h1's report without the VIF; ` +
            `h4 maps lv-1 to ${entry?.coa} (version ${entry?.version}${entry?.proxy ? ', through its proxy relay' : ''}); VM → lq-1 after the move ${/(\d+) packets received/.exec(fromVm.output)?.[1] ?? '?'}/3`,
        );
        expect(started.timedOut).toBe(false);
        expect(started.vm).toMatchObject({ hostId: src.id, migratingToHostId: dst.id });
        expect(info).toMatch(/Migration status: completed/);
        expect(moved).toMatchObject({ hostId: dst.id, migratingToHostId: null });
        expect(srcHasVif).toBe(false);
        expect(after).toBeDefined();
        // After the proxy-mode row the segments keep their relays in proxy mode: h4 then reaches the VM
        // through its segment's relay (h5), and the relays' routes carry the move; run alone, h4 maps it to h2.
        if (entry?.proxy) expect(entry).toMatchObject({ coa: w.hosts.h5.address, proxy: true });
        else expect(entry).toMatchObject({ coa: dst.address, version: started.vm.locationVersion });
        expect(fromVm.code, fromVm.output).toBe(0);
        // Pings resumed: the run got replies through the move, and lq-1 reaches the VM on h2 afterwards.
        expect(run.received).toBeGreaterThan(100);
        expect(resumed).toBe(true);
        expect(srcVerify).toBeGreaterThanOrEqual(1);
        expect(srcLetGo).toBe(1);
      } finally {
        await dest?.stop();
        await vm?.stop();
      }
    }, 480_000);
  };
  return { liveMigration };
}
