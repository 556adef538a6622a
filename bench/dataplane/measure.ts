// Measurements between two guest namespaces: iperf3 TCP and UDP, ping RTTs
// and the longest gap in a fast ping. Commands run inside namespaces through
// the test harness; nothing here talks outside them.
import { longestGap, type GapSummary } from './summary.ts';
import type { ChildProcess } from 'node:child_process';
import type { NetnsHarness } from '../../test/netns/harness.ts';
import { expectAnswer } from '../verdict.ts';
import type { GuestPair } from './reference.ts';

export interface TcpResult {
  mbps: number;
  bytes: number;
  seconds: number;
  retransmits: number;
}

export interface UdpResult {
  /** Datagrams per second that arrived. */
  pps: number;
  sentPps: number;
  lostPercent: number;
  mbps: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a one-shot iperf3 server and waits until it listens. */
async function iperfServer(h: NetnsHarness, ns: string, bind: string, port: number): Promise<ChildProcess> {
  const srv = h.spawn(ns, 'iperf3', ['-s', '-1', '-B', bind, '-p', String(port)]);
  for (let i = 0; i < 50; i++) {
    const r = await h.exec(ns, 'ss', ['-Hltn', `sport = :${port}`]);
    if (r.stdout.trim().length > 0) return srv;
    await sleep(100);
  }
  throw new Error(`iperf3 server in ${ns} did not start`);
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bytes: number; seconds: number; bits_per_second: number };
    sum_sent?: { retransmits?: number; bits_per_second: number };
    sum?: { packets: number; lost_packets: number; lost_percent: number; seconds: number; bits_per_second: number };
  };
}

async function iperfClient(h: NetnsHarness, ns: string, args: string[], seconds: number): Promise<IperfJson> {
  const r = await h.exec(ns, 'iperf3', ['-J', '--connect-timeout', '3000', '-t', String(seconds), ...args], {
    timeoutMs: (seconds + 20) * 1000,
  });
  let json: IperfJson;
  try {
    json = JSON.parse(r.stdout) as IperfJson;
  } catch {
    throw new Error(`iperf3 ${args.join(' ')} printed no JSON (exit ${r.code}): ${r.stderr.trim()}`);
  }
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  return json;
}

/** iperf3's `-A client,server`: the CPUs the client and (for this test) the server run on. */
const affinityArgs = (affinity?: readonly [number, number]) => (affinity ? ['-A', affinity.join(',')] : []);

