// Builds the VARP messages the engine sends and hands them to the injected
// underlay, and tells the owner of held frames what became of a resolution.
// A throwing underlay is counted here and never propagates into a timer
// callback or the caller's socket handler.
import { VARP_FLAG_HAS_IP, VARP_REQUEST } from '../wire/constants.ts';
import { encodeVarp } from '../wire/varp.ts';
import type { Counters } from '../metrics.ts';
import { VARP_COUNTERS as C, type HeldDropReason } from './counters.ts';
import type { LocalVif, Route, VarpIo } from './types.ts';

export class Sender {
  constructor(
    readonly io: VarpIo,
    private readonly counters: Counters,
    private readonly key: Buffer | undefined,
  ) {}

  /** A REQUEST by MAC, or by IP (HAS_IP, zero MAC) when `mac` is 0. */
  request(vnet: number, mac: number, ip: number, nonce: number): Buffer {
    const flags = mac === 0 ? VARP_FLAG_HAS_IP : 0;
    return encodeVarp({ opcode: VARP_REQUEST, vnet, mac, flags, ip, coa: this.io.ownCoa, nonce, version: 0 }, this.key);
  }

  /** An ANNOUNCE or WITHDRAW for a VIF on this host: own COA, its version, HAS_IP when its IP is known. */
  forVif(opcode: number, vif: LocalVif, nonce: number, flags: number): Buffer {
    if (vif.ip !== null) flags |= VARP_FLAG_HAS_IP;
    return encodeVarp(
      { opcode, vnet: vif.vnet, mac: vif.mac, flags, ip: vif.ip ?? 0, coa: this.io.ownCoa, nonce, version: vif.version },
      this.key,
    );
  }

  flood(msg: Buffer, counter: string): void {
    this.run(() => this.io.sendFlood(msg), counter);
  }

  sendTo(msg: Buffer, address: number, port: number, counter: string): void {
    this.run(() => this.io.sendTo(msg, address, port), counter);
  }

  resolved(vnet: number, mac: number, route: Route): void {
    this.run(() => this.io.resolved(vnet, mac, route));
  }

  unresolved(vnet: number, mac: number, reason: HeldDropReason): void {
    this.run(() => this.io.unresolved(vnet, mac, reason));
  }

  /** An entry was confirmed, moved or forgotten (the kernel fast path follows the cache). */
  changed(): void {
    this.run(() => this.io.changed?.());
  }

  private run(fn: () => void, counter?: string): void {
    try {
      fn();
      if (counter) this.counters.inc(counter);
    } catch {
      this.counters.inc(C.sendErrors);
    }
  }
}
