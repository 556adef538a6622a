// Loader and typed surface of the TAP frame I/O addon (tap.c). The addon is
// built after install by scripts/build-native.mjs; loading is lazy so that an
// agent without TAP guests never needs it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  /** An AF_PACKET socket bound to `ifname` that does not see its own transmissions. */
  openPacket(ifname: string): number;
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
   * (at most `batch` reads) and the number of malformed ones dropped. The
   * reader owns `fd`: stopReader closes it. After a read error `onError` is
   * called once and the reader stops by itself.
   */
  startReader(
    fd: number,
    onFrames: (frames: Buffer[], dropped: number) => void,
    onError: (err: NativeError) => void,
    batch?: number,
    vnetHdr?: boolean,
  ): ReaderHandle;
  /** Stops polling and closes the descriptor. Idempotent. */
  stopReader(handle: ReaderHandle): void;
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
    cached = require(addonPath) as TapAddon;
    return cached;
  } catch (err) {
    loadError = Object.assign(
      new Error(`the TAP addon at ${addonPath} failed to load (${(err as Error).message}); rebuild it with \`node scripts/build-native.mjs --force\``),
      { code: 'ENOADDON', cause: err },
    );
    throw loadError;
  }
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
