// The router manager (seed 001's external application): a deployed router's
// or firewall's live view, and ping / traceroute from a router's own IP
// stack, each run by the agent of the host the router runs on (through
// agentCommands.ts).
//
// Who may: every role of the farm's tenant, viewers included. These are
// diagnostics: they change no intent and no forwarding state, and a probe is
// at most 20 ICMP echoes (or 30 hops) sent inside the tenant's own vnets.
// Another tenant's router is NOT_FOUND, as everywhere.
import type { Db } from '../db/index.ts';
import { AppError, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import {
  firewallViewData, pingEvent, routerViewData, traceEvent, type CommandArgs, type CommandKind, type FirewallViewData,
  type PingEvent, type RouterViewData, type TraceEvent,
} from '../../contract/commands.ts';
import { followCommand, startCommand, type CommandHost } from './agentCommands.ts';

export type NodeKind = 'router' | 'firewall';

/** A deployed router or firewall and where it runs. */
export interface NodeRef {
  id: string;
  name: string;
  farmId: string;
  farmName: string;
  /** Its id on the hosts: its database id (server/compile), the same for every tenant and name. */
  agentId: string;
  host: { id: string; name: string };
}

/**
 * Finds a router or firewall of the actor's tenant and the host whose
 * desired state runs it. Not deployed, or deployed without a host: a
 * PRECONDITION_FAILED naming what to do.
 */
export async function resolveDeployedNode(o: { db: Db; actor: UserActor; kind: NodeKind; id: string }): Promise<NodeRef> {
  const { db, actor, kind } = o;
  const where = { id: o.id, farm: { tenantId: actor.tenantId } };
  const select = { id: true, name: true, farm: { select: { id: true, name: true, deployedRevision: true } } } as const;
  const row = kind === 'router' ? await db.router.findFirst({ where, select }) : await db.firewall.findFirst({ where, select });
  if (!row) throw notFound(kind, 'id');
  if (row.farm.deployedRevision === null) {
    throw new AppError('PRECONDITION_FAILED', `id: farm ${row.farm.name} is not deployed; deploy it to inspect ${kind} ${row.name}`, { field: 'id' });
  }
  // Hosts know it by its database id: nothing another tenant names its farms or routers can match it.
  const agentId = row.id;
  const section = kind === 'router' ? 'routers' : 'firewalls';
  // What the hosts were told, not the intent: a router renamed or moved since the deploy is where the deploy put it.
  const hosts = await db.$queryRawUnsafe<{ id: string; name: string }[]>(
    `SELECT h."id"::text AS "id", h."name" AS "name"
       FROM "HostDesiredState" d JOIN "Host" h ON h."id" = d."hostId"
      WHERE d."state" -> '${section}' @> $1::jsonb
      ORDER BY h."name" LIMIT 1`,
    JSON.stringify([{ id: agentId }]),
  );
  const host = hosts[0];
  if (!host) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `id: ${kind} ${row.name} runs on no host (the deployed revision of farm ${row.farm.name} lacks it or places it on no host); deploy the farm`,
      { field: 'id' },
    );
  }
  return { id: row.id, name: row.name, farmId: row.farm.id, farmName: row.farm.name, agentId, host };
}

const commandHost = (n: NodeRef): CommandHost => ({ hostId: n.host.id, hostName: n.host.name });

/** Runs a one-answer command (a view) and returns its answer, as stored (checked on arrival). */
async function once<K extends CommandKind>(db: Db, actor: UserActor, node: NodeRef, kind: K, args: CommandArgs[K]): Promise<unknown> {
  const { id } = await startCommand({ db, host: commandHost(node), kind, args, createdById: actor.userId });
  let answer: unknown;
  for await (const r of followCommand({ db, id, hostName: node.host.name })) answer = r.data;
  return answer;
}

export async function inspectRouter(o: { db: Db; actor: UserActor; id: string }): Promise<{ router: NodeRef; view: RouterViewData; fetchedAt: Date }> {
  const router = await resolveDeployedNode({ ...o, kind: 'router' });
  const view = routerViewData.parse(await once(o.db, o.actor, router, 'router.view', { routerId: router.agentId }));
  return { router, view, fetchedAt: new Date() };
}

