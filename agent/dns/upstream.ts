// Forwards the names a vnet resolver does not know to the host's upstream
// resolvers, from one UDP socket of the host, and hands each answer back to
// the guest that asked. Each forwarded query gets a fresh id; an answer whose
// id and source match no pending query is dropped and counted.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { Counters } from '../metrics.ts';
import { DNS_PORT, DNS_UDP_MAX } from './codec.ts';
import { ipToString } from '../wire/addr.ts';

const PENDING_MAX = 1024;
const TIMEOUT_MS = 3000;
const C = {
  sent: 'softudc_dns_upstream_queries_total',
  answered: 'softudc_dns_upstream_answers_total',
  timeout: 'softudc_dns_upstream_dropped_total{reason="timeout"}',
  full: 'softudc_dns_upstream_dropped_total{reason="too_many_pending"}',
  stray: 'softudc_dns_upstream_dropped_total{reason="unmatched"}',
  large: 'softudc_dns_upstream_dropped_total{reason="too_large"}',
  sendError: 'softudc_dns_upstream_dropped_total{reason="send_error"}',
} as const;

interface Pending {
  id: number;
  server: string;
  reply: (payload: Buffer) => void;
  timer: NodeJS.Timeout;
}

export class UpstreamForwarder {
  private socket: dgram.Socket | null = null;
  private readonly pending = new Map<number, Pending>();
  private servers: string[] = [];

  constructor(private readonly counters: Counters) {}

  /** Sets the upstream resolvers; the socket exists only while there are some. */
  configure(servers: readonly number[]): void {
    this.servers = servers.map(ipToString);
    if (this.servers.length > 0 && this.socket === null) {
      const s = dgram.createSocket('udp4');
      s.on('message', (msg, rinfo) => this.onAnswer(msg, rinfo.address, rinfo.port));
      s.on('error', () => this.counters.inc(C.sendError));
      s.bind(0);
      this.socket = s;
    } else if (this.servers.length === 0) {
      this.stop();
    }
  }

  get enabled(): boolean {
    return this.servers.length > 0;
  }

  /** Forwards `query` (a guest's DNS message); `reply` gets the answer with the guest's id. */
  forward(query: Buffer, reply: (payload: Buffer) => void): void {
    const socket = this.socket;
    const server = this.servers[0];
    if (socket === null || server === undefined || query.length < 2) return;
    if (this.pending.size >= PENDING_MAX) return void this.counters.inc(C.full);
    let id = randomInt(0x10000);
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    const out = Buffer.from(query);
    const guestId = out.readUInt16BE(0);
    out.writeUInt16BE(id, 0);
    const timer = setTimeout(() => {
      this.pending.delete(id);
      this.counters.inc(C.timeout);
    }, TIMEOUT_MS);
    timer.unref();
    this.pending.set(id, { id: guestId, server, reply, timer });
    this.counters.inc(C.sent);
    socket.send(out, DNS_PORT, server, (err) => {
      if (err) this.counters.inc(C.sendError);
    });
  }

  private onAnswer(msg: Buffer, address: string, port: number): void {
    const p = msg.length >= 2 ? this.pending.get(msg.readUInt16BE(0)) : undefined;
    if (p === undefined || p.server !== address || port !== DNS_PORT) return void this.counters.inc(C.stray);
    this.pending.delete(msg.readUInt16BE(0));
    clearTimeout(p.timer);
    if (msg.length > DNS_UDP_MAX) return void this.counters.inc(C.large);
    const out = Buffer.from(msg);
    out.writeUInt16BE(p.id, 0);
    this.counters.inc(C.answered);
    p.reply(out);
  }

  stop(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.socket?.close();
    this.socket = null;
  }
}
