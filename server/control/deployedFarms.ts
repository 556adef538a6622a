// What the control loop compiles: the hosts, LAN segments and every deployed
// farm at its deployed revision (or, for a plan or a deploy in progress, one
// farm's override), turned into compile input, with what each host has now.
// Reads only; storing anything is the deploy's business (desiredState.ts).
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

export interface DesiredInput {
  hosts: ControlHost[];
  segments: CompileSegment[];
  farms: CompileFarm[];
  /** What each host has now, by host id (absent: generation 0, baseline state). */
  current: Map<string, CurrentDesired>;
  /** Where each deployed VM was last deployed, and where this input places it. */
  locations: { stored: VmLocations; placed: VmLocations };
  warnings: string[];
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

/** Reads everything deployed and turns it into compile input. Writes nothing. */
export async function loadDesiredInput(q: Q, opts: { override?: FarmOverride | undefined } = {}): Promise<DesiredInput> {
  // One query after another: inside a transaction they share one connection.
  const hosts: ControlHost[] = (
    await q.host.findMany({
      select: { id: true, name: true, address: true, port: true, segmentId: true, desiredGeneration: true, dnsUpstream: true },
      orderBy: { name: 'asc' },
    })
  ).map((h) => ({ ...h, dnsUpstream: upstreamOf(h.dnsUpstream) }));
  const segments = await q.lanSegment.findMany({
    select: { id: true, name: true, multicast: true, multicastGroup: true, relayHostId: true, proxyMode: true },
  });
  const currentRows = await q.hostDesiredState.findMany({ select: { hostId: true, generation: true, hash: true, state: true } });
  const current = new Map(currentRows.map((r) => [r.hostId, { generation: r.generation, hash: r.hash, state: stripGeneration(r.state) }]));
  const warnings: string[] = [];
  const deployed = await loadDeployedFarms(q, opts.override, warnings);

  const vmIds = deployed.flatMap((d) => d.document.vms.flatMap((vm) => (vm.id === undefined ? [] : [vm.id])));
  const liveVms = vmIds.length
    ? await q.vm.findMany({ where: { farmId: { in: deployed.map((d) => d.id) } }, select: { id: true, locationVersion: true } })
    : [];
  const liveVersions = new Map(liveVms.map((v) => [v.id, v.locationVersion]));
  const stored = await loadVmLocations(q, vmIds);
  const placed: VmLocations = new Map();
  const hostIdByName = new Map(hosts.map((h) => [h.name, h.id]));
  const farms = deployed.map((d) => toCompileFarm(d, { hostIdByName, liveVersions, locations: stored, placed, warnings }));
  return { hosts, segments, farms, current, locations: { stored, placed }, warnings };
}

/** The document each deployed farm runs: its deployed snapshot, or the override. */
async function loadDeployedFarms(q: Q, override: FarmOverride | undefined, warnings: string[]): Promise<DeployedFarm[]> {
  const farmRows = await q.farm.findMany({
    where: override ? { OR: [{ deployedRevision: { not: null } }, { id: override.farmId }] } : { deployedRevision: { not: null } },
    select: { id: true, name: true, deployedRevision: true },
    orderBy: { id: 'asc' },
  });
  const wanted: { id: string; name: string; revision: number; document?: FarmDocument }[] = [];
  for (const f of farmRows) {
    const o = override?.farmId === f.id ? override : undefined;
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
  return deployed;
}

async function loadFarmRows(q: Q, farmId: string): Promise<FarmRows> {
  return {
    vms: await q.vm.findMany({ where: { farmId }, select: { id: true, name: true, vifs: { select: { id: true, name: true, serial: true } } } }),
    routers: await q.router.findMany({ where: { farmId }, select: { id: true, name: true } }),
    firewalls: await q.firewall.findMany({ where: { farmId }, select: { id: true, name: true } }),
  };
}
