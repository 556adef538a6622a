// External networks: a network outside the farms (a LAN of the data centre,
// an uplink) that the hosts of one LAN segment reach, each host through one of
// its interfaces or VLANs (a binding). Its pool is what the console hands out
// to routers' and firewalls' external legs and their floating IPs (the legs
// themselves are farm intent: server/farms/externalLegs.ts). Deployment
// administrators define and bind them; every signed-in user may list them, to
// attach legs.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { writeAudit } from '../audit/audit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage, type Page, type PageInput } from '../db/listPage.ts';
import { requireAdmin } from '../identity/users.ts';
import {
  checkHostAddress, checkInterfaceName, checkVid, cidrsOverlap, formatIpv4, requireCidr, requireIpv4, type Cidr,
} from '../farms/validate.ts';
import { CONTROL_TX, recomputeDesired } from '../control/desiredState.ts';
import type { ExternalNetworkView } from './externalNetworkShapes.ts';

type Tx = Prisma.TransactionClient;

/** An external subnet: from a /8 to a /30 (a gateway, a leg and nothing else). */
export const EXTERNAL_PREFIX = { min: 8, max: 30 };

const NETWORK_SELECT = {
  id: true, segmentId: true, name: true, description: true, cidr: true, gateway: true, poolStart: true, poolEnd: true,
  createdAt: true, updatedAt: true,
  segment: { select: { name: true } },
  bindings: { select: { hostId: true, interface: true, vid: true, host: { select: { name: true } } }, orderBy: { createdAt: 'asc' as const } },
  _count: { select: { addresses: true } },
} as const;

type NetworkRow = Prisma.ExternalNetworkGetPayload<{ select: typeof NETWORK_SELECT }>;

function toView({ segment, bindings, _count, ...rest }: NetworkRow): ExternalNetworkView {
  const size = requireIpv4('poolEnd', rest.poolEnd) - requireIpv4('poolStart', rest.poolStart) + 1;
  return {
    ...rest,
    segmentName: segment.name,
    poolSize: size,
    poolUsed: _count.addresses,
    bindings: bindings
      .map((b) => ({ hostId: b.hostId, hostName: b.host.name, interface: b.interface, vid: b.vid }))
      .sort((a, b) => (a.hostName < b.hostName ? -1 : a.hostName > b.hostName ? 1 : 0)),
  };
}

async function load(q: Db | Tx, id: string): Promise<ExternalNetworkView> {
  const row = await q.externalNetwork.findUnique({ where: { id }, select: NETWORK_SELECT });
  if (!row) throw notFound('external network');
  return toView(row);
}

export interface NetworkAddressing {
  cidr: string;
  gateway: string;
  poolStart: string;
  poolEnd: string;
}

interface CheckedAddressing {
  cidr: Cidr;
  gateway: number;
  poolStart: number;
  poolEnd: number;
}

/** The subnet, its gateway and a pool inside it that leaves the gateway out. */
export function checkAddressing(a: NetworkAddressing): CheckedAddressing {
  const cidr = requireCidr('cidr', a.cidr, EXTERNAL_PREFIX);
  const gateway = requireIpv4('gateway', a.gateway);
  checkHostAddress('gateway', gateway, cidr, 'the subnet');
  const poolStart = requireIpv4('poolStart', a.poolStart);
  checkHostAddress('poolStart', poolStart, cidr, 'the subnet');
  const poolEnd = requireIpv4('poolEnd', a.poolEnd);
  checkHostAddress('poolEnd', poolEnd, cidr, 'the subnet');
  if (poolEnd < poolStart) throw badRequest('poolEnd', `${a.poolEnd} is before poolStart ${a.poolStart}`);
  if (gateway >= poolStart && gateway <= poolEnd) {
    throw badRequest('gateway', `${formatIpv4(gateway)} is inside the pool ${a.poolStart}–${a.poolEnd}; the pool must leave the gateway out`);
  }
  return { cidr, gateway, poolStart, poolEnd };
}

/** Two networks of one segment are one link layer: their pools and subnets must not overlap. */
async function requireNoOverlap(tx: Tx, segmentId: string, a: CheckedAddressing, exceptId?: string): Promise<void> {
  const others = await tx.externalNetwork.findMany({
    where: { segmentId, ...(exceptId ? { id: { not: exceptId } } : {}) },
    select: { name: true, cidr: true, poolStart: true, poolEnd: true },
  });
  for (const o of others) {
    const s = requireIpv4('poolStart', o.poolStart);
    const e = requireIpv4('poolEnd', o.poolEnd);
    if (a.poolStart <= e && s <= a.poolEnd) {
      throw conflict('poolStart', `the pool overlaps the pool ${o.poolStart}–${o.poolEnd} of external network ${o.name} in this segment`);
    }
    if (cidrsOverlap(a.cidr, requireCidr('cidr', o.cidr))) {
      throw conflict('cidr', `${a.cidr.text} overlaps ${o.cidr} of external network ${o.name} in this segment`);
    }
  }
}

