// Desired state per host: every deployed farm, at its deployed revision,
// compiled into one state document per host. A recompute takes its steps in
// order: load what is deployed (deployedFarms.ts, reads only), create the
// keys it needs (vnetKeys.ts provisionKeys), store where each VM now runs
// (vmLocations.ts), compile, store what changed. A plan loads and compiles
// only, so it never writes. A host's generation goes up
// only when its own state changed (by hash), and the change is announced
// (`host.desired`) in the same transaction, so agents hear of it exactly when
// it is committed. Recomputes are serialized by a transaction-scoped advisory
// lock: with several console processes on one Postgres, generations stay
// monotonic and no two recomputes interleave their read-compare-write.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError, badRequest } from '../errors.ts';
import { compile, CompileError, stateHash, type CompileHost, type CompileSegment, type HostState } from '../compile/index.ts';
import { publishMany } from '../events/index.ts';
import { hostStateSchema } from '../../contract/hostState.ts';
import {
  loadDesiredInput, stripGeneration, type ControlHost, type CurrentDesired, type DesiredInput, type FarmOverride,
} from './deployedFarms.ts';
import { storeVmLocations } from './vmLocations.ts';
import { storeDesiredStates, type DesiredRow } from './desiredWrite.ts';
import { loadKeyrings, provisionKeys, sealedVnids, varpAuthEnabled, varpKey } from './vnetKeys.ts';

export type { ControlHost, CurrentDesired, FarmOverride } from './deployedFarms.ts';

type Tx = Prisma.TransactionClient;
type Q = Tx | Db;

/** pg_advisory_xact_lock key of the control loop ("SUDC" in ASCII). */
export const CONTROL_LOCK_KEY = 0x53554443;
/** Recomputes wait for each other inside the transaction; compiling thousands of hosts takes a while. */
export const CONTROL_TX = { maxWait: 30_000, timeout: 120_000 } as const;

