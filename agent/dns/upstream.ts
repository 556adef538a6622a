// Forwards the names a vnet resolver does not know to the host's upstream
// resolvers and hands each answer back to the guest that asked. Every query
// goes out from its own UDP socket (a fresh OS-chosen source port, closed
// when answered or timed out) with a random id; an answer is taken only from
// the server's port 53, with that id, as a response, and with the query's
// question (name case-insensitively, type, class). Anything else is a counted
// drop, and the query stays pending for the real answer. A vnet may have
// VNET_PENDING_MAX queries pending and send VNET_RATE per second (burst
// VNET_BURST); the host as a whole PENDING_MAX. Every refusal is counted
// with its reason and reported to the caller.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { Counters } from '../metrics.ts';
import { TokenBucket } from '../limit/bucket.ts';
import { decodeDns, DNS_PORT, DNS_UDP_MAX, type DnsQuestion } from './codec.ts';
import { ipToString } from '../wire/addr.ts';

export const PENDING_MAX = 1024;
export const VNET_PENDING_MAX = 64;
export const VNET_RATE = 50;
export const VNET_BURST = 100;
const TIMEOUT_MS = 3000;
const dropped = (reason: string) => `softudc_dns_upstream_dropped_total{reason="${reason}"}`;
const C = { sent: 'softudc_dns_upstream_queries_total', answered: 'softudc_dns_upstream_answers_total' } as const;

export interface ForwardHooks {
  /** The answer, with the guest's id. */
  reply: (payload: Buffer) => void;
  /** The query left for the upstream server. */
  sent?: () => void;
  /** The query was refused or lost (the reason is counted here too). */
  dropped?: (reason: string) => void;
}

export interface ForwarderOptions {
  /** The upstream servers' port; 53 except in tests. */
  port?: number;
  timeoutMs?: number;
  pendingMax?: number;
  vnetPendingMax?: number;
  vnetRate?: number;
  vnetBurst?: number;
}

interface Pending {
  vnet: number;
  socket: dgram.Socket;
  timer: NodeJS.Timeout;
}

export class UpstreamForwarder {
  private readonly pending = new Set<Pending>();
  private readonly perVnet = new Map<number, number>();
  private readonly buckets = new Map<number, TokenBucket>();
  private servers: string[] = [];
  private readonly o: Required<ForwarderOptions>;

  constructor(
    private readonly counters: Counters,
    opts: ForwarderOptions = {},
  ) {
    this.o = { port: DNS_PORT, timeoutMs: TIMEOUT_MS, pendingMax: PENDING_MAX, vnetPendingMax: VNET_PENDING_MAX, vnetRate: VNET_RATE, vnetBurst: VNET_BURST, ...opts };
  }

  /** Sets the upstream resolvers; with none, pending queries are dropped. */
  configure(servers: readonly number[], vnets?: ReadonlySet<number>): void {
    this.servers = servers.map(ipToString);
    if (this.servers.length === 0) this.stop();
    if (vnets) for (const id of this.buckets.keys()) if (!vnets.has(id)) this.buckets.delete(id);
  }

  get enabled(): boolean {
    return this.servers.length > 0;
  }

  /** Forwards `query` (a guest's DNS message asking `question`) for a guest of `vnet`. Never throws. */
  forward(vnet: number, query: Buffer, question: DnsQuestion, h: ForwardHooks): void {
    const server = this.servers[0];
    const refuse = (reason: string) => {
      this.counters.inc(dropped(reason));
      h.dropped?.(reason);
    };
    if (server === undefined) return refuse('no_upstream');
    if (query.length < 2) return refuse('malformed');
    if (this.pending.size >= this.o.pendingMax) return refuse('too_many_pending');
    const n = this.perVnet.get(vnet) ?? 0;
    if (n >= this.o.vnetPendingMax) return refuse('vnet_pending');
    let bucket = this.buckets.get(vnet);
    if (!bucket) this.buckets.set(vnet, (bucket = new TokenBucket(this.o.vnetRate, this.o.vnetBurst)));
    if (!bucket.take()) return refuse('vnet_rate');

    const id = randomInt(0x10000);
    const guestId = query.readUInt16BE(0);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    const socket = dgram.createSocket('udp4');
    const p: Pending = { vnet, socket, timer: setTimeout(() => this.finish(p, () => refuse('timeout')), this.o.timeoutMs) };
    p.timer.unref();
    this.pending.add(p);
    this.perVnet.set(vnet, n + 1);
    socket.on('error', () => this.finish(p, () => refuse('send_error')));
    socket.on('message', (msg, rinfo) => {
      const why = rinfo.address !== server || rinfo.port !== this.o.port ? 'unmatched' : check(msg, id, question);
      if (why !== null) return void this.counters.inc(dropped(why));
      this.finish(p, () => {
        const answer = Buffer.from(msg);
        answer.writeUInt16BE(guestId, 0);
        this.counters.inc(C.answered);
        h.reply(answer);
      });
    });
    socket.send(out, this.o.port, server, (err) => {
      if (err) return this.finish(p, () => refuse('send_error'));
      if (!this.pending.has(p)) return;
      this.counters.inc(C.sent);
      h.sent?.();
    });
  }

  /** Ends a pending query once (closing its socket), then runs `then`. */
  private finish(p: Pending, then: () => void): void {
    if (!this.pending.delete(p)) return;
    clearTimeout(p.timer);
    const n = (this.perVnet.get(p.vnet) ?? 1) - 1;
    if (n > 0) this.perVnet.set(p.vnet, n);
    else this.perVnet.delete(p.vnet);
    try {
      p.socket.close();
    } catch {
      // already closed after an error
    }
    then();
  }

  /** How many queries are pending (all vnets, or one). */
  pendingCount(vnet?: number): number {
    return vnet === undefined ? this.pending.size : (this.perVnet.get(vnet) ?? 0);
  }

  stop(): void {
    for (const p of [...this.pending]) this.finish(p, () => {});
  }
}

/** Why an answer from the right server is not the answer to the query (id `id`, `question`), or null when it is. */
function check(msg: Buffer, id: number, question: DnsQuestion): string | null {
  if (msg.length < 2 || msg.readUInt16BE(0) !== id) return 'unmatched';
  if (msg.length > DNS_UDP_MAX) return 'too_large';
  let m;
  try {
    m = decodeDns(msg);
  } catch {
    return 'malformed';
  }
  const q = m.questions[0];
  if (!m.response || m.questions.length !== 1 || q === undefined) return 'question_mismatch';
  if (q.name !== question.name.toLowerCase() || q.type !== question.type || q.class !== question.class) return 'question_mismatch';
  return null;
}
