// Computing desired states, per changed farm. A recompute about one farm (a
// deploy, an undeploy, a migration, a plan) compiles that farm alone, takes
// every other farm's stored part (farmParts.ts) and writes states only for
// the hosts the farm reaches before or after the change and the relays of
// their LAN segments (compile/assemble.ts affectedHosts): no other host's
// state can change. If another farm's stored part is not current (another
// revision, another compile format, a host enrolled since under a name it
// places things on), that farm is compiled too and every host is decided. A
// recompute about no farm (hosts, segments, the VARP key or a scheduled key
// rotation step changed) compiles every farm and decides every host. Reads only: the steps that write are desiredState.ts's.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import {
  affectedHosts, assemble, CompileError, neededHosts, relayFor, stateHash, type CompileHost, type CompileSegment, type FarmPart, type HostState,
} from '../compile/index.ts';
import {
  loadCompileInput, loadCurrent, loadFarmRows, loadTopology, type ControlHost, type CurrentDesired, type FarmOverride, type Topology,
} from './deployedFarms.ts';
import { compileParts, isCurrent, loadParts, type CompiledPart, type StoredPart } from './farmParts.ts';
import type { VmLocations } from './vmLocations.ts';
import { loadKeyrings, varpAuthEnabled, varpKey } from './vnetKeys.ts';

type Q = Prisma.TransactionClient | Db;

/** The state a host has before anything was ever deployed to it (generation 0). */
export function baselineState(host: Pick<CompileHost, 'name' | 'address' | 'port'>): HostState {
  return {
    host: host.name,
    underlay: { address: host.address, port: host.port, multicast: null, peers: [] },
    vnets: [],
    vifs: [],
    routers: [],
    firewalls: [],
    relay: null,
  };
}

/** The state of a host that runs nothing: its underlay, and its relay role if it has one. */
function emptyState(host: ControlHost, hosts: ControlHost[], segments: CompileSegment[]): HostState {
  return { ...baselineState(host), relay: relayFor(host, hosts, segments) };
}

/** What a recompute is about: one farm (its deployed revision, or an override), or none. */
export interface DesiredScope {
  farmId?: string | undefined;
  override?: FarmOverride | undefined;
}

export interface PreparedDesired extends Topology {
  /** The farm the recompute is about, when it decides only the hosts that farm can change. */
  farmId: string | null;
  /** The farm the recompute is about, even when it decides every host: its caller gets that farm's warnings alone. */
  about: string | null;
  /** Parts compiled now (the farm's, and any farm's whose stored part is not current). */
  compiled: CompiledPart[];
  /** Stored parts taken as they are. */
  reused: StoredPart[];
  /** Farms that run nothing any more. */
  removed: string[];
  /** The hosts this recompute decides; null: every host. */
  affected: Set<string> | null;
  locations: { stored: VmLocations; placed: VmLocations };
}

