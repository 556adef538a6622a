// Helpers of the wide-area, security, migration, VLAN and bandwidth namespace
// tests: LAN segments as kernel bridges in a router namespace, agent
// processes with full state documents, and small probes. Underlay addresses
// are in 198.18.0.0/15; every namespace belongs to the harness and is deleted.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NetnsHarness } from './netns/harness.ts';
import { AgentProcess, repoRoot, type HostState } from './netns/agents.ts';

/** A host state with every field the agent knows (keys, relay, VARP, limits, VLAN). */
export interface FullState {
  host: string;
  generation: number;
  underlay: { address: string; port: number; multicast: string | null; peers: string[]; members?: string[] };
  vnets: Array<Record<string, unknown> & { id: number; security: 'none' | 'auth' | 'conf' }>;
  vifs: Array<Record<string, unknown> & { id: string; vnet: number; mac: string; ip: string; version: number; guest: Record<string, unknown> }>;
  varp?: Record<string, unknown>;
  relay?: { enabled: boolean; peers: string[]; proxy: boolean } | null;
}

export class OverlayAgent extends AgentProcess {
  constructor(h: NetnsHarness, ns: string, file: string, public full: FullState) {
    super(h, ns, file, full as unknown as HostState);
  }

  /** Applies a new generation and waits until the agent reports it applied. */
  async update(change: (s: FullState) => FullState): Promise<void> {
    const next = change(structuredClone(this.full));
    next.generation = this.full.generation + 1;
    this.full = next;
    await this.apply(next as unknown as HostState);
    await this.waitApplied(next.generation);
  }
}

/** A LAN segment: a bridge in the router namespace, multicast flooded (no snooping), the router at .254. */
export async function addSegment(h: NetnsHarness, router: string, bridge: string, cidr24: string): Promise<void> {
  await h.mustExec(router, 'ip', ['link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0', 'forward_delay', '0']);
  await h.mustExec(router, 'ip', ['addr', 'add', `${cidr24}.254/24`, 'dev', bridge]);
  await h.mustExec(router, 'ip', ['link', 'set', bridge, 'up']);
}

/** A host namespace with `u0` on a segment bridge; its default route is the router. */
export async function addHost(h: NetnsHarness, router: string, bridge: string, short: string, address: string): Promise<string> {
  const ns = await h.addNs(short);
  const port = `p${short}`.slice(0, 15);
  await h.veth({ ns, ifname: 'u0', cidr: `${address}/24` }, { ns: router, ifname: port });
  await h.mustExec(router, 'ip', ['link', 'set', port, 'master', bridge]);
  const gw = address.replace(/\.\d+$/, '.254');
  await h.mustExec(ns, 'ip', ['route', 'add', 'default', 'via', gw]);
  return ns;
}

export interface VlanLan {
  /** The LAN's namespace: a bridge joining the host's link and the VLAN switch's trunk. */
  lan: string;
  /** A namespace per VLAN id, holding one machine (`mach0`) on that VLAN. */
  machines: Record<number, string>;
}

/**
 * A "physical" LAN on host interface `hostIf` of namespace `hostNs`: the
 * other end of the link (`eth0` in a LAN namespace) is bridged to a
 * VLAN-aware switch (test/vlan-lan.ts: the kernels here may lack 802.1Q),
 * and each VLAN id in `machines` gets a machine with the given address,
 * untagged, in a namespace of its own.
 */
export async function addVlanLan(h: NetnsHarness, hostNs: string, hostIf: string, short: string, machines: Record<number, string>, mtu = 1400): Promise<VlanLan> {
  const lan = await h.addNs(short);
  await h.veth({ ns: hostNs, ifname: hostIf }, { ns: lan, ifname: 'eth0' });
  const ports = Object.keys(machines).map((vid, i) => `${vid}=mach${i}`);
  const sw = h.spawn(lan, process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'vlan-lan.ts'), 'trunk0', ...ports], { cwd: repoRoot });
  await new Promise<void>((resolve, reject) => {
    sw.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    sw.once('exit', (code) => reject(new Error(`vlan-lan.ts exited ${code}`)));
  });
  for (const cmd of [['link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0'], ['link', 'set', 'eth0', 'master', 'br0', 'up'], ['link', 'set', 'trunk0', 'master', 'br0', 'up'], ['link', 'set', 'br0', 'up']]) {
    await h.mustExec(lan, 'ip', cmd);
  }
  const out: Record<number, string> = {};
  for (const [i, [vid, cidr]] of Object.entries(machines).entries()) {
    const ns = await h.addNs(`${short}${vid}`);
    await h.mustExec(lan, 'ip', ['link', 'set', `mach${i}`, 'netns', ns, 'name', 'mach0']);
    await h.mustExec(ns, 'ip', ['addr', 'add', cidr, 'dev', 'mach0']);
    await h.mustExec(ns, 'ip', ['link', 'set', 'mach0', 'mtu', String(mtu), 'up']);
    out[Number(vid)] = ns;
  }
  return { lan, machines: out };
}

