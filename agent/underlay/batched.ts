// The underlay's unicast socket through the native addon (agent/native/udp.c):
// datagrams queued during one event-loop turn leave together after the poll
// phase in one sendmmsg, runs of equal-sized datagrams to one destination as
// UDP GSO messages; arriving datagrams come up in batches, one JavaScript call
// per recvmmsg. A full socket buffer (EAGAIN) parks the queue until the
// socket is writable again instead of dropping it, as libuv does for dgram.
import { constants } from 'node:os';
import { UDP_STATS, UDP_STATS_LEN, type NativeError, type UdpAddon, type UdpOpenOptions, type UdpReaderHandle } from '../native/index.ts';
import type { Counters } from '../metrics.ts';
import { drained } from './dgram.ts';

export interface BatchedSocketHooks {
  /**
   * Datagrams that arrived, in order: bufs[i] came from address meta[3i]
   * (u32), port meta[3i+1]; meta[3i+2] is 0 for one datagram, else the
   * length of each of the datagrams bufs[i] holds back to back (the last may
   * be shorter).
   */
  onDatagrams(bufs: Buffer[], meta: Uint32Array): void;
  /** `count` queued datagrams were not sent; `code` is the errno name of the (last) reason. */
  onSendFailed(count: number, code: string): void;
  /** A socket error on the receive side; after a fatal one the socket is closed. */
  onError(err: NativeError, fatal: boolean): void;
}

export interface BatchedSocketOptions {
  address: string;
  port: number;
  socket: UdpOpenOptions;
  counters: Counters;
  hooks: BatchedSocketHooks;
  addon: UdpAddon;
}

/** Queue slots allocated first; the queue doubles up to MAX_QUEUE. */
const INITIAL_QUEUE = 256;
/**
 * Datagrams held while the socket buffer is full; past this a send fails
 * (counted), so a stalled underlay cannot grow memory without bound.
 */
export const MAX_QUEUE = 16_384;
/** A turn that queues this many sends them at once rather than after the poll phase. */
export const FLUSH_AT = 1024;
/** GSO messages the kernel refused before GSO is turned off for the socket. */
export const GSO_REFUSALS_MAX = 16;
/** recvmmsg slots per wake-up (64 KiB each: a GRO run fits one). */
const RECV_SLOTS = 64;

const C = {
  txSyscalls: 'softudc_underlay_tx_syscalls_total',
  txGso: 'softudc_underlay_tx_gso_messages_total',
  txGsoRefused: 'softudc_underlay_tx_gso_refused_total',
  txBlocked: 'softudc_underlay_tx_blocked_total',
  rxBatches: 'softudc_underlay_rx_batches_total',
  rxTruncated: 'softudc_underlay_rx_truncated_total',
} as const;

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
const errnoName = (n: number) => errnoNames.get(n) ?? `errno ${n}`;

export class BatchedSocket {
  readonly gro: boolean;
  private gsoOn: boolean;
  private fd: number;
  private reader: UdpReaderHandle | undefined;
  private readonly addon: UdpAddon;
  private readonly counters: Counters;
  private readonly hooks: BatchedSocketHooks;
  // The queue: parallel arrays, so the addon reads addresses without objects.
  private bufs: Buffer[] = [];
  private addrs = new Uint32Array(INITIAL_QUEUE);
  private ports = new Uint16Array(INITIAL_QUEUE);
  private readonly stats = new Int32Array(UDP_STATS_LEN);
  private scheduled = false;
  private blocked = false;
  private gsoRefusals = 0;
  private drained: (() => void) | null = null;
  private readonly flushSoon = () => {
    this.scheduled = false;
    this.flush();
  };

  /** Opens and binds the socket; throws (with the errno name as `code`) when it cannot bind. */
  constructor(opts: BatchedSocketOptions) {
    this.addon = opts.addon;
    this.counters = opts.counters;
    this.hooks = opts.hooks;
    const s = this.addon.udpOpen(opts.address, opts.port, opts.socket);
    this.fd = s.fd;
    this.gsoOn = s.gso;
    this.gro = s.gro;
    try {
      this.reader = this.addon.udpStartReader(
        s.fd,
        (bufs, meta, truncated) => {
          this.counters.inc(C.rxBatches);
          if (truncated > 0) this.counters.inc(C.rxTruncated, truncated);
          if (bufs.length > 0) this.hooks.onDatagrams(bufs, meta);
        },
        () => {
          this.blocked = false;
          this.flush();
        },
        (err, fatal) => {
          if (fatal) this.lost();
          this.hooks.onError(err, fatal);
        },
        RECV_SLOTS,
      );
    } catch (err) {
      this.addon.closeFd(s.fd);
      throw err;
    }
  }

