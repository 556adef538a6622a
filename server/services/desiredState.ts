// Desired state per host: every deployed farm, at its deployed revision,
// compiled into one state document per host. A host's generation goes up
// only when its own state changed (by hash), and the change is announced
// (`host.desired`) in the same transaction, so agents hear of it exactly when
// it is committed. Recomputes are serialized by a transaction-scoped advisory
// lock: with several console processes on one Postgres, generations stay
// monotonic and no two recomputes interleave their read-compare-write.
import { consoleConfig } from '../../config/index.ts';
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError, badRequest } from '../errors.ts';
import { compile, CompileError, stateHash, type CompileHost, type CompileSegment, type HostState } from '../compile/index.ts';
import { publishMany } from '../events/index.ts';
import { hostStateSchema } from '../../contract/hostState.ts';
import { farmDocumentSchema, type FarmDocument } from './farmDocument.ts';
import { lacksIds, previousPlacements, toCompileFarm, withIds, type DeployedFarm, type FarmRows } from './desiredInput.ts';
import { loadKeyrings, syncVnetKeys, varpKey } from './vnetKeys.ts';

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

export interface ControlHost extends CompileHost {
  desiredGeneration: number;
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

export interface CurrentDesired {
  generation: number;
  hash: string;
  state: HostState;
}

export interface DesiredComputation {
  hosts: ControlHost[];
  /** The new state of every host (hosts running nothing get an empty one). */
  next: Map<string, { state: HostState; hash: string }>;
  /** What each host has now, by host id (absent: generation 0, baseline state). */
  current: Map<string, CurrentDesired>;
  warnings: string[];
}

/** Replaces one farm's deployed document (a plan or a deploy in progress); null takes it out. */
export interface FarmOverride {
  farmId: string;
  revision: number;
  document: FarmDocument | null;
}

function stripGeneration(state: unknown): HostState {
  const { generation: _g, ...rest } = state as HostState & { generation?: number };
  return rest;
}

function parseSnapshot(farm: { name: string }, revision: number, snapshot: unknown): FarmDocument {
  const r = farmDocumentSchema.safeParse(snapshot);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw badRequest('revision', `farm ${farm.name} revision ${revision} is not a valid farm document (${issue?.path.join('.')}: ${issue?.message})`);
}

/** Every host running something gets the deployment's VARP key (spec AUTH), unless SOFTUDC_VARP_AUTH=0. */
export function varpAuthEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return consoleConfig(env).SOFTUDC_VARP_AUTH;
}

/**
 * Reads everything deployed and compiles it; writes nothing unless
 * `writeKeys` (a recompute): then missing vnet keys and the VARP key are
 * generated first and keys of vnets no longer deployed sealed are retired.
 */
