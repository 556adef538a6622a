// The underlay transport: one UDP socket on the host's care-of address and
// the spec's port (spec/wire.md: "both ends use the same port"), plus, when
// multicast is on, a second socket bound to the group so the kernel hands it
// the group's datagrams (a socket bound to a unicast address never sees them).
// Sends to the group use TTL 1 and loopback on (spec "Defaults": the group
// stays on the LAN; agents sharing a machine still hear each other).
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { DEFAULT_MULTICAST_TTL } from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';

export interface UnderlayOptions {
  address: string;
  port: number;
  /** The group, or null for head-end replication to peers. */
  multicast: string | null;
  peers: readonly string[];
  counters: Counters;
  logger: Logger;
  /** SO_RCVBUF wish; the kernel caps it at net.core.rmem_max. */
  recvBufferSize?: number;
}

export interface Remote {
  address: string;
  port: number;
}

export interface UnderlayEvents {
  /** A datagram arrived. The buffer is the kernel's copy: the receiver may keep it. */
  message: [buf: Buffer, from: Remote];
  /** A socket error that does not stop the underlay (it is also logged and counted). */
  error: [err: Error];
}

const DEFAULT_RCVBUF = 4 << 20;
const DEFAULT_SNDBUF = 4 << 20;
/** Upper bound on waiting for queued sends at stop. */
const STOP_DRAIN_MS = 200;
/**
 * Remote addresses counted one by one (the console's tunnel rates); the rest
 * share `peer="other"`, so forged sources cannot grow the metrics unboundedly.
 */
export const MAX_COUNTED_PEERS = 256;

interface PeerCounterNames {
  txDatagrams: string;
  txBytes: string;
  rxDatagrams: string;
  rxBytes: string;
}

const peerNames = (label: string): PeerCounterNames => ({
  txDatagrams: `softudc_underlay_peer_tx_datagrams_total{peer="${label}"}`,
  txBytes: `softudc_underlay_peer_tx_bytes_total{peer="${label}"}`,
  rxDatagrams: `softudc_underlay_peer_rx_datagrams_total{peer="${label}"}`,
  rxBytes: `softudc_underlay_peer_rx_bytes_total{peer="${label}"}`,
});
const OTHER_PEER = peerNames('other');

export class UdpUnderlay extends EventEmitter<UnderlayEvents> {
  readonly address: string;
  readonly port: number;
  private group: string | null = null;
  private peers: readonly string[];
  private sock: dgram.Socket | undefined;
  private groupSock: dgram.Socket | undefined;
  private readonly counters: Counters;
  private readonly logger: Logger;
  /** Counter names per remote address, built once (no string work per datagram). */
  private readonly perPeer = new Map<string, PeerCounterNames>();
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
    if (this.sock) return;
    // Exclusive: a second agent on the same care-of address and port must fail
    // loudly rather than silently share the traffic. (The group socket below
    // binds the group address and shares it by design.)
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
    await this.setMulticast(this.opts.multicast);
  }

  /** Closes the sockets once what was already handed to the kernel is sent (a WITHDRAW must not die with us). */
  async stop(): Promise<void> {
    const s = this.sock;
    this.sock = undefined;
    if (this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, STOP_DRAIN_MS);
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.drained = null;
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
    if (group === null || !this.sock) return;
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
    const s = this.sock;
    if (!s) {
      this.counters.inc('softudc_underlay_tx_dropped_stopped_total');
      return;
    }
    this.counters.inc('softudc_underlay_tx_datagrams_total');
    this.counters.inc('softudc_underlay_tx_bytes_total', buf.length);
    if (address !== this.group) {
      const names = this.peerCounterNames(address);
      this.counters.inc(names.txDatagrams);
      this.counters.inc(names.txBytes, buf.length);
    }
    this.inflight++;
    try {
      s.send(buf, port, address, this.onSent);
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

  private peerCounterNames(address: string): PeerCounterNames {
    let names = this.perPeer.get(address);
    if (names === undefined) {
      names = this.perPeer.size < MAX_COUNTED_PEERS ? peerNames(address) : OTHER_PEER;
      if (names !== OTHER_PEER) this.perPeer.set(address, names);
    }
    return names;
  }

  private attach(sock: dgram.Socket, which: 'unicast' | 'group'): void {
    sock.on('message', (buf, rinfo) => {
      this.counters.inc('softudc_underlay_rx_datagrams_total');
      this.counters.inc('softudc_underlay_rx_bytes_total', buf.length);
      const names = this.peerCounterNames(rinfo.address);
      this.counters.inc(names.rxDatagrams);
      this.counters.inc(names.rxBytes, buf.length);
      try {
        this.emit('message', buf, { address: rinfo.address, port: rinfo.port });
      } catch (err) {
        // A handler bug must cost one datagram, never the socket.
        this.counters.inc('softudc_underlay_rx_handler_errors_total');
        this.logger.error('underlay handler threw', { error: (err as Error).message, stack: (err as Error).stack });
      }
    });
    sock.on('error', (err) => {
      this.counters.inc('softudc_underlay_socket_errors_total');
      this.logger.warn('underlay socket error', { socket: which, error: err.message });
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }
}

function bind(sock: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(Object.assign(new Error(`cannot bind UDP ${address}:${port}: ${err.message}`), { cause: err }));
    sock.once('error', onError);
    sock.bind({ address, port, exclusive: false }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

function close(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function trySet(fn: () => void): void {
  try {
    fn();
  } catch {
    // Buffer sizes and multicast options are wishes; the kernel may refuse them.
  }
}
