// Promise and error-tolerant wrappers around Node's dgram sockets.
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
