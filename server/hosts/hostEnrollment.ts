// Enrollment: an admin gets a one-time, expiring token for a host; the
// agent trades it (once) for its long-lived host credential. Both are stored
// only as SHA-256. Revoking the credential locks the agent out at once.
import { consoleConfig } from '../../config/index.ts';
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError, badRequest, notFound } from '../errors.ts';
import { publish } from '../events/bus.ts';
import { generateEnrollmentToken, generateHostCredential, hashToken } from '../auth/tokens.ts';
import type { HostActor, UserActor } from '../auth/actors.ts';
import { writeAudit } from '../audit/audit.ts';
import { HOST_SELECT, toHostView } from './hostRows.ts';
import type { HostView } from '../identity/identityShapes.ts';
import { requireAdmin } from '../identity/users.ts';

type Tx = Prisma.TransactionClient;

/** A week: an enrollment token is meant to be used right away, not kept. */
export const MAX_ENROLL_TTL_MINUTES = 7 * 24 * 60;

/** Enrollment token lifetime from `SOFTUDC_ENROLL_TTL_MINUTES` (default 60, config/variables.ts). */
export function enrollmentTtlMs(env: Record<string, string | undefined> = process.env): number {
  return Math.round(consoleConfig(env).SOFTUDC_ENROLL_TTL_MINUTES * 60_000);
}

/** Creates a fresh token for a host; earlier unused ones stop working. */
export async function issueEnrollmentToken(
  tx: Tx,
  opts: { hostId: string; createdById: string | null; expiresInMinutes?: number; now?: Date },
): Promise<{ token: string; expiresAt: Date }> {
  const now = opts.now ?? new Date();
  const minutes = opts.expiresInMinutes;
  if (minutes !== undefined && (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_ENROLL_TTL_MINUTES)) {
    throw badRequest('expiresInMinutes', `must be a whole number of minutes from 1 to ${MAX_ENROLL_TTL_MINUTES}`);
  }
  const ttl = minutes === undefined ? enrollmentTtlMs() : minutes * 60_000;
  await tx.enrollmentToken.updateMany({
    where: { hostId: opts.hostId, usedAt: null, expiresAt: { gt: now } },
    data: { expiresAt: now },
  });
  const token = generateEnrollmentToken();
  const expiresAt = new Date(now.getTime() + ttl);
  await tx.enrollmentToken.create({
    data: { hostId: opts.hostId, tokenHash: hashToken(token), createdById: opts.createdById, createdAt: now, expiresAt },
    select: { id: true },
  });
  return { token, expiresAt };
}

export async function createEnrollmentToken(opts: {
  db: Db;
  actor: UserActor;
  id: string;
  expiresInMinutes?: number;
  now?: Date;
}): Promise<{ hostId: string; enrollmentToken: string; expiresAt: Date }> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  return db.$transaction(async (tx) => {
    const host = await tx.host.findUnique({ where: { id }, select: { id: true, name: true } });
    if (!host) throw notFound('host');
    const { token, expiresAt } = await issueEnrollmentToken(tx, {
      hostId: id,
      createdById: actor.userId,
      expiresInMinutes: opts.expiresInMinutes,
      now: opts.now,
    });
    await writeAudit(tx, {
      actor,
      tenantId: null,
      action: 'host.createEnrollmentToken',
      entity: 'host',
      entityId: id,
      after: { host: host.name, expiresAt },
    });
    return { hostId: id, enrollmentToken: token, expiresAt };
  });
}

export async function revokeCredential(opts: { db: Db; actor: UserActor; id: string; now?: Date }): Promise<HostView> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  const now = opts.now ?? new Date();
  return db.$transaction(async (tx) => {
    const row = await tx.host.findUnique({ where: { id }, select: HOST_SELECT });
    if (!row) throw notFound('host');
    const before = toHostView(row);
    const updated = await tx.host.update({
      where: { id },
      data: { status: 'revoked', credentialHash: null },
      select: HOST_SELECT,
    });
    // A token handed out earlier must not let the agent straight back in.
    await tx.enrollmentToken.updateMany({ where: { hostId: id, usedAt: null, expiresAt: { gt: now } }, data: { expiresAt: now } });
    const after = toHostView(updated);
    await writeAudit(tx, { actor, tenantId: null, action: 'host.revokeCredential', entity: 'host', entityId: id, before, after });
    // Delivered at commit: console processes drop that agent's open streams.
    await publish(tx, { type: 'host.revoked', hostId: id });
    return after;
  });
}

const ENROLL_REFUSED = 'token: enrollment token is unknown, already used or expired; ask an admin for a new one';

/** Public: the agent proves it holds a valid token and receives its credential (once). */
export async function enroll(opts: {
  db: Db;
  token: string;
  agentVersion?: string;
  capabilities?: string[];
  now?: Date;
}): Promise<{ hostId: string; hostName: string; credential: string }> {
  const { db } = opts;
  const now = opts.now ?? new Date();
  const tokenHash = hashToken(opts.token);
  const credential = generateHostCredential();
  return db.$transaction(async (tx) => {
    const found = await tx.enrollmentToken.findUnique({ where: { tokenHash }, select: { id: true, hostId: true } });
    // The conditional update is the one-time check: of two racing agents only one changes the row.
    const { count } = found
      ? await tx.enrollmentToken.updateMany({
          where: { id: found.id, usedAt: null, expiresAt: { gt: now } },
          data: { usedAt: now },
        })
      : { count: 0 };
    if (!found || count !== 1) throw new AppError('UNAUTHORIZED', ENROLL_REFUSED, { field: 'token' });
    const row = await tx.host.findUnique({ where: { id: found.hostId }, select: HOST_SELECT });
    if (!row) throw new AppError('UNAUTHORIZED', ENROLL_REFUSED, { field: 'token' });
    const before = toHostView(row);
    const updated = await tx.host.update({
      where: { id: found.hostId },
      data: {
        credentialHash: hashToken(credential),
        status: 'online',
        lastSeenAt: now,
        agentVersion: opts.agentVersion ?? before.agentVersion,
        capabilities: opts.capabilities ?? before.capabilities,
      },
      select: HOST_SELECT,
    });
    const after = toHostView(updated);
    const actor: HostActor = { kind: 'host', hostId: after.id, hostName: after.name };
    await writeAudit(tx, { actor, tenantId: null, action: 'host.enroll', entity: 'host', entityId: after.id, before, after });
    // A credential the host held before is replaced: streams opened with it end.
    if (row.credentialHash !== null) await publish(tx, { type: 'host.revoked', hostId: after.id });
    return { hostId: after.id, hostName: after.name, credential };
  });
}