export async function iperfTcp(h: NetnsHarness, server: { ns: string; ip: string }, clientNs: string, seconds = 5, port = 5201, affinity?: readonly [number, number]): Promise<TcpResult> {
  const srv = await iperfServer(h, server.ns, server.ip, port);
  try {
    const j = await iperfClient(h, clientNs, ['-c', server.ip, '-p', String(port), ...affinityArgs(affinity)], seconds);
    const rx = j.end?.sum_received;
    if (!rx) throw new Error('iperf3 TCP: no sum_received');
    return { mbps: rx.bits_per_second / 1e6, bytes: rx.bytes, seconds: rx.seconds, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
  } finally {
    await h.kill(srv);
  }
}

/** UDP with small datagrams at an unlimited rate: what arrives is the packet rate the path sustains. */
export async function iperfUdp(
  h: NetnsHarness,
  server: { ns: string; ip: string },
  clientNs: string,
  seconds = 5,
  payload = 64,
  port = 5202,
  affinity?: readonly [number, number],
): Promise<UdpResult> {
  const srv = await iperfServer(h, server.ns, server.ip, port);
  try {
    const j = await iperfClient(h, clientNs, ['-c', server.ip, '-p', String(port), '-u', '-b', '0', '-l', String(payload), ...affinityArgs(affinity)], seconds);
    const s = j.end?.sum;
    if (!s) throw new Error('iperf3 UDP: no sum');
    const received = s.packets - s.lost_packets;
    return {
      pps: received / s.seconds,
      sentPps: s.packets / s.seconds,
      lostPercent: s.lost_percent,
      mbps: (received * payload * 8) / s.seconds / 1e6,
    };
  } finally {
    await h.kill(srv);
  }
}

/** RTTs (ms) of the replies of one `ping` run; missing replies are absent. */
export async function pingRtts(h: NetnsHarness, ns: string, ip: string, args: string[] = []): Promise<{ rtts: number[]; sent: number; received: number }> {
  const r = await h.exec(ns, 'ping', ['-n', ...args, ip], { timeoutMs: 60_000 });
  const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const stat = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { rtts, sent: Number(stat?.[1] ?? 0), received: Number(stat?.[2] ?? 0) };
}

/** A running `ping -D -i interval`; stop() returns the longest gap between replies. */
export function startGapPing(h: NetnsHarness, ns: string, ip: string, intervalMs = 10) {
  const child = h.spawn(ns, 'ping', ['-n', '-D', '-i', String(intervalMs / 1000), '-W', '1', ip]);
  const replies: Array<{ seq: number; t: number }> = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^\[(\d+\.\d+)\].*icmp_seq=(\d+)/.exec(line);
      if (m && line.includes('bytes from')) replies.push({ t: Number(m[1]) * 1000, seq: Number(m[2]) });
    }
  });
  return {
    replies: () => replies.length,
    /** The longest gap, or a failure when the ping got no replies or none after the gap (./summary.ts). */
    async stop(): Promise<GapSummary> {
      const end = Date.now();
      await h.kill(child);
      return longestGap(replies, end, intervalMs);
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

/** One path's figures (a row of the benchmark's table). */
export interface PathResult {
  path: string;
  tcp?: TcpResult;
  udp?: UdpResult;
  rttMs?: number;
  /** RTT with pings 2 ms apart: the path stays warm (no wake-up after idle). */
  hotRttMs?: number;
  cpu?: string;
  /** How much counters (`MeasureOptions.counters`) moved during TCP and UDP, the ones that moved. */
  during?: Record<string, number>;
  error?: string;
  /** A reference that is not installed here: noted, not a failure. */
  skipped?: string;
}

export interface MeasureOptions {
  /** Length of each iperf3 run. */
  seconds: number;
  /** CPU seconds used so far by the processes on the path (the agents): the row's CPU during TCP. */
  cpu?: () => Promise<number>;
  /**
   * iperf3 client and server pinned to these CPUs (`-A`). Unpinned, a 64 B
   * UDP run is bimodal on a small machine: the sender's CPU does the whole
   * path's work, and a receiver that lands on the same CPU (or waits behind
   * another process) loses half the datagrams at its socket.
   */
  affinity?: readonly [number, number];
  /** Counters read right before TCP and right after UDP: `during` says which moved, and by how much. */
  counters?: () => Promise<Record<string, number>>;
}

/** Waits for the path, then ping RTTs (50 ms and 2 ms apart), iperf3 TCP and UDP 64 B from a to b. */
export async function measurePair(h: NetnsHarness, path: string, pair: GuestPair, opts: MeasureOptions): Promise<PathResult> {
  const res: PathResult = { path };
  try {
    // Wait for the path (ARP, VARP, tinc's handshake), then a short RTT sample.
    for (let i = 0; i < 40; i++) if ((await pingRtts(h, pair.a.ns, pair.b.ip, ['-c', '1', '-W', '1'])).received) break;
    const rtt = await pingRtts(h, pair.a.ns, pair.b.ip, ['-c', '10', '-i', '0.05', '-W', '1']);
    const hot = await pingRtts(h, pair.a.ns, pair.b.ip, ['-c', '200', '-i', '0.002', '-W', '1']);
    if (expectAnswer(rtt.received > 0, `${path}: ping RTT, ${rtt.received}/${rtt.sent || 10} answered`)) res.rttMs = percentile(rtt.rtts, 50);
    if (expectAnswer(hot.received > 0, `${path}: ping RTT 2 ms apart, ${hot.received}/${hot.sent || 200} answered`)) res.hotRttMs = percentile(hot.rtts, 50);
    const before = opts.counters ? await opts.counters() : {};
    const cpu0 = opts.cpu ? await opts.cpu() : 0;
    const t0 = Date.now();
    res.tcp = await iperfTcp(h, pair.b, pair.a.ns, opts.seconds, undefined, opts.affinity);
    if (opts.cpu) res.cpu = `${((((await opts.cpu()) - cpu0) / ((Date.now() - t0) / 1000)) * 100).toFixed(0)}% of a core (both agents, TCP)`;
    expectAnswer(res.tcp.mbps > 0, `${path}: TCP, nothing arrived`);
    res.udp = await iperfUdp(h, pair.b, pair.a.ns, opts.seconds, 64, undefined, opts.affinity);
    expectAnswer(res.udp.pps > 0, `${path}: UDP 64 B, nothing arrived`);
    if (opts.counters) {
      const after = await opts.counters();
      res.during = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)] as const).filter(([, d]) => d !== 0));
    }
  } catch (err) {
    res.error = (err as Error).message;
  }
  return res;
}