export function tapVif(id: string, vnet: number, n: number, netns: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    vnet,
    mac: `02:5d:00:${(vnet >> 8).toString(16).padStart(2, '0')}:${(vnet & 0xff).toString(16).padStart(2, '0')}:${n.toString(16).padStart(2, '0')}`,
    ip: `10.${vnet % 256}.0.${n}/24`,
    version: 1,
    guest: { kind: 'tap', ifname: 'eth0', netns },
    ...extra,
  };
}

export function sealKey(id: number): { id: number; key: string; salt: string } {
  return { id, key: randomBytes(32).toString('base64'), salt: randomBytes(4).toString('base64') };
}

/** Pings once a second until one reply arrives (resolution across relays takes a few tries). */
export async function pingUntil(h: NetnsHarness, ns: string, ip: string, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await h.exec(ns, 'ping', ['-n', '-c', '1', '-W', '1', ip], { timeoutMs: 5000 });
    if (r.code === 0) return true;
  }
  return false;
}

export async function pingCount(h: NetnsHarness, ns: string, ip: string, args: string[]): Promise<{ sent: number; received: number }> {
  const r = await h.exec(ns, 'ping', ['-n', ...args, ip], { timeoutMs: 120_000 });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
}

/** UDP payloads on port 1798 from a pcap file (Ethernet link type, IPv4). */
export async function pcapUnderlayPayloads(path: string): Promise<Buffer[]> {
  const buf = await readFile(path);
  if (buf.length < 24) return [];
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const out: Buffer[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const incl = u32(off + 8);
    const pkt = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (pkt.length < 14 + 20 + 8 || pkt.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (pkt[14]! & 0x0f) * 4;
    if (pkt[14 + 9] !== 17) continue;
    const udp = 14 + ihl;
    if (pkt.readUInt16BE(udp + 2) !== 1798 && pkt.readUInt16BE(udp) !== 1798) continue;
    out.push(...splitGso(pkt.subarray(udp + 8)));
  }
  return out;
}

/** docs/wire.md: kinds, the Etherip word, VARP's two lengths and its AUTH flag. */
const KIND_VARP = 1;
const KIND_FRAME = 2;
const ETHERIP_WORD = 0x3000;
const FRAME_MIN = 24;
const VARP_SIZES = { plain: 32, auth: 48 } as const;
const VARP_FLAG_AUTH = 2;

/**
 * One captured UDP payload may hold several datagrams: the agent sends
 * batches with UDP GSO, and a capture on the sending host sees a batch
 * before the kernel cuts it into datagrams, all of one size but the last.
 * VARP messages are cut by their fixed length; FRAMEs where every cut starts
 * like the first one (kind, Etherip word, vnet id), at the first size that
 * works.
 */
export function splitGso(p: Buffer): Buffer[] {
  if (p.length < 10) return [p];
  const kind = p.readUInt16BE(0);
  if (kind === KIND_VARP) {
    const size = p[14]! & VARP_FLAG_AUTH ? VARP_SIZES.auth : VARP_SIZES.plain;
    if (p.length <= size || p.length % size !== 0) return [p];
    return Array.from({ length: p.length / size }, (_, i) => p.subarray(i * size, (i + 1) * size));
  }
  if (kind !== KIND_FRAME) return [p];
  const vnet = p.readUInt32BE(6);
  const startsFrame = (at: number) => at + 10 <= p.length && p.readUInt16BE(at) === KIND_FRAME && p.readUInt16BE(at + 4) === ETHERIP_WORD && p.readUInt32BE(at + 6) === vnet;
  for (let size = FRAME_MIN; size < p.length; size++) {
    if (!startsFrame(size)) continue;
    let ok = true;
    for (let at = 2 * size; at < p.length && ok; at += size) ok = startsFrame(at);
    if (ok) return Array.from({ length: Math.ceil(p.length / size) }, (_, i) => p.subarray(i * size, Math.min(p.length, (i + 1) * size)));
  }
  return [p];
}

/** Captures UDP port 1798 on `ifname` in `ns` while `during` runs; the underlay payloads seen. */
export async function captureUnderlay(h: NetnsHarness, ns: string, file: string, during: () => Promise<unknown>, ifname = 'u0'): Promise<Buffer[]> {
  const td = h.spawn(ns, 'tcpdump', ['--immediate-mode', '-n', '-U', '-Z', 'root', '-s', '0', '-i', ifname, '-w', file, 'udp', 'port', '1798']);
  let err = '';
  td.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 50 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
  await during();
  await new Promise((r) => setTimeout(r, 300));
  await h.kill(td);
  return pcapUnderlayPayloads(file);
}

/** Sends raw datagrams from inside a namespace (an attacker on the underlay). */
export async function inject(h: NetnsHarness, ns: string, from: string, to: string, datagrams: Buffer[]): Promise<void> {
  const script = `
    const d = require('node:dgram').createSocket('udp4');
    const msgs = ${JSON.stringify(datagrams.map((b) => b.toString('hex')))};
    d.bind(0, ${JSON.stringify(from)}, async () => {
      for (const m of msgs) await new Promise((r) => d.send(Buffer.from(m, 'hex'), 1798, ${JSON.stringify(to)}, r));
      d.close();
    });`;
  await h.mustExec(ns, process.execPath, ['-e', script]);
}

export interface PingRun {
  /** Echo requests between the first and the last reply that got no reply. */
  lost: number;
  received: number;
  /** Longest time between two consecutive replies, and the requests lost inside it. */
  gapMs: number;
  lostInGap: number;
}

/** A `ping -D -i interval` left running; stop() reads which sequence numbers came back and when. */
export function continuousPing(h: NetnsHarness, ns: string, ip: string, intervalMs = 10) {
  const child = h.spawn(ns, 'ping', ['-n', '-D', '-i', String(intervalMs / 1000), '-W', '1', ip]);
  const replies = new Map<number, number>();
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^\[(\d+\.\d+)\].*icmp_seq=(\d+)/.exec(line);
      if (m && line.includes('bytes from') && !replies.has(Number(m[2]))) replies.set(Number(m[2]), Number(m[1]) * 1000);
    }
  });
  return {
    received: () => replies.size,
    async stop(): Promise<PingRun> {
      await h.kill(child);
      const seqs = [...replies.keys()].sort((x, y) => x - y);
      if (seqs.length < 2) return { lost: 0, received: seqs.length, gapMs: 0, lostInGap: 0 };
      let gapMs = 0;
      let lostInGap = 0;
      const byTime = [...replies.entries()].sort((x, y) => x[1] - y[1]);
      for (let i = 1; i < byTime.length; i++) {
        const d = byTime[i]![1] - byTime[i - 1]![1];
        if (d > gapMs) {
          gapMs = d;
          lostInGap = Math.max(0, byTime[i]![0] - byTime[i - 1]![0] - 1);
        }
      }
      const lost = seqs[seqs.length - 1]! - seqs[0]! + 1 - seqs.length;
      return { lost, received: seqs.length, gapMs, lostInGap };
    },
  };
}

