// What agents last said, for people: the latest report of a host, and a
// stream of reports as they arrive (plus hosts going offline). Hosts are
// deployment-wide infrastructure, so every signed-in user may watch them.
import type { Db } from '../db/index.ts';
import { notFound } from '../errors.ts';
import { EventInbox, getEventBus } from '../events/index.ts';
import type { UserActor } from '../auth/actors.ts';
import type { Report } from '../../contract/report.ts';
import type { HostReportView } from './controlShapes.ts';
import { ensureLivenessSweep, liveStatus } from './hostLiveness.ts';

export type ReportDetail = 'summary' | 'full';

const hostSelect = {
  id: true,
  name: true,
  status: true,
  lastSeenAt: true,
  agentVersion: true,
  desiredGeneration: true,
  appliedGeneration: true,
  report: { select: { appliedGeneration: true, report: true, receivedAt: true } },
} as const;

type Row = {
  id: string;
  name: string;
  status: HostReportView['status'];
  lastSeenAt: Date | null;
  agentVersion: string | null;
  desiredGeneration: number;
  appliedGeneration: number;
  report: { appliedGeneration: number; report: unknown; receivedAt: Date } | null;
};

/**
 * Health messages and apply errors are the agent's own words about its whole
 * host, and name the VIFs, routers and vnets of every tenant placed there:
 * admins (who manage hosts) read them; everyone else learns that there is
 * something, not what.
 */
export const HOST_DETAIL_HIDDEN = 'details are shown to admins only';
export const seesHostDetail = (actor: UserActor): boolean => actor.role === 'admin';

/** An apply error as `actor` may read it. */
export function applyErrorText(actor: UserActor, generation: number, message: string): string {
  return seesHostDetail(actor) ? message : `the agent did not apply generation ${generation}; ${HOST_DETAIL_HIDDEN}`;
}

function healthFor(actor: UserActor, health: Report['health']): Report['health'] {
  if (seesHostDetail(actor) || health.messages.length === 0) return health;
  const n = health.messages.length;
  return { status: health.status, messages: [`${n} message${n === 1 ? '' : 's'} from the agent; ${HOST_DETAIL_HIDDEN}`] };
}

/**
 * What of a host's report the actor's tenant may see. A host carries several
 * tenants' farms: a user sees the VIFs and DHCP leases of their own tenant's
 * VIFs (by VIF id), DHCP/DNS counts of vnets whose (farm, vnet id) pair is one
 * of their tenant's now, and VARP entries of their tenant's vnet ids
 * (host-wide counters and health are not tenant data).
 */
interface Visible {
  vnids: Map<number, string>;
  pairs: Map<string, string>;
  vifs: Set<string>;
}

const pairKey = (farm: string, vnid: number) => `${farm}:${vnid}`;

async function tenantVisible(db: Db, tenantId: string): Promise<Visible> {
  const rows = await db.vnet.findMany({ where: { farm: { tenantId } }, select: { vnid: true, name: true, farm: { select: { id: true, name: true } } } });
  const vifs = await db.vif.findMany({ where: { vm: { farm: { tenantId } } }, select: { id: true } });
  return {
    vnids: new Map(rows.map((r) => [Number(r.vnid), `${r.farm.name}/${r.name}`])),
    pairs: new Map(rows.map((r) => [pairKey(r.farm.id, Number(r.vnid)), `${r.farm.name}/${r.name}`])),
    vifs: new Set(vifs.map((v) => v.id)),
  };
}

/** DHCP and DNS of the visible vnets and VIFs only: a tenant never learns another's leases, names or traffic. */
function servicesFor(s: Report['services'], visible: Visible, detail: ReportDetail): NonNullable<HostReportView['report']>['services'] {
  if (!s) return undefined;
  const vnets = s.vnets.flatMap(({ farm, ...v }) => {
    // An agent that does not say whose vnet it is shows its counts to nobody.
    const name = farm === undefined ? undefined : visible.pairs.get(pairKey(farm, v.vnet));
    return name === undefined ? [] : [{ ...v, name }];
  });
  return { vnets, ...(detail === 'full' ? { leases: s.leases.filter((l) => visible.vifs.has(l.vif)) } : {}) };
}

