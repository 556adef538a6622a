// Reading the audit trail. A user sees their tenant's entries; an admin
// also sees deployment-wide ones (hosts, segments, enrollment), which carry
// no tenant. Newest first; the cursor is the id of the last entry seen.
import { z } from 'zod';
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { badRequest } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { checkCursor, clampLimit, MALFORMED_CURSOR, type Page } from '../db/listPage.ts';

/** An audit entry as the API shows it (secrets were redacted when it was written). */
export const auditView = z.object({
  id: z.string(),
  tenantId: z.string().nullable(),
  actorId: z.string().nullable(),
  actorKind: z.string(),
  actorName: z.string(),
  action: z.string(),
  entity: z.string(),
  entityId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  createdAt: z.date(),
});
export type AuditView = z.infer<typeof auditView>;

const AUDIT_SELECT = {
  id: true,
  tenantId: true,
  actorId: true,
  actorKind: true,
  actorName: true,
  action: true,
  entity: true,
  entityId: true,
  before: true,
  after: true,
  createdAt: true,
} as const;

export async function listAudit(opts: {
  db: Db;
  actor: UserActor;
  cursor?: string;
  limit?: number;
  entity?: string;
  entityId?: string;
  action?: string;
}): Promise<Page<AuditView>> {
  const { db, actor } = opts;
  const limit = clampLimit(opts.limit);
  let cursor: bigint | undefined;
  if (opts.cursor !== undefined) {
    if (!/^[1-9][0-9]{0,18}$/.test(opts.cursor)) throw badRequest('cursor', MALFORMED_CURSOR);
    cursor = BigInt(opts.cursor);
  }
  const scope: Prisma.AuditLogWhereInput =
    actor.role === 'admin' ? { OR: [{ tenantId: actor.tenantId }, { tenantId: null }] } : { tenantId: actor.tenantId };
  const where: Prisma.AuditLogWhereInput = { AND: [scope] };
  const and = where.AND as Prisma.AuditLogWhereInput[];
  if (opts.entity) and.push({ entity: opts.entity });
  if (opts.entityId) and.push({ entityId: opts.entityId });
  if (opts.action) and.push({ action: opts.action });
  // Like every list, a cursor must be an entry this caller sees with these filters.
  await checkCursor(opts.cursor, () =>
    db.auditLog.findFirst({ where: { AND: [...and, { id: cursor! }] }, select: { id: true } }),
  );
  if (cursor !== undefined) and.push({ id: { lt: cursor } });
  const rows = await db.auditLog.findMany({ where, select: AUDIT_SELECT, orderBy: { id: 'desc' }, take: limit + 1 });
  const items = rows.slice(0, limit).map((r) => ({ ...r, id: r.id.toString() }));
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? last.id : null };
}