async function requireNameFree(tx: Tx, segmentId: string, name: string, exceptId?: string): Promise<void> {
  const other = await tx.externalNetwork.findFirst({
    where: { segmentId, name, ...(exceptId ? { id: { not: exceptId } } : {}) },
    select: { id: true },
  });
  if (other) throw conflict('name', `an external network named ${name} already exists in this segment`);
}

export async function listExternalNetworks(
  opts: { db: Db; actor: UserActor; segmentId?: string | undefined } & PageInput,
): Promise<Page<ExternalNetworkView>> {
  const { db } = opts;
  const where = opts.segmentId ? { segmentId: opts.segmentId } : {};
  await checkCursor(opts.cursor, (id) => db.externalNetwork.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await db.externalNetwork.findMany({ where, select: NETWORK_SELECT, orderBy: ORDER_BY_CREATED, ...pageArgs(opts) });
  return toPage(rows.map(toView), opts);
}

export async function getExternalNetwork(opts: { db: Db; actor: UserActor; id: string }): Promise<ExternalNetworkView> {
  return load(opts.db, opts.id);
}

export interface ExternalNetworkFields extends NetworkAddressing {
  segmentId: string;
  name: string;
  description?: string | undefined;
}

export async function createExternalNetwork(opts: { db: Db; actor: UserActor } & ExternalNetworkFields): Promise<ExternalNetworkView> {
  const { db, actor } = opts;
  requireAdmin(actor);
  const a = checkAddressing(opts);
  return db.$transaction(async (tx) => {
    const segment = await tx.lanSegment.findUnique({ where: { id: opts.segmentId }, select: { id: true } });
    if (!segment) throw badRequest('segmentId', 'no LAN segment with this id');
    await requireNameFree(tx, segment.id, opts.name);
    await requireNoOverlap(tx, segment.id, a);
    const row = await tx.externalNetwork.create({
      data: {
        segmentId: segment.id, name: opts.name, description: opts.description ?? '', cidr: a.cidr.text,
        gateway: formatIpv4(a.gateway), poolStart: formatIpv4(a.poolStart), poolEnd: formatIpv4(a.poolEnd),
      },
      select: { id: true },
    });
    const after = await load(tx, row.id);
    await writeAudit(tx, { actor, tenantId: null, action: 'externalNetwork.create', entity: 'externalNetwork', entityId: row.id, after });
    return after;
  });
}

/**
 * Name, description and pool can change at any time as long as every
 * address in use stays in the pool; the subnet and gateway only while no leg
 * is on the network (deployed legs were compiled with them).
 */
export async function updateExternalNetwork(
  opts: { db: Db; actor: UserActor; id: string } & Partial<Omit<ExternalNetworkFields, 'segmentId'>>,
): Promise<ExternalNetworkView> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  return db.$transaction(async (tx) => {
    // Locks the network: legs claim its addresses under FOR SHARE (externalLegs.ts).
    await tx.$executeRawUnsafe('SELECT 1 FROM "ExternalNetwork" WHERE id = $1::uuid FOR UPDATE', id);
    const before = await load(tx, id);
    const a = checkAddressing({
      cidr: opts.cidr ?? before.cidr, gateway: opts.gateway ?? before.gateway,
      poolStart: opts.poolStart ?? before.poolStart, poolEnd: opts.poolEnd ?? before.poolEnd,
    });
    if (opts.name !== undefined) await requireNameFree(tx, before.segmentId, opts.name, id);
    await requireNoOverlap(tx, before.segmentId, a, id);
    const legs = await tx.externalLeg.count({ where: { externalNetworkId: id } });
    if (legs > 0 && (a.cidr.text !== before.cidr || formatIpv4(a.gateway) !== before.gateway)) {
      const field = a.cidr.text !== before.cidr ? 'cidr' : 'gateway';
      throw conflict(field, `${legs} router or firewall legs are on this network; detach them before changing its subnet or gateway`);
    }
    const used = await tx.externalAddress.findMany({ where: { externalNetworkId: id }, select: { ip: true } });
    const outside = used.map((u) => u.ip).filter((ip) => {
      const n = requireIpv4('ip', ip);
      return n < a.poolStart || n > a.poolEnd;
    });
    if (outside.length) {
      const field = opts.poolStart !== undefined && requireIpv4('ip', outside[0]!) < a.poolStart ? 'poolStart' : 'poolEnd';
      throw conflict(field, `addresses ${outside.slice(0, 10).join(', ')} are in use and would fall outside the pool`, { inUse: outside });
    }
    await tx.externalNetwork.update({
      where: { id },
      data: {
        name: opts.name, description: opts.description, cidr: a.cidr.text, gateway: formatIpv4(a.gateway),
        poolStart: formatIpv4(a.poolStart), poolEnd: formatIpv4(a.poolEnd),
      },
      select: { id: true },
    });
    const after = await load(tx, id);
    await writeAudit(tx, { actor, tenantId: null, action: 'externalNetwork.update', entity: 'externalNetwork', entityId: id, before, after });
    return after;
  });
}

