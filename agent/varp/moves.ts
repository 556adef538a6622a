// Moves of outgoing VIFs being verified (with a VARP key). A VIF attached here
// and marked outgoing (a live migration away from this host in progress) is
// let go on a GRATUITOUS ANNOUNCE of a higher version from another COA; with a
// key such an ANNOUNCE is only a hint (its bytes may be a capture replayed
// later, wire.md "VARP freshness"), so the announced COA is asked with a
// unicast REQUEST and a fresh nonce, and only the signed answer carrying that
// nonce lets the VIF go. One verification per VIF at most (a newer hint
// replaces it), so the map is bounded by the outgoing VIFs of this host.
import { randomInt } from 'node:crypto';
import type { VarpMessage } from '../wire/varp.ts';
import { VARP_COUNTERS as C } from './counters.ts';
import type { Sender } from './sender.ts';
import type { LocalVif } from './types.ts';
import { VnetMap } from './vnet-map.ts';

interface PendingMove {
  vnet: number;
  mac: number;
  coa: number;
  nonce: number;
}

export class LocalMoves {
  private readonly byNonce = new Map<number, PendingMove>();
  private readonly byVif = new VnetMap<PendingMove>();

  constructor(private readonly sender: Sender) {}

  get size(): number {
    return this.byNonce.size;
  }

  /** Asks `coa` whether it holds `vif` now: a REQUEST with a fresh nonce, replacing any earlier question for the VIF. */
  ask(vif: LocalVif, coa: number, port: number): void {
    this.forget(vif.vnet, vif.mac);
    const p: PendingMove = { vnet: vif.vnet, mac: vif.mac, coa, nonce: this.newNonce() };
    this.byNonce.set(p.nonce, p);
    this.byVif.set(p.vnet, p.mac, p);
    this.sender.sendTo(this.sender.request(p.vnet, p.mac, 0, p.nonce), coa, port, C.moveVerifyRequestsSent);
  }

  /** True (and the question settled) when `msg` is the answer to ours: same nonce, VIF and COA. */
  answered(msg: VarpMessage): boolean {
    const p = this.byNonce.get(msg.nonce);
    if (!p || p.vnet !== msg.vnet || p.mac !== msg.mac || p.coa !== msg.coa) return false;
    this.forget(p.vnet, p.mac);
    return true;
  }

  forget(vnet: number, mac: number): void {
    const p = this.byVif.get(vnet, mac);
    if (!p) return;
    this.byVif.delete(vnet, mac);
    this.byNonce.delete(p.nonce);
  }

  clear(): void {
    for (const p of [...this.byNonce.values()]) this.forget(p.vnet, p.mac);
  }

  private newNonce(): number {
    for (;;) {
      const n = randomInt(0, 0x1_0000_0000);
      if (!this.byNonce.has(n)) return n;
    }
  }
}
