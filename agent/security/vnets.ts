// The keyrings of the sealed vnets this host carries, kept across applies so
// that counters and anti-replay windows survive every state change that does
// not replace a key. The state carries keys in base64 (docs/agent-state.md);
// they are decoded here and never logged.
import type { Logger } from '../log.ts';
import { VnetKeyring, type KeyMaterial } from './keyring.ts';
import { MemorySequenceStore, type SequenceStore } from './sequence.ts';

export interface VnetKeysSpec {
  id: number;
  security: 'none' | 'auth' | 'conf';
  keys?: readonly { id: number; key: string; salt: string }[];
  sendKeyId?: number;
}

export class SealedVnets {
  private readonly rings = new Map<number, VnetKeyring>();
  private readonly warned = new Set<number>();
  private sender = 0;

  constructor(
    private readonly logger: Logger,
    private readonly store: SequenceStore = new MemorySequenceStore(),
  ) {}

  /** The keyring for a vnet of the state, or null for a `none` vnet. */
  apply(v: VnetKeysSpec): VnetKeyring | null {
    if (v.security === 'none') {
      this.rings.delete(v.id);
      return null;
    }
    let ring = this.rings.get(v.id);
    if (!ring) {
      ring = new VnetKeyring(v.id, this.store);
      ring.setSender(this.sender);
      this.rings.set(v.id, ring);
    }
    const keys: KeyMaterial[] = (v.keys ?? []).map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64'), salt: Buffer.from(k.salt, 'base64') }));
    ring.update(v.security, keys, v.sendKeyId);
    if (ring.sendKeyId === null && !this.warned.has(v.id)) {
      this.warned.add(v.id);
      this.logger.warn('sealed vnet has no keys: its traffic stays on this host until keys arrive', { vnet: v.id, security: v.security });
    } else if (ring.sendKeyId !== null) {
      this.warned.delete(v.id);
    }
    return ring;
  }

  /** Forgets vnets that left the state (and their sequence reservations). */
  retain(ids: ReadonlySet<number>): void {
    for (const id of [...this.rings.keys()]) if (!ids.has(id)) this.rings.delete(id);
    this.store.retain(new Set([...this.rings.values()].flatMap((r) => r.slots())));
  }

  /** This host's COA (the sender half of every sequence). */
  setSender(coa: number): void {
    this.sender = coa;
    for (const r of this.rings.values()) r.setSender(coa);
  }

  get(vnet: number): VnetKeyring | undefined {
    return this.rings.get(vnet);
  }
}
