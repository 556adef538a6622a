// The kernel fast path (agent/bpf/) between two hosts: network namespaces on a
// veth underlay, one agent process each, VM-shape TAP guests (the TAP in the
// host's namespace, test/netns/hypervisor.ts playing the hypervisor, the VM's
// kernel in a namespace of its own). Traffic must flow through the kernel
// (its counters prove it, the agent's own reader stays quiet), and behave as
// without it: spoofed sources dropped and counted by the agent, a sealed
// vnet sealed by the agent, ARP and broadcasts through the agent, a migrated
// VIF followed by the maps, an agent without the fast path as a peer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, stateDir } from './netns/agents.ts';
import { Hypervisor } from './netns/hypervisor-client.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { groPairNames, unsupportedReason } from '../agent/bpf/loader.ts';
import { OverlayAgent, fastPathPrograms, captureUnderlay, pingCount, pingUntil, sealKey, type FullState } from './overlay-fixture.ts';
import { KIND_FRAME, decodeFrame, encodeFrame } from '../agent/wire/index.ts';

const bpfMissing = unsupportedReason();
const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/bin/curl') && hasCommand('/usr/sbin/ethtool') && hasCommand('/usr/bin/python3') && bpfMissing === null,
  `the kernel fast path test needs root, \`ip netns\`, the TAP addon, bin/softudc-agent.js, curl, ethtool, python3, and the fast path itself (${bpfMissing ?? 'ok'}; bash .ci/install-deps.sh && npm ci)`,
);

const A = '198.18.14.1';
const B = '198.18.14.2';
const OPEN = 100;
const SEALED = 300;

interface Vm {
  id: string;
  vnet: number;
  n: number;
  tap: string;
  ns: string;
}
const mac = (vm: Vm) => `02:5d:00:${(vm.vnet >> 8).toString(16).padStart(2, '0')}:${(vm.vnet & 0xff).toString(16).padStart(2, '0')}:${vm.n.toString(16).padStart(2, '0')}`;
const ipOf = (vm: Vm) => `10.${vm.vnet % 256}.0.${vm.n}`;
const vif = (vm: Vm, version = 1) => ({ id: vm.id, vnet: vm.vnet, mac: mac(vm), ip: `${ipOf(vm)}/24`, version, guest: { kind: 'tap', ifname: vm.tap } });

