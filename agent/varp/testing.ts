// A simulated underlay for the VARP tests (imported by *.test.ts only): every
// host's sends are recorded decoded, and can be delivered to the other hosts.
import { decodeVarp, type VarpMessage } from '../wire/varp.ts';
import { Counters } from '../metrics.ts';
import { Varp } from './varp.ts';
import type { VarpConfig, VarpIo } from './types.ts';

export const PORT = 1798;

export interface Sent {
  msg: VarpMessage;
  bytes: Buffer;
  /** Unicast destination; absent for a flood. */
  to?: { address: number; port: number };
}

export interface Host {
  name: string;
  coa: number;
  port: number;
  varp: Varp;
  counters: Counters;
  floods: Sent[];
  unicasts: Sent[];
  transmitted: { vnet: number; coa: number; port: number; frames: Buffer[] }[];
}

/** Hosts on one simulated segment. With `autoDeliver`, every send reaches its receivers at once. */
export class Net {
  readonly hosts: Host[] = [];
  autoDeliver = true;

  constructor(private readonly key?: Buffer) {}

  add(name: string, coa: number, config: Partial<VarpConfig> = {}, port = PORT): Host {
    const host = { name, coa, port, counters: new Counters(), floods: [], unicasts: [], transmitted: [] } as unknown as Host;
    const io: VarpIo = {
      ownCoa: coa,
      port,
      sendFlood: (bytes) => {
        const sent = { msg: decodeVarp(bytes, this.key), bytes };
        host.floods.push(sent);
        if (this.autoDeliver) for (const h of this.hosts) if (h !== host) h.varp.handle(sent.msg, { address: coa, port });
      },
      sendTo: (bytes, address, toPort) => {
        const sent = { msg: decodeVarp(bytes, this.key), bytes, to: { address, port: toPort } };
        host.unicasts.push(sent);
        if (!this.autoDeliver) return;
        const dst = this.hosts.find((h) => h.coa === address && h.port === toPort);
        dst?.varp.handle(sent.msg, { address: coa, port });
      },
      transmit: (vnet, toCoa, toPort, frames) => host.transmitted.push({ vnet, coa: toCoa, port: toPort, frames }),
    };
    host.varp = new Varp(io, host.counters, { ...config, ...(this.key ? { key: this.key } : {}) });
    host.varp.start();
    this.hosts.push(host);
    return host;
  }
}

export function datagram(n: number): Buffer {
  return Buffer.from(`frame-${n}`);
}