  /** True while runs to one destination leave as UDP GSO messages. */
  get gso(): boolean {
    return this.gsoOn;
  }

  /** Datagrams queued and not yet handed to the kernel. */
  get pending(): number {
    return this.bufs.length;
  }

  /** Queues one datagram; it leaves after the poll phase (or at once when FLUSH_AT are queued). */
  send(buf: Buffer, address: number, port: number): void {
    if (this.fd < 0) return this.hooks.onSendFailed(1, 'EBADF');
    const n = this.bufs.length;
    if (n === this.addrs.length) {
      if (n >= MAX_QUEUE) return this.hooks.onSendFailed(1, 'ENOBUFS');
      this.grow();
    }
    this.bufs.push(buf);
    this.addrs[n] = address;
    this.ports[n] = port;
    if (n + 1 >= FLUSH_AT) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Hands the queue to the kernel now (unless the socket buffer is full: then when it has room). */
  flush(): void {
    const count = this.bufs.length;
    if (count === 0 || this.blocked || this.fd < 0) return;
    const st = this.stats;
    const consumed = this.addon.udpSend(this.fd, this.bufs, this.addrs, this.ports, count, this.gsoOn, st);
    this.counters.inc(C.txSyscalls, st[UDP_STATS.syscalls]!);
    if (st[UDP_STATS.gsoMessages]! > 0) this.counters.inc(C.txGso, st[UDP_STATS.gsoMessages]!);
    if (st[UDP_STATS.failed]! > 0) this.hooks.onSendFailed(st[UDP_STATS.failed]!, errnoName(st[UDP_STATS.lastErrno]!));
    if (st[UDP_STATS.gsoFallbacks]! > 0) {
      // Each refusal costs an extra system call; a kernel or device that
      // keeps refusing gets plain datagrams from now on.
      this.counters.inc(C.txGsoRefused, st[UDP_STATS.gsoFallbacks]!);
      this.gsoRefusals += st[UDP_STATS.gsoFallbacks]!;
      if (this.gsoRefusals >= GSO_REFUSALS_MAX) this.gsoOn = false;
    }
    if (consumed >= count) this.bufs.length = 0;
    else {
      this.bufs.splice(0, consumed);
      this.addrs.copyWithin(0, consumed, count);
      this.ports.copyWithin(0, consumed, count);
    }
    if (st[UDP_STATS.blocked]) {
      this.counters.inc(C.txBlocked);
      this.blocked = true;
      // What waits for room may wait long: keep copies, not views that pin whole read batches.
      for (let i = 0; i < this.bufs.length; i++) {
        const b = this.bufs[i]!;
        if (b.buffer.byteLength > 2 * b.length) this.bufs[i] = Buffer.from(b);
      }
      this.addon.udpWantWritable(this.reader!, true);
    }
    if (this.bufs.length === 0) this.drained?.();
  }

  /**
   * Sends what is queued (waiting up to `drainMs` for a full socket buffer to
   * empty), then closes the socket. What could not leave is reported failed.
   */
  async close(drainMs: number): Promise<void> {
    this.flush();
    if (this.bufs.length > 0 && this.fd >= 0) {
      await drained(drainMs, (done) => {
        this.drained = done;
      });
    }
    this.discard('ECANCELED');
    const r = this.reader;
    this.reader = undefined;
    this.fd = -1;
    if (r) this.addon.udpStopReader(r);
  }

  /** The reader stopped on a fatal error and closed the socket. */
  private lost(): void {
    this.reader = undefined;
    this.fd = -1;
    this.blocked = false;
    this.discard('EBADF');
  }

  private discard(code: string): void {
    const left = this.bufs.length;
    this.bufs.length = 0;
    if (left > 0) this.hooks.onSendFailed(left, code);
  }

  private grow(): void {
    const addrs = new Uint32Array(this.addrs.length * 2);
    const ports = new Uint16Array(this.ports.length * 2);
    addrs.set(this.addrs);
    ports.set(this.ports);
    this.addrs = addrs;
    this.ports = ports;
  }
}