/** Serializes control-loop writers until the caller's transaction ends. */
export async function lockControlLoop(tx: Tx): Promise<void> {
  await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${CONTROL_LOCK_KEY})`);
}

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
  const state = baselineState(host);
  const mine = segments.find((s) => s.relayHostId === host.id);
  if (mine) {
    const addressOf = new Map(hosts.map((h) => [h.id, h.address]));
    const peers = segments
      .filter((s) => s !== mine && s.relayHostId)
      .map((s) => addressOf.get(s.relayHostId!))
      .filter((a): a is string => !!a)
      .sort();
    state.relay = { enabled: true, peers, proxy: mine.proxyMode };
  }
  return state;
}

export interface DesiredComputation {
  hosts: ControlHost[];
  /** The new state of every host (hosts running nothing get an empty one). */
  next: Map<string, { state: HostState; hash: string }>;
  /** What each host has now, by host id (absent: generation 0, baseline state). */
  current: Map<string, CurrentDesired>;
  warnings: string[];
}

/** Compiles the input with the keys that exist now. Writes nothing. */
export async function compileDesired(q: Q, input: DesiredInput): Promise<DesiredComputation> {
  const { hosts, segments, farms } = input;
  const vnetKeys = await loadKeyrings(q, sealedVnids(farms));
  // VARP authentication is opt-in (docs/operations.md): a running agent rebuilds its underlay for a new VARP key.
  const varp = varpAuthEnabled() ? await varpKey(q, false) : undefined;
  let compiled: Map<string, HostState>;
  try {
    compiled = compile({ hosts, segments, farms, vnetKeys, ...(varp ? { varpKey: varp } : {}) });
  } catch (err) {
    if (err instanceof CompileError) throw new AppError('BAD_REQUEST', err.message, { field: err.field, cause: err });
    throw err;
  }
  const next = new Map<string, { state: HostState; hash: string }>();
  for (const h of hosts) {
    const state = compiled.get(h.name) ?? emptyState(h, hosts, segments);
    next.set(h.id, { state, hash: stateHash(state) });
  }
  return { hosts, next, current: input.current, warnings: input.warnings };
}

/** What every host would run with everything deployed (and the override): a plan's view. Writes nothing. */
export async function computeDesired(q: Q, opts: { override?: FarmOverride } = {}): Promise<DesiredComputation> {
  return compileDesired(q, await loadDesiredInput(q, opts));
}

/** The hash a host without a stored state is considered to have. */
export function baselineHash(host: Pick<CompileHost, 'name' | 'address' | 'port'>): string {
  return stateHash(baselineState(host));
}

export interface ChangedHost {
  hostId: string;
  host: string;
  generation: number;
}

/** Hosts whose new state differs from what they have now. */
export function changedHosts(c: DesiredComputation): ControlHost[] {
  return c.hosts.filter((h) => {
    const hash = c.next.get(h.id)!.hash;
    return hash !== (c.current.get(h.id)?.hash ?? baselineHash(h));
  });
}

/**
 * A state the host's agent would refuse is never stored (nor sent): the
 * change that led to it is refused, naming the host and the field.
 */
function refuseInvalid(host: string, doc: unknown): void {
  const r = hostStateSchema.safeParse(doc);
  if (r.success) return;
  const issue = r.error.issues[0]!;
  const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  throw badRequest('id', `host ${host} would refuse its new state (${field}: ${issue.message}); nothing was deployed`);
}

/**
 * Recomputes every host's desired state inside the caller's transaction and
 * stores the ones that changed, with a new generation each. Takes the
 * control-loop lock (held until the transaction ends).
 */
export async function recomputeDesired(
  tx: Tx,
  opts: { override?: FarmOverride } = {},
): Promise<{ changed: ChangedHost[]; warnings: string[] }> {
  await lockControlLoop(tx);
  const input = await loadDesiredInput(tx, opts);
  // The steps that write come first, each explicit: keys, then where each VM now runs.
  await provisionKeys(tx, input.farms);
  await storeVmLocations(tx, input.locations.stored, input.locations.placed);
  const c = await compileDesired(tx, input);
  const changed: ChangedHost[] = [];
  const rows: DesiredRow[] = [];
  for (const h of changedHosts(c)) {
    const { state, hash } = c.next.get(h.id)!;
    const generation = Math.max(h.desiredGeneration, c.current.get(h.id)?.generation ?? 0) + 1;
    refuseInvalid(h.name, { ...state, generation });
    rows.push({ hostId: h.id, generation, hash, state: { ...state, generation } });
    changed.push({ hostId: h.id, host: h.name, generation });
  }
  await storeDesiredStates(tx, rows);
  // Delivered at commit: agents never hear of a generation that was rolled back.
  await publishMany(tx, changed.map((x) => ({ type: 'host.desired', hostId: x.hostId, generation: x.generation })));
  return { changed, warnings: c.warnings };
}

/**
 * Recompute in a transaction of its own: for changes outside a deploy that
 * alter what hosts must run (a host's address or port, LAN segments, relays).
 */
export async function refreshDesiredStates(o: { db: Db }): Promise<{ changed: ChangedHost[]; warnings: string[] }> {
  return o.db.$transaction((tx) => recomputeDesired(tx), CONTROL_TX);
}

/** A host's current desired state as an agent receives it (generation 0 + baseline when none was stored). */
export async function readDesired(q: Q, hostId: string): Promise<{ generation: number; state: HostState & { generation: number } } | null> {
  const row = await q.host.findUnique({
    where: { id: hostId },
    select: { name: true, address: true, port: true, desiredState: { select: { generation: true, state: true } } },
  });
  if (!row) return null;
  if (row.desiredState) {
    const state = row.desiredState.state as unknown as HostState;
    return { generation: row.desiredState.generation, state: { ...stripGeneration(state), generation: row.desiredState.generation } };
  }
  return { generation: 0, state: { ...baselineState(row), generation: 0 } };
}
