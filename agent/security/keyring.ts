// The keys of one sealed vnet: the current key (used to send) and older ones
// still accepted while a rotation overlaps, each with its sequence counter and
// anti-replay windows (docs/wire.md "SEALED frames").
//
// Sequence layout (the spec fixes only "u64 sequence"): the high 32 bits are
// the sender's COA, the low 32 bits its counter for that key. Every host of a
// vnet shares the key and salt, so without a per-sender part two hosts would
// use the same GCM nonce, which breaks both confidentiality and integrity.
// It also gives the window its sender: "per (sender COA, key id)" is read from
// the authenticated sequence, so frames passed on by a relay or a proxy are
// windowed by their real sender, not by the hop that handed them over.
import { createHash } from 'node:crypto';
import { SEALED_MIN_LEN, SEAL_KEY_ID_OFFSET, SEAL_PAYLOAD_OFFSET, SealError, makeSealKey, openFrame, peekConfDestination, peekSealed, sealFrame, type SealKey, type SealLevel } from './seal.ts';
import { ReplayWindow } from './replay.ts';
import { COUNTER_MAX, MemorySequenceStore, type SequenceStore } from './sequence.ts';

/** Raw key material of one epoch, as the state carries it (decoded). */
export interface KeyMaterial {
  id: number;
  key: Buffer;
  salt: Buffer;
}

/** Why a received SEALED frame was dropped (counted by the caller). */
export type SealRxDrop = 'seal_no_keys' | 'seal_truncated' | 'seal_unknown_key' | 'seal_bad_tag' | 'seal_replay' | 'seal_too_old';
/** Why a frame could not be sealed for sending. */
export type SealTxDrop = 'security_unavailable' | 'seal_exhausted';

export interface Opened {
  ethernet: Buffer;
  /** The sender's COA, from the authenticated sequence. */
  sender: number;
}

/** Senders tracked per key; only frames that authenticate create a window. */
const MAX_WINDOWS = 4096;

interface Epoch {
  readonly key: SealKey;
  readonly slot: string;
  next: number;
  limit: number;
  /** Counter space used up (or not reservable): this key no longer sends. */
  exhausted: boolean;
  readonly windows: Map<number, ReplayWindow>;
}

export class VnetKeyring {
  private level: SealLevel = 'conf';
  private readonly epochs = new Map<number, Epoch>();
  private sendId: number | null = null;
  private senderHigh = 0n;

  constructor(
    readonly vnet: number,
    private readonly store: SequenceStore = new MemorySequenceStore(),
  ) {}

  /**
   * Installs the vnet's keys: ids already known with the same material keep
   * their counters and windows; new ids start fresh; ids gone are forgotten.
   * `sendKeyId` defaults to the highest id.
   */
  update(level: SealLevel, keys: readonly KeyMaterial[], sendKeyId?: number): void {
    this.level = level;
    const seen = new Set<number>();
    for (const k of keys) {
      seen.add(k.id);
      const slot = `${this.vnet}/${k.id}/${fingerprint(k)}`;
      const cur = this.epochs.get(k.id);
      if (cur && cur.slot === slot) continue;
      this.epochs.set(k.id, { key: makeSealKey(k.id, k.key, k.salt), slot, next: 0, limit: 0, exhausted: false, windows: new Map() });
    }
    for (const id of [...this.epochs.keys()]) if (!seen.has(id)) this.epochs.delete(id);
    const wanted = sendKeyId ?? (keys.length > 0 ? Math.max(...keys.map((k) => k.id)) : null);
    this.sendId = wanted !== null && this.epochs.has(wanted) ? wanted : null;
  }

  /** This host's COA: the high half of every sequence it sends. */
  setSender(coa: number): void {
    this.senderHigh = BigInt(coa >>> 0) << 32n;
  }

  /** Slots (vnet/key/fingerprint) in use, for SequenceStore.retain. */
  slots(): string[] {
    return [...this.epochs.values()].map((e) => e.slot);
  }

  get keyIds(): number[] {
    return [...this.epochs.keys()].sort((a, b) => a - b);
  }

  get canSend(): boolean {
    return this.sendId !== null;
  }

  get sendKeyId(): number | null {
    return this.sendId;
  }

  get securityLevel(): SealLevel {
    return this.level;
  }

  /** The SEALED FRAME datagram for a guest frame, or why it cannot be sent. */
  seal(ethernet: Buffer): Buffer | SealTxDrop {
    if (this.sendId === null) return 'security_unavailable';
    const e = this.epochs.get(this.sendId)!;
    if (e.exhausted) return 'seal_exhausted';
    if (e.next >= e.limit) {
      if (!this.reserve(e)) return 'seal_exhausted';
    }
    const seq = this.senderHigh | BigInt(e.next++);
    return sealFrame({ vnet: this.vnet, level: this.level, key: e.key, seq, ethernet });
  }

  private reserve(e: Epoch): boolean {
    if (e.limit === 0) {
      const r = this.store.begin(e.slot);
      if (r === null) return !(e.exhausted = true);
      e.next = r.next;
      e.limit = r.limit;
      return e.next < e.limit;
    }
    if (e.next > COUNTER_MAX) return !(e.exhausted = true);
    const limit = this.store.extend(e.slot, e.next);
    if (limit === null || limit <= e.next) return !(e.exhausted = true);
    e.limit = limit;
    return true;
  }

  /** The destination MAC of a SEALED FRAME of this vnet, unauthenticated (for proxy routing); null when unreadable. */
  peekDestination(datagram: Buffer): number | null {
    if (datagram.length < SEALED_MIN_LEN) return null;
    if (this.level === 'auth') return datagram.readUIntBE(SEAL_PAYLOAD_OFFSET, 6);
    const e = this.epochs.get(datagram.readUInt32BE(SEAL_KEY_ID_OFFSET));
    return e ? peekConfDestination(datagram, e.key) : null;
  }

  /** Verifies a SEALED FRAME datagram of this vnet: the frame and its sender, or the drop reason. */
  open(datagram: Buffer): Opened | SealRxDrop {
    let keyId: number;
    let seq: bigint;
    try {
      ({ keyId, seq } = peekSealed(datagram));
    } catch {
      return 'seal_truncated';
    }
    if (this.epochs.size === 0) return 'seal_no_keys';
    const e = this.epochs.get(keyId);
    if (e === undefined) return 'seal_unknown_key';
    const sender = Number(seq >> 32n);
    const w = e.windows.get(sender);
    const verdict = w ? w.check(seq) : 'ok';
    if (verdict === 'replay') return 'seal_replay';
    if (verdict === 'too_old') return 'seal_too_old';
    let ethernet: Buffer;
    try {
      ethernet = openFrame(datagram, this.level, e.key);
    } catch (err) {
      if (err instanceof SealError && err.code !== 'BAD_TAG') return 'seal_truncated';
      return 'seal_bad_tag';
    }
    // Only an authenticated frame moves (or creates) the window.
    if (w) w.accept(seq);
    else {
      if (e.windows.size >= MAX_WINDOWS) e.windows.delete(e.windows.keys().next().value!);
      const nw = new ReplayWindow();
      nw.accept(seq);
      e.windows.set(sender, nw);
    }
    return { ethernet, sender };
  }
}

/** Names a key epoch on disk without revealing it. */
function fingerprint(k: KeyMaterial): string {
  return createHash('sha256').update('softudc-seal-slot').update(k.key).update(k.salt).digest('hex').slice(0, 16);
}
