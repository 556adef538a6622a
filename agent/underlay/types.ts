// The underlay's options, the sender of a datagram and the events it emits.
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { UdpAddon } from '../native/index.ts';

/** How the unicast socket moves datagrams. */
export type UnderlayIo = 'batched' | 'dgram';

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
  /**
   * 'batched' (the native addon; fails to start without it), 'dgram', or
   * 'auto' (the default): batched when the addon is there, unless
   * SOFTUDC_UNDERLAY_BATCH=0.
   */
  io?: 'auto' | UnderlayIo;
  /** UDP GSO and GRO on the batched socket; default on unless SOFTUDC_UNDERLAY_GSO=0. */
  offload?: boolean;
  /** The addon's socket functions (tests pass a fake, or null for none); default: the built addon. */
  addon?: UdpAddon | null;
}

export interface Remote {
  address: string;
  port: number;
}

export interface UnderlayEvents {
  /** A datagram arrived. Nothing writes to the buffer afterwards: the receiver may keep it. */
  message: [buf: Buffer, from: Remote];
  /** A socket error that does not stop the underlay (it is also logged and counted). */
  error: [err: Error];
}
