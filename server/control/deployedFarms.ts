// What the control loop compiles from: the hosts and LAN segments, which
// farms are deployed at which revision (with what their stored parts were
// compiled from, farmParts.ts), and the deployed documents (revision
// snapshots, or for a plan or a deploy in progress one farm's override)
// turned into compile input. Reads only; storing anything is the deploy's
// business (desiredState.ts).
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { badRequest } from '../errors.ts';
import type { CompileFarm, CompileHost, CompileSegment, HostState } from '../compile/index.ts';
import { farmDocumentSchema, type FarmDocument } from '../farms/farmDocument.ts';
import { lacksIds, toCompileFarm, withIds, type DeployedFarm, type FarmRows } from './desiredInput.ts';
import { loadVmLocations, type VmLocations } from './vmLocations.ts';

type Q = Prisma.TransactionClient | Db;

/** A host's stored upstream resolvers as a list of addresses (anything else stored reads as none). */
export function upstreamOf(stored: unknown): string[] {
  return Array.isArray(stored) ? stored.filter((a): a is string => typeof a === 'string') : [];
}

export interface ControlHost extends CompileHost {
  desiredGeneration: number;
}

export interface CurrentDesired {
  generation: number;
  hash: string;
  state: HostState;
}

/** Replaces one farm's deployed document (a plan or a deploy in progress); null takes it out. */
export interface FarmOverride {
  farmId: string;
  revision: number;
  document: FarmDocument | null;
}

export interface Topology {
  hosts: ControlHost[];
  segments: CompileSegment[];
}

/** A farm that runs (or ran, for the one a recompute is about), with what its stored part was compiled from. */
export interface FarmRow {
  id: string;
  name: string;
  /** The revision that runs now (the override's for the overridden farm); null: runs nothing. */
  revision: number | null;
  override?: FarmOverride;
  stored: { revision: number; format: number; hostIds: string[]; unknownHosts: string[] } | null;
}

/** A farm compiled for the hosts: its compile input and what its compilation could not place. */
export interface CompiledInput {
  farm: CompileFarm;
  warnings: string[];
  unknownHosts: string[];
}

export function stripGeneration(state: unknown): HostState {
  const { generation: _g, ...rest } = state as HostState & { generation?: number };
  return rest;
}

function parseSnapshot(farm: { name: string }, revision: number, snapshot: unknown): FarmDocument {
  const r = farmDocumentSchema.safeParse(snapshot);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw badRequest('revision', `farm ${farm.name} revision ${revision} is not a valid farm document (${issue?.path.join('.')}: ${issue?.message})`);
}

export async function loadTopology(q: Q): Promise<Topology> {
  // One query after another: inside a transaction they share one connection.
  const hosts: ControlHost[] = (
    await q.host.findMany({
      select: { id: true, name: true, address: true, port: true, segmentId: true, desiredGeneration: true, dnsUpstream: true },
      orderBy: { name: 'asc' },
    })
  ).map((h) => ({ ...h, dnsUpstream: upstreamOf(h.dnsUpstream) }));
  // Where each host reaches the external networks of its segment (legs placed there bridge to it).
  const bindings = await q.externalNetworkBinding.findMany({
    select: { hostId: true, externalNetworkId: true, interface: true, vid: true, externalNetwork: { select: { cidr: true, gateway: true } } },
    orderBy: [{ externalNetworkId: 'asc' }],
  });
  for (const h of hosts) {
    const mine = bindings.filter((b) => b.hostId === h.id);
    if (!mine.length) continue;
    h.externalNetworks = mine.map((b) => ({
      id: b.externalNetworkId, interface: b.interface, vid: b.vid,
      prefixLen: Number(b.externalNetwork.cidr.split('/')[1]), gateway: b.externalNetwork.gateway,
    }));
  }
  const segments = await q.lanSegment.findMany({
    select: { id: true, name: true, multicast: true, multicastGroup: true, relayHostId: true, proxyMode: true },
  });
  return { hosts, segments };
}

/** Every deployed farm, and the one a recompute is about (deployed or not), in id order. */
export async function loadFarmRows(q: Q, override: FarmOverride | undefined, farmId?: string): Promise<FarmRow[]> {
  const about = override?.farmId ?? farmId;
  const rows = await q.farm.findMany({
    where: about !== undefined ? { OR: [{ deployedRevision: { not: null } }, { id: about }] } : { deployedRevision: { not: null } },
    select: {
      id: true, name: true, deployedRevision: true,
      contribution: { select: { revision: true, format: true, hostIds: true, unknownHosts: true } },
    },
    orderBy: { id: 'asc' },
  });
  return rows.map((f) => {
    const o = override?.farmId === f.id ? override : undefined;
    const revision = o ? (o.document ? o.revision : null) : f.deployedRevision;
    return { id: f.id, name: f.name, revision, ...(o ? { override: o } : {}), stored: f.contribution };
  });
}

