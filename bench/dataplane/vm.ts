// The dataplane benchmark's VM rows: a real QEMU VM (Debian's kernel, the
// busybox initramfs of test/netns/qemu-vm.ts) on agent A talking to a
// namespace guest on agent B through the overlay, attached with vnet_hdr=on
// and =off; the same VM through a plain Linux bridge to a namespace as the
// reference; the vnet_hdr=on VM again with both agents in userspace
// (SOFTUDC_DATAPATH=userspace); and a QEMU live migration of the VM from
// agent A to agent B under a 10 ms ping, B's VIF attached incoming (A's
// outgoing) beforehand. iperf3 runs inside the VM, driven by its serial console. Each
// overlay row says which path agent A reported for the VM (/v1/state), and
// every row its ratio to the bridge.
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { NetnsHarness } from '../../test/netns/harness.ts';
import { AgentProcess, stateDir, type HostState, type VifState } from '../../test/netns/agents.ts';
import { bootVm, buildInitramfs, debianKernel, vmPrerequisites, Vm } from '../../test/netns/qemu-vm.ts';
import { startGapPing } from './measure.ts';
import { fail } from '../verdict.ts';
import type { Underlay } from './reference.ts';

export interface VmRow {
  path: string;
  /** The path agent A's /v1/state gave the VM's VIF after the row ("kernel", or "userspace: <why>"). */
  via?: string;
  /** TCP Mbit/s, VM → peer and peer → VM. */
  up?: number;
  down?: number;
  /** Bytes per frame the VM's eth0 received during the peer → VM run (its receive counters): how whole the peer's super-packets reached it. */
  downFrame?: number;
  /** UDP 64-byte datagrams per second received by the peer. */
  udpPps?: number;
  error?: string;
}

export interface VmSection {
  accel: string;
  rows: VmRow[];
  /** The migration's ping gap, or why it was not measured. */
  migration?: { gapMs: number; lostInGap: number; downtimeMs: number; announceMs: number } | { error: string };
}

const VM_IP = '10.100.0.11';
const PEER_IP = '10.100.0.22';
const MTU = 1400;
const VM_MAC = '02:5d:00:0a:00:0b';
const TAP = 'sdvm1';
const MIGRATE_PORT = 4444;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mbps(out: string): number | undefined {
  const m = /([\d.]+) Mbits\/sec(?:\s+\d+)?\s+receiver/.exec(out);
  return m ? Number(m[1]) : undefined;
}

/** iperf3's UDP receiver line: datagrams that arrived per second. */
function udpPps(out: string, seconds: number): number | undefined {
  const m = /(\d+)\/(\d+) \([\d.e+-]+%\)\s+receiver/.exec(out);
  return m ? (Number(m[2]) - Number(m[1])) / seconds : undefined;
}

/** The VM's eth0 receive counters, or null when they could not be read. */
async function rxCounters(vm: Vm): Promise<{ bytes: number; packets: number } | null> {
  const r = await vm.run('cat /sys/class/net/eth0/statistics/rx_bytes /sys/class/net/eth0/statistics/rx_packets', 60_000).catch(() => null);
  const n = r?.output.match(/^\d+$/gm)?.map(Number);
  return n && n.length >= 2 ? { bytes: n[n.length - 2]!, packets: n[n.length - 1]! } : null;
}

