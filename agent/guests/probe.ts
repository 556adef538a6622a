// Traffic an emulated guest originates for diagnostics and benchmarks: ping
// (ICMP echo, RFC 792) and paced UDP streams, to port 7 (echo, RFC 862) to
// measure loss and round trips, or to any other port as a plain load.
import { performance } from 'node:perf_hooks';
import { ICMP_ECHO_REQUEST, ICMP_HEADER_LEN, IPPROTO_ICMP, IPPROTO_UDP, UDP_ECHO_PORT, encodeIcmp, ipToString } from '../wire/index.ts';
import type { EmulatedGuest } from './emulated.ts';

export interface PingOptions {
  /** Echo requests to send [1]. */
  count?: number;
  /** Between sends [1000 ms]. */
  intervalMs?: number;
  /** Per request, including neighbour resolution [1000 ms]. */
  timeoutMs?: number;
  /** ICMP payload bytes [56, as ping(8)]. */
  size?: number;
}

export interface PingResult {
  target: string;
  sent: number;
  received: number;
  lossPct: number;
  /** Round trip per request in order, null when it timed out. */
  rttsMs: (number | null)[];
  minMs: number | null;
  avgMs: number | null;
  maxMs: number | null;
}

export interface UdpStreamOptions {
  /** Datagrams to send; 1000 when neither this nor durationMs is given. */
  packets?: number;
  durationMs?: number;
  /** UDP payload bytes [1000]; at least 12 (sequence number and send time). */
  size?: number;
  /** Paces the payload rate; unpaced when absent. */
  rateMbps?: number;
  /** Destination port [7, echo]: echoes give loss and round trips. */
  port?: number;
  /** How long to wait for echoes after the last send [200 ms]. */
  drainMs?: number;
  /** Neighbour resolution before the stream starts [1000 ms]. */
  timeoutMs?: number;
}

export interface UdpStreamResult {
  target: string;
  port: number;
  sent: number;
  /** UDP payload bytes sent. */
  bytes: number;
  durationMs: number;
  mbps: number;
  pps: number;
  /** Echoes received (port 7 only, else null). */
  echoed: number | null;
  lossPct: number | null;
  rttP50Ms: number | null;
  rttP99Ms: number | null;
}

/** A bad probe option; `field` names it (the admin API answers 400). */
export class ProbeError extends Error {
  readonly code = 'BAD_PROBE';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

function int(v: unknown, field: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ProbeError(field, `must be an integer in ${min}..${max}`);
  }
  return v;
}

const STREAM_HEADER = 12; // u32 sequence + float64 send time
const UNPACED_BATCH = 64; // datagrams per event-loop turn, so replies get processed too
const RTT_SAMPLES_MAX = 100_000;

export async function runPing(g: EmulatedGuest, target: number, opts: PingOptions): Promise<PingResult> {
  const count = int(opts.count, 'count', 1, 1, 10_000);
  const intervalMs = int(opts.intervalMs, 'intervalMs', 1000, 0, 60_000);
  const timeoutMs = int(opts.timeoutMs, 'timeoutMs', 1000, 1, 60_000);
  const size = int(opts.size, 'size', 56, 0, g.mtu - 20 - ICMP_HEADER_LEN);
  if (!g.isRunning) throw new ProbeError('vif', 'guest is not running');
  const id = g.freeId('icmp');
  const payload = Buffer.alloc(size, 0x5d);
  const pending = new Map<number, (rtt: number) => void>();
  const off = g.onEchoReply(id, (_id, seq, p) => {
    if (p.length === size) pending.get(seq)?.(0);
  });
  const probe = async (seq: number): Promise<number | null> => {
    const start = performance.now();
    const mac = await g.resolve(target, timeoutMs);
    const remaining = timeoutMs - (performance.now() - start);
    if (mac === null || remaining <= 0) return null;
    return new Promise<number | null>((resolve) => {
      const t = g.timer(() => {
        pending.delete(seq);
        resolve(null);
      }, remaining);
      pending.set(seq, () => {
        pending.delete(seq);
        g.cancel(t);
        resolve(performance.now() - start);
      });
      g.sendIpTo(mac, target, IPPROTO_ICMP, encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id, seq, payload }));
    });
  };
  const probes: Promise<number | null>[] = [];
  try {
    for (let seq = 0; seq < count; seq++) {
      probes.push(probe(seq));
      if (seq < count - 1 && intervalMs > 0) await new Promise<void>((r) => g.timer(r, intervalMs));
    }
    const rtts = await Promise.all(probes);
    const ok = rtts.filter((r): r is number => r !== null);
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      target: ipToString(target),
      sent: count,
      received: ok.length,
      lossPct: round(((count - ok.length) / count) * 100),
      rttsMs: rtts.map((r) => (r === null ? null : round(r))),
      minMs: ok.length ? round(Math.min(...ok)) : null,
      avgMs: ok.length ? round(ok.reduce((a, b) => a + b, 0) / ok.length) : null,
      maxMs: ok.length ? round(Math.max(...ok)) : null,
    };
  } finally {
    off();
  }
}