describe.skipIf(!ok)('kernel fast path between two hosts with VM guests', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let ha: string;
  let hb: string;
  let a: OverlayAgent;
  let b: OverlayAgent;
  let hvA: Hypervisor;
  let hvB: Hypervisor;
  let programsBefore = 0;
  const key = sealKey(1);
  const vms = {
    a1: { id: 'ka1/eth0', vnet: OPEN, n: 1, tap: 'sdka1', ns: h.name('ka1') },
    a2: { id: 'ka2/eth0', vnet: OPEN, n: 2, tap: 'sdka2', ns: h.name('ka2') },
    b1: { id: 'kb1/eth0', vnet: OPEN, n: 11, tap: 'sdkb1', ns: h.name('kb1') },
    s1: { id: 'ks1/eth0', vnet: SEALED, n: 1, tap: 'sdks1', ns: h.name('ks1') },
    s2: { id: 'ks2/eth0', vnet: SEALED, n: 2, tap: 'sdks2', ns: h.name('ks2') },
  } satisfies Record<string, Vm>;

  function host(name: string, address: string, peer: string, vifs: FullState['vifs']): FullState {
    return {
      host: name,
      generation: 1,
      underlay: { address, port: 1798, multicast: null, peers: [peer] },
      vnets: [
        { id: OPEN, security: 'none', mtu: 1400 },
        { id: SEALED, security: 'conf', mtu: 1400, keys: [key], sendKeyId: 1 },
      ],
      vifs,
    };
  }

  const attach = (hv: Hypervisor, vm: Vm) => hv.attach({ tap: vm.tap, netns: vm.ns, mac: mac(vm), cidr: `${ipOf(vm)}/24`, mtu: 1400 });

  async function counters(x: OverlayAgent): Promise<Record<string, number>> {
    return (await x.view()).counters;
  }
  const delta = (after: Record<string, number>, before: Record<string, number>, name: string) => (after[name] ?? 0) - (before[name] ?? 0);

  /** `count` pings from `from` to `to` (after one that resolves), all answered; what each agent's counters moved by. */
  async function pings(from: Vm, to: Vm, count: number, extra: string[] = []): Promise<{ a: (n: string) => number; b: (n: string) => number }> {
    expect(await pingUntil(h, from.ns, ipOf(to))).toBe(true);
    const [a0, b0] = await Promise.all([counters(a), counters(b)]);
    const r = await pingCount(h, from.ns, ipOf(to), ['-c', String(count), '-i', '0.05', '-W', '2', ...extra]);
    expect(r.received).toBe(count);
    const [a1, b1] = await Promise.all([counters(a), counters(b)]);
    return { a: (n) => delta(a1, a0, n), b: (n) => delta(b1, b0, n) };
  }
  async function state(x: OverlayAgent): Promise<{
    datapath: { active: boolean; reason: string | null; mode: string };
    vifs: { id: string; path?: { path: string; reason: string | null } }[];
  }> {
    return JSON.parse(await x.admin('/v1/state'));
  }

  beforeAll(async () => {
    programsBefore = fastPathPrograms();
    dir = await stateDir();
    ha = await h.addNs('kha');
    hb = await h.addNs('khb');
    await h.veth({ ns: ha, ifname: 'u0', cidr: `${A}/24` }, { ns: hb, ifname: 'u0', cidr: `${B}/24` });
    for (const vm of Object.values(vms)) await h.addNs(vm.ns.slice(vm.ns.lastIndexOf('-') + 1));
    a = new OverlayAgent(h, ha, `${dir.dir}/a.json`, host('kha', A, B, [vif(vms.a1), vif(vms.a2), vif(vms.s1)]));
    b = new OverlayAgent(h, hb, `${dir.dir}/b.json`, host('khb', B, A, [vif(vms.b1), vif(vms.s2)]));
    await Promise.all([a.start(), b.start()]);
    hvA = new Hypervisor(h, ha);
    hvB = new Hypervisor(h, hb);
    await Promise.all([hvA.start(), hvB.start()]);
    for (const vm of [vms.a1, vms.a2, vms.s1]) await attach(hvA, vm);
    for (const vm of [vms.b1, vms.s2]) await attach(hvB, vm);
  }, 120_000);

  afterAll(async () => {
    await hvA?.stop();
    await hvB?.stop();
    await a?.stop();
    await b?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  it('reports the kernel path and which VIFs it carries', async () => {
    const s = await state(a);
    expect(s.datapath).toMatchObject({ mode: 'auto', active: true, reason: null });
    const path = (id: string) => s.vifs.find((v) => v.id === id)?.path;
    expect(path(vms.a1.id)).toEqual({ path: 'kernel', reason: null });
    expect(path(vms.s1.id)).toEqual({ path: 'userspace', reason: 'vnet sealed' });
    expect(a.logs.some((l) => l.includes('kernel fast path loaded'))).toBe(true);
  });

  it('sets up its GRO pair, and drops and counts any frame on it that is not its own', async () => {
    // The pair that merges super-packets for VMs attached with vnet_hdr=on (softudc.bpf.c, sd_gro); the real VM test proves the merge.
    const { near, far } = groPairNames(`${A.replaceAll('.', '_')}-1798`);
    const features = async (dev: string) => await h.mustExec(ha, 'ethtool', ['-k', dev]);
    expect(await features(near)).toMatch(/tx-tcp-segmentation: off/);
    expect(await features(near)).toMatch(/tx-udp_tnl-segmentation: off/);
    expect(await features(far)).toMatch(/generic-receive-offload: on/);
    expect(await h.mustExec(ha, 'tc', ['filter', 'show', 'dev', far, 'ingress'])).toContain('sd_gro');
    // A frame the agent did not send through the pair (no mark naming one of its TAPs): dropped and counted.
    const before = await counters(a);
    const send = `import socket; s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(("${near}", 0)); [s.send(bytes.fromhex("025d000064010a0000000001") + b"\\x08\\x00" + bytes(46)) for _ in range(3)]`;
    await h.mustExec(ha, 'python3', ['-c', send]);
    let after = await counters(a);
    for (let i = 0; i < 20 && delta(after, before, 'softudc_kernel_gro_drops_total') < 3; i++) after = await new Promise((r) => setTimeout(r, 50)).then(() => counters(a));
    expect(delta(after, before, 'softudc_kernel_gro_drops_total')).toBe(3);
    expect(delta(after, before, 'softudc_kernel_rx_gro_out_total')).toBe(0);
    // Deleted by hand: the agent notices within its next tick and sets it up again.
    await h.mustExec(ha, 'ip', ['link', 'del', 'dev', near]);
    // (Polled for up to 20 s: setting it up again is a few `ip`, `ethtool` and `tc` runs, slow on a loaded machine.)
    let back = false;
    for (let i = 0; i < 200 && !back; i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = (await h.exec(ha, 'tc', ['filter', 'show', 'dev', far, 'ingress'])).stdout.includes('sd_gro') && a.logs.some((l) => l.includes('GRO pair was gone'));
    }
    expect(back, 'the GRO pair is set up again, and the agent said so').toBe(true);
  });

  it('carries ping across hosts in the kernel; ARP goes through the agent', async () => {
    const d = await pings(vms.a1, vms.b1, 20);
    // 20 requests out of A and 20 replies out of B, encapsulated by the kernel; each host decapsulated the other's.
    expect(d.a('softudc_kernel_tx_encap_frames_total')).toBeGreaterThanOrEqual(20);
    expect(d.b('softudc_kernel_tx_encap_frames_total')).toBeGreaterThanOrEqual(20);
    expect(d.b('softudc_kernel_rx_decap_frames_total')).toBeGreaterThanOrEqual(20);
    expect(d.a('softudc_kernel_rx_decap_frames_total')).toBeGreaterThanOrEqual(20);
    // The agents' own readers and switches did not carry them.
    expect(d.a('softudc_tap_rx_frames_total')).toBeLessThan(5);
    expect(d.a('softudc_switch_tx_unicast_frames_total')).toBeLessThan(5);
    expect(d.b('softudc_switch_deliveries_total')).toBeLessThan(5);
    // The guests' ARP (broadcast) went to the agent: punted by the kernel path.
    expect((await counters(a))['softudc_kernel_tx_punt_total'] ?? 0).toBeGreaterThan(0);
    const metrics = await a.metrics();
    expect(metrics).toMatch(/^softudc_kernel_tx_encap_frames_total \d+$/m);
  });

  it('puts FRAMEs on the wire exactly as docs/wire.md and the agent do', async () => {
    let d: Awaited<ReturnType<typeof pings>> | undefined;
    const payloads = await captureUnderlay(h, ha, `${dir.dir}/kernel.pcap`, async () => {
      d = await pings(vms.a1, vms.b1, 5);
    });
    expect(d!.a('softudc_kernel_tx_encap_frames_total')).toBeGreaterThanOrEqual(5);
    const frames = payloads.filter((p) => p.readUInt16BE(0) === KIND_FRAME).map((p) => ({ p, f: decodeFrame(p) }));
    const requests = frames.filter(({ f }) => f.ethernet.subarray(0, 6).equals(Buffer.from(mac(vms.b1).replaceAll(':', ''), 'hex')));
    expect(requests.length).toBeGreaterThanOrEqual(5);
    for (const { p, f } of requests) {
      expect(f).toMatchObject({ flags: 0, vnet: OPEN });
      expect(f.ethernet.subarray(6, 12).toString('hex')).toBe(mac(vms.a1).replaceAll(':', ''));
      // Byte for byte what the project's own encoder makes of the same frame.
      expect(p.equals(encodeFrame({ flags: 0, vnet: OPEN, ethernet: f.ethernet }))).toBe(true);
    }
  });

  it('delivers between guests of one host without touching the underlay', async () => {
    const d = await pings(vms.a1, vms.a2, 10);
    expect(d.a('softudc_kernel_tx_local_frames_total')).toBeGreaterThanOrEqual(20);
    expect(d.a('softudc_kernel_tx_encap_frames_total')).toBe(0);
    expect(d.a('softudc_tap_rx_frames_total')).toBeLessThan(5);
  });

  it('leaves a spoofed source to the agent, which drops and counts it', async () => {
    await h.mustExec(vms.a1.ns, 'ip', ['addr', 'add', '10.100.0.99/24', 'dev', 'eth0']);
    const a0 = await counters(a);
    const r = await pingCount(h, vms.a1.ns, ipOf(vms.b1), ['-I', '10.100.0.99', '-c', '5', '-i', '0.1', '-W', '1']);
    await h.mustExec(vms.a1.ns, 'ip', ['addr', 'del', '10.100.0.99/24', 'dev', 'eth0']);
    expect(r.received).toBe(0);
    const a1 = await counters(a);
    expect(delta(a1, a0, 'softudc_switch_port_security_drops_total{reason="ipv4_src"}')).toBeGreaterThanOrEqual(5);
    expect(delta(a1, a0, 'softudc_kernel_tx_encap_frames_total')).toBe(0);
  });

  it('keeps a sealed vnet on the agent, sealed', async () => {
    const d = await pings(vms.s1, vms.s2, 5);
    expect(d.a('softudc_kernel_tx_encap_frames_total')).toBe(0);
    expect(d.a('softudc_switch_tx_unicast_frames_total')).toBeGreaterThanOrEqual(5);
    expect(d.b('softudc_kernel_rx_decap_frames_total')).toBe(0);
  });

  it('replaces what a killed agent left', async () => {
    const loaded = fastPathPrograms();
    (a as unknown as { child: { kill(sig: string): void } }).child.kill('SIGKILL');
    for (let i = 0; i < 50 && !(await a.admin('/v1/state').then(() => false, () => true)); i++) await new Promise((r) => setTimeout(r, 100));
    await a.start();
    // The new agent's programs took the old ones' places on the devices: the old ones are freed.
    for (let i = 0; i < 30 && fastPathPrograms() > loaded; i++) await new Promise((r) => setTimeout(r, 100));
    expect(fastPathPrograms()).toBe(loaded);
    const d = await pings(vms.a1, vms.b1, 10);
    expect(d.a('softudc_kernel_tx_encap_frames_total')).toBeGreaterThanOrEqual(10);
  });

  it('works with a peer that runs the userspace path', async () => {
    await hvB.detach(vms.b1.tap);
    await hvB.detach(vms.s2.tap);
    await b.stop();
    // A GRO pair a killed kernel-path agent left: an agent on the userspace path deletes it.
    const left = groPairNames(`${B.replaceAll('.', '_')}-1798`);
    await h.mustExec(hb, 'ip', ['link', 'add', left.near, 'type', 'veth', 'peer', 'name', left.far]);
    b.env = { SOFTUDC_DATAPATH: 'userspace' };
    await b.start();
    for (const vm of [vms.b1, vms.s2]) await attach(hvB, vm);
    const s = await state(b);
    expect(s.datapath).toMatchObject({ mode: 'userspace', active: false, reason: 'SOFTUDC_DATAPATH=userspace' });
    expect((await h.exec(hb, 'ip', ['link', 'show', 'dev', left.near])).code).not.toBe(0);
    const d = await pings(vms.a1, vms.b1, 10);
    expect(d.a('softudc_kernel_tx_encap_frames_total')).toBeGreaterThanOrEqual(10);
    expect(d.b('softudc_switch_deliveries_total')).toBeGreaterThanOrEqual(10);
    // Its replies come as FRAMEs the kernel path on A delivers.
    expect(d.a('softudc_kernel_rx_decap_frames_total')).toBeGreaterThanOrEqual(10);
  });

  it('follows a VIF that migrates onto the host: no stale remote entry', async () => {
    // b1 moves from B to A (location version 2): A must deliver to it locally from then on.
    await hvB.detach(vms.b1.tap);
    await b.update((s) => ({ ...s, vifs: s.vifs.filter((v) => v.id !== vms.b1.id) }));
    await a.update((s) => ({ ...s, vifs: [...s.vifs, vif(vms.b1, 2)] }));
    await attach(hvA, vms.b1);
    const d = await pings(vms.a1, vms.b1, 10);
    expect(d.a('softudc_kernel_tx_local_frames_total')).toBeGreaterThanOrEqual(20);
    expect(d.a('softudc_kernel_tx_encap_frames_total')).toBe(0);
  });

  it('leaves no BPF program behind when the agents stop', async () => {
    expect(fastPathPrograms()).toBeGreaterThan(programsBefore);
    await hvA.stop();
    await hvB.stop();
    await a.stop();
    await b.stop();
    // Programs are freed once the last reference (a tc filter, a pin, a socket) goes.
    for (let i = 0; i < 20 && fastPathPrograms() > programsBefore; i++) await new Promise((r) => setTimeout(r, 100));
    expect(fastPathPrograms()).toBe(programsBefore);
    // The GRO pairs went with them.
    for (const [ns, address] of [[ha, A], [hb, B]] as const) {
      expect((await h.exec(ns, 'ip', ['link', 'show', 'dev', groPairNames(`${address.replaceAll('.', '_')}-1798`).near])).code).not.toBe(0);
    }
  });
});