/** iperf3 TCP with extra client options (e.g. `-b 300M`); received Mbit/s. */
export async function iperf(h: NetnsHarness, server: { ns: string; ip: string }, clientNs: string, seconds: number, port: number, extra: string[] = []): Promise<{ mbps: number; retransmits: number }> {
  const srv = h.spawn(server.ns, 'iperf3', ['-s', '-1', '-B', server.ip, '-p', String(port)]);
  try {
    for (let i = 0; i < 50; i++) {
      const r = await h.exec(server.ns, 'ss', ['-Hltn', `sport = :${port}`]);
      if (r.stdout.trim()) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const r = await h.exec(clientNs, 'iperf3', ['-J', '--connect-timeout', '3000', '-t', String(seconds), '-c', server.ip, '-p', String(port), ...extra], { timeoutMs: (seconds + 20) * 1000 });
    const j = JSON.parse(r.stdout) as { error?: string; end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } } };
    if (j.error || !j.end?.sum_received) throw new Error(`iperf3: ${j.error ?? 'no result'}`);
    return { mbps: j.end.sum_received.bits_per_second / 1e6, retransmits: j.end.sum_sent?.retransmits ?? 0 };
  } finally {
    await h.kill(srv);
  }
}

/** BPF programs of the fast path loaded on this machine (any namespace). */
export function fastPathPrograms(): number {
  const out = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { name?: string }[];
  return out.filter((p) => p.name === 'sd_tap' || p.name === 'sd_underlay' || p.name === 'sd_tap_sock').length;
}
