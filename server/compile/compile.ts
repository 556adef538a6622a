// Intent → desired state per host. Pure and deterministic: the same input
// always yields byte-identical states (sorted everywhere), so the deploy
// service can tell by hash which hosts really changed and bump only their
// generations. Two steps: each farm's part (farm.ts, which depends on that
// farm alone, so the control loop stores it and recompiles only the farm a
// deploy changes), then the host-level assembly (assemble.ts: peers,
// underlay, relays, keys).
//
// Everything the console puts on a host is named by database ids, unique by
// construction: a VIF, router or firewall by its own id, a vnet by its vnet
// id, a router link's vnet by the link's stored vnet id, a TAP device by its
// VIF's number. Names users chose only travel beside them as display names
// (`name`), so no farm, tenant or VM name can make two items collide on a
// host, and a rename changes nothing a host keys on.
import { createHash } from 'node:crypto';
import type { CompileInput, HostState } from './types.ts';
import { compileFarm } from './farm.ts';
import { assemble } from './assemble.ts';
import { byString } from './common.ts';

export { CompileError, tapDeviceName } from './common.ts';
export { LINK_VNID_MIN, LINK_VNID_TOP } from '../../contract/limits.ts';

/** A locally administered unicast MAC derived from a name (stable across compiles). */
export function derivedMac(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  const bytes = [0x02, 0x5e, h[0]!, h[1]!, h[2]!, h[3]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Every host's state from every farm: the farms' parts, then the host-level assembly. */
export function compile(input: CompileInput): Map<string, HostState> {
  const hostsById = new Map(input.hosts.map((h) => [h.id, h]));
  const parts = [...input.farms].sort((a, b) => byString(a.id, b.id)).map((f) => compileFarm(f, hostsById));
  return assemble({ ...input, parts });
}

/** Canonical JSON (sorted keys) of a state, for hashing and diffing. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function stateHash(state: HostState): string {
  return createHash('sha256').update(canonicalJson(state)).digest('hex');
}