/** What each of the given hosts has now, by host id (absent: generation 0, baseline state). */
export async function loadCurrent(q: Q, hostIds: string[] | 'all'): Promise<Map<string, CurrentDesired>> {
  const rows = await q.hostDesiredState.findMany({
    ...(hostIds === 'all' ? {} : { where: { hostId: { in: hostIds } } }),
    select: { hostId: true, generation: true, hash: true, state: true },
  });
  return new Map(rows.map((r) => [r.hostId, { generation: r.generation, hash: r.hash, state: stripGeneration(r.state) }]));
}

/**
 * The given farms (each running a revision) as compile input, each with its
 * own warnings; `locations` says where their VMs were last deployed and where
 * this input places them. Writes nothing.
 */
export async function loadCompileInput(
  q: Q, farms: FarmRow[], hosts: CompileHost[],
): Promise<{ compiled: CompiledInput[]; locations: { stored: VmLocations; placed: VmLocations } }> {
  const warningsOf = new Map(farms.map((f) => [f.id, [] as string[]]));
  const deployed = await loadDeployedFarms(q, farms, warningsOf);
  const vmIds = deployed.flatMap((d) => d.document.vms.flatMap((vm) => (vm.id === undefined ? [] : [vm.id])));
  const liveVms = vmIds.length
    ? await q.vm.findMany({ where: { farmId: { in: deployed.map((d) => d.id) } }, select: { id: true, locationVersion: true, migratingToHostId: true } })
    : [];
  const liveVersions = new Map(liveVms.map((v) => [v.id, v.locationVersion]));
  const migratingTo = new Map(liveVms.flatMap((v) => (v.migratingToHostId ? [[v.id, v.migratingToHostId] as const] : [])));
  const stored = await loadVmLocations(q, vmIds);
  const placed: VmLocations = new Map();
  const hostIdByName = new Map(hosts.map((h) => [h.name, h.id]));
  const compiled = deployed.map((d) => {
    const warnings = warningsOf.get(d.id)!;
    const unknownHosts = new Set<string>();
    const farm = toCompileFarm(d, { hostIdByName, liveVersions, migratingTo, locations: stored, placed, warnings, unknownHosts });
    return { farm, warnings, unknownHosts: [...unknownHosts].sort() };
  });
  // A farm whose revision has no snapshot runs nothing (its warning says why).
  for (const f of farms) {
    if (f.revision !== null && !deployed.some((d) => d.id === f.id)) {
      compiled.push({ farm: emptyFarm(f, f.revision), warnings: warningsOf.get(f.id)!, unknownHosts: [] });
    }
  }
  return { compiled: compiled.sort((a, b) => (a.farm.id < b.farm.id ? -1 : 1)), locations: { stored, placed } };
}

function emptyFarm(f: { id: string; name: string }, revision: number): CompileFarm {
  return { id: f.id, name: f.name, revision, vnets: [], vms: [], routers: [], routerLinks: [], firewalls: [] };
}

/** The document each farm runs: its deployed snapshot, or the override. */
async function loadDeployedFarms(q: Q, farms: FarmRow[], warningsOf: Map<string, string[]>): Promise<DeployedFarm[]> {
  const wanted = farms.filter((f): f is FarmRow & { revision: number } => f.revision !== null);
  const toLoad = wanted.filter((w) => !w.override?.document);
  const snapshots = toLoad.length
    ? await q.farmRevision.findMany({
        where: { OR: toLoad.map((w) => ({ farmId: w.id, revision: w.revision })) },
        select: { farmId: true, revision: true, snapshot: true },
      })
    : [];
  const snapshotOf = new Map(snapshots.map((s) => [s.farmId, s.snapshot]));
  const deployed: DeployedFarm[] = [];
  for (const w of wanted) {
    const base = { id: w.id, name: w.name, revision: w.revision };
    if (w.override?.document) {
      deployed.push({ ...base, document: w.override.document });
      continue;
    }
    const snap = snapshotOf.get(w.id);
    if (snap === undefined) {
      warningsOf.get(w.id)!.push(`farm ${w.name}: deployed revision ${w.revision} has no snapshot; not running`);
      continue;
    }
    deployed.push({ ...base, document: parseSnapshot(w, w.revision, snap) });
  }
  // Snapshots taken before they carried ids get those of the rows that bear their names now.
  for (const [i, d] of deployed.entries()) if (lacksIds(d.document)) deployed[i] = { ...d, document: withIds(d, await loadRowsOf(q, d.id)) };
  return deployed;
}

async function loadRowsOf(q: Q, farmId: string): Promise<FarmRows> {
  return {
    vms: await q.vm.findMany({ where: { farmId }, select: { id: true, name: true, vifs: { select: { id: true, name: true, serial: true } } } }),
    routers: await q.router.findMany({ where: { farmId }, select: { id: true, name: true } }),
    firewalls: await q.firewall.findMany({ where: { farmId }, select: { id: true, name: true } }),
    links: (await q.routerLink.findMany({
      where: { farmId },
      select: { vnid: true, routerA: { select: { name: true } }, routerB: { select: { name: true } } },
    })).map((l) => ({ a: l.routerA.name, b: l.routerB.name, vnid: Number(l.vnid) })),
  };
}
