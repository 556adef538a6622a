// The underlay transport: one UDP socket on the host's care-of address and
// the spec's port (docs/wire.md: "both ends use the same port"), plus, when
// multicast is on, a second socket bound to the group so the kernel hands it
// the group's datagrams (a socket bound to a unicast address never sees them).
// Sends to the group use TTL 1 and loopback on (spec "Defaults": the group
// stays on the LAN; agents sharing a machine still hear each other).
//
// The unicast socket is the native addon's batched one (batched.ts: sendmmsg,
// UDP GSO, recvmmsg, UDP GRO) when the addon is built, else Node's dgram;
// SOFTUDC_UNDERLAY_BATCH=0 forces dgram and SOFTUDC_UNDERLAY_GSO=0 keeps the
// batches but turns the UDP offloads off. Both count every datagram alike.
//
// Over 300 lines, kept whole: one class owns both sockets' setup, group
// membership, sending and receive accounting, which share its state.
import { agentConfig } from '../../config/index.ts';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { DEFAULT_MULTICAST_TTL } from '../wire/index.ts';
import { loadUdpAddon, type NativeError } from '../native/index.ts';
import { BatchedSocket } from './batched.ts';
import { Remotes } from './remotes.ts';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { Remote, UnderlayEvents, UnderlayIo, UnderlayOptions } from './types.ts';
import { bind, close, drained, trySet } from './dgram.ts';

export { MAX_COUNTED_PEERS } from './remotes.ts';

export type { Remote, UnderlayEvents, UnderlayIo, UnderlayOptions } from './types.ts';

const DEFAULT_RCVBUF = 4 << 20;
const DEFAULT_SNDBUF = 4 << 20;
/** Upper bound on waiting for queued sends at stop. */
const STOP_DRAIN_MS = 200;

export class UdpUnderlay extends EventEmitter<UnderlayEvents> {
  readonly address: string;
  readonly port: number;
  private group: string | null = null;
  private peers: readonly string[];
  private sock: dgram.Socket | undefined;
  private batched: BatchedSocket | undefined;
  private ioMode: UnderlayIo = 'dgram';
  private groupSock: dgram.Socket | undefined;
  private readonly counters: Counters;
  private readonly logger: Logger;
  /** Counter names and address forms per remote address, built once (no string work per datagram). */
  readonly remotes = new Remotes();
  // One shared send callback: no closure per datagram on the hot path.
  private inflight = 0;
  private drained: (() => void) | null = null;
  private readonly onSent = (err: Error | null) => {
    if (--this.inflight === 0 && this.drained) this.drained();
    if (err) {
      this.counters.inc('softudc_underlay_tx_errors_total');
      this.logger.debug('underlay send failed', { error: err.message });
    }
  };

  constructor(private readonly opts: UnderlayOptions) {
    super();
    this.address = opts.address;
    this.port = opts.port;
    this.peers = opts.peers.filter((p) => p !== opts.address);
    this.counters = opts.counters;
    this.logger = opts.logger;
  }

  async start(): Promise<void> {
    if (this.up) return;
    // Exclusive: a second agent on the same care-of address and port must fail
    // loudly rather than silently share the traffic. (The group socket below
    // binds the group address and shares it by design.)
    if (await this.startBatched()) {
      await this.setMulticast(this.opts.multicast);
      return;
    }
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    this.attach(sock, 'unicast');
    try {
      await bind(sock, this.address, this.port);
    } catch (err) {
      await close(sock);
      throw err;
    }
    trySet(() => sock.setRecvBufferSize(this.opts.recvBufferSize ?? DEFAULT_RCVBUF));
    trySet(() => sock.setSendBufferSize(DEFAULT_SNDBUF));
    trySet(() => sock.setMulticastTTL(DEFAULT_MULTICAST_TTL));
    trySet(() => sock.setMulticastLoopback(true));
    trySet(() => sock.setMulticastInterface(this.address));
    this.sock = sock;
    this.ioMode = 'dgram';
    await this.setMulticast(this.opts.multicast);
  }

