// `farm.trace`: the packet trace of a deployed farm (issue 16). The flow is
// walked through the host states the deploy compiled and streamed (table
// HostDesiredState), kept to this farm's items, by the pure engine
// (server/trace); in live mode the agents on the path are asked for their real
// state (traceLive.ts) and every hop says whether it agrees with the design.
//
// Who may: every role of the farm's tenant. A trace changes nothing; live
// lookups read tables on the tenant's own routers, firewalls and vnets.
// Another tenant's farm or VIF is NOT_FOUND, as everywhere.
import type { Db } from '../db/index.ts';
import { AppError, badRequest, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { requireFarm } from '../farms/farmAccess.ts';
import { traceFlow, TraceInputError, type LearntRoute, type TraceHost, type TraceProtocol, type TraceResult, type TraceState } from '../trace/index.ts';
import type { HostState } from '../../contract/hostState.ts';
import { addLiveState, learnRoutes } from './traceLive.ts';

const READ_TX = { isolationLevel: 'RepeatableRead' as const, maxWait: 10_000, timeout: 30_000 };

export interface TraceOptions {
  db: Db;
  actor: UserActor;
  id: string;
  from: { vif: string } | { external: string };
  to: string;
  protocol: TraceProtocol;
  port?: number | null | undefined;
  live: boolean;
}

/** One host's state kept to the items of farm `farmId` (and the groups its VIFs name). */
export function farmSlice(state: HostState, farmId: string): TraceState {
  const mine = <T extends { farm?: string | undefined }>(xs: T[] | undefined) => (xs ?? []).filter((x) => x.farm === farmId);
  const vifs = mine(state.vifs);
  const routers = mine(state.routers);
  const firewalls = mine(state.firewalls);
  const used = new Set<number>([
    ...vifs.map((v) => v.vnet),
    ...routers.flatMap((r) => [...r.interfaces.map((i) => i.vnet), ...r.links.flatMap((l) => (l.vnet === null ? [] : [l.vnet]))]),
    ...firewalls.flatMap((f) => f.interfaces.map((i) => i.vnet)),
  ]);
  const groups = new Set(vifs.flatMap((v) => v.securityGroups ?? []));
  const securityGroups = (state.securityGroups ?? []).filter((g) => groups.has(g.id));
  const sets = new Set(securityGroups.flatMap((g) => g.rules.flatMap((r) => (r.remoteSet === null ? [] : [r.remoteSet]))));
  return {
    vnets: state.vnets.filter((v) => v.farm === farmId || used.has(v.id)),
    vifs, routers, firewalls, securityGroups,
    addressSets: (state.addressSets ?? []).filter((a) => sets.has(a.id)),
  };
}

/** The deployed states of the hosts the farm reaches, each kept to the farm. */
async function deployedHosts(db: Db, actor: UserActor, o: TraceOptions): Promise<{ farmName: string; hosts: TraceHost[] }> {
  return db.$transaction(async (tx) => {
    const farm = await requireFarm(tx, actor, o.id, 'id');
    if ('vif' in o.from) {
      const vif = await tx.vif.findFirst({ where: { id: o.from.vif, vm: { farmId: farm.id } }, select: { id: true } });
      if (!vif) throw notFound('VIF', 'from.vif');
    }
    if (farm.deployedRevision === null) {
      throw new AppError('PRECONDITION_FAILED', `id: farm ${farm.name} is not deployed; the trace follows what is deployed`, { field: 'id' });
    }
    const part = await tx.farmContribution.findUnique({ where: { farmId: farm.id }, select: { hostIds: true } });
    const ids = part?.hostIds ?? [];
    const rows = ids.length
      ? await tx.hostDesiredState.findMany({
          where: { hostId: { in: ids } },
          select: { state: true, host: { select: { id: true, name: true, address: true } } },
          orderBy: { host: { name: 'asc' } },
        })
      : [];
    const hosts = rows.map((r) => ({ id: r.host.id, name: r.host.name, address: r.host.address, state: farmSlice(r.state as unknown as HostState, farm.id) }));
    return { farmName: farm.name, hosts };
  }, READ_TX);
}

export async function traceFarm(o: TraceOptions): Promise<TraceResult & { farmId: string }> {
  const { hosts } = await deployedHosts(o.db, o.actor, o);
  let result: TraceResult;
  const trace = (learnt: LearntRoute[]) => traceFlow({ hosts, from: o.from, to: o.to, protocol: o.protocol, port: o.port ?? null, learnt });
  try {
    result = trace([]);
  } catch (err) {
    if (err instanceof TraceInputError) {
      if (err.field === 'from' && 'vif' in o.from) throw new AppError('PRECONDITION_FAILED', `from.vif: ${err.message}; deploy the farm (or place the VM on a host)`, { field: 'from.vif' });
      throw badRequest(err.field === 'from' ? 'from.external' : err.field, err.message);
    }
    throw err;
  }
  if (o.live) {
    if (result.verdict === 'unknown') result = await learnRoutes({ db: o.db, actor: o.actor, hosts, trace });
    result = await addLiveState({ db: o.db, actor: o.actor, hosts, result });
  }
  return { farmId: o.id, ...result };
}
