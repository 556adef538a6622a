// Configuration and the shapes the VARP engine shares with the agent runtime.
import { isGroupMac, isValidIp, isValidMac } from '../wire/addr.ts';
import { checkVnet } from '../wire/frame.ts';
import { WireError } from '../wire/errors.ts';
import type { HeldDropReason } from './counters.ts';

export interface VarpConfig {
  /** A REACHABLE entry expires this long after its last confirmation (spec Defaults: 30 s). */
  lifetimeMs: number;
  /** REQUESTs per resolution, in all (spec Defaults: 5). */
  requestCount: number;
  /** Between REQUESTs, and from the last one to FAILED (spec Defaults: 3 s). */
  requestIntervalMs: number;
  /** Frames held per INCOMPLETE entry (spec Defaults: 16), by the switch (agent/switch/held.ts). */
  queueLimit: number;
  /** How long a FAILED entry is kept before it is forgotten (spec Defaults: 3 s). */
  failedHoldMs: number;
  /** The deployment's VARP key: when set, every message sent carries the AUTH trailer. */
  key?: Buffer;
  /**
   * Outstanding resolutions (INCOMPLETE entries, IP resolutions, refreshes) at
   * once. Not in the spec: it bounds the REQUEST flood a guest can cause by
   * sending to many unknown MACs. Frames for a new destination beyond it are dropped and counted.
   */
  maxResolving: number;
  /**
   * Outstanding resolutions one vnet may have (at most maxResolving): a guest
   * flooding new destinations fills its own vnet's share, never the host's.
   * Not in the spec; frames beyond it are dropped and counted (`vnet_resolving_limit`).
   */
  maxResolvingPerVnet: number;
  /** Frames held on one vnet while its destinations resolve, all entries together (by the switch). Not in the spec. */
  maxQueuedPerVnet: number;
  /**
   * REQUESTs one vnet may flood per second, from a bucket of `requestBurst`:
   * what a burst of frames to new destinations makes the host send stays
   * bounded whatever the frames. Suppressed REQUESTs are counted; the
   * resolution keeps its schedule. Not in the spec.
   */
  requestRate: number;
  requestBurst: number;
  /**
   * When a REACHABLE entry is used within this window before it expires, one
   * REQUEST is sent by unicast to its COA so a steady one-way stream is
   * re-confirmed without the entry ever expiring under it (the spec's expiry
   * still applies when no answer comes). 0 disables. Not in the spec.
   */
  refreshAheadMs: number;
  /**
   * Cache entries held at most on one vnet, and on the host in all. Not in the
   * spec: announcements from the underlay must not grow memory without bound.
   */
  maxEntriesPerVnet: number;
  maxEntries: number;
}

export const DEFAULT_VARP_CONFIG: Readonly<VarpConfig> = Object.freeze({
  lifetimeMs: 30_000,
  requestCount: 5,
  requestIntervalMs: 3_000,
  queueLimit: 16,
  failedHoldMs: 3_000,
  maxResolving: 1024,
  maxResolvingPerVnet: 256,
  maxQueuedPerVnet: 1024,
  requestRate: 32,
  requestBurst: 256,
  refreshAheadMs: 3_000,
  maxEntriesPerVnet: 16_384,
  maxEntries: 65_536,
});

export type VarpState = 'INCOMPLETE' | 'REACHABLE' | 'FAILED';

export interface VarpEntryView {
  vnet: number;
  mac: number;
  ip: number | null;
  coa: number;
  port: number;
  state: VarpState;
  version: number;
  ageMs: number;
  proxy: boolean;
}

export interface LocalVif {
  vnet: number;
  mac: number;
  ip: number | null;
  version: number;
  /**
   * A live migration away from this host is in progress: only then is the VIF
   * let go on another host's GRATUITOUS ANNOUNCE of a higher version (verified
   * first with a VARP key). Absent: false.
   */
  outgoing?: boolean;
}