  /** Opens the addon's socket when it is wanted and there; false: use dgram. Throws when it cannot bind. */
  private async startBatched(): Promise<boolean> {
    const want = this.opts.io ?? (agentConfig().SOFTUDC_UNDERLAY_BATCH ? 'auto' : 'dgram');
    if (want === 'dgram') {
      this.logger.info('underlay socket', { io: 'dgram', reason: this.opts.io === 'dgram' ? 'configured' : 'SOFTUDC_UNDERLAY_BATCH=0' });
      return false;
    }
    const { addon, reason } = this.opts.addon === undefined ? loadUdpAddon() : { addon: this.opts.addon, reason: 'no addon' };
    if (!addon) {
      if (want === 'batched') throw new Error(`cannot bind UDP ${this.address}:${this.port}: batched I/O unavailable: ${reason}`);
      this.logger.info('underlay socket', { io: 'dgram', reason });
      return false;
    }
    const offload = this.opts.offload ?? agentConfig().SOFTUDC_UNDERLAY_GSO;
    // Bind one loop turn later, as dgram's asynchronous bind does: datagrams
    // other sockets of this process queued before start() leave first, so
    // start-up ordering is the same whichever socket is in use.
    await new Promise((r) => setImmediate(r));
    try {
      this.batched = new BatchedSocket({
        address: this.address,
        port: this.port,
        addon,
        counters: this.counters,
        socket: {
          recvBufferSize: this.opts.recvBufferSize ?? DEFAULT_RCVBUF,
          sendBufferSize: DEFAULT_SNDBUF,
          multicastTtl: DEFAULT_MULTICAST_TTL,
          multicastLoop: true,
          multicastInterface: this.address,
          gso: offload,
          gro: offload,
        },
        hooks: {
          onDatagrams: (bufs, meta) => {
            for (let i = 0; i < bufs.length; i++) {
              const buf = bufs[i]!;
              const address = this.remotes.text(meta[3 * i]!);
              const port = meta[3 * i + 1]!;
              const seg = meta[3 * i + 2]!;
              if (seg === 0 || buf.length <= seg) this.received(buf, address, port);
              else this.receivedRun(buf, seg, address, port);
            }
          },
          onSendFailed: (count, code) => this.sendFailed(count, code),
          onError: (err, fatal) => this.socketError(err, fatal ? 'unicast (closed)' : 'unicast'),
        },
      });
    } catch (err) {
      const e = err as NativeError;
      throw Object.assign(new Error(`cannot bind UDP ${this.address}:${this.port}: ${e.code ?? ''} ${e.message}`.replace(/ +/g, ' ')), { cause: err, code: e.code });
    }
    this.ioMode = 'batched';
    this.logger.info('underlay socket', { io: 'batched', gso: this.batched.gso, gro: this.batched.gro });
    return true;
  }

  /** How the unicast socket moves datagrams (meaningful once started). */
  get io(): UnderlayIo {
    return this.ioMode;
  }

  /** UDP GSO and GRO in use (batched socket only). */
  get offloads(): { gso: boolean; gro: boolean } {
    return { gso: this.batched?.gso ?? false, gro: this.batched?.gro ?? false };
  }

  private get up(): boolean {
    return this.sock !== undefined || this.batched !== undefined;
  }

  /** Closes the sockets once what was already handed to the kernel is sent (a WITHDRAW must not die with us). */
  async stop(): Promise<void> {
    const s = this.sock;
    const b = this.batched;
    this.sock = undefined;
    this.batched = undefined;
    if (b) await b.close(STOP_DRAIN_MS);
    if (this.inflight > 0) {
      await drained(STOP_DRAIN_MS, (done) => {
        this.drained = done;
      });
    }
    await this.setMulticast(null);
    if (s) await close(s);
  }

  /** Joins `group` on the COA's interface (leaving any other); null leaves. */
  async setMulticast(group: string | null): Promise<void> {
    if (group === this.group && (group === null || this.groupSock)) return;
    if (this.groupSock) {
      const old = this.groupSock;
      this.groupSock = undefined;
      try {
        old.dropMembership(this.group!, this.address);
      } catch {
        // Closing the socket leaves the group anyway.
      }
      await close(old);
    }
    this.group = group;
    if (group === null || !this.up) return;
    const gs = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.attach(gs, 'group');
    try {
      await bind(gs, group, this.port);
      gs.addMembership(group, this.address);
      trySet(() => gs.setRecvBufferSize(this.opts.recvBufferSize ?? DEFAULT_RCVBUF));
      this.groupSock = gs;
      this.logger.info('joined multicast group', { group, interface: this.address });
    } catch (err) {
      // Without the group REQUESTs from others are missed, but unicast and
      // peers still work: report loudly, keep running.
      this.counters.inc('softudc_underlay_multicast_join_errors_total');
      this.logger.error('cannot join multicast group', { group, interface: this.address, error: (err as Error).message });
      await close(gs);
    }
  }

