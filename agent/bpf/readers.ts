// What the agent reads back from the kernel fast path: its per-CPU counters,
// what it carried per remote host, and the last-seen record of FRAME senders
// (which refreshes VARP).
import type { Varp } from '../varp/index.ts';
import type { LoadedObject } from './loader.ts';
import { COUNTERS, FDB_KEY_LEN, PEER_FIELDS, PEER_VAL_LEN, SEEN_VAL_LEN, decodeFdbKey, decodeSeen, sumPeerPerCpu, sumPerCpu, u32Key, type CounterName, type PeerTotals } from './maps.ts';

/** Every counter summed over `cpus` CPUs; zeros without an object. */
export function readCounters(obj: LoadedObject | null, cpus: number): Record<CounterName, number> {
  const out = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<CounterName, number>;
  if (!obj) return out;
  const val = Buffer.alloc(8 * cpus);
  COUNTERS.forEach((c, idx) => {
    if (obj.addon.mapLookup(obj.maps.sd_counters, u32Key(idx), val)) out[c] = sumPerCpu(val, cpus);
  });
  return out;
}

/** sd_peer_counters summed over `cpus` CPUs: remote COA (as a number) → totals. */
export function readPeerTotals(obj: LoadedObject, cpus: number): Map<number, PeerTotals> {
  const out = new Map<number, PeerTotals>();
  const key = Buffer.alloc(4);
  const val = Buffer.alloc(PEER_VAL_LEN * cpus);
  let prev: Buffer | null = null;
  while (obj.addon.mapNextKey(obj.maps.sd_peer_counters, prev, key)) {
    if (obj.addon.mapLookup(obj.maps.sd_peer_counters, key, val)) out.set(key.readUInt32BE(0), sumPeerPerCpu(val, cpus));
    prev = Buffer.from(key);
  }
  return out;
}

/**
 * What the kernel carried per remote host since the previous read, from
 * successive totals of sd_peer_counters. Never negative: a total below the
 * previous one is an entry the LRU evicted and started again (or a new map),
 * which counts from zero; an entry gone from the map is forgotten.
 */
export class PeerDeltas {
  private last = new Map<number, PeerTotals>();

  next(now: Map<number, PeerTotals>): [number, PeerTotals][] {
    const out: [number, PeerTotals][] = [];
    for (const [coa, t] of now) {
      const before = this.last.get(coa);
      const d = {} as PeerTotals;
      let any = false;
      for (const f of PEER_FIELDS) {
        d[f] = before === undefined || t[f] < before[f] ? t[f] : t[f] - before[f];
        if (d[f] > 0) any = true;
      }
      if (any) out.push([coa, d]);
    }
    this.last = now;
    return out;
  }

  reset(): void {
    this.last = new Map();
  }
}

/** Window in which a sender's mark counts: a VARP entry's lifetime. */
const MARK_FRESH_NS = 30_000_000_000n;

/**
 * Refreshes in `varp` every (vnet, MAC) the kernel received a FRAME from
 * after `since` (kernel monotonic ns), at the COA it came from, as the
 * switch does for the FRAMEs it delivers; returns the newest time seen.
 * `offloaded` is refilled with the senders that are offloaded guests on a
 * remote kernel path (fdbKey hex → COA, heard from within 30 s).
 */
export function refreshSeen(obj: LoadedObject, varp: Pick<Varp, 'refresh'>, since: bigint, offloaded?: Map<string, number>): bigint {
  const marked: [string, number, bigint][] = [];
  const key = Buffer.alloc(FDB_KEY_LEN);
  const val = Buffer.alloc(SEEN_VAL_LEN);
  let prev: Buffer | null = null;
  let newest = since;
  while (obj.addon.mapNextKey(obj.maps.sd_seen, prev, key)) {
    if (obj.addon.mapLookup(obj.maps.sd_seen, key, val)) {
      const s = decodeSeen(val);
      if (s.offload) marked.push([key.toString('hex'), s.coa, s.ns]);
      if (s.ns > since) {
        const k = decodeFdbKey(key);
        varp.refresh(k.vnet, k.mac, s.coa);
        if (s.ns > newest) newest = s.ns;
      }
    }
    prev = Buffer.from(key);
  }
  if (offloaded) {
    offloaded.clear();
    for (const [k, coa, ns] of marked) if (ns + MARK_FRESH_NS >= newest) offloaded.set(k, coa);
  }
  return newest;
}