/** True when some host's stored state holds items of the farm. */
async function runsSomewhere(q: Q, farmId: string): Promise<boolean> {
  const probe = JSON.stringify({ vnets: [{ farm: farmId }] });
  const rows = await q.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM "HostDesiredState" WHERE "state" @> $1::jsonb LIMIT 1`, probe);
  return rows.length > 0;
}

/** Loads and compiles what the scope needs. Writes nothing. */
export async function prepareDesired(q: Q, scope: DesiredScope = {}): Promise<PreparedDesired> {
  const topo = await loadTopology(q);
  const hostNames = new Set(topo.hosts.map((h) => h.name));
  const target = scope.override?.farmId ?? scope.farmId;
  const rows = await loadFarmRows(q, scope.override, target);
  const targetRow = rows.find((f) => f.id === target);
  // About every host (hosts, segments, keys changed): every farm is compiled again, which also repairs any stored part.
  const stale = rows.filter((f) => f.revision !== null && f.id !== target && (target === undefined || !isCurrent(f, hostNames)));
  // Which hosts ran the farm before is known from its stored part; a farm running without one decides every host.
  const before = targetRow?.stored?.hostIds ?? null;
  const incremental = targetRow !== undefined && stale.length === 0 && (before !== null || !(await runsSomewhere(q, targetRow.id)));
  const toCompile = [...stale, ...(targetRow && targetRow.revision !== null ? [targetRow] : [])];
  const input = await loadCompileInput(q, toCompile, topo.hosts);
  const compiled = compileParts(input.compiled, topo.hosts, target);
  const compiledIds = new Set(compiled.map((c) => c.part.farmId));
  const reuseIds = rows.filter((f) => f.revision !== null && !compiledIds.has(f.id)).map((f) => f.id);
  const removed = rows.filter((f) => f.revision === null).map((f) => f.id);
  if (!incremental) {
    return { ...topo, farmId: null, about: target ?? null, compiled, reused: await loadParts(q, reuseIds), removed, affected: null, locations: input.locations };
  }
  const touched = [...(before ?? []), ...compiled.flatMap((c) => c.part.hosts.map((h) => h.hostId))];
  const affected = affectedHosts(touched, topo.hosts, topo.segments);
  const reused = await loadParts(q, reuseIds, [...neededHosts(affected, topo.hosts, topo.segments)]);
  return { ...topo, farmId: target!, about: target!, compiled, reused, removed, affected, locations: input.locations };
}

export interface DesiredComputation {
  hosts: ControlHost[];
  /** The new state of every host decided (hosts running nothing get an empty one); the others cannot change. */
  next: Map<string, { state: HostState; hash: string }>;
  /** What each decided host has now, by host id (absent: generation 0, baseline state). */
  current: Map<string, CurrentDesired>;
  warnings: string[];
}

/** The sealed vnets the parts put on hosts. */
function carriedSealed(parts: FarmPart[]): number[] {
  const out = new Set<number>();
  for (const p of parts) for (const h of p.hosts) for (const v of h.vnets) if (v.security !== 'none') out.add(v.id);
  return [...out].sort((a, b) => a - b);
}

/** The decided hosts' states, with the keys that exist now. Writes nothing. */
export async function assembleDesired(q: Q, p: PreparedDesired): Promise<DesiredComputation> {
  const parts = [...p.reused.map((r) => r.part), ...p.compiled.map((c) => c.part)].sort((a, b) => (a.farmId < b.farmId ? -1 : 1));
  const vnetKeys = await loadKeyrings(q, carriedSealed(parts));
  // VARP authentication is opt-in (docs/operations.md): a running agent rebuilds its underlay for a new VARP key.
  const varp = varpAuthEnabled() ? await varpKey(q, false) : undefined;
  let states: Map<string, HostState>;
  try {
    states = assemble({ hosts: p.hosts, segments: p.segments, parts, vnetKeys, ...(varp ? { varpKey: varp } : {}) }, p.affected ?? undefined);
  } catch (err) {
    if (err instanceof CompileError) throw new AppError('CONFLICT', err.message, { field: err.field, cause: err });
    throw err;
  }
  const decided = p.affected ? p.hosts.filter((h) => p.affected!.has(h.id)) : p.hosts;
  const next = new Map<string, { state: HostState; hash: string }>();
  for (const h of decided) {
    const state = states.get(h.name) ?? emptyState(h, p.hosts, p.segments);
    next.set(h.id, { state, hash: stateHash(state) });
  }
  const current = await loadCurrent(q, p.affected ? decided.map((h) => h.id) : 'all');
  // About one farm: its warnings alone, even when every host is decided (they may name other tenants' farms); about every host: every farm's.
  const all = [...p.reused, ...p.compiled].sort((a, b) => (a.part.farmId < b.part.farmId ? -1 : 1));
  const warned = p.about === null ? all : all.filter((w) => w.part.farmId === p.about);
  return { hosts: p.hosts, next, current, warnings: warned.flatMap((w) => w.warnings) };
}

/** What every host would run with the scope's farm as deployed or overridden: a plan's view. Writes nothing. */
export async function computeDesired(q: Q, scope: DesiredScope = {}): Promise<DesiredComputation> {
  return assembleDesired(q, await prepareDesired(q, scope));
}