export async function runUdpStream(g: EmulatedGuest, target: number, opts: UdpStreamOptions): Promise<UdpStreamResult> {
  const durationMs = opts.durationMs === undefined ? undefined : int(opts.durationMs, 'durationMs', 0, 1, 600_000);
  const packets = int(opts.packets, 'packets', durationMs === undefined ? 1000 : Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER);
  const size = int(opts.size, 'size', 1000, STREAM_HEADER, g.maxPayload);
  const port = int(opts.port, 'port', UDP_ECHO_PORT, 1, 65_535);
  const drainMs = int(opts.drainMs, 'drainMs', 200, 0, 60_000);
  const timeoutMs = int(opts.timeoutMs, 'timeoutMs', 1000, 1, 60_000);
  const rate = opts.rateMbps;
  if (rate !== undefined && !(typeof rate === 'number' && rate > 0 && rate <= 100_000)) {
    throw new ProbeError('rateMbps', 'must be a number in (0, 100000]');
  }
  if (!g.isRunning) throw new ProbeError('vif', 'guest is not running');
  const mac = await g.resolve(target, timeoutMs);
  if (mac === null) throw new ProbeError('target', `${ipToString(target)} does not answer ARP`);

  const srcPort = g.freeId('udp');
  let echoed = 0;
  const rtts: number[] = [];
  const off = g.onUdp(srcPort, (p) => {
    if (p.length < STREAM_HEADER) return;
    echoed++;
    if (rtts.length < RTT_SAMPLES_MAX) rtts.push(performance.now() - p.readDoubleBE(4));
  });
  const bytesPerMs = rate === undefined ? 0 : (rate * 1e6) / 8 / 1000;
  const start = performance.now();
  let sent = 0;
  try {
    await new Promise<void>((done) => {
      const tick = () => {
        if (!g.isRunning) return done();
        const now = performance.now();
        const elapsed = now - start;
        if (sent >= packets || (durationMs !== undefined && elapsed >= durationMs)) return done();
        let allowed = rate === undefined ? UNPACED_BATCH : Math.floor((elapsed * bytesPerMs) / size) + 1 - sent;
        allowed = Math.min(allowed, packets - sent, UNPACED_BATCH * 4);
        for (let i = 0; i < allowed; i++) {
          const payload = Buffer.alloc(size);
          payload.writeUInt32BE(sent >>> 0, 0);
          payload.writeDoubleBE(performance.now(), 4);
          g.sendIpTo(mac, target, IPPROTO_UDP, g.encodeUdpTo(target, srcPort, port, payload));
          sent++;
        }
        if (allowed > 0) setImmediate(tick);
        else g.timer(tick, 1);
      };
      tick();
    });
    const durationSent = performance.now() - start;
    if (port === UDP_ECHO_PORT && drainMs > 0) await new Promise<void>((r) => g.timer(r, drainMs));
    rtts.sort((a, b) => a - b);
    const pct = (q: number) => (rtts.length ? Math.round(rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))]! * 1000) / 1000 : null);
    const secs = durationSent / 1000 || 1e-9;
    const isEcho = port === UDP_ECHO_PORT;
    return {
      target: ipToString(target),
      port,
      sent,
      bytes: sent * size,
      durationMs: Math.round(durationSent * 1000) / 1000,
      mbps: Math.round(((sent * size * 8) / secs / 1e6) * 1000) / 1000,
      pps: Math.round(sent / secs),
      echoed: isEcho ? echoed : null,
      lossPct: isEcho && sent > 0 ? Math.round(((sent - echoed) / sent) * 100_000) / 1000 : null,
      rttP50Ms: isEcho ? pct(0.5) : null,
      rttP99Ms: isEcho ? pct(0.99) : null,
    };
  } finally {
    off();
  }
}
