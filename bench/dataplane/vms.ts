// The agents with VM-shape TAP guests (the TAP in the host's namespace, a
// hypervisor holding its descriptor), once with the kernel fast path
// (agent/bpf/) and once without, in the same run. The hypervisor is the test
// one (test/netns/hypervisor.ts): a process copying frames between the TAP
// and the VM's own TAP, without offloads, like qemu with vnet_hdr=off; it is
// the same in both passes, so the difference between the rows is the agents'.
import type { NetnsHarness } from '../../test/netns/harness.ts';
import { AgentProcess, metricSum, stateDir, type HostState } from '../../test/netns/agents.ts';
import { Hypervisor } from '../../test/netns/hypervisor-client.ts';
import type { GuestPair, Underlay } from './reference.ts';


/** One pass: two agents (SOFTUDC_DATAPATH=`datapath`), one VM each on vnet 100; the row `measure` makes, checked for the path it claims. */
export async function vmPass<R extends { path: string; error?: string }>(
  h: NetnsHarness,
  u: Underlay,
  datapath: 'kernel' | 'userspace',
  n: number,
  measure: (path: string, pair: GuestPair, cpu?: () => Promise<number>) => Promise<R>,
): Promise<R> {
  const path = `agents (VM guests via the test hypervisor, ${datapath === 'kernel' ? 'kernel fast path' : 'userspace'})`;
  const dir = await stateDir();
  const vm = (host: number) => ({
    ns: h.name(`vm${n}${host}`),
    tap: `sdvm${n}${host}`,
    mac: `02:5d:00:${(0xc0 + n).toString(16)}:00:0${host}`,
    ip: `10.100.0.${100 + n * 10 + host}`,
  });
  const [va, vb] = [vm(1), vm(2)];
  const state = (host: string, self: string, peer: string, v: ReturnType<typeof vm>): HostState => ({
    host,
    generation: 1,
    underlay: { address: self, port: 1798, multicast: null, peers: [peer] },
    vnets: [{ id: 100, security: 'none', mtu: 1400 }],
    vifs: [{ id: `${v.tap}/eth0`, vnet: 100, mac: v.mac, ip: `${v.ip}/24`, version: 1, guest: { kind: 'tap', ifname: v.tap } }],
  });
  const a = new AgentProcess(h, u.hA, `${dir.dir}/hA.json`, state('hA', u.ipA, u.ipB, va));
  const b = new AgentProcess(h, u.hB, `${dir.dir}/hB.json`, state('hB', u.ipB, u.ipA, vb));
  a.env = b.env = { SOFTUDC_DATAPATH: datapath };
  const hv = [new Hypervisor(h, u.hA), new Hypervisor(h, u.hB)] as const;
  try {
    for (const v of [va, vb]) await h.addNs(v.ns.slice(v.ns.lastIndexOf('-') + 1));
    await Promise.all([a.start(), b.start(), hv[0].start(), hv[1].start()]);
    await hv[0].attach({ tap: va.tap, netns: va.ns, mac: va.mac, cidr: `${va.ip}/24`, mtu: 1400 });
    await hv[1].attach({ tap: vb.tap, netns: vb.ns, mac: vb.mac, cidr: `${vb.ip}/24`, mtu: 1400 });
    const r = await measure(path, { a: { ns: va.ns, ip: va.ip }, b: { ns: vb.ns, ip: vb.ip } }, async () => (await a.cpuSeconds()) + (await b.cpuSeconds()));
    const kernelFrames = metricSum(await a.metrics(), 'softudc_kernel_tx_encap_frames_total');
    const userFrames = metricSum(await a.metrics(), 'softudc_switch_tx_unicast_frames_total');
    console.log(`\n${path}: host A sent ${kernelFrames} frames through the kernel path, ${userFrames} through its switch`);
    // A row must be what it says: the kernel pass carried by the kernel, the other by the agents.
    if (datapath === 'kernel' && kernelFrames <= userFrames) r.error ??= `the kernel path carried ${kernelFrames} frames, the switch ${userFrames}`;
    if (datapath === 'userspace' && kernelFrames > 0) r.error ??= `the kernel path carried ${kernelFrames} frames with SOFTUDC_DATAPATH=userspace`;
    return r;
  } catch (err) {
    return { path, error: (err as Error).message } as R;
  } finally {
    await hv[0].stop();
    await hv[1].stop();
    await a.stop();
    await b.stop();
    await dir.remove();
  }
}