export async function routerFib(o: { db: Db; actor: UserActor; id: string }) {
  const { router, view, fetchedAt } = await inspectRouter(o);
  return { router, routes: view.routes, routesTotal: view.routesTotal, fetchedAt };
}

export async function inspectFirewall(o: { db: Db; actor: UserActor; id: string }): Promise<{ firewall: NodeRef; view: FirewallViewData; fetchedAt: Date }> {
  const firewall = await resolveDeployedNode({ ...o, kind: 'firewall' });
  const view = firewallViewData.parse(await once(o.db, o.actor, firewall, 'firewall.view', { firewallId: firewall.agentId }));
  return { firewall, view, fetchedAt: new Date() };
}

/** A streamed event with the id a reconnecting client resumes from: `<probe id>:<seq>`. */
export interface Streamed<T> {
  eventId: string;
  event: T;
}

export const PROBE_KINDS = ['router.ping', 'router.traceroute'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/** One answer of a probe: a ping reply (or timeout, or ICMP error) or a traceroute hop; the summary comes last. */
export type ProbeEvent = { kind: 'router.ping'; event: PingEvent } | { kind: 'router.traceroute'; event: TraceEvent };

export interface ProbeStarted {
  /** What router.probe follows. */
  probeId: string;
  kind: ProbeKind;
  /** The probe ends by then at the latest. */
  expiresAt: Date;
}

/**
 * Starting a probe sends traffic from the router, so it is a mutation
 * (POST, guarded against cross-site requests); following its answers is the
 * subscription router.probe, which changes nothing.
 */
async function startProbe<K extends ProbeKind>(
  o: { db: Db; actor: UserActor; id: string },
  kind: K,
  args: (node: NodeRef) => CommandArgs[K],
): Promise<ProbeStarted> {
  const node = await resolveDeployedNode({ db: o.db, actor: o.actor, kind: 'router', id: o.id });
  const c = await startCommand({ db: o.db, host: commandHost(node), kind, args: args(node), createdById: o.actor.userId });
  return { probeId: c.id, kind, expiresAt: c.expiresAt };
}

/** Starts pinging `target` from the router (router.probe streams the replies and a summary). */
export function startPing(
  o: { db: Db; actor: UserActor; id: string; target: string; count: number; intervalMs: number; timeoutMs: number },
): Promise<ProbeStarted> {
  return startProbe(o, 'router.ping', (n) => ({ routerId: n.agentId, target: o.target, count: o.count, intervalMs: o.intervalMs, timeoutMs: o.timeoutMs }));
}

/** Starts tracing the path from the router to `target` (router.probe streams the hops and a summary). */
export function startTraceroute(
  o: { db: Db; actor: UserActor; id: string; target: string; maxHops: number; timeoutMs: number },
): Promise<ProbeStarted> {
  return startProbe(o, 'router.traceroute', (n) => ({ routerId: n.agentId, target: o.target, maxHops: o.maxHops, timeoutMs: o.timeoutMs }));
}

const EVENT_ID = /^([0-9a-f-]{36}):(\d{1,3})$/;

/**
 * The answers of a probe the caller started, as they arrive, then its
 * summary. Someone else's probe is NOT_FOUND. A client reconnecting with
 * its last event id (`<probe id>:<seq>`) resumes after that answer.
 */
export async function* followProbe(o: {
  db: Db;
  actor: UserActor;
  probeId: string;
  lastEventId?: string | null | undefined;
  signal?: AbortSignal | undefined;
}): AsyncGenerator<Streamed<ProbeEvent>> {
  const row = await o.db.agentCommand.findFirst({
    where: { id: o.probeId, createdById: o.actor.userId, kind: { in: [...PROBE_KINDS] } },
    select: { kind: true, host: { select: { name: true } } },
  });
  if (!row) throw notFound('probe', 'probeId');
  const m = o.lastEventId ? EVENT_ID.exec(o.lastEventId) : null;
  const afterSeq = m && m[1] === o.probeId ? Number(m[2]) : undefined;
  const kind = row.kind as ProbeKind;
  for await (const r of followCommand({ db: o.db, id: o.probeId, hostName: row.host.name, afterSeq, signal: o.signal })) {
    const event: ProbeEvent =
      kind === 'router.ping' ? { kind, event: pingEvent.parse(r.data) } : { kind, event: traceEvent.parse(r.data) };
    yield { eventId: `${o.probeId}:${r.seq}`, event };
  }
}
