// The audit trail: every mutation writes one entry (who, what, when,
// before/after) in the same transaction as the change itself.
import type { Db } from '../db/index.ts';
import type { HostActor, UserActor } from '../auth/actors.ts';

/** A Prisma client or an interactive transaction client. */
export type DbOrTx = Pick<Db, 'auditLog'> & Partial<Db>;

export type AuditActor = UserActor | HostActor | 'system';

/** Keys whose values must never reach the audit log. */
const SECRET_KEYS = /password|secret|token|credential|key(?!s?$)|hash/i;

export function redact(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v);
    }
    return out;
  }
  return value;
}

export interface AuditEntry {
  actor: AuditActor;
  tenantId?: string | null;
  action: string; // e.g. farm.create
  entity: string; // e.g. farm
  entityId?: string | null;
  before?: unknown;
  after?: unknown;
}

export async function writeAudit(db: DbOrTx, entry: AuditEntry): Promise<void> {
  const actor = entry.actor;
  const who =
    actor === 'system'
      ? { actorId: null, actorKind: 'system', actorName: 'system' }
      : actor.kind === 'host'
        ? { actorId: actor.hostId, actorKind: 'host', actorName: actor.hostName }
        : { actorId: actor.userId, actorKind: actor.kind, actorName: actor.username };
  const tenantId =
    entry.tenantId !== undefined ? entry.tenantId : actor !== 'system' && actor.kind !== 'host' ? actor.tenantId : null;
  await db.auditLog.create({
    data: {
      ...who,
      tenantId,
      action: entry.action,
      entity: entry.entity,
      entityId: entry.entityId ?? null,
      before: entry.before === undefined ? undefined : (redact(entry.before) as object),
      after: entry.after === undefined ? undefined : (redact(entry.after) as object),
    },
    select: { id: true },
  });
}