export interface VarpIo {
  /** This host's underlay IPv4 (its COA), u32. */
  ownCoa: number;
  /** The underlay UDP port. */
  port: number;
  /** REQUEST / GRATUITOUS ANNOUNCE / WITHDRAW: to the group, or unicast to each peer (the underlay decides). */
  sendFlood(msg: Buffer): void;
  /** Unicast (ANNOUNCE replies, refresh REQUESTs). */
  sendTo(msg: Buffer, address: number, port: number): void;
  /**
   * True when `coa` is a host this agent admits (wire.md "Admission"): a
   * REQUEST re-flooded by a vnetd is answered at its COA only then, otherwise
   * at its UDP source. Absent: always the UDP source.
   */
  admits?(coa: number): boolean;
  /** (vnet, mac) was being resolved and is REACHABLE at `route`: the frames held for it go out (agent/switch/held.ts). */
  resolved(vnet: number, mac: number, route: Route): void;
  /** The resolution of (vnet, mac) ended without a route: the frames held for it are dropped as `reason`. */
  unresolved(vnet: number, mac: number, reason: HeldDropReason): void;
  /** An entry was confirmed, moved or forgotten (the kernel fast path follows the cache). */
  changed?(): void;
  /**
   * A VIF attached here and marked outgoing was announced (GRATUITOUS) at another
   * COA with a newer location version (with a VARP key: and the announcing COA
   * confirmed it in a signed answer to our fresh nonce): it moved (a live
   * migration activated there). The engine
   * has already forgotten it as local; the switch stops delivering to it here.
   */
  moved?(vnet: number, mac: number, version: number): void;
  /** Work of a VARP timer threw (a bug): it is counted and reported here, and the engine carries on. */
  reportBug?(where: string, err: unknown): void;
}

export interface Route {
  readonly coa: number;
  readonly port: number;
}

/** What resolve() says of a destination: its route; 'pending' while it resolves (hold the frame); null: dropped, counted. */
export type Resolution = Route | 'pending' | null;

/** Merges `partial` over the defaults; throws RangeError naming the offending field. */
export function varpConfig(partial: Partial<VarpConfig> = {}): VarpConfig {
  const cfg: VarpConfig = { ...DEFAULT_VARP_CONFIG };
  const known = new Set([...Object.keys(DEFAULT_VARP_CONFIG), 'key']);
  for (const [k, v] of Object.entries(partial)) {
    if (!known.has(k)) throw new RangeError(`varp.${k}: unknown setting`);
    if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  }
  positive(cfg.lifetimeMs, 'lifetimeMs');
  positive(cfg.requestIntervalMs, 'requestIntervalMs');
  integer(cfg.requestCount, 1, 'requestCount');
  integer(cfg.queueLimit, 0, 'queueLimit');
  integer(cfg.maxResolving, 1, 'maxResolving');
  integer(cfg.maxResolvingPerVnet, 1, 'maxResolvingPerVnet');
  integer(cfg.maxQueuedPerVnet, 0, 'maxQueuedPerVnet');
  positive(cfg.requestRate, 'requestRate');
  integer(cfg.requestBurst, 1, 'requestBurst');
  integer(cfg.maxEntriesPerVnet, 1, 'maxEntriesPerVnet');
  integer(cfg.maxEntries, 1, 'maxEntries');
  if (!(Number.isFinite(cfg.failedHoldMs) && cfg.failedHoldMs >= 0)) throw new RangeError('varp.failedHoldMs: must be a number >= 0');
  if (!(Number.isFinite(cfg.refreshAheadMs) && cfg.refreshAheadMs >= 0 && cfg.refreshAheadMs < cfg.lifetimeMs)) {
    throw new RangeError('varp.refreshAheadMs: must be >= 0 and below lifetimeMs');
  }
  if (cfg.key !== undefined && (!Buffer.isBuffer(cfg.key) || cfg.key.length === 0)) {
    throw new RangeError('varp.key: must be a non-empty Buffer');
  }
  return cfg;
}

/** Throws RangeError naming the field of a LocalVif that cannot be announced. */
export function checkLocalVif(vif: LocalVif): void {
  try {
    checkVnet(vif.vnet, 'vif');
  } catch (err) {
    throw new RangeError((err as WireError).message);
  }
  if (!isValidMac(vif.mac) || vif.mac === 0 || isGroupMac(vif.mac)) throw new RangeError('vif.mac: must be a unicast 48-bit MAC');
  if (vif.ip !== null && !isValidIp(vif.ip)) throw new RangeError('vif.ip: must be an IPv4 address (u32) or null');
  if (!isValidIp(vif.version)) throw new RangeError('vif.version: must be an unsigned 32-bit integer');
  if (vif.outgoing !== undefined && typeof vif.outgoing !== 'boolean') throw new RangeError('vif.outgoing: must be a boolean');
}

export function checkIo(io: VarpIo): void {
  if (!isValidIp(io.ownCoa)) throw new RangeError('io.ownCoa: must be an IPv4 address (u32)');
  if (!(Number.isInteger(io.port) && io.port > 0 && io.port <= 0xffff)) throw new RangeError('io.port: must be 1..65535');
}

function positive(v: number, name: string): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`varp.${name}: must be a number > 0`);
}

function integer(v: number, min: number, name: string): void {
  if (!(Number.isInteger(v) && v >= min)) throw new RangeError(`varp.${name}: must be an integer >= ${min}`);
}