/** Refused while any farm (of any tenant) has a leg on it. */
export async function deleteExternalNetwork(opts: { db: Db; actor: UserActor; id: string }): Promise<{ id: string }> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  return db.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('SELECT 1 FROM "ExternalNetwork" WHERE id = $1::uuid FOR UPDATE', id);
    const before = await load(tx, id);
    const legs = await tx.externalLeg.count({ where: { externalNetworkId: id } });
    if (legs > 0) throw conflict('id', `external network ${before.name} is in use by ${legs} router or firewall legs; detach them first`, { legs });
    await tx.externalNetwork.delete({ where: { id }, select: { id: true } });
    await writeAudit(tx, { actor, tenantId: null, action: 'externalNetwork.delete', entity: 'externalNetwork', entityId: id, before });
    return { id };
  });
}

/**
 * Where the network is on one host of its segment: an interface, untagged
 * (vid null) or one of its VLANs. Binding it again replaces the binding.
 * Hosts' states change (legs placed there get their uplink), so every host is
 * decided again.
 */
export async function bindExternalNetwork(
  opts: { db: Db; actor: UserActor; id: string; hostId: string; interface: string; vid: number | null },
): Promise<ExternalNetworkView> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  const iface = checkInterfaceName('interface', opts.interface);
  const vid = opts.vid === null ? null : checkVid('vid', opts.vid);
  return db.$transaction(async (tx) => {
    const before = await load(tx, id);
    const host = await tx.host.findUnique({ where: { id: opts.hostId }, select: { id: true, name: true, segmentId: true } });
    if (!host) throw badRequest('hostId', 'no host with this id');
    if (host.segmentId !== before.segmentId) {
      throw badRequest('hostId', `host ${host.name} is not in LAN segment ${before.segmentName}, where external network ${before.name} is`);
    }
    const same = await tx.externalNetworkBinding.findFirst({
      where: { hostId: host.id, interface: iface, vid, externalNetworkId: { not: id } },
      select: { externalNetwork: { select: { name: true } } },
    });
    if (same) {
      const where = vid === null ? iface : `VLAN ${vid} of ${iface}`;
      throw conflict('interface', `${where} on host ${host.name} already carries external network ${same.externalNetwork.name}`);
    }
    await tx.externalNetworkBinding.upsert({
      where: { externalNetworkId_hostId: { externalNetworkId: id, hostId: host.id } },
      create: { externalNetworkId: id, hostId: host.id, interface: iface, vid },
      update: { interface: iface, vid },
      select: { id: true },
    });
    const after = await load(tx, id);
    await writeAudit(tx, { actor, tenantId: null, action: 'externalNetwork.bind', entity: 'externalNetwork', entityId: id, before, after });
    await recomputeDesired(tx);
    return after;
  }, CONTROL_TX);
}

/** Removes the network's binding on one host; refused (by the recompute) while a deployed leg runs there. */
export async function unbindExternalNetwork(opts: { db: Db; actor: UserActor; id: string; hostId: string }): Promise<ExternalNetworkView> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  return db.$transaction(async (tx) => {
    const before = await load(tx, id);
    const gone = await tx.externalNetworkBinding.deleteMany({ where: { externalNetworkId: id, hostId: opts.hostId } });
    if (gone.count === 0) throw notFound('binding of this network', 'hostId');
    const after = await load(tx, id);
    await writeAudit(tx, { actor, tenantId: null, action: 'externalNetwork.unbind', entity: 'externalNetwork', entityId: id, before, after });
    await recomputeDesired(tx);
    return after;
  }, CONTROL_TX);
}
