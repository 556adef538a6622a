// Hosts: the machines agents run on. Deployment-wide infrastructure (every
// signed-in user may list them to place VMs; only admins change them).
// Enrollment and credentials live in hostEnrollment.ts.
import type { Prisma } from '../db/generated/client.ts';
import { DEFAULT_PORT } from '../../agent/wire/constants.ts';
import type { Db } from '../db/index.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { publish } from '../events/bus.ts';
import { writeAudit } from '../audit/audit.ts';
import { issueEnrollmentToken } from './hostEnrollment.ts';
import type { HostView } from '../identity/identityShapes.ts';
import { HOST_SELECT, toHostView } from './hostRows.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage, type Page, type PageInput } from '../db/listPage.ts';
import { requireAdmin } from '../identity/users.ts';
import { formatIpv4, parseIpv4 } from '../farms/validate.ts';
import { CONTROL_TX, recomputeDesired } from '../control/desiredState.ts';

export { createEnrollmentToken, enroll, revokeCredential, enrollmentTtlMs } from './hostEnrollment.ts';
export { HOST_SELECT, toHostView } from './hostRows.ts';

type Tx = Prisma.TransactionClient;

/** The agent's default underlay UDP port (docs/wire.md §1). */
export const DEFAULT_AGENT_PORT = DEFAULT_PORT;

/**
 * A care-of address must be one unicast IPv4 address agents can send to:
 * not 0.0.0.0/8 ("this network"), not multicast (224.0.0.0/4), not the
 * reserved 240.0.0.0/4 block, not the limited broadcast 255.255.255.255.
 */
export function checkCareOfAddress(field: string, text: string): string {
  const ip = parseIpv4(text.trim());
  if (ip === null) throw badRequest(field, `"${text}" is not an IPv4 address (a.b.c.d)`);
  const first = ip >>> 24;
  if (ip === 0xffff_ffff) throw badRequest(field, `${text} is the broadcast address, not a host`);
  if (first === 0) throw badRequest(field, `${text} is in 0.0.0.0/8 ("this network"), not a host address`);
  if (first >= 224 && first <= 239) throw badRequest(field, `${text} is a multicast address, not a host`);
  if (first >= 240) throw badRequest(field, `${text} is in the reserved block 240.0.0.0/4`);
  return formatIpv4(ip);
}

async function requireSegment(tx: Tx | Db, segmentId: string, field = 'segmentId'): Promise<{ id: string; name: string }> {
  const seg = await tx.lanSegment.findUnique({ where: { id: segmentId }, select: { id: true, name: true } });
  if (!seg) throw notFound('LAN segment', field);
  return seg;
}

async function requireNameAndAddressFree(tx: Tx, name: string | undefined, address: string | undefined, exceptId?: string) {
  const not = exceptId ? { id: { not: exceptId } } : {};
  if (name !== undefined && (await tx.host.findFirst({ where: { name, ...not }, select: { id: true } }))) {
    throw conflict('name', `a host named ${name} already exists`);
  }
  if (address !== undefined) {
    const other = await tx.host.findFirst({ where: { address, ...not }, select: { name: true } });
    if (other) throw conflict('address', `${address} is already the care-of address of host ${other.name}`);
  }
}

export async function listHosts(
  opts: { db: Db; actor: UserActor; segmentId?: string; status?: HostView['status'] } & PageInput,
): Promise<Page<HostView>> {
  const { db } = opts;
  const where: Prisma.HostWhereInput = {};
  if (opts.segmentId) where.segmentId = opts.segmentId;
  if (opts.status) where.status = opts.status;
  await checkCursor(opts.cursor, (id) => db.host.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await db.host.findMany({ where, select: HOST_SELECT, orderBy: ORDER_BY_CREATED, ...pageArgs(opts) });
  return toPage(rows.map(toHostView), opts);
}

export async function getHost(opts: { db: Db | Tx; actor: UserActor; id: string }): Promise<HostView> {
  const row = await opts.db.host.findUnique({ where: { id: opts.id }, select: HOST_SELECT });
  if (!row) throw notFound('host');
  return toHostView(row);
}

export async function createHost(opts: {
  db: Db;
  actor: UserActor;
  name: string;
  address: string;
  port?: number;
  segmentId?: string | null;
  now?: Date;
}): Promise<{ host: HostView; enrollmentToken: string; enrollmentExpiresAt: Date }> {
  const { db, actor } = opts;
  requireAdmin(actor);
  const address = checkCareOfAddress('address', opts.address);
  return db.$transaction(async (tx) => {
    if (opts.segmentId) await requireSegment(tx, opts.segmentId);
    await requireNameAndAddressFree(tx, opts.name, address);
    const created = await tx.host.create({
      data: { name: opts.name, address, port: opts.port ?? DEFAULT_AGENT_PORT, segmentId: opts.segmentId ?? null },
      select: HOST_SELECT,
    });
    const host = toHostView(created);
    const { token, expiresAt } = await issueEnrollmentToken(tx, { hostId: host.id, createdById: actor.userId, now: opts.now });
    await writeAudit(tx, { actor, tenantId: null, action: 'host.create', entity: 'host', entityId: host.id, after: host });
    return { host, enrollmentToken: token, enrollmentExpiresAt: expiresAt };
  });
}

export async function updateHost(opts: {
  db: Db;
  actor: UserActor;
  id: string;
  name?: string;
  address?: string;
  port?: number;
  segmentId?: string | null;
  dnsUpstream?: string[];
}): Promise<HostView> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  const address = opts.address === undefined ? undefined : checkCareOfAddress('address', opts.address);
  const dnsUpstream = opts.dnsUpstream?.map((a, i) => checkCareOfAddress(`dnsUpstream.${i}`, a));
  if (dnsUpstream && new Set(dnsUpstream).size !== dnsUpstream.length) throw badRequest('dnsUpstream', 'lists an address twice');
  return db.$transaction(async (tx) => {
    const row = await tx.host.findUnique({ where: { id }, select: { ...HOST_SELECT, relayFor: { select: { name: true } } } });
    if (!row) throw notFound('host');
    const { relayFor, ...hostRow } = row;
    const before = toHostView(hostRow);
    if (opts.segmentId) await requireSegment(tx, opts.segmentId);
    if (opts.segmentId !== undefined && opts.segmentId !== before.segmentId && relayFor) {
      throw conflict('segmentId', `host ${before.name} is the relay of segment ${relayFor.name}; choose another relay first`);
    }
    if (opts.segmentId !== undefined && opts.segmentId !== before.segmentId) {
      // External networks belong to a segment: a binding would point into the segment the host leaves.
      const bound = await tx.externalNetworkBinding.findFirst({ where: { hostId: id }, select: { externalNetwork: { select: { name: true } } } });
      if (bound) throw conflict('segmentId', `host ${before.name} has external network ${bound.externalNetwork.name} bound; unbind it first`);
    }
    await requireNameAndAddressFree(tx, opts.name, address, id);
    if (opts.name !== undefined && opts.name !== before.name) await requireNotDeployedOn(tx, id, before.name);
    const updated = await tx.host.update({
      where: { id },
      data: { name: opts.name, address, port: opts.port, segmentId: opts.segmentId, dnsUpstream },
      select: HOST_SELECT,
    });
    const after = toHostView(updated);
    await writeAudit(tx, { actor, tenantId: null, action: 'host.update', entity: 'host', entityId: id, before, after });
    // Peers carry this host's address and port in their states: they must learn the change.
    await recomputeDesired(tx);
    return after;
  }, CONTROL_TX);
}