/** Static address (the test proves DHCP), then TCP both ways and UDP 64 B from the VM to the peer. */
async function measureVm(vm: Vm, path: string, seconds: number): Promise<VmRow> {
  const row: VmRow = { path };
  try {
    await vm.must(`ip addr add ${VM_IP}/24 dev eth0 && ip link set eth0 mtu ${MTU}`);
    const ping = await vm.run(`ping -c 20 -i 0.2 -W 1 ${PEER_IP}`, 60_000);
    if (!/ [1-9]\d* packets received/.test(ping.output)) throw new Error(`no ping answer from ${PEER_IP}`);
    const up = await vm.run(`iperf3 -c ${PEER_IP} -t ${seconds} -f m --connect-timeout 5000`, (seconds + 60) * 1000);
    row.up = mbps(up.output);
    const before = await rxCounters(vm);
    const down = await vm.run(`iperf3 -c ${PEER_IP} -t ${seconds} -f m --connect-timeout 5000 -R`, (seconds + 60) * 1000);
    row.down = mbps(down.output);
    const after = await rxCounters(vm);
    if (before && after && after.packets > before.packets) row.downFrame = (after.bytes - before.bytes) / (after.packets - before.packets);
    const udp = await vm.run(`iperf3 -c ${PEER_IP} -t ${seconds} -u -l 64 -b 200M --connect-timeout 5000`, (seconds + 60) * 1000);
    row.udpPps = udpPps(udp.output, seconds);
    if (row.up === undefined || row.down === undefined || row.udpPps === undefined) throw new Error(`iperf3 gave no figure:\n${[up.output, down.output, udp.output].join('\n').slice(-600)}`);
    // Nothing received is a probe without an answer, not a figure.
    const none = (['up', 'down', 'udpPps'] as const).filter((k) => !(row[k]! > 0));
    if (none.length > 0) throw new Error(`iperf3 received nothing (${none.join(', ')}):\n${[up.output, down.output, udp.output].join('\n').slice(-600)}`);
  } catch (err) {
    row.error = (err as Error).message;
  }
  return row;
}

/** A QEMU monitor (HMP) on a unix socket, one connection for every command. */
async function openMonitor(socket: string): Promise<{ cmd(line: string): Promise<string>; close(): void }> {
  const c = createConnection(socket);
  let buf = '';
  let waiter: ((text: string) => void) | undefined;
  c.on('data', (d) => {
    buf += d.toString();
    const at = buf.indexOf('(qemu)');
    if (at >= 0 && waiter) {
      const text = buf.slice(0, at);
      buf = buf.slice(at + '(qemu)'.length);
      const w = waiter;
      waiter = undefined;
      w(text);
    }
  });
  const prompt = (what: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`monitor: no answer to ${what}`)), 10_000);
      waiter = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
      c.emit('data', Buffer.alloc(0)); // a prompt already buffered
    });
  await new Promise<void>((resolve, reject) => c.once('connect', resolve).once('error', reject));
  await prompt('the banner');
  return {
    cmd(line: string) {
      const answer = prompt(line);
      c.write(`${line}\n`);
      return answer;
    },
    close: () => c.destroy(),
  };
}

/**
 * The VM on agent A migrates (QEMU `migrate`) to a QEMU waiting on agent B's
 * host, while the peer pings it every 10 ms. Before the migration starts, B's
 * state lists the VIF `incoming` with the next version, A's `outgoing` (docs/operations.md "Live
 * migration of a VM"): B attaches the destination's TAP ahead of time and activates the VIF on the
 * VM's first frame there (QEMU's announcement as the VM resumes); A lets it go on B's ANNOUNCE.
 * Nothing is written to either agent in the critical path; the move is finished afterwards, as a console would.
 */
