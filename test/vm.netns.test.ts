// A real VM on the overlay: QEMU boots Debian's kernel with a busybox
// initramfs (test/netns/qemu-vm.ts), attached to the TAP its agent owns
// exactly as docs/operations.md tells users (virtio-net, vnet_hdr=on, and
// again with vnet_hdr=off). Inside the VM, busybox udhcpc gets its address
// from the agent, ping reaches a namespace guest on another agent across the
// overlay, and iperf3 measures TCP both ways (and over IPv6, VM → guest). KVM is used where it boots a
// stock kernel, TCG otherwise (the test prints which). Where the kernel fast
// path runs, both attachments ride it (vnet_hdr=on as an offloaded guest,
// which sends and takes partial checksums and super-packets): the agent's
// /v1/state says so, the kernel's counters carry the TCP, and neither the VM
// nor the guest counts a TCP segment with a bad checksum.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, metricSum, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, tapVif, type FullState } from './overlay-fixture.ts';
import { bootVm, buildInitramfs, debianKernel, vmPrerequisites, type Vm } from './netns/qemu-vm.ts';
import { unsupportedReason } from '../agent/bpf/loader.ts';

const missingVm = vmPrerequisites();
const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/bin/curl') && missingVm === null,
  `the VM test needs root, \`ip netns\`, the TAP addon, bin/softudc-agent.js, curl, and ${missingVm ?? 'QEMU, a kernel, busybox and iperf3'} (bash .ci/install-deps.sh)`,
);

const A = '198.18.0.1';
const B = '198.18.0.2';
const VNET = 100;
const MTU = 1400;
const VM_TAP = 'sdvm1';
const IPERF_PORT = 5201;
const IPERF6_PORT = 5202;
const dhcp = {
  gateway: '10.100.0.1', resolver: '10.100.0.254', domain: 'vm.example.internal', leaseTime: 600,
  names: [{ name: 'vm-1', ip: '10.100.0.11' }, { name: 'web-2', ip: '10.100.0.12' }],
};

const kernelPath = unsupportedReason() === null;

/** TcpInCsumErrors from /proc/net/snmp's Tcp lines (names, then values). */
function tcpCsumErrors(snmp: string): number {
  const [names, values] = snmp.split('\n').filter((l) => l.startsWith('Tcp:')).map((l) => l.trim().split(/\s+/));
  const at = names?.indexOf('InCsumErrors') ?? -1;
  return at < 0 || !values ? NaN : Number(values[at]);
}

/** iperf3's receiver line: Mbit/s. */
function receiverMbps(out: string): number | null {
  const m = /([\d.]+) Mbits\/sec(?:\s+\d+)?\s+receiver/.exec(out);
  return m ? Number(m[1]) : null;
}

