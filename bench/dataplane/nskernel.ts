// The agents with namespace guests on the kernel fast path (agent/bpf/): each
// guest's device is the namespace end of a veth pair whose host end carries
// the tc-BPF programs (agent/guests/tap.ts), so nothing of the guests'
// unicast traffic passes through userspace, as with kernel VXLAN. The row is
// checked for the path it claims, and compared with kernel VXLAN of the same
// run against the targets (at least 90 % of its TCP throughput and
// packet rate, ping within 2×).
import type { NetnsHarness } from '../../test/netns/harness.ts';
import { AgentProcess, metricSum, stateDir, type HostState } from '../../test/netns/agents.ts';
import type { GuestPair, Underlay } from './reference.ts';

export const NS_KERNEL = 'agents (namespace guests on veth pairs, kernel fast path)';

interface Row {
  path: string;
  error?: string;
  tcp?: { mbps: number };
  udp?: { pps: number };
  rttMs?: number;
  hotRttMs?: number;
}

/** One pass: two agents with SOFTUDC_DATAPATH=kernel, one namespace guest each on vnet 100. */
export async function nsKernelPass<R extends Row>(
  h: NetnsHarness,
  u: Underlay,
  measure: (path: string, pair: GuestPair, cpu?: () => Promise<number>) => Promise<R>,
): Promise<R> {
  const dir = await stateDir();
  const guest = (host: number) => ({ ns: h.name(`nk${host}`), mac: `02:5d:00:d0:00:0${host}`, ip: `10.100.0.${120 + host}` });
  const [ga, gb] = [guest(1), guest(2)];
  h.track(ga.ns);
  h.track(gb.ns);
  const state = (host: string, self: string, peer: string, g: ReturnType<typeof guest>): HostState => ({
    host,
    generation: 1,
    underlay: { address: self, port: 1798, multicast: null, peers: [peer] },
    vnets: [{ id: 100, security: 'none', mtu: 1400 }],
    vifs: [{ id: `${host}-nk/eth0`, vnet: 100, mac: g.mac, ip: `${g.ip}/24`, version: 1, guest: { kind: 'tap', ifname: 'eth0', netns: g.ns } }],
  });
  const a = new AgentProcess(h, u.hA, `${dir.dir}/hA.json`, state('hA', u.ipA, u.ipB, ga));
  const b = new AgentProcess(h, u.hB, `${dir.dir}/hB.json`, state('hB', u.ipB, u.ipA, gb));
  a.env = b.env = { SOFTUDC_DATAPATH: 'kernel' };
  try {
    await Promise.all([a.start(), b.start()]);
    const r = await measure(NS_KERNEL, { a: { ns: ga.ns, ip: ga.ip }, b: { ns: gb.ns, ip: gb.ip } }, async () => (await a.cpuSeconds()) + (await b.cpuSeconds()));
    const m = await a.metrics();
    const kernelFrames = metricSum(m, 'softudc_kernel_tx_encap_frames_total');
    const userFrames = metricSum(m, 'softudc_switch_tx_unicast_frames_total');
    console.log(`\n${NS_KERNEL}: host A sent ${kernelFrames} frames (GSO super-packets count once) through the kernel path, ${userFrames} through its switch`);
    if (kernelFrames <= userFrames) r.error ??= `the kernel path carried ${kernelFrames} frames, the switch ${userFrames}`;
    return r;
  } catch (err) {
    return { path: NS_KERNEL, error: (err as Error).message } as R;
  } finally {
    await a.stop();
    await b.stop();
    await dir.remove();
  }
}

/** The kernel path's row against kernel VXLAN's of the same run: printed, with the targets. */
export function compareWithVxlan(rows: Row[], vxlanPath: string): void {
  const k = rows.find((r) => r.path === NS_KERNEL && !r.error);
  const v = rows.find((r) => r.path === vxlanPath && !r.error);
  if (!k || !v) return;
  const pct = (x?: number, y?: number) => (x !== undefined && y ? `${((x / y) * 100).toFixed(0)} %` : '—');
  const times = (x?: number, y?: number) => (x !== undefined && y ? `${(x / y).toFixed(2)}×` : '—');
  const verdict = (ok: boolean) => (ok ? 'meets the target' : 'BELOW the target');
  const tcp = (k.tcp?.mbps ?? 0) / (v.tcp?.mbps ?? Infinity);
  const pps = (k.udp?.pps ?? 0) / (v.udp?.pps ?? Infinity);
  const rtt = (k.rttMs ?? Infinity) / (v.rttMs ?? 0);
  console.log(`\nKernel fast path (namespace guests) against kernel VXLAN, this run:`);
  console.log(`  TCP ${pct(k.tcp?.mbps, v.tcp?.mbps)} of VXLAN's (target ≥ 90 %: ${verdict(tcp >= 0.9)})`);
  console.log(`  UDP 64 B packets/s ${pct(k.udp?.pps, v.udp?.pps)} of VXLAN's (target ≥ 90 %: ${verdict(pps >= 0.9)})`);
  console.log(`  ping RTT ${times(k.rttMs, v.rttMs)} VXLAN's at 50 ms, ${times(k.hotRttMs, v.hotRttMs)} at 2 ms (target ≤ 2×: ${verdict(rtt <= 2)})`);
}
