// Users of one tenant, managed by that tenant's admins. Passwords are stored
// only as scrypt hashes; a reset or a disable ends the user's sessions.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { badRequest, conflict, forbidden, notFound } from '../errors.ts';
import { hashPassword } from '../auth/password.ts';
import type { Role, UserActor } from '../auth/actors.ts';
import { publish } from '../events/bus.ts';
import { writeAudit } from '../audit/audit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage, type Page, type PageInput } from '../db/listPage.ts';

type Tx = Prisma.TransactionClient;

export const USER_SELECT = {
  id: true,
  tenantId: true,
  username: true,
  displayName: true,
  role: true,
  disabled: true,
  createdAt: true,
  updatedAt: true,
} as const;

export interface PublicUser {
  id: string;
  tenantId: string;
  username: string;
  displayName: string;
  role: Role;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const MIN_PASSWORD_LENGTH = 12;
export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function requireAdmin(actor: UserActor): void {
  if (actor.role !== 'admin') throw forbidden('only admins can do this');
}

/** Different characters a password needs: twelve of one key is not a password. */
export const MIN_PASSWORD_DISTINCT = 5;

/**
 * What is wrong with a new password, or null. Length alone let twelve
 * spaces or one key held down through; whitespace at either end does not
 * count, and a few different characters are needed. (No rules about
 * character classes: length is what makes a password hard to guess.)
 */
export function passwordProblem(password: string): string | null {
  const core = [...password.trim()];
  if (core.length < MIN_PASSWORD_LENGTH) {
    return `must be at least ${MIN_PASSWORD_LENGTH} characters, not counting spaces at either end`;
  }
  if (new Set(core).size < MIN_PASSWORD_DISTINCT) return `is too repetitive: use at least ${MIN_PASSWORD_DISTINCT} different characters`;
  return null;
}

export function checkPassword(field: string, password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw badRequest(field, problem);
}

/** Serializes changes to a tenant's admins, so two requests cannot both remove "the other" admin. */
async function lockTenant(tx: Tx, tenantId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM "Tenant" WHERE id = ${tenantId}::uuid FOR UPDATE`;
}

async function otherEnabledAdmins(tx: Tx, tenantId: string, exceptId: string): Promise<number> {
  return tx.user.count({ where: { tenantId, role: 'admin', disabled: false, id: { not: exceptId } } });
}

async function loadInTenant(db: Db | Tx, actor: UserActor, id: string): Promise<PublicUser> {
  const user = await db.user.findFirst({ where: { id, tenantId: actor.tenantId }, select: USER_SELECT });
  if (!user) throw notFound('user');
  return user;
}

export async function listUsers(
  opts: { db: Db; actor: UserActor; role?: Role; disabled?: boolean } & PageInput,
): Promise<Page<PublicUser>> {
  const { db, actor } = opts;
  requireAdmin(actor);
  const where: Prisma.UserWhereInput = { tenantId: actor.tenantId };
  if (opts.role) where.role = opts.role;
  if (opts.disabled !== undefined) where.disabled = opts.disabled;
  await checkCursor(opts.cursor, (id) => db.user.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await db.user.findMany({ where, select: USER_SELECT, orderBy: ORDER_BY_CREATED, ...pageArgs(opts) });
  return toPage(rows, opts);
}

export async function getUser(opts: { db: Db; actor: UserActor; id: string }): Promise<PublicUser> {
  requireAdmin(opts.actor);
  return loadInTenant(opts.db, opts.actor, opts.id);
}

export async function createUser(opts: {
  db: Db;
  actor: UserActor;
  username: string;
  password: string;
  role: Role;
  displayName?: string;
}): Promise<PublicUser> {
  const { db, actor } = opts;
  requireAdmin(actor);
  checkPassword('password', opts.password);
  const taken = await db.user.findUnique({ where: { username: opts.username }, select: { id: true } });
  if (taken) throw conflict('username', `"${opts.username}" is already taken`);
  const passwordHash = await hashPassword(opts.password);
  return db.$transaction(async (tx) => {
    const user = await tx.user.create({
      data: {
        tenantId: actor.tenantId,
        username: opts.username,
        displayName: opts.displayName ?? '',
        role: opts.role,
        passwordHash,
      },
      select: USER_SELECT,
    });
    await writeAudit(tx, { actor, action: 'user.create', entity: 'user', entityId: user.id, after: user });
    return user;
  });
}

export async function updateUser(opts: {
  db: Db;
  actor: UserActor;
  id: string;
  role?: Role;
  displayName?: string;
  disabled?: boolean;
  password?: string;
}): Promise<PublicUser> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  if (opts.password !== undefined) checkPassword('password', opts.password);
  if (id === actor.userId && opts.disabled === true) throw badRequest('disabled', 'you cannot disable your own account');
  const passwordHash = opts.password === undefined ? undefined : await hashPassword(opts.password);
  return db.$transaction(async (tx) => {
    await lockTenant(tx, actor.tenantId);
    const before = await loadInTenant(tx, actor, id);
    const losesAdmin =
      before.role === 'admin' && !before.disabled && ((opts.role && opts.role !== 'admin') || opts.disabled === true);
    if (losesAdmin && (await otherEnabledAdmins(tx, actor.tenantId, id)) === 0) {
      const field = opts.role && opts.role !== 'admin' ? 'role' : 'disabled';
      throw conflict(field, `${before.username} is the last enabled admin of this tenant`);
    }
    const user = await tx.user.update({
      where: { id },
      data: {
        role: opts.role,
        displayName: opts.displayName,
        disabled: opts.disabled,
        passwordHash,
      },
      select: USER_SELECT,
    });
    // A new password or a disabled account must not leave old sessions alive.
    if (passwordHash !== undefined || (opts.disabled === true && !before.disabled)) {
      await tx.session.deleteMany({ where: { userId: id } });
    }
    // Open streams re-check their credential: ended sessions, a disabled user, a lower role.
    await publish(tx, { type: 'user.credentials', userId: id });
    await writeAudit(tx, {
      actor,
      action: 'user.update',
      entity: 'user',
      entityId: id,
      before,
      after: passwordHash === undefined ? user : { ...user, resetSignIn: true },
    });
    return user;
  });
}

export async function deleteUser(opts: { db: Db; actor: UserActor; id: string }): Promise<{ id: string }> {
  const { db, actor, id } = opts;
  requireAdmin(actor);
  if (id === actor.userId) throw badRequest('id', 'you cannot delete your own account');
  return db.$transaction(async (tx) => {
    await lockTenant(tx, actor.tenantId);
    const before = await loadInTenant(tx, actor, id);
    if (before.role === 'admin' && !before.disabled && (await otherEnabledAdmins(tx, actor.tenantId, id)) === 0) {
      throw conflict('id', `${before.username} is the last enabled admin of this tenant`);
    }
    await tx.user.delete({ where: { id }, select: { id: true } });
    await writeAudit(tx, { actor, action: 'user.delete', entity: 'user', entityId: id, before });
    await publish(tx, { type: 'user.credentials', userId: id });
    return { id };
  });
}

/** Whether `role` grants no more than `ceiling` (API tokens never exceed their creator). */
export function roleAtMost(role: Role, ceiling: Role): boolean {
  return ROLE_RANK[role] <= ROLE_RANK[ceiling];
}