  setPeers(peers: readonly string[]): void {
    this.peers = peers.filter((p) => p !== this.address);
  }

  get multicast(): string | null {
    return this.group;
  }

  get joined(): boolean {
    return this.groupSock !== undefined;
  }

  sendTo(buf: Buffer, address: string, port: number = this.port): void {
    this.send(buf, address, this.batched ? this.remotes.u32(address) : -1, port);
  }

  /** sendTo for an address the switch and VARP already hold as a u32 (no text round trip on the batched path). */
  sendToIp(buf: Buffer, address: number, port: number = this.port): void {
    this.send(buf, this.remotes.text(address), address, port);
  }

  /** `u32` is `address` as a number, or -1 when it is not a dotted quad (only the batched socket needs it). */
  private send(buf: Buffer, address: string, u32: number, port: number): void {
    const s = this.sock;
    const b = this.batched;
    if (!s && !b) {
      this.counters.inc('softudc_underlay_tx_dropped_stopped_total');
      return;
    }
    this.counters.inc('softudc_underlay_tx_datagrams_total');
    this.counters.inc('softudc_underlay_tx_bytes_total', buf.length);
    if (address !== this.group) {
      const names = this.remotes.counterNames(address);
      this.counters.inc(names.txDatagrams);
      this.counters.inc(names.txBytes, buf.length);
    }
    if (b) {
      // What dgram would refuse too (it throws or fails the callback), counted alike.
      if (u32 < 0) return this.sendFailed(1, `invalid IPv4 address "${address}"`);
      if (!Number.isInteger(port) || port <= 0 || port > 0xffff) return this.sendFailed(1, `invalid port ${port}`);
      b.send(buf, u32, port);
      return;
    }
    this.inflight++;
    try {
      s!.send(buf, port, address, this.onSent);
    } catch (err) {
      // Synchronous throws: bad address text, socket closed under us.
      this.onSent(err as Error);
    }
  }

  /**
   * A broadcast on the underlay: to the group when multicast is on, else once
   * to each peer (head-end replication, seed 003 claim 20). `peers` narrows
   * replication to the hosts carrying one vnet.
   */
  flood(buf: Buffer, peers?: readonly string[]): void {
    if (this.group !== null) {
      this.sendTo(buf, this.group);
      return;
    }
    for (const p of peers ?? this.peers) if (p !== this.address) this.sendTo(buf, p);
  }

  private attach(sock: dgram.Socket, which: 'unicast' | 'group'): void {
    sock.on('message', (buf, rinfo) => this.received(buf, rinfo.address, rinfo.port));
    sock.on('error', (err) => this.socketError(err, which));
  }

  private received(buf: Buffer, address: string, port: number): void {
    this.count(1, buf.length, address);
    this.deliver(buf, { address, port });
  }

  /**
   * A GRO run from one source: the sender's datagrams of `seg` bytes (the
   * last may be shorter) back to back, counted once for the run and handed
   * on one by one as views of `buf`, which nothing else writes to.
   */
  private receivedRun(buf: Buffer, seg: number, address: string, port: number): void {
    this.count(Math.ceil(buf.length / seg), buf.length, address);
    const from: Remote = { address, port };
    for (let off = 0; off < buf.length; off += seg) this.deliver(buf.subarray(off, Math.min(off + seg, buf.length)), from);
  }

  private count(datagrams: number, bytes: number, address: string): void {
    this.counters.inc('softudc_underlay_rx_datagrams_total', datagrams);
    this.counters.inc('softudc_underlay_rx_bytes_total', bytes);
    const names = this.remotes.counterNames(address);
    this.counters.inc(names.rxDatagrams, datagrams);
    this.counters.inc(names.rxBytes, bytes);
  }

  private deliver(buf: Buffer, from: Remote): void {
    try {
      this.emit('message', buf, from);
    } catch (err) {
      // A handler bug must cost one datagram, never the socket.
      this.counters.inc('softudc_underlay_rx_handler_errors_total');
      this.logger.error('underlay handler threw', { error: (err as Error).message, stack: (err as Error).stack });
    }
  }

  private socketError(err: Error, which: string): void {
    this.counters.inc('softudc_underlay_socket_errors_total');
    this.logger.warn('underlay socket error', { socket: which, error: err.message });
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private sendFailed(count: number, reason: string): void {
    this.counters.inc('softudc_underlay_tx_errors_total', count);
    this.logger.debug('underlay send failed', { error: reason, datagrams: count });
  }
}
