// API tokens for automation. The token is returned once, at creation; the
// database keeps its SHA-256 and a short prefix so people can tell tokens apart.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { badRequest, notFound } from '../errors.ts';
import { generateApiToken, hashToken, tokenPrefix } from '../auth/tokens.ts';
import type { Role, UserActor } from '../auth/actors.ts';
import { publish } from '../events/bus.ts';
import { writeAudit } from '../audit/audit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage, type Page, type PageInput } from '../db/listPage.ts';
import { roleAtMost } from './users.ts';

export const MAX_TOKEN_DAYS = 3650;

const TOKEN_SELECT = {
  id: true,
  tenantId: true,
  userId: true,
  name: true,
  prefix: true,
  role: true,
  createdAt: true,
  lastUsedAt: true,
  expiresAt: true,
  revokedAt: true,
  user: { select: { username: true } },
} as const;

export interface PublicApiToken {
  id: string;
  tenantId: string;
  userId: string;
  username: string;
  name: string;
  prefix: string;
  role: Role;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

type Row = Prisma.ApiTokenGetPayload<{ select: typeof TOKEN_SELECT }>;
const toPublic = ({ user, ...rest }: Row): PublicApiToken => ({ ...rest, username: user.username });

export async function createApiToken(opts: {
  db: Db;
  actor: UserActor;
  name: string;
  role: Role;
  expiresInDays?: number;
  now?: Date;
}): Promise<{ token: string; apiToken: PublicApiToken }> {
  const { db, actor } = opts;
  if (!roleAtMost(opts.role, actor.role)) {
    throw badRequest('role', `a ${actor.role} cannot create a token with role ${opts.role}`);
  }
  const days = opts.expiresInDays;
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS)) {
    throw badRequest('expiresInDays', `must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}`);
  }
  const now = opts.now ?? new Date();
  const token = generateApiToken();
  const row = await db.$transaction(async (tx) => {
    const created = await tx.apiToken.create({
      data: {
        tenantId: actor.tenantId,
        userId: actor.userId,
        name: opts.name,
        role: opts.role,
        prefix: tokenPrefix(token),
        tokenHash: hashToken(token),
        createdAt: now,
        expiresAt: days === undefined ? null : new Date(now.getTime() + days * 86_400_000),
      },
      select: TOKEN_SELECT,
    });
    await writeAudit(tx, { actor, action: 'apiToken.create', entity: 'apiToken', entityId: created.id, after: toPublic(created) });
    return created;
  });
  return { token, apiToken: toPublic(row) };
}

/** Own tokens; an admin sees every token of the tenant. */
export async function listApiTokens(
  opts: { db: Db; actor: UserActor; includeRevoked?: boolean } & PageInput,
): Promise<Page<PublicApiToken>> {
  const { db, actor } = opts;
  const where: Prisma.ApiTokenWhereInput = { tenantId: actor.tenantId };
  if (actor.role !== 'admin') where.userId = actor.userId;
  if (!opts.includeRevoked) where.revokedAt = null;
  await checkCursor(opts.cursor, (id) => db.apiToken.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await db.apiToken.findMany({ where, select: TOKEN_SELECT, orderBy: ORDER_BY_CREATED, ...pageArgs(opts) });
  return toPage(rows.map(toPublic), opts);
}

/** Revokes one's own token (admins: any of the tenant's). Revoking twice is harmless. */
export async function revokeApiToken(opts: { db: Db; actor: UserActor; id: string; now?: Date }): Promise<PublicApiToken> {
  const { db, actor, id } = opts;
  const now = opts.now ?? new Date();
  return db.$transaction(async (tx) => {
    const where: Prisma.ApiTokenWhereInput = { id, tenantId: actor.tenantId };
    if (actor.role !== 'admin') where.userId = actor.userId;
    const before = await tx.apiToken.findFirst({ where, select: TOKEN_SELECT });
    if (!before) throw notFound('API token');
    if (before.revokedAt) return toPublic(before);
    const after = await tx.apiToken.update({ where: { id }, data: { revokedAt: now }, select: TOKEN_SELECT });
    // Streams opened with the token end (server/identity/credentialWatch.ts).
    await publish(tx, { type: 'user.credentials', userId: after.userId });
    await writeAudit(tx, {
      actor,
      action: 'apiToken.revoke',
      entity: 'apiToken',
      entityId: id,
      before: toPublic(before),
      after: toPublic(after),
    });
    return toPublic(after);
  });
}
