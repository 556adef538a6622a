// The proxy's pending requests (spec "RELAY", proxy mode), tracked by nonce:
// - out:  a LAN host's REQUEST relayed to the peers; the far answer is re-signed for it,
// - in:   a far REQUEST re-asked on the LAN under our own nonce; the LAN answer goes back to the peer,
// - self: our own resolution of a destination that unicast FRAMEs wait for.
// Each kind is given up after the whole REQUEST schedule; our own resolutions
// are retried meanwhile. Bounded: a flood of REQUESTs must not grow the table
// without end.
import { randomInt } from 'node:crypto';
import { VARP_FLAG_HAS_IP, type VarpMessage } from '../wire/index.ts';
import { VnetMap } from '../varp/vnet-map.ts';
import { now } from './routes.ts';
import { proxyRequest } from './messages.ts';
import { RELAY_COUNTERS as C, type Endpoint, type ProxyLink } from './types.ts';

export interface Pending {
  kind: 'out' | 'in' | 'self';
  nonce: number;
  vnet: number;
  /** 0 for a REQUEST by IP. */
  mac: number;
  ip: number | null;
  /** out: the LAN requester; in: the peer vnetd that asked. */
  reply: Endpoint | null;
  /** in: the far requester's nonce. */
  origNonce: number;
  queue: Buffer[];
  sent: number;
  /** When to retry (self) or give up (out, in). */
  due: number;
}

/** Pending requests kept at most. */
const MAX_PENDING = 4096;

export class PendingRequests {
  private readonly byNonce = new Map<number, Pending>();
  private readonly selfByMac = new VnetMap<Pending>();

  constructor(private readonly link: ProxyLink) {}

  get(nonce: number): Pending | undefined {
    return this.byNonce.get(nonce);
  }

  /** Our own resolution of (vnet, MAC) under way, if any. */
  resolving(vnet: number, mac: number): Pending | undefined {
    return this.selfByMac.get(vnet, mac);
  }

  values(): IterableIterator<Pending> {
    return this.byNonce.values();
  }

  /** A new pending request, due to give up after the whole REQUEST schedule; null (counted) when the table is full. */
  track(init: Omit<Pending, 'queue' | 'sent' | 'due'>): Pending | null {
    if (this.byNonce.size >= MAX_PENDING) {
      this.link.counters.inc(C.proxyIgnored('too_many_pending'));
      return null;
    }
    const s = this.link.settings();
    const p: Pending = { ...init, queue: [], sent: 0, due: now() + s.requestIntervalMs * s.requestCount };
    this.byNonce.set(p.nonce, p);
    if (p.kind === 'self') this.selfByMac.set(p.vnet, p.mac, p);
    return p;
  }

  untrack(p: Pending): void {
    if (this.byNonce.get(p.nonce) === p) this.byNonce.delete(p.nonce);
    if (p.kind === 'self' && this.selfByMac.get(p.vnet, p.mac) === p) this.selfByMac.delete(p.vnet, p.mac);
  }

  /** Starts (or joins) our own resolution of (vnet, MAC). Null when too much is pending. */
  resolve(vnet: number, mac: number): Pending | null {
    const cur = this.resolving(vnet, mac);
    if (cur) return cur;
    const p = this.track({ kind: 'self', nonce: this.newNonce(), vnet, mac, ip: null, reply: null, origNonce: 0 });
    if (p) this.first(p, true);
    return p;
  }

  /** The first REQUEST of a new pending request; it is not kept when that throws (a bug). */
  first(p: Pending, toPeers: boolean): void {
    try {
      this.request(p, toPeers);
    } catch (err) {
      this.untrack(p);
      throw err;
    }
  }

  /**
   * Retries our own resolutions that are due and gives up the requests past
   * their schedule: `gaveUp` is told of each resolution of ours that ended
   * so (`unresolved`), or whose retry threw (`handler_error`, a bug: reported,
   * the others carry on).
   */
  sweep(t: number, gaveUp: (p: Pending, reason: 'unresolved' | 'handler_error') => void): void {
    const s = this.link.settings();
    for (const p of [...this.byNonce.values()]) {
      if (t < p.due) continue;
      try {
        if (p.kind === 'self' && p.sent < s.requestCount) {
          this.request(p, true);
          continue;
        }
      } catch (err) {
        this.untrack(p);
        gaveUp(p, 'handler_error');
        this.link.counters.inc(C.sweepErrors);
        this.link.reportBug('proxy request retry', err);
        continue;
      }
      this.untrack(p);
      if (p.kind === 'self') gaveUp(p, 'unresolved');
    }
  }

  clear(): void {
    this.byNonce.clear();
    this.selfByMac.clear();
  }

  newNonce(): number {
    for (;;) {
      const n = randomInt(0, 0x1_0000_0000);
      if (!this.byNonce.has(n)) return n;
    }
  }

  /** A REQUEST under our COA and the pending nonce: on the LAN, and for our own resolutions to the peers too. */
  private request(p: Pending, toPeers: boolean): void {
    const s = this.link.settings();
    p.sent++;
    p.due = now() + s.requestIntervalMs;
    const req = proxyRequest(s, p.vnet, p.mac, p.ip, p.nonce);
    this.link.floodLan(req, []);
    if (toPeers) this.link.relayOut(req, s.ownCoa, 'varp');
    this.link.counters.inc(C.proxyRequests);
  }
}

/** True when `msg` answers `p`: same vnet, and the MAC asked for (or the IP, for a REQUEST by IP). */
export function answers(p: Pending, msg: VarpMessage): boolean {
  if (msg.vnet !== p.vnet) return false;
  if (p.mac !== 0) return msg.mac === p.mac;
  return (msg.flags & VARP_FLAG_HAS_IP) !== 0 && msg.ip === p.ip;
}
