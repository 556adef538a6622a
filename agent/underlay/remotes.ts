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

export class Remotes {
  private readonly perPeer = new Map<string, PeerCounterNames>();
  private readonly toU32 = new Map<string, number>();
  private readonly toText = new Map<number, string>();

  counterNames(address: string): PeerCounterNames {
    let names = this.perPeer.get(address);
    if (names === undefined) {
      names = this.perPeer.size < MAX_COUNTED_PEERS ? peerNames(address) : OTHER_PEER;
      if (names !== OTHER_PEER) this.perPeer.set(address, names);
    }
    return names;
  }

  /** The address as u32, or -1 when it is not a dotted quad. */
  u32(address: string): number {
    let n = this.toU32.get(address);
    if (n === undefined) {
      try {
        n = parseIp(address);
      } catch {
        return -1;
      }
      if (this.toU32.size >= ADDRESS_CACHE_MAX) this.toU32.clear();
      this.toU32.set(address, n);
    }
    return n;
  }

  text(ip: number): string {
    let t = this.toText.get(ip);
    if (t === undefined) {
      t = ipToString(ip);
      if (this.toText.size >= ADDRESS_CACHE_MAX) this.toText.clear();
      this.toText.set(ip, t);
    }
    return t;
  }
}
