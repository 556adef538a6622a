// The records of the VARP cache (spec "VARP", seed 002): an entry per
// (vnet, MAC) and a resolution by (vnet, IP) with no MAC known yet.
import { VNET_MAX, VNET_PHYSICAL } from '../wire/constants.ts';
import type { Route, VarpEntryView, VarpState } from './types.ts';

export interface Entry {
  readonly type: 'mac';
  readonly vnet: number;
  readonly mac: number;
  ip: number | null;
  state: VarpState;
  coa: number;
  port: number;
  /** Handed to callers of resolve(); replaced (never mutated) when the location changes. */
  route: Route;
  /** -1 while no ANNOUNCE was ever accepted for it (or since it expired). */
  version: number;
  proxy: boolean;
  /** REACHABLE: last confirmation; INCOMPLETE: resolution start; FAILED: when it failed. */
  since: number;
  /** Outstanding REQUEST nonce (resolution or refresh), -1 for none. */
  nonce: number;
  /** REQUESTs sent in the current resolution. */
  sent: number;
  /** The `since` a refresh REQUEST was sent for: one refresh per confirmation. */
  refreshedFor: number;
  timer: NodeJS.Timeout | null;
}

/** A resolution by (vnet, IP) with no MAC known yet (ARP suppression warm-up). */
export interface IpResolution {
  readonly type: 'ip';
  readonly vnet: number;
  readonly ip: number;
  nonce: number;
  sent: number;
  failed: boolean;
  timer: NodeJS.Timeout | null;
}

export const now = (): number => performance.now();

export function isVirtualVnet(vnet: number): boolean {
  return Number.isInteger(vnet) && vnet > VNET_PHYSICAL && vnet <= VNET_MAX;
}

export function newEntry(vnet: number, mac: number): Entry {
  return {
    type: 'mac',
    vnet,
    mac,
    ip: null,
    state: 'INCOMPLETE',
    coa: 0,
    port: 0,
    route: { coa: 0, port: 0 },
    version: -1,
    proxy: false,
    since: now(),
    nonce: -1,
    sent: 0,
    refreshedFor: -1,
    timer: null,
  };
}

export function view(e: Entry, t: number): VarpEntryView {
  return {
    vnet: e.vnet,
    mac: e.mac,
    ip: e.ip,
    coa: e.coa,
    port: e.port,
    state: e.state,
    version: Math.max(0, e.version),
    ageMs: Math.max(0, Math.round(t - e.since)),
    proxy: e.proxy,
  };
}