async function migrate(h: NetnsHarness, u: Underlay, vm: Vm, a: AgentProcess, b: AgentProcess, vif: (v: number) => VifState, monA: string, initramfs: string): Promise<NonNullable<VmSection['migration']>> {
  await h.mustExec(u.hB, 'ip', ['tuntap', 'add', TAP, 'mode', 'tap']); // the destination QEMU attaches to it before B's agent does
  const dest = new Vm(h, { ns: u.hB, initramfs, tap: TAP, mac: VM_MAC, vnetHdr: true, accel: vm.opts.accel, extra: ['-incoming', `tcp:${u.ipB}:${MIGRATE_PORT}`] });
  try {
    for (let i = 0; i < 100 && !(await h.exec(u.hB, 'ss', ['-Hltn', `sport = :${MIGRATE_PORT}`])).stdout.trim(); i++) await sleep(100);
    const next = (s: HostState, vifs: VifState[]): HostState => ({ ...s, generation: s.generation + 1, vifs });
    const incoming = next(b.state, [...b.state.vifs, { ...vif(2), incoming: true } as VifState]);
    const outgoing = next(a.state, a.state.vifs.map((v) => (v.mac === VM_MAC ? ({ ...v, outgoing: true } as VifState) : v)));
    await Promise.all([b.apply(incoming), a.apply(outgoing)]);
    await Promise.all([b.waitApplied(incoming.generation), a.waitApplied(outgoing.generation)]);
    const ping = startGapPing(h, peerNs(h), VM_IP, 10);
    await sleep(1000);
    const mon = await openMonitor(monA);
    let info = '';
    let completedAt = 0;
    try {
      await mon.cmd(`migrate -d tcp:${u.ipB}:${MIGRATE_PORT}`);
      for (let i = 0; i < 3000; i++) {
        info = await mon.cmd('info migrate');
        if (/Migration status: (completed|failed|cancelled)/.test(info)) break;
        await sleep(5);
      }
      completedAt = Date.now();
    } finally {
      mon.close();
    }
    if (!/Migration status: completed/.test(info)) throw new Error(`migration did not complete: ${/Migration status: \w+/.exec(info)?.[0] ?? info.slice(0, 200)}`);
    await sleep(2000);
    const gap = await ping.stop();
    const seen = (JSON.parse(await b.admin('/v1/state')) as { vifs: { mac: string; migration?: { state: string; activatedAt: number | null } }[] }).vifs.find((v) => v.mac === VM_MAC)?.migration;
    // The move is finished: B holds the VIF plainly, A lets it go.
    const toB = next(b.state, [...b.state.vifs.filter((v) => v.mac !== VM_MAC), vif(2)]);
    const fromA = next(a.state, a.state.vifs.filter((v) => v.mac !== VM_MAC));
    await Promise.all([b.apply(toB), a.apply(fromA)]);
    await Promise.all([b.waitApplied(toB.generation), a.waitApplied(fromA.generation)]);
    if (gap.failure) throw new Error(gap.failure);
    if (seen?.state !== 'active' || seen.activatedAt === null) throw new Error(`the incoming VIF on agent B was not activated (${JSON.stringify(seen)})`);
    const downtimeMs = Number(/downtime: (\d+) ms/.exec(info)?.[1] ?? NaN);
    // Monitor polls every few ms, so the announcement may come before QEMU is seen completed (negative).
    return { gapMs: gap.gapMs, lostInGap: gap.lostInGap, downtimeMs, announceMs: seen.activatedAt - completedAt };
  } finally {
    await dest.stop();
  }
}

function peerNs(h: NetnsHarness): string {
  return h.name('vmpeer');
}

