// Loader and typed surface of the native addon (tap.c): TAP frame I/O and the
// underlay's batched UDP socket. The addon is built after install by
// scripts/build-native.mjs; loading is lazy so that an agent without TAP
// guests never needs it, and the underlay falls back to dgram without it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FRAME_HEADROOM, Headroom } from './headroom.ts';

/** An error raised by the addon: `code` is the errno name (EPERM, EBUSY, ...). */
export interface NativeError extends Error {
  code: string;
  errno?: number;
}

/** Opaque handle of a running reader. */
export type ReaderHandle = object & { readonly __reader: unique symbol };

export interface TapAddon {
  /**
   * Creates (or attaches to) TAP `ifname` ('' or a name with %d lets the
   * kernel choose); non-blocking, close-on-exec. With `vnetHdr` every read and
   * write carries a virtio-net header and the device offers checksum and TCPv4
   * segmentation offload to the kernel side (the reader completes checksums
   * and segments; writeBatch coalesces).
   */
  openTap(ifname: string, vnetHdr: boolean, persist: boolean): { fd: number; ifname: string };
  /** Marks the TAP behind `fd` persistent (outlives the descriptor) or not. */
  setPersist(fd: number, on: boolean): void;
  /**
   * An AF_PACKET socket bound to `ifname` that does not see its own
   * transmissions, with large socket buffers. With `vnetHdr` (PACKET_VNET_HDR)
   * every read and write carries a virtio-net header, as on a TAP opened with
   * it: a VM's partial checksums are completed and its GSO frames segmented by
   * the reader, and writeBatch hands runs of TCP segments over as one GSO frame.
   */
  openPacket(ifname: string, vnetHdr?: boolean): number;
  /** Closes a descriptor that has no reader. */
  closeFd(fd: number): void;
  /** Sends one frame: true when sent, false when the queue was full or the device down. Throws on other errors. */
  write(fd: number, frame: Buffer, vnetHdr?: boolean): boolean;
  /**
   * Sends frames, one write each (with `vnetHdr`, a run of segments of one
   * TCP flow as one GSO write); returns how many frames the kernel took.
   */
  writeBatch(fd: number, frames: Buffer[], vnetHdr?: boolean): number;
  /**
   * Polls `fd` and calls `onFrames` once per wake-up with every frame read
   * (at most `batch` reads: one read(2) each on a TAP's own descriptor,
   * recvmmsg(2) calls of up to 16 on a packet socket), the number of
   * malformed ones dropped (with those the packet socket refused or that did
   * not fit a read) and, on a
   * packet socket, the frames the kernel dropped because its receive buffer
   * was full (PACKET_STATISTICS) since the last call. The
   * reader owns `fd`: stopReader closes it. After a read error `onError` is
   * called once and the reader stops by itself. Frames are handed over
   * through `headroom` (agent/native/headroom.ts), so the switch sharing it
   * can encapsulate them in place; without one the reader has its own.
   */
  startReader(
    fd: number,
    onFrames: (frames: Buffer[], dropped: number, overruns: number) => void,
    onError: (err: NativeError) => void,
    batch?: number,
    vnetHdr?: boolean,
    headroom?: Headroom,
  ): ReaderHandle;
  /** Stops polling and closes the descriptor. Idempotent. */
  stopReader(handle: ReaderHandle): void;
}

/** Opaque handle of a running underlay socket reader. */
export type UdpReaderHandle = object & { readonly __udpReader: unique symbol };

/** Options of udpOpen: the same wishes the underlay applies to a dgram socket. */
export interface UdpOpenOptions {
  recvBufferSize?: number;
  sendBufferSize?: number;
  multicastTtl?: number;
  multicastLoop?: boolean;
  /** IPv4 address of the interface multicast leaves from. */
  multicastInterface?: string;
  /** Ask for UDP segmentation offload (UDP_SEGMENT) on sends. */
  gso?: boolean;
  /** Ask for UDP receive coalescing (UDP_GRO). */
  gro?: boolean;
}

/** Entries of the `stats` array udpSend fills. */
export const UDP_STATS = { sent: 0, failed: 1, lastErrno: 2, syscalls: 3, blocked: 4, gsoFallbacks: 5, gsoMessages: 6 } as const;
export const UDP_STATS_LEN = 7;

