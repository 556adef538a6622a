// Measurements between two guest namespaces: iperf3 TCP and UDP, ping RTTs
// and the longest gap in a fast ping. Commands run inside namespaces through
// the test harness; nothing here talks outside them.
import { longestGap, type GapSummary } from './summary.ts';
import type { ChildProcess } from 'node:child_process';
import type { NetnsHarness } from '../../test/netns/harness.ts';

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

export async function iperfTcp(h: NetnsHarness, server: { ns: string; ip: string }, clientNs: string, seconds = 5, port = 5201): Promise<TcpResult> {
  const srv = await iperfServer(h, server.ns, server.ip, port);
  try {
    const j = await iperfClient(h, clientNs, ['-c', server.ip, '-p', String(port)], seconds);
    const rx = j.end?.sum_received;
    if (!rx) throw new Error('iperf3 TCP: no sum_received');
    return { mbps: rx.bits_per_second / 1e6, bytes: rx.bytes, seconds: rx.seconds, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
  } finally {
    await h.kill(srv);
  }
}

/** UDP with small datagrams at an unlimited rate: what arrives is the packet rate the path sustains. */
export async function iperfUdp(h: NetnsHarness, server: { ns: string; ip: string }, clientNs: string, seconds = 5, payload = 64, port = 5202): Promise<UdpResult> {
  const srv = await iperfServer(h, server.ns, server.ip, port);
  try {
    const j = await iperfClient(h, clientNs, ['-c', server.ip, '-p', String(port), '-u', '-b', '0', '-l', String(payload)], seconds);
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