/** Boots the VM per path and measures it; `null` when QEMU or the kernel is missing. */
export async function vmSection(h: NetnsHarness, u: Underlay, seconds: number): Promise<VmSection | { skipped: string }> {
  const missing = vmPrerequisites();
  if (missing) return { skipped: missing };
  const dir = await stateDir();
  const initramfs = join(dir.dir, 'initramfs.gz');
  await buildInitramfs(initramfs, debianKernel()!.version);
  const peer = peerNs(h);
  h.track(peer);
  const vnets: HostState['vnets'] = [{ id: 100, security: 'none', mtu: MTU }];
  const vmVif = (version: number): VifState => ({ id: 'vm-1/eth0', vnet: 100, mac: VM_MAC, ip: `${VM_IP}/24`, version, guest: { kind: 'tap', ifname: TAP } });
  const peerVif: VifState = { id: 'peer/eth0', vnet: 100, mac: '02:5d:00:0b:00:16', ip: `${PEER_IP}/24`, version: 1, guest: { kind: 'tap', ifname: 'eth0', netns: peer } };
  const state = (host: string, self: string, other: string, vifs: VifState[]): HostState => ({ host, generation: 1, underlay: { address: self, port: 1798, multicast: null, peers: [other] }, vnets, vifs });
  const a = new AgentProcess(h, u.hA, `${dir.dir}/vA.json`, state('hA', u.ipA, u.ipB, [vmVif(1)]));
  const b = new AgentProcess(h, u.hB, `${dir.dir}/vB.json`, state('hB', u.ipB, u.ipA, [peerVif]));
  const out: VmSection = { accel: 'tcg', rows: [] };
  let accel: 'kvm' | 'tcg' | 'auto' = 'auto';
  try {
    await Promise.all([a.start(), b.start()]);
    const iperf = h.spawn(peer, 'iperf3', ['-s', '-B', PEER_IP]);
    for (const vnetHdr of [true, false]) {
      const monitor = join(dir.dir, `mon-${vnetHdr ? 'on' : 'off'}.sock`);
      const vm = await bootVm(h, { ns: u.hA, initramfs, tap: TAP, mac: VM_MAC, vnetHdr, accel, extra: ['-monitor', `unix:${monitor},server,nowait`] });
      accel = vm.opts.accel;
      out.accel = accel;
      try {
        out.rows.push(await withPath(a, await measureVm(vm, `VM through the agents, vnet_hdr=${vnetHdr ? 'on' : 'off'}`, seconds)));
        if (vnetHdr) {
          out.migration = await migrate(h, u, vm, a, b, vmVif, monitor, initramfs).catch((err: Error) => ({ error: err.message }));
          // Back to agent A for the next boot.
          await a.apply({ ...a.state, generation: a.state.generation + 1, vifs: [vmVif(3)] });
          await b.apply({ ...b.state, generation: b.state.generation + 1, vifs: [peerVif] });
          await Promise.all([a.waitApplied(a.state.generation), b.waitApplied(b.state.generation)]);
        }
      } finally {
        await vm.stop();
      }
    }
    await a.stop();
    await b.stop();
    // The same VM and agents without the kernel path: what the agents' own I/O gives it.
    const ua = new AgentProcess(h, u.hA, `${dir.dir}/uA.json`, state('hA', u.ipA, u.ipB, [vmVif(1)]));
    const ub = new AgentProcess(h, u.hB, `${dir.dir}/uB.json`, state('hB', u.ipB, u.ipA, [peerVif]));
    ua.env = ub.env = { SOFTUDC_DATAPATH: 'userspace' };
    await h.kill(iperf); // agent B took the peer's namespace with it
    try {
      await Promise.all([ua.start(), ub.start()]);
      for (let i = 0; i < 100 && !(await h.exec(peer, 'ip', ['-4', '-o', 'addr'])).stdout.includes(PEER_IP); i++) await sleep(100);
      const server = h.spawn(peer, 'iperf3', ['-s', '-B', PEER_IP]);
      const vm = await bootVm(h, { ns: u.hA, initramfs, tap: TAP, mac: VM_MAC, vnetHdr: true, accel });
      try {
        out.rows.push(await withPath(ua, await measureVm(vm, 'VM through the agents, vnet_hdr=on, SOFTUDC_DATAPATH=userspace', seconds)));
      } finally {
        await vm.stop();
        await h.kill(server);
      }
    } finally {
      await ua.stop();
      await ub.stop();
    }
    out.rows.push(await bridgeReference(h, u, initramfs, accel, seconds));
  } finally {
    await a.stop();
    await b.stop();
    await dir.remove();
  }
  return out;
}

/** `row` with the path agent `x` reports for the VM's VIF (a row whose path is unknown fails the run). */
async function withPath(x: AgentProcess, row: VmRow): Promise<VmRow> {
  try {
    const st = JSON.parse(await x.admin('/v1/state')) as { vifs: { id: string; path?: { path: string; reason: string | null } }[]; counters: Record<string, number> };
    const p = st.vifs.find((v) => v.id === 'vm-1/eth0')?.path;
    if (!p) throw new Error('no path for vm-1/eth0 in /v1/state');
    row.via = p.reason ? `${p.path}: ${p.reason}` : p.path;
    // Super-packets for the VM that went through agent A's GRO pair, and what came out merged (the agent's totals so far).
    const gin = st.counters.softudc_kernel_rx_gro_in_total ?? 0;
    if (gin > 0) row.via += ` (GRO pair: ${gin} in, ${st.counters.softudc_kernel_rx_gro_out_total ?? 0} out)`;
  } catch (err) {
    row.error ??= `path unknown: ${(err as Error).message}`;
  }
  return row;
}

