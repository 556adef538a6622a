// Promise and error-tolerant wrappers around Node's dgram sockets, and the
// bounded wait for queued sends at stop both underlay sockets share.
import type dgram from 'node:dgram';

export function bind(sock: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(Object.assign(new Error(`cannot bind UDP ${address}:${port}: ${err.message}`), { cause: err }));
    sock.once('error', onError);
    sock.bind({ address, port, exclusive: false }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

export function close(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

export function trySet(fn: () => void): void {
  try {
    fn();
  } catch {
    // Buffer sizes and multicast options are wishes; the kernel may refuse them.
  }
}

/**
 * Waits until `arm`'s callback is called (what was queued went out) or `ms`
 * passed, whichever comes first; `arm(null)` then takes the callback back.
 */
export async function drained(ms: number, arm: (done: (() => void) | null) => void): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    arm(() => {
      clearTimeout(t);
      resolve();
    });
  });
  arm(null);
}