/**
 * Deployed revisions name their hosts; renaming a host they place things on
 * would orphan those placements until the next deploy.
 */
async function requireNotDeployedOn(tx: Tx, hostId: string, name: string): Promise<void> {
  const deployed = { hostId, farm: { deployedRevision: { not: null } } };
  const [vms, routers, firewalls] = [
    await tx.vm.count({ where: deployed }),
    await tx.router.count({ where: deployed }),
    await tx.firewall.count({ where: deployed }),
  ];
  if (vms + routers + firewalls > 0) {
    throw conflict('name', `host ${name} runs deployed farms; undeploy them or move their objects before renaming it`);
  }
}

interface Placement {
  kind: 'vm' | 'router' | 'firewall';
  id: string;
  name: string;
  farmId: string;
  farmName: string;
}

/**
 * What is placed on a host. Objects of the caller's tenant are listed by
 * name; other tenants' are only counted, so an admin learns nothing about
 * another tenant's farms.
 */
async function placements(tx: Tx, hostId: string, tenantId: string): Promise<{ own: Placement[]; others: number }> {
  const sel = { id: true, name: true, farm: { select: { id: true, name: true, tenantId: true } } } as const;
  const vms = await tx.vm.findMany({ where: { hostId }, select: sel, orderBy: { name: 'asc' } });
  const routers = await tx.router.findMany({ where: { hostId }, select: sel, orderBy: { name: 'asc' } });
  const firewalls = await tx.firewall.findMany({ where: { hostId }, select: sel, orderBy: { name: 'asc' } });
  const own: Placement[] = [];
  let others = 0;
  const add = (kind: Placement['kind'], rows: typeof vms) => {
    for (const r of rows) {
      if (r.farm.tenantId === tenantId) own.push({ kind, id: r.id, name: r.name, farmId: r.farm.id, farmName: r.farm.name });
      else others++;
    }
  };
  add('vm', vms);
  add('router', routers);
  add('firewall', firewalls);
  return { own, others };
}

export async function deleteHost(opts: { db: Db; actor: UserActor; id: string }): Promise<{ id: string }> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  return db.$transaction(async (tx) => {
    const row = await tx.host.findUnique({ where: { id }, select: HOST_SELECT });
    if (!row) throw notFound('host');
    const before = toHostView(row);
    const placed = await placements(tx, id, actor.tenantId);
    if (placed.own.length > 0 || placed.others > 0) {
      const names = placed.own.slice(0, 10).map((p) => `${p.kind} ${p.name} (farm ${p.farmName})`);
      if (placed.own.length > 10) names.push(`${placed.own.length - 10} more`);
      if (placed.others > 0) names.push(`${placed.others} object(s) of other tenants`);
      throw conflict('id', `host ${before.name} still carries ${names.join(', ')}; move or delete them first`, {
        placements: placed.own,
        otherTenants: placed.others,
      });
    }
    // VLAN bridges name their host too (Restrict): refused like placements, not left to the foreign key.
    const bridges = await tx.vnetVlan.findMany({
      where: { hostId: id }, select: { vnet: { select: { name: true, farm: { select: { name: true, tenantId: true } } } } },
    });
    if (bridges.length > 0) {
      const names = bridges.map((b) => (b.vnet.farm.tenantId === actor.tenantId ? `vnet ${b.vnet.name} (farm ${b.vnet.farm.name})` : 'a vnet of another tenant'));
      throw conflict('id', `host ${before.name} still bridges ${[...new Set(names)].join(', ')} to a VLAN; remove the bridges first`);
    }
    await tx.host.delete({ where: { id }, select: { id: true } });
    await writeAudit(tx, { actor, tenantId: null, action: 'host.delete', entity: 'host', entityId: id, before });
    // Its agent's streams end (server/identity/credentialWatch.ts).
    await publish(tx, { type: 'host.revoked', hostId: id });
    return { id };
  });
}
