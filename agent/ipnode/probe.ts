// Diagnostics a virtual router runs itself (seed 001: the external
// application asks a virtual router to perform tasks): ping and traceroute
// from the router's own IP stack, with ICMP echo (RFC 792). Traceroute sends
// echo requests with TTL 1, 2, … and reads who answers "time exceeded"; each
// hop is yielded as soon as it is known, so a caller can stream it.
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  IPPROTO_ICMP,
  encodeIcmp,
} from '../wire/index.ts';
import type { IpNode } from './node.ts';

export interface PingOptions {
  count?: number;
  intervalMs?: number;
  /** How long to wait for each reply. */
  timeoutMs?: number;
  /** Echo payload bytes. */
  size?: number;
  ttl?: number;
  /** Source address (one of the router's); the egress interface's otherwise. */
  src?: number;
}

export interface PingResult {
  sent: number;
  received: number;
  rttsMs: number[];
  /** ICMP errors received instead of replies, e.g. "net unreachable from 10.0.0.1". */
  errors: { from: number; type: number; code: number }[];
}

export interface TraceHop {
  ttl: number;
  /** Who answered, or null when nobody did in time. */
  address: number | null;
  rttMs: number | null;
  /** The destination itself answered (the last hop). */
  reached: boolean;
  /** ICMP type of the answer (11 time exceeded, 0 echo reply, 3 unreachable). */
  type: number | null;
}

interface Answer {
  from: number;
  type: number;
  code: number;
  at: number;
}

const ECHO_ID_OFFSET = 4;
const ECHO_SEQ_OFFSET = 6;
const ICMP_HEADER = 8;

/** Waits for ICMP answers (replies or errors quoting our echo) to probes with one echo identifier. */
export class EchoSession {
  readonly id = 1 + Math.floor(Math.random() * 0xfffe);
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private readonly unlisten: () => void;

  constructor(private readonly node: IpNode) {
    this.unlisten = node.onIcmp((m, src) => {
      let id: number;
      let seq: number;
      if (m.type === ICMP_ECHO_REPLY) {
        id = m.id;
        seq = m.seq;
      } else if (m.type === ICMP_TIME_EXCEEDED || m.type === ICMP_DEST_UNREACHABLE) {
        // The quoted datagram: our echo request's IP header, then its first 8 bytes.
        const q = m.payload;
        if (q.length < 20) return;
        const ihl = (q[0]! & 0x0f) * 4;
        if (q[9] !== IPPROTO_ICMP || q.length < ihl + ICMP_HEADER || q[ihl] !== ICMP_ECHO_REQUEST) return;
        id = q.readUInt16BE(ihl + ECHO_ID_OFFSET);
        seq = q.readUInt16BE(ihl + ECHO_SEQ_OFFSET);
      } else return;
      if (id !== this.id) return;
      this.waiting.get(seq)?.({ from: src, type: m.type, code: m.code, at: performance.now() });
    });
  }

  /** Sends one echo request and resolves with its answer, or null after `timeoutMs`. */
  probe(dst: number, seq: number, o: { ttl?: number; size?: number; src?: number; timeoutMs: number }): Promise<{ answer: Answer | null; rttMs: number | null }> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        resolve({ answer: null, rttMs: null });
      }, o.timeoutMs);
      timer.unref();
      this.waiting.set(seq, (a) => {
        clearTimeout(timer);
        this.waiting.delete(seq);
        resolve({ answer: a, rttMs: a.at - t0 });
      });
      const payload = encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id: this.id, seq, payload: Buffer.alloc(o.size ?? 56, 0x61) });
      const sent = this.node.sendIp({ dst, protocol: IPPROTO_ICMP, payload, ...(o.ttl === undefined ? {} : { ttl: o.ttl }), ...(o.src === undefined ? {} : { src: o.src }) });
      if (!sent) {
        clearTimeout(timer);
        this.waiting.delete(seq);
        resolve({ answer: null, rttMs: null });
      }
    });
  }

  close(): void {
    this.unlisten();
  }
}

export async function ping(node: IpNode, dst: number, o: PingOptions = {}): Promise<PingResult> {
  const count = o.count ?? 1;
  const session = new EchoSession(node);
  const result: PingResult = { sent: 0, received: 0, rttsMs: [], errors: [] };
  try {
    const pending: Promise<void>[] = [];
    for (let seq = 1; seq <= count; seq++) {
      result.sent++;
      pending.push(
        session.probe(dst, seq, { ttl: o.ttl, size: o.size, src: o.src, timeoutMs: o.timeoutMs ?? 1000 }).then(({ answer, rttMs }) => {
          if (answer?.type === ICMP_ECHO_REPLY) {
            result.received++;
            result.rttsMs.push(rttMs!);
          } else if (answer) result.errors.push({ from: answer.from, type: answer.type, code: answer.code });
        }),
      );
      if (seq < count) await new Promise((r) => setTimeout(r, o.intervalMs ?? 1000));
    }
    await Promise.all(pending);
  } finally {
    session.close();
  }
  return result;
}

/** Yields one hop per TTL until the destination answers, a hop says unreachable, or maxHops. */
export async function* traceroute(
  node: IpNode, dst: number, o: { maxHops?: number; timeoutMs?: number; src?: number } = {},
): AsyncGenerator<TraceHop> {
  const session = new EchoSession(node);
  try {
    for (let ttl = 1; ttl <= (o.maxHops ?? 30); ttl++) {
      const { answer, rttMs } = await session.probe(dst, ttl, { ttl, src: o.src, timeoutMs: o.timeoutMs ?? 1000 });
      const reached = answer !== null && (answer.type === ICMP_ECHO_REPLY || answer.from === dst);
      yield { ttl, address: answer?.from ?? null, rttMs, reached, type: answer?.type ?? null };
      if (reached || answer?.type === ICMP_DEST_UNREACHABLE) return;
    }
  } finally {
    session.close();
  }
}
