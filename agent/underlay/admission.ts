// Underlay admission (wire.md "Admission"): an agent takes FRAMEs, VARP and
// RELAYs only from the COAs its desired state names — its peers, the peers of
// its vnets, its segment's members and far carriers (`underlay.members`) and
// its peer vnetds (`relay.peers`). Everything else is dropped and counted
// before any handler sees it, so a host that merely reaches the underlay port
// can neither inject frames into a vnet nor feed the VARP cache.
import type { AgentState } from '../../contract/hostState.ts';
import type { Counters } from '../metrics.ts';
import { RX_DROPPED } from './rx.ts';
import { parseIp } from '../wire/index.ts';

export const NOT_ADMITTED = `${RX_DROPPED}{reason="not_admitted"}`;

/** Every address a state admits, as text (the form the socket reports). */
export function admittedAddresses(s: Pick<AgentState, 'underlay' | 'vnets' | 'relay'>): Set<string> {
  const out = new Set<string>([s.underlay.address, ...s.underlay.peers, ...(s.underlay.members ?? [])]);
  for (const v of s.vnets) for (const p of v.peers ?? []) out.add(p);
  if (s.relay && s.relay.enabled) for (const p of s.relay.peers) out.add(p);
  return out;
}

export class Admission {
  private admitted = new Set<string>();
  private coas = new Set<number>();

  constructor(private readonly counters: Counters) {}

  /** Replaces the admitted set (each apply of a desired state). */
  configure(s: Pick<AgentState, 'underlay' | 'vnets' | 'relay'>): void {
    this.admitted = admittedAddresses(s);
    this.coas = new Set([...this.admitted].map(parseIp));
    this.coas.delete(parseIp(s.underlay.address)); // a REQUEST naming us is never answered at ourselves
  }

  /** The same question for a COA as u32 (what VARP messages carry); nothing is counted. */
  admitsCoa(coa: number): boolean {
    return this.coas.has(coa);
  }

  /** True when a datagram from `address` may be handled; otherwise it is counted as dropped here. */
  admit(address: string): boolean {
    if (this.admitted.has(address)) return true;
    this.counters.inc(NOT_ADMITTED);
    return false;
  }

  get size(): number {
    return this.admitted.size;
  }
}
