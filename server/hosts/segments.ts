// LAN segments: groups of hosts that share a link layer. A segment either
// carries multicast (VARP requests and broadcasts go to its group) or not,
// in which case a relay host (the vnetd role) forwards between segments.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { writeAudit } from '../audit/audit.ts';
import type { SegmentView } from '../identity/identityShapes.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage, type Page, type PageInput } from '../db/listPage.ts';
import { requireAdmin } from '../identity/users.ts';
import { formatIpv4, parseIpv4 } from '../farms/validate.ts';
import { CONTROL_TX, recomputeDesired } from '../control/desiredState.ts';

type Tx = Prisma.TransactionClient;

/** The group agents join when nothing else is configured (docs/wire.md, underlay). */
export const DEFAULT_MULTICAST_GROUP = '224.10.0.1';

const SEGMENT_SELECT = {
  id: true,
  name: true,
  description: true,
  multicast: true,
  multicastGroup: true,
  relayHostId: true,
  relayHost: { select: { name: true } },
  proxyMode: true,
  createdAt: true,
  updatedAt: true,
  _count: { select: { hosts: true } },
} as const;

type SegmentRow = Prisma.LanSegmentGetPayload<{ select: typeof SEGMENT_SELECT }>;

function toSegmentView({ relayHost, _count, ...rest }: SegmentRow): SegmentView {
  return { ...rest, relayHostName: relayHost?.name ?? null, hostCount: _count.hosts };
}

/** A multicast group must be an IPv4 address in 224.0.0.0/4. */
export function checkMulticastGroup(field: string, text: string): string {
  const ip = parseIpv4(text.trim());
  if (ip === null) throw badRequest(field, `"${text}" is not an IPv4 address (a.b.c.d)`);
  if (ip >>> 28 !== 0xe) throw badRequest(field, `${text} is not a multicast address (224.0.0.0/4)`);
  return formatIpv4(ip);
}

async function loadSegment(q: Db | Tx, id: string): Promise<SegmentView> {
  const row = await q.lanSegment.findUnique({ where: { id }, select: SEGMENT_SELECT });
  if (!row) throw notFound('LAN segment');
  return toSegmentView(row);
}

async function requireNameFree(tx: Tx, name: string, exceptId?: string): Promise<void> {
  const other = await tx.lanSegment.findFirst({
    where: { name, ...(exceptId ? { id: { not: exceptId } } : {}) },
    select: { id: true },
  });
  if (other) throw conflict('name', `a LAN segment named ${name} already exists`);
}

export async function listSegments(opts: { db: Db; actor: UserActor } & PageInput): Promise<Page<SegmentView>> {
  const { db } = opts;
  await checkCursor(opts.cursor, (id) => db.lanSegment.findUnique({ where: { id }, select: { id: true } }));
  const rows = await db.lanSegment.findMany({ select: SEGMENT_SELECT, orderBy: ORDER_BY_CREATED, ...pageArgs(opts) });
  return toPage(rows.map(toSegmentView), opts);
}

export async function getSegment(opts: { db: Db; actor: UserActor; id: string }): Promise<SegmentView> {
  return loadSegment(opts.db, opts.id);
}

export interface SegmentFields {
  name: string;
  description?: string;
  multicast?: boolean;
  multicastGroup?: string;
  relayHostId?: string | null;
  proxyMode?: boolean;
}

/**
 * Creating a segment with a relay puts that host into the new segment (a
 * relay must sit in its segment); a host already in another segment is refused.
 */
