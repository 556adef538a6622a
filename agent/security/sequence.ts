// Where a sender's sequence counters start. GCM must never see the same
// (key, nonce) twice, and peers' anti-replay windows reject any sequence at or
// below what they already accepted from us: an agent that restarted with the
// same key and counted again from 1 would leak plaintext relations and be
// dropped by every peer. So counters are reserved in blocks, and with a file
// the reservation survives a restart (the next process starts above it).

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Counters reserved per write: a restart skips at most this many. */
export const SEQUENCE_BLOCK = 1 << 18;
/** The per-key counter is 32 bits (the sequence's high half is the sender's COA). */
export const COUNTER_MAX = 0xffff_ffff;

export interface SequenceStore {
  /** The first counter this process may use for `slot` (reserved before it is returned). Null: cannot reserve. */
  begin(slot: string): { next: number; limit: number } | null;
  /** Extends the reservation of `slot` past `from`; the new exclusive limit, or null when it cannot be made durable. */
  extend(slot: string, from: number): number | null;
  /** Drops every slot not in `keep` (keys that left the state). */
  retain(keep: ReadonlySet<string>): void;
}

/** No persistence: counters start at 1 in every process. */
export class MemorySequenceStore implements SequenceStore {
  begin(): { next: number; limit: number } {
    return { next: 1, limit: COUNTER_MAX + 1 };
  }
  extend(): number {
    return COUNTER_MAX + 1;
  }
  retain(): void {}
}

/**
 * Reservations in a small JSON file (mode 0600, written atomically and
 * synced): `{ "slot": exclusiveLimit }`. Slots name a vnet, key id and a
 * fingerprint of the key, never the key.
 */
export class FileSequenceStore implements SequenceStore {
  private readonly limits = new Map<string, number>();

  constructor(private readonly path: string) {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object') {
        for (const [k, v] of Object.entries(parsed)) if (Number.isSafeInteger(v) && (v as number) > 0) this.limits.set(k, v as number);
      }
    } catch {
      // Missing or unreadable: nothing reserved yet.
    }
  }

  begin(slot: string): { next: number; limit: number } | null {
    const next = this.limits.get(slot) ?? 1;
    if (next > COUNTER_MAX) return null;
    const limit = this.extend(slot, next);
    return limit === null ? null : { next, limit };
  }

  extend(slot: string, from: number): number | null {
    const limit = Math.min(COUNTER_MAX + 1, from + SEQUENCE_BLOCK);
    const prev = this.limits.get(slot);
    this.limits.set(slot, limit);
    try {
      this.write();
      return limit;
    } catch {
      if (prev === undefined) this.limits.delete(slot);
      else this.limits.set(slot, prev);
      return null;
    }
  }

  retain(keep: ReadonlySet<string>): void {
    let changed = false;
    for (const k of [...this.limits.keys()]) {
      if (!keep.has(k)) {
        this.limits.delete(k);
        changed = true;
      }
    }
    if (changed) {
      try {
        this.write();
      } catch {
        // Stale slots only cost a few bytes; the next write retries.
      }
    }
  }

  private write(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(Object.fromEntries(this.limits)));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}