describe.skipIf(!ok)('a real QEMU VM on the overlay', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let a: OverlayAgent;
  let b: OverlayAgent;
  let initramfs: string;
  let accel: 'kvm' | 'tcg' | 'auto' = 'auto';
  const guest = h.name('vm13g');
  const vmVif = { ...tapVif('vm-1/eth0', VNET, 11, '', { hostName: 'vm-1' }), guest: { kind: 'tap', ifname: VM_TAP } };
  const guestVif = tapVif('web-2/eth0', VNET, 12, guest, { hostName: 'web-2' });
  let vm: Vm | undefined;

  function host(name: string, address: string, peer: string, vifs: FullState['vifs']): FullState {
    return { host: name, generation: 1, underlay: { address, port: 1798, multicast: null, peers: [peer] }, vnets: [{ id: VNET, security: 'none', mtu: MTU, dhcp }], vifs };
  }

  beforeAll(async () => {
    dir = await stateDir();
    initramfs = join(dir.dir, 'initramfs.gz');
    await buildInitramfs(initramfs, debianKernel()!.version);
    const ha = await h.addNs('vm13a');
    const hb = await h.addNs('vm13b');
    await h.veth({ ns: ha, ifname: 'u0', cidr: `${A}/24` }, { ns: hb, ifname: 'u0', cidr: `${B}/24` });
    h.track(guest);
    a = new OverlayAgent(h, ha, `${dir.dir}/a.json`, host('ha', A, B, [vmVif]));
    b = new OverlayAgent(h, hb, `${dir.dir}/b.json`, host('hb', B, A, [guestVif]));
    await Promise.all([a.start(), b.start()]);
    h.spawn(guest, 'iperf3', ['-s', '-B', '10.100.0.12', '-p', String(IPERF_PORT)]);
    h.spawn(guest, 'iperf3', ['-s', '-p', String(IPERF6_PORT)]);
  }, 180_000);

  afterAll(async () => {
    await vm?.stop();
    await a?.stop();
    await b?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  async function bootAndCheck(vnetHdr: boolean): Promise<void> {
    vm = await bootVm(h, { ns: a.ns, initramfs, tap: VM_TAP, mac: vmVif.mac, vnetHdr, accel });
    accel = vm.opts.accel; // the next boot uses what worked
    try {
      // The address, prefix, gateway and MTU come from the agent's DHCP.
      const lease = await vm.must('udhcpc -i eth0 -f -q -n -t 6 -T 2 -O mtu -s /udhcpc.sh', 60_000);
      console.log(`vnet_hdr=${vnetHdr ? 'on' : 'off'}: ${/LEASE .*/.exec(lease)?.[0] ?? lease}`);
      expect(lease).toMatch(/LEASE ip=10\.100\.0\.11 mask=24 router=10\.100\.0\.1 mtu=1400 /);
      expect(await vm.must('cat /sys/class/net/eth0/mtu')).toContain(String(MTU));
      // Across the overlay to the namespace guest on the other agent, and back.
      const ping = await vm.run('ping -c 5 -W 2 10.100.0.12', 60_000);
      console.log(`vnet_hdr=${vnetHdr ? 'on' : 'off'}: ${/\d+ packets transmitted.*/.exec(ping.output)?.[0] ?? ping.output}`);
      expect(ping.code).toBe(0);
      const back = await h.exec(guest, 'ping', ['-n', '-c', '3', '-W', '2', '10.100.0.11'], { timeoutMs: 20_000 });
      if (back.code !== 0) {
        console.log(back.stdout, back.stderr, await h.exec(guest, 'ip', ['neigh']).then((r) => r.stdout), await vm.run('ip neigh; ip addr').then((r) => r.output));
        console.log(await a.metrics().then((m) => m.split('\n').filter((l) => /tap|switch|drop/.test(l) && !l.startsWith('#')).join('\n')));
      }
      expect(back.code, 'ping from the guest to the VM').toBe(0);
      // TCP both ways (the reverse run sends from the guest to the VM).
      const rates: string[] = [];
      const kernelBefore = (await a.view()).counters;
      const csumBefore = { vm: tcpCsumErrors(await vm.must('cat /proc/net/snmp')), guest: tcpCsumErrors(await h.mustExec(guest, 'cat', ['/proc/net/snmp'])) };
      const rxStats = async () => (await vm!.must('cat /sys/class/net/eth0/statistics/rx_packets /sys/class/net/eth0/statistics/rx_bytes')).match(/^\d+/gm)!.map(Number);
      let toVmFrame = 0;
      for (const reverse of [false, true]) {
        const rx0 = await rxStats();
        const r = await vm.run(`iperf3 -c 10.100.0.12 -p ${IPERF_PORT} -t 3 -f m --connect-timeout 5000${reverse ? ' -R' : ''}`, 90_000);
        const mbps = receiverMbps(r.output);
        if (mbps === null) {
          const c = (await a.view()).counters;
          console.log('agent A counters:', JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k, v]) => v !== 0 && /kernel|tap|drop|error/.test(k)))));
        }
        expect(mbps ?? 0, `iperf3 ${reverse ? 'guest → VM' : 'VM → guest'} with vnet_hdr=${vnetHdr ? 'on' : 'off'}:\n${r.output}`).toBeGreaterThan(0);
        const rx1 = await rxStats();
        const frame = (rx1[1]! - rx0[1]!) / Math.max(1, rx1[0]! - rx0[0]!);
        if (reverse) toVmFrame = frame;
        rates.push(`${reverse ? 'guest → VM' : 'VM → guest'} ${mbps} Mbit/s (VM received ${rx1[0]! - rx0[0]!} frames of ${frame.toFixed(0)} B on average)`);
      }
      // IPv6 between link-local addresses: with vnet_hdr=on the VM hands over TCPv6 GSO frames.
      const ll = /fe80::[0-9a-f:]+/.exec(await h.mustExec(guest, 'ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']))?.[0];
      expect(ll, 'the guest has an IPv6 link-local address').toBeTruthy();
      const r6 = await vm.run(`iperf3 -6 -c ${ll}%eth0 -p ${IPERF6_PORT} -t 2 -f m --connect-timeout 5000`, 90_000);
      const mbps6 = receiverMbps(r6.output);
      expect(mbps6 ?? 0, `iperf3 over IPv6, VM → guest, vnet_hdr=${vnetHdr ? 'on' : 'off'}:\n${r6.output}`).toBeGreaterThan(0);
      rates.push(`IPv6 VM → guest ${mbps6} Mbit/s`);
      // Which path carried it: with the kernel path, the VM's VIF is on it whether the VM offloads or not.
      const st = JSON.parse(await a.admin('/v1/state')) as { counters: Record<string, number>; vifs: { id: string; path?: { path: string; reason: string | null } }[] };
      const path = st.vifs.find((v) => v.id === vmVif.id)?.path;
      const moved = (n: string) => (st.counters[n] ?? 0) - (kernelBefore[n] ?? 0);
      console.log(`vnet_hdr=${vnetHdr ? 'on' : 'off'}: path ${JSON.stringify(path)}, kernel encap ${moved('softudc_kernel_tx_encap_frames_total')} frames, decap ${moved('softudc_kernel_rx_decap_frames_total')}`);
      if (kernelPath) {
        expect(path).toEqual({ path: 'kernel', reason: null });
        // IPv4 TCP both ways went through the kernel (IPv6 goes through the agent), in both directions of A.
        expect(moved('softudc_kernel_tx_encap_frames_total')).toBeGreaterThan(1000);
        expect(moved('softudc_kernel_rx_decap_frames_total')).toBeGreaterThan(1000);
      }
      if (kernelPath && vnetHdr) {
        // The guest's super-packets for the VM went through agent A's GRO pair and reached the VM merged, not cut to the MTU.
        console.log(`GRO pair: ${moved('softudc_kernel_rx_gro_in_total')} in, ${moved('softudc_kernel_rx_gro_out_total')} out, ${moved('softudc_kernel_gro_drops_total')} dropped`);
        expect(moved('softudc_kernel_rx_gro_in_total')).toBeGreaterThan(0);
        expect(moved('softudc_kernel_rx_gro_out_total')).toBeGreaterThan(0);
        expect(moved('softudc_kernel_gro_drops_total')).toBe(0);
        expect(toVmFrame, 'bytes per frame the VM received from the guest').toBeGreaterThan(MTU + 14);
      }
      // Whatever path carried them, every TCP segment arrived with a right checksum on both sides.
      const csumAfter = { vm: tcpCsumErrors(await vm.must('cat /proc/net/snmp')), guest: tcpCsumErrors(await h.mustExec(guest, 'cat', ['/proc/net/snmp'])) };
      expect(csumAfter.vm - csumBefore.vm, 'TcpInCsumErrors in the VM').toBe(0);
      expect(csumAfter.guest - csumBefore.guest, 'TcpInCsumErrors in the guest').toBe(0);
      console.log(`vnet_hdr=${vnetHdr ? 'on' : 'off'}, ${vm.opts.accel === 'kvm' ? 'KVM' : 'TCG'}: iperf3 ${rates.join(', ')}`);
      const metrics = await a.metrics();
      console.log(`agent A: tap rx ${metricSum(metrics, 'softudc_tap_rx_frames_total')} frames, tx ${metricSum(metrics, 'softudc_tap_tx_frames_total')}, ` +
        `tx drops ${metricSum(metrics, 'softudc_tap_tx_drops_total')}, rx malformed ${metricSum(metrics, 'softudc_tap_rx_malformed_total')}, ` +
        `rx socket drops ${metricSum(metrics, 'softudc_tap_rx_socket_drops_total')}`);
    } finally {
      await vm.stop();
      vm = undefined;
    }
  }

  it('attached as documented (vnet_hdr=on): DHCP lease from the agent, ping and iperf3 both ways to a guest on another agent', async () => {
    await bootAndCheck(true);
  }, 300_000);

  it('the same VM with vnet_hdr=off still works', async () => {
    await bootAndCheck(false);
  }, 300_000);
});