export async function createSegment(opts: { db: Db; actor: UserActor } & SegmentFields): Promise<SegmentView> {
  const { db, actor } = opts;
  requireAdmin(actor);
  const multicastGroup = checkMulticastGroup('multicastGroup', opts.multicastGroup ?? DEFAULT_MULTICAST_GROUP);
  return db.$transaction(async (tx) => {
    await requireNameFree(tx, opts.name);
    let relay: { id: string; name: string } | null = null;
    if (opts.relayHostId) {
      const host = await tx.host.findUnique({
        where: { id: opts.relayHostId },
        select: { id: true, name: true, segment: { select: { name: true } } },
      });
      if (!host) throw notFound('host', 'relayHostId');
      if (host.segment) {
        throw badRequest('relayHostId', `host ${host.name} is in segment ${host.segment.name}; a relay must be in its own segment`);
      }
      relay = host;
    }
    const created = await tx.lanSegment.create({
      data: {
        name: opts.name,
        description: opts.description ?? '',
        multicast: opts.multicast ?? true,
        multicastGroup,
        proxyMode: opts.proxyMode ?? false,
      },
      select: { id: true },
    });
    if (relay) {
      await tx.host.update({ where: { id: relay.id }, data: { segmentId: created.id }, select: { id: true } });
      await tx.lanSegment.update({ where: { id: created.id }, data: { relayHostId: relay.id }, select: { id: true } });
    }
    const after = await loadSegment(tx, created.id);
    await writeAudit(tx, { actor, tenantId: null, action: 'segment.create', entity: 'segment', entityId: after.id, after });
    // Multicast, relays and proxy mode are part of every member host's state.
    await recomputeDesired(tx);
    return after;
  }, CONTROL_TX);
}

export async function updateSegment(
  opts: { db: Db; actor: UserActor; id: string } & Partial<SegmentFields>,
): Promise<SegmentView> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  const multicastGroup =
    opts.multicastGroup === undefined ? undefined : checkMulticastGroup('multicastGroup', opts.multicastGroup);
  return db.$transaction(async (tx) => {
    const before = await loadSegment(tx, id);
    if (opts.name !== undefined) await requireNameFree(tx, opts.name, id);
    if (opts.relayHostId) {
      const host = await tx.host.findUnique({ where: { id: opts.relayHostId }, select: { name: true, segmentId: true } });
      if (!host) throw notFound('host', 'relayHostId');
      if (host.segmentId !== id) {
        throw badRequest('relayHostId', `host ${host.name} is not in segment ${before.name}; a relay must be in its own segment`);
      }
    }
    await tx.lanSegment.update({
      where: { id },
      data: {
        name: opts.name,
        description: opts.description,
        multicast: opts.multicast,
        multicastGroup,
        relayHostId: opts.relayHostId,
        proxyMode: opts.proxyMode,
      },
      select: { id: true },
    });
    const after = await loadSegment(tx, id);
    await writeAudit(tx, { actor, tenantId: null, action: 'segment.update', entity: 'segment', entityId: id, before, after });
    // Multicast, relays and proxy mode are part of every member host's state.
    await recomputeDesired(tx);
    return after;
  }, CONTROL_TX);
}

export async function deleteSegment(opts: { db: Db; actor: UserActor; id: string }): Promise<{ id: string }> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  return db.$transaction(async (tx) => {
    const before = await loadSegment(tx, id);
    const hosts = await tx.host.findMany({ where: { segmentId: id }, select: { id: true, name: true }, orderBy: { name: 'asc' } });
    if (hosts.length > 0) {
      const names = hosts.slice(0, 20).map((h) => h.name);
      if (hosts.length > 20) names.push(`${hosts.length - 20} more`);
      throw conflict('id', `segment ${before.name} still has hosts ${names.join(', ')}; move them first`, { hosts });
    }
    const networks = await tx.externalNetwork.findMany({ where: { segmentId: id }, select: { name: true }, orderBy: { name: 'asc' } });
    if (networks.length > 0) {
      throw conflict('id', `segment ${before.name} still has external networks ${networks.map((n) => n.name).join(', ')}; delete them first`);
    }
    await tx.lanSegment.delete({ where: { id }, select: { id: true } });
    await writeAudit(tx, { actor, tenantId: null, action: 'segment.delete', entity: 'segment', entityId: id, before });
    return { id };
  });
}