function toView(r: Row, detail: ReportDetail, now: Date, visible: Visible, actor: UserActor): HostReportView {
  let report: HostReportView['report'] = null;
  if (r.report) {
    const raw = r.report.report as Omit<Report, 'appliedGeneration'>;
    const body = {
      ...raw,
      vifs: raw.vifs.filter((v) => visible.vifs.has(v.id)),
      varp: raw.varp.filter((v) => visible.vnids.has(v.vnet)),
    };
    report = {
      receivedAt: r.report.receivedAt,
      appliedGeneration: r.report.appliedGeneration,
      uptimeS: body.uptimeS,
      health: healthFor(actor, body.health),
      applyError: body.applyError && { generation: body.applyError.generation, message: applyErrorText(actor, body.applyError.generation, body.applyError.message) },
      counters: body.counters,
      vifCount: body.vifs.length,
      varpCount: body.varp.length,
      ...(detail === 'full' ? { vifs: body.vifs, varp: body.varp } : {}),
    };
    const services = servicesFor(raw.services, visible, detail);
    if (services) report.services = services;
  }
  return {
    hostId: r.id,
    host: r.name,
    status: liveStatus(r.status, r.lastSeenAt, now),
    lastSeenAt: r.lastSeenAt,
    agentVersion: r.agentVersion,
    desiredGeneration: r.desiredGeneration,
    appliedGeneration: r.appliedGeneration,
    report,
  };
}

/** The latest report of one host (null when it never reported), with its VIFs and VARP cache (of the caller's tenant). */
export async function latestReport(o: { db: Db; actor: UserActor; id: string; now?: Date }): Promise<HostReportView> {
  const row = await o.db.host.findUnique({ where: { id: o.id }, select: hostSelect });
  if (!row) throw notFound('host');
  return toView(row, 'full', o.now ?? new Date(), await tenantVisible(o.db, o.actor.tenantId), o.actor);
}

/**
 * Every host's latest report (or one host's), then each host again whenever
 * it reports or changes liveness. `summary` leaves out the VIF and VARP
 * lists (counts only): a browser watching a thousand hosts wants the health,
 * not twenty thousand cache entries every five seconds.
 */
export async function* reportUpdates(o: {
  db: Db;
  actor: UserActor;
  hostId?: string | undefined;
  detail: ReportDetail;
  signal?: AbortSignal | undefined;
}): AsyncGenerator<HostReportView> {
  ensureLivenessSweep(o.db);
  const inbox = new EventInbox(
    await getEventBus(o.db),
    (e) =>
      (e.type === 'host.report' || e.type === 'host.status' || e.type === 'host.revoked' || e.type === 'host.desired') &&
      (o.hostId === undefined || e.hostId === o.hostId),
  );
  try {
    const where = o.hostId === undefined ? {} : { id: o.hostId };
    const rows = await o.db.host.findMany({ where, select: hostSelect, orderBy: { name: 'asc' } });
    if (o.hostId !== undefined && rows.length === 0) throw notFound('host', 'hostId');
    let visible = await tenantVisible(o.db, o.actor.tenantId);
    for (const r of rows) yield toView(r, o.detail, new Date(), visible, o.actor);
    while (!o.signal?.aborted) {
      const events = await inbox.next({ signal: o.signal });
      const ids = [...new Set(events.map((e) => ('hostId' in e ? e.hostId : '')).filter(Boolean))];
      if (ids.length === 0) continue;
      const changed = await o.db.host.findMany({ where: { id: { in: ids } }, select: hostSelect, orderBy: { name: 'asc' } });
      // Re-read: the tenant may have created vnets since.
      visible = await tenantVisible(o.db, o.actor.tenantId);
      for (const r of changed) yield toView(r, o.detail, new Date(), visible, o.actor);
    }
  } finally {
    inbox.close();
  }
}