/** The same VM (vnet_hdr=on) with its TAP on a Linux bridge in host A, the peer namespace on the bridge by a veth. */
async function bridgeReference(h: NetnsHarness, u: Underlay, initramfs: string, accel: 'kvm' | 'tcg' | 'auto', seconds: number): Promise<VmRow> {
  const path = 'same VM through a Linux bridge, vnet_hdr=on (reference)';
  const ref = await h.addNs('vmref');
  for (const cmd of [['link', 'add', 'vmbr0', 'type', 'bridge', 'forward_delay', '0'], ['tuntap', 'add', 'vmbrtap', 'mode', 'tap'], ['link', 'set', 'vmbrtap', 'master', 'vmbr0', 'mtu', String(MTU), 'up'], ['link', 'set', 'vmbr0', 'up']]) await h.mustExec(u.hA, 'ip', cmd);
  await h.veth({ ns: u.hA, ifname: 'vmbrv' }, { ns: ref, ifname: 'eth0', cidr: `${PEER_IP}/24` }, MTU);
  await h.mustExec(u.hA, 'ip', ['link', 'set', 'vmbrv', 'master', 'vmbr0']);
  const iperf = h.spawn(ref, 'iperf3', ['-s', '-B', PEER_IP]);
  const vm = await bootVm(h, { ns: u.hA, initramfs, tap: 'vmbrtap', mac: VM_MAC, vnetHdr: true, accel });
  try {
    return await measureVm(vm, path, seconds);
  } finally {
    await vm.stop();
    await h.kill(iperf);
    await h.exec(u.hA, 'ip', ['link', 'del', 'vmbr0']);
    await h.exec(u.hA, 'ip', ['link', 'del', 'vmbrtap']);
  }
}

const fmt = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(0));

/** The VM table and the migration line; a row or migration without figures fails the run. */
export function printVmSection(s: VmSection | { skipped: string }): void {
  if ('skipped' in s) {
    console.log(`\nVM rows not run: ${s.skipped}`);
    return;
  }
  console.log(`\nA QEMU VM (${s.accel === 'kvm' ? 'KVM' : 'TCG, -cpu qemu64'}, virtio-net, MTU ${MTU}) and a namespace peer`);
  const ref = s.rows.find((r) => r.path.includes('reference'));
  const pct = (n: number | undefined, of: number | undefined) => (n === undefined || !of ? '—' : `${((n / of) * 100).toFixed(0)} %`);
  console.log('| path | agent A used | TCP VM → peer Mbit/s (vs bridge) | TCP peer → VM Mbit/s (vs bridge) | bytes per frame the VM received, peer → VM | UDP 64 B VM → peer received pps (vs bridge) |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const r of s.rows) {
    const via = r.path.includes('reference') ? 'no agent' : r.via ?? '—';
    console.log(r.error ? `| ${r.path} | ${via} | error: ${r.error.split('\n')[0]} | | | |` : `| ${r.path} | ${via} | ${fmt(r.up)} (${pct(r.up, ref?.up)}) | ${fmt(r.down)} (${pct(r.down, ref?.down)}) | ${fmt(r.downFrame)} | ${fmt(r.udpPps)} (${pct(r.udpPps, ref?.udpPps)}) |`);
  }
  const on = s.rows.find((r) => r.path.endsWith('vnet_hdr=on'));
  if (ref?.up && ref.down && on?.up && on.down) {
    const met = on.up >= 0.8 * ref.up && on.down >= 0.8 * ref.down;
    console.log(`  overlay vnet_hdr=on (${on.via ?? '?'}) vs bridge: ${pct(on.up, ref.up)} VM → peer, ${pct(on.down, ref.down)} peer → VM: the 80 % aim is ${met ? 'met' : 'missed'}`);
  }
  for (const r of s.rows) if (r.error) fail(`${r.path}: ${r.error.split('\n')[0]}`);
  const m = s.migration;
  if (!m) return;
  if ('error' in m) fail(`VM live migration: ${m.error}`);
  else {
    console.log(`\nVM live migration, agent A → agent B (QEMU migrate, 10 ms ping from the peer; B's state listed the VIF incoming and A's outgoing before the migration): longest gap ${m.gapMs.toFixed(0)} ms, ${m.lostInGap} lost; QEMU downtime ${fmt(m.downtimeMs)} ms; B activated the VIF and sent its GRATUITOUS ANNOUNCE ${m.announceMs.toFixed(0)} ms after the monitor saw QEMU report the migration completed`);
    if (m.lostInGap > 2) console.log(`  aim missed: ${m.lostInGap} lost, the aim is at most 2`);
  }
}
