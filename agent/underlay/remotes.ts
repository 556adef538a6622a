// What the underlay remembers per remote address: its per-peer counter names
// and its text and u32 forms (the switch and VARP speak u32, counters and
// events text), each built once so no datagram pays for string work.
import { ipToString, parseIp } from '../wire/index.ts';

/**
 * Remote addresses counted one by one (the console's tunnel rates); the rest
 * share `peer="other"`, so forged sources cannot grow the metrics unboundedly.
 */
export const MAX_COUNTED_PEERS = 256;
/** Address forms remembered before the caches start over. */
const ADDRESS_CACHE_MAX = 4096;

export interface PeerCounterNames {
  txDatagrams: string;
  txBytes: string;
  rxDatagrams: string;
  rxBytes: string;
}

const peerNames = (label: string): PeerCounterNames => ({
  txDatagrams: `softudc_underlay_peer_tx_datagrams_total{peer="${label}"}`,
  txBytes: `softudc_underlay_peer_tx_bytes_total{peer="${label}"}`,
  rxDatagrams: `softudc_underlay_peer_rx_datagrams_total{peer="${label}"}`,
  rxBytes: `softudc_underlay_peer_rx_bytes_total{peer="${label}"}`,
});
const OTHER_PEER = peerNames('other');

/** Remote addresses seen recently, text to u32 and back: converting per datagram would allocate. Cleared when full. */
export class AddressCache {
  private readonly toU32 = new Map<string, number>();
  private readonly toText = new Map<number, string>();

  /** The address as u32, or -1 when it is not a dotted quad. */
  u32(address: string): number {
    try {
      return memo(this.toU32, address, parseIp);
    } catch {
      return -1;
    }
  }

  text(ip: number): string {
    return memo(this.toText, ip, ipToString);
  }
}

function memo<K, V>(map: Map<K, V>, key: K, make: (key: K) => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make(key);
    if (map.size >= ADDRESS_CACHE_MAX) map.clear();
    map.set(key, v);
  }
  return v;
}

/** What another path (the kernel fast path) carried to and from one remote host, added to its counters. */
export type PeerCounts = Partial<Record<keyof PeerCounterNames, number>>;

export class Remotes extends AddressCache {
  private readonly perPeer = new Map<string, PeerCounterNames>();

  /**
   * Adds what the kernel fast path carried for `address` (text or u32) to
   * the same per-peer counters the socket counts, within the same bounded
   * label set (beyond MAX_COUNTED_PEERS: peer="other").
   */
  addKernel(counters: { inc(name: string, n?: number): void }, address: string | number, d: PeerCounts): void {
    const names = this.counterNames(typeof address === 'number' ? this.text(address) : address);
    for (const k of ['txDatagrams', 'txBytes', 'rxDatagrams', 'rxBytes'] as const) {
      const n = d[k];
      if (n !== undefined && n > 0) counters.inc(names[k], n);
    }
  }

  counterNames(address: string): PeerCounterNames {
    let names = this.perPeer.get(address);
    if (names === undefined) {
      names = this.perPeer.size < MAX_COUNTED_PEERS ? peerNames(address) : OTHER_PEER;
      if (names !== OTHER_PEER) this.perPeer.set(address, names);
    }
    return names;
  }
}