/** The underlay's batched UDP socket (udp.c, udp_reader.c). */
export interface UdpAddon {
  /**
   * A non-blocking, close-on-exec UDP socket bound to address:port without
   * SO_REUSEADDR (a second bind fails with EADDRINUSE). `gso`/`gro` say which
   * offloads the kernel accepted.
   */
  udpOpen(address: string, port: number, opts: UdpOpenOptions): { fd: number; gso: boolean; gro: boolean };
  /**
   * Sends bufs[i] to addrs[i]:ports[i] (addresses as host-order u32) for
   * i < count with sendmmsg, runs to one destination as UDP GSO messages when
   * `gso`. Returns how many were consumed (sent or failed); fewer than
   * `count` only when the socket buffer is full (stats[UDP_STATS.blocked]).
   */
  udpSend(fd: number, bufs: Buffer[], addrs: Uint32Array, ports: Uint16Array, count: number, gso: boolean, stats: Int32Array): number;
  /**
   * Polls the socket: onDatagrams gets what one recvmmsg returned, one Buffer
   * per message: meta[3i] is the source address (u32) of bufs[i],
   * meta[3i+1] its source port, meta[3i+2] its GRO segment size (0: one
   * datagram; else the sender's datagrams back to back, each that long but
   * the last). onWritable is called once after udpWantWritable(handle, true)
   * when the socket has room. The reader owns fd: udpStopReader closes it.
   * After a fatal error it has stopped itself.
   */
  udpStartReader(
    fd: number,
    onDatagrams: (bufs: Buffer[], meta: Uint32Array, truncated: number) => void,
    onWritable: () => void,
    onError: (err: NativeError, fatal: boolean) => void,
    slots?: number,
  ): UdpReaderHandle;
  udpWantWritable(handle: UdpReaderHandle, on: boolean): void;
  /** Stops polling and closes the socket. Idempotent. */
  udpStopReader(handle: UdpReaderHandle): void;
  /** Closes a socket that has no reader. */
  closeFd(fd: number): void;
}

/** What the compiled module exports: readers deliver a batch Buffer and the frame lengths. */
interface RawAddon extends Omit<TapAddon, 'startReader'> {
  /** Bytes reader.c leaves before each frame of a batch. */
  frameHeadroom?: number;
  startReader(
    fd: number,
    onBatch: (batch: Buffer, lengths: Uint32Array, dropped: number, overruns: number) => void,
    onError: (err: NativeError) => void,
    batch?: number,
    vnetHdr?: boolean,
  ): ReaderHandle;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Where scripts/build-native.mjs leaves the addon. */
export const addonPath = join(here, 'build', 'Release', 'softudc_tap.node');

let cached: TapAddon | undefined;
let loadError: Error | undefined;

/** The addon, or throws an error that says how to build it. */
export function loadTapAddon(): TapAddon {
  if (cached) return cached;
  if (loadError) throw loadError;
  if (process.platform !== 'linux') {
    loadError = new Error(`TAP guests need Linux; this is ${process.platform}`);
    throw loadError;
  }
  if (!existsSync(addonPath)) {
    loadError = Object.assign(
      new Error(
        `the TAP addon is not built (${addonPath} is missing): run \`node scripts/build-native.mjs\` ` +
          '(needs g++, make and python3; npm install runs it automatically)',
      ),
      { code: 'ENOADDON' },
    );
    throw loadError;
  }
  try {
    const require = createRequire(import.meta.url);
    const raw = require(addonPath) as RawAddon;
    // headroom.ts lays frames out exactly as reader.c does; a mismatch would
    // write FRAME headers over the end of the previous frame.
    if (raw.frameHeadroom !== FRAME_HEADROOM) {
      throw new Error(`it leaves ${String(raw.frameHeadroom)} bytes before each frame, this agent expects ${FRAME_HEADROOM}`);
    }
    // The reader hands over one Buffer per batch (reader.c); JavaScript sees frames.
    // The module's functions are read-only and not enumerable: inherit them
    // and define the wrapper on top.
    const startReader: TapAddon['startReader'] = (fd, onFrames, onError, batch, vnetHdr, headroom = new Headroom()) =>
      raw.startReader(fd, (buf, lengths, dropped, overruns) => headroom.handleBatch(buf, lengths, (frames) => onFrames(frames, dropped, overruns)), onError, batch, vnetHdr);
    cached = Object.create(raw, { startReader: { value: startReader, enumerable: true } }) as TapAddon;
    return cached;
  } catch (err) {
    loadError = Object.assign(
      new Error(`the TAP addon at ${addonPath} failed to load (${(err as Error).message}); rebuild it with \`node scripts/build-native.mjs --force\``),
      { code: 'ENOADDON', cause: err },
    );
    throw loadError;
  }
}

/**
 * The addon's underlay socket functions, or null with the reason when the
 * addon is missing or was built before it had them.
 */
export function loadUdpAddon(): { addon: UdpAddon | null; reason: string | null } {
  let a: TapAddon;
  try {
    a = loadTapAddon();
  } catch (err) {
    return { addon: null, reason: (err as Error).message };
  }
  const u = a as unknown as Partial<UdpAddon>;
  if (typeof u.udpOpen !== 'function' || typeof u.udpSend !== 'function' || typeof u.udpStartReader !== 'function') {
    return { addon: null, reason: `the addon at ${addonPath} predates batched UDP; rebuild it with \`node scripts/build-native.mjs --force\`` };
  }
  return { addon: u as UdpAddon, reason: null };
}

/** True when the addon can be loaded here (for test prerequisites). */
export function tapAddonAvailable(): boolean {
  try {
    loadTapAddon();
    return true;
  } catch {
    return false;
  }
}