export async function computeDesired(q: Q, opts: { override?: FarmOverride; writeKeys?: boolean } = {}): Promise<DesiredComputation> {
  // One query after another: inside a transaction they share one connection.
  const hostRows = await q.host.findMany({
    select: { id: true, name: true, address: true, port: true, segmentId: true, desiredGeneration: true },
    orderBy: { name: 'asc' },
  });
  const segments = await q.lanSegment.findMany({
    select: { id: true, name: true, multicast: true, multicastGroup: true, relayHostId: true, proxyMode: true },
  });
  const farmRows = await q.farm.findMany({
    where: opts.override ? { OR: [{ deployedRevision: { not: null } }, { id: opts.override.farmId }] } : { deployedRevision: { not: null } },
    select: { id: true, name: true, deployedRevision: true },
    orderBy: { id: 'asc' },
  });
  const currentRows = await q.hostDesiredState.findMany({ select: { hostId: true, generation: true, hash: true, state: true } });
  const hosts: ControlHost[] = hostRows;
  const current = new Map(currentRows.map((r) => [r.hostId, { generation: r.generation, hash: r.hash, state: stripGeneration(r.state) }]));
  const warnings: string[] = [];

  // The document each farm runs: its deployed snapshot, or the override.
  const wanted: { id: string; name: string; revision: number; document?: FarmDocument }[] = [];
  for (const f of farmRows) {
    const o = opts.override?.farmId === f.id ? opts.override : undefined;
    if (o) {
      if (o.document) wanted.push({ id: f.id, name: f.name, revision: o.revision, document: o.document });
    } else if (f.deployedRevision !== null) {
      wanted.push({ id: f.id, name: f.name, revision: f.deployedRevision });
    }
  }
  const toLoad = wanted.filter((w) => !w.document);
  const snapshots = toLoad.length
    ? await q.farmRevision.findMany({
        where: { OR: toLoad.map((w) => ({ farmId: w.id, revision: w.revision })) },
        select: { farmId: true, revision: true, snapshot: true },
      })
    : [];
  const snapshotOf = new Map(snapshots.map((s) => [s.farmId, s.snapshot]));
  const deployed: DeployedFarm[] = [];
  for (const w of wanted) {
    if (w.document) {
      deployed.push({ ...w, document: w.document });
      continue;
    }
    const snap = snapshotOf.get(w.id);
    if (snap === undefined) {
      warnings.push(`farm ${w.name}: deployed revision ${w.revision} has no snapshot; not running`);
      continue;
    }
    deployed.push({ ...w, document: parseSnapshot(w, w.revision, snap) });
  }
  // Snapshots taken before they carried ids get those of the rows that bear their names now.
  for (const [i, d] of deployed.entries()) if (lacksIds(d.document)) deployed[i] = { ...d, document: withIds(d, await loadFarmRows(q, d.id)) };

  const liveVms = deployed.length
    ? await q.vm.findMany({
        where: { farmId: { in: deployed.map((d) => d.id) } },
        select: { id: true, locationVersion: true },
      })
    : [];
  const liveVersions = new Map(liveVms.map((v) => [v.id, v.locationVersion]));

  const hostIdByName = new Map(hosts.map((h) => [h.name, h.id]));
  const previous = previousPlacements([...current.values()].map((c) => c.state));
  const farms = deployed.map((d) => toCompileFarm(d, { hostIdByName, liveVersions, previous, warnings }));

  const sealed = [...new Set(farms.flatMap((f) => f.vnets.filter((v) => v.security !== 'none').map((v) => v.vnid)))].sort((a, b) => a - b);
  if (opts.writeKeys) await syncVnetKeys(q as Tx, sealed);
  const vnetKeys = await loadKeyrings(q, sealed);
  // VARP authentication is opt-in (docs/operations.md): a running agent rebuilds its underlay for a new VARP key.
  const varp = varpAuthEnabled() ? await varpKey(q, opts.writeKeys === true) : undefined;

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
  return { hosts, next, current, warnings };
}

async function loadFarmRows(q: Q, farmId: string): Promise<FarmRows> {
  return {
    vms: await q.vm.findMany({ where: { farmId }, select: { id: true, name: true, vifs: { select: { id: true, name: true, serial: true } } } }),
    routers: await q.router.findMany({ where: { farmId }, select: { id: true, name: true } }),
    firewalls: await q.firewall.findMany({ where: { farmId }, select: { id: true, name: true } }),
  };
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
  const c = await computeDesired(tx, { ...opts, writeKeys: true });
  const changed: ChangedHost[] = [];
  for (const h of changedHosts(c)) {
    const { state, hash } = c.next.get(h.id)!;
    const generation = Math.max(h.desiredGeneration, c.current.get(h.id)?.generation ?? 0) + 1;
    refuseInvalid(h.name, { ...state, generation });
    const doc = { ...state, generation } as unknown as Prisma.InputJsonValue;
    await tx.hostDesiredState.upsert({
      where: { hostId: h.id },
      create: { hostId: h.id, generation, hash, state: doc },
      update: { generation, hash, state: doc },
      select: { hostId: true },
    });
    await tx.host.update({ where: { id: h.id }, data: { desiredGeneration: generation }, select: { id: true } });
    changed.push({ hostId: h.id, host: h.name, generation });
  }
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
