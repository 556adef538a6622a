// Sign-in, sign-out and "who is calling": a session cookie is a person, a
// `Bearer sudc_…` token is automation acting for its user, a `Bearer sudh_…`
// credential is an agent. Every secret is looked up by its SHA-256 only.
import type { Db } from '../db/index.ts';
import { AppError, badRequest } from '../errors.ts';
import { dummyVerify, hashPassword, needsRehash, verifyPassword } from '../auth/password.ts';
import { API_TOKEN_PREFIX, HOST_CREDENTIAL_PREFIX, generateSessionToken, hashToken } from '../auth/tokens.ts';
import { readSessionCookie, sessionLifetimeMs } from '../auth/cookies.ts';
import { loginLimiter, type LoginLimiter } from '../auth/limiter.ts';
import type { HostActor, Role, UserActor } from '../auth/actors.ts';
import { publish } from '../events/bus.ts';
import { writeAudit } from '../audit/audit.ts';
import { checkPassword, ROLE_RANK, USER_SELECT, type PublicUser } from './users.ts';

/** lastSeenAt / lastUsedAt are refreshed at most this often, not on every request. */
export const TOUCH_INTERVAL_MS = 60_000;
const WRONG_CREDENTIALS = 'username or password is wrong';

export interface LoginResult {
  user: PublicUser;
  /** The cookie value; only its hash is stored. */
  sessionToken: string;
  expiresAt: Date;
  maxAgeSeconds: number;
}

function throttled(waitMs: number): void {
  if (waitMs > 0) {
    throw new AppError('TOO_MANY_REQUESTS', `too many failed sign-ins; try again in ${Math.ceil(waitMs / 1000)} s`, {
      details: { retryAfterSeconds: Math.ceil(waitMs / 1000) },
    });
  }
}

export async function login(opts: {
  db: Db;
  username: string;
  password: string;
  clientIp?: string | null;
  limiter?: LoginLimiter;
  now?: Date;
}): Promise<LoginResult> {
  const { db } = opts;
  const limiter = opts.limiter ?? loginLimiter;
  const now = opts.now ?? new Date();
  throttled(limiter.retryAfterMs(opts.username, opts.clientIp, now.getTime()));

  const found = await db.user.findUnique({
    where: { username: opts.username },
    select: { ...USER_SELECT, passwordHash: true },
  });
  // Unknown, wrong and disabled all cost one scrypt and get the same answer.
  let ok = false;
  if (found) ok = (await verifyPassword(opts.password, found.passwordHash)) && !found.disabled;
  else await dummyVerify(opts.password);
  if (!found || !ok) {
    limiter.fail(opts.username, opts.clientIp, now.getTime());
    throw new AppError('UNAUTHORIZED', WRONG_CREDENTIALS);
  }
  limiter.succeed(opts.username, opts.clientIp, now.getTime());

  const { passwordHash, ...user } = found;
  const lifetime = sessionLifetimeMs();
  const expiresAt = new Date(now.getTime() + lifetime);
  const sessionToken = generateSessionToken();
  const rehash = needsRehash(passwordHash) ? await hashPassword(opts.password) : null;
  await db.$transaction(async (tx) => {
    await tx.session.deleteMany({ where: { userId: user.id, expiresAt: { lt: now } } });
    const session = await tx.session.create({
      data: { userId: user.id, tokenHash: hashToken(sessionToken), expiresAt, createdAt: now, lastSeenAt: now },
      select: { id: true },
    });
    if (rehash) await tx.user.update({ where: { id: user.id }, data: { passwordHash: rehash }, select: { id: true } });
    const actor: UserActor = { kind: 'user', userId: user.id, tenantId: user.tenantId, username: user.username, role: user.role };
    await writeAudit(tx, {
      actor,
      action: 'auth.login',
      entity: 'session',
      entityId: session.id,
      after: { userId: user.id, expiresAt, clientIp: opts.clientIp ?? null },
    });
  });
  return { user, sessionToken, expiresAt, maxAgeSeconds: Math.floor(lifetime / 1000) };
}

/** Ends the caller's session (a token or host actor has none; nothing happens). */
export async function logout(opts: { db: Db; actor: UserActor | HostActor | null }): Promise<{ ok: true }> {
  const { db, actor } = opts;
  if (!actor || actor.kind !== 'user' || !actor.sessionId) return { ok: true };
  const sessionId = actor.sessionId;
  await db.$transaction(async (tx) => {
    const { count } = await tx.session.deleteMany({ where: { id: sessionId } });
    if (count > 0) await writeAudit(tx, { actor, action: 'auth.logout', entity: 'session', entityId: sessionId });
    // Streams opened with this session end (server/identity/credentialWatch.ts).
    await publish(tx, { type: 'user.credentials', userId: actor.userId });
  });
  return { ok: true };
}

export async function changePassword(opts: {
  db: Db;
  actor: UserActor;
  currentPassword: string;
  newPassword: string;
  limiter?: LoginLimiter;
}): Promise<{ ok: true }> {
  const { db, actor } = opts;
  // Counted apart from sign-ins: other people's failed sign-ins never stop a signed-in user changing their password.
  const checks = (opts.limiter ?? loginLimiter).passwordChecks;
  const key = actor.userId;
  throttled(checks.retryAfterMs(key));
  checkPassword('newPassword', opts.newPassword);
  const row = await db.user.findUnique({ where: { id: actor.userId }, select: { passwordHash: true } });
  if (!row || !(await verifyPassword(opts.currentPassword, row.passwordHash))) {
    checks.fail(key);
    throw badRequest('currentPassword', 'is wrong');
  }
  if (opts.newPassword === opts.currentPassword) throw badRequest('newPassword', 'must differ from the current password');
  const passwordHash = await hashPassword(opts.newPassword);
  await db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: actor.userId }, data: { passwordHash }, select: { id: true } });
    // Other sessions (perhaps a thief's) end; this one stays signed in.
    await tx.session.deleteMany({
      where: { userId: actor.userId, ...(actor.sessionId ? { id: { not: actor.sessionId } } : {}) },
    });
    await writeAudit(tx, { actor, action: 'auth.changePassword', entity: 'user', entityId: actor.userId });
    await publish(tx, { type: 'user.credentials', userId: actor.userId });
  });
  return { ok: true };
}

export interface Me {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  tenantId: string;
  tenantName: string;
  kind: 'user' | 'token';
}

export async function me(opts: { db: Db; actor: UserActor }): Promise<Me> {
  const { db, actor } = opts;
  const user = await db.user.findUnique({
    where: { id: actor.userId },
    select: { id: true, username: true, displayName: true, tenantId: true, tenant: { select: { name: true } } },
  });
  if (!user) throw new AppError('UNAUTHORIZED', 'sign in again');
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    role: actor.role,
    tenantId: user.tenantId,
    tenantName: user.tenant.name,
    kind: actor.kind,
  };
}

export interface Credentials {
  /** The `Cookie` request header (or the bare session cookie value). */
  cookie?: string | null;
  /** The `Authorization` request header. */
  authorization?: string | null;
}

/**
 * Who is calling. An Authorization header, when present, decides alone: a
 * bad token is refused even if a valid cookie rides along.
 */
export async function resolveActor(
  db: Db,
  creds: Credentials,
  now: Date = new Date(),
): Promise<UserActor | HostActor | null> {
  const auth = creds.authorization?.trim();
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m?.[1]) return null;
    const token = m[1];
    if (token.startsWith(API_TOKEN_PREFIX)) return resolveApiToken(db, token, now);
    if (token.startsWith(HOST_CREDENTIAL_PREFIX)) return resolveHost(db, token);
    return null;
  }
  const raw = creds.cookie ?? null;
  const value = raw && raw.includes('=') ? readSessionCookie(raw) : raw?.trim() || null;
  return value ? resolveSession(db, value, now) : null;
}

/** A session as its lookup returns it (Prisma here, raw SQL on the lean read path). */
export interface SessionRow {
  id: string;
  expiresAt: Date;
  lastSeenAt: Date;
  user: { id: string; tenantId: string; username: string; role: Role; disabled: boolean };
}

/** An API token as its lookup returns it. */
export interface TokenRow {
  id: string;
  tenantId: string;
  role: Role;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  user: { id: string; tenantId: string; username: string; role: Role; disabled: boolean };
}

/**
 * What a session row means at `now`: the actor, no one (null), or `expired`
 * / `touch` with the actor: the row needs a write (delete it; refresh its
 * lastSeenAt) before or besides the answer.
 */
export function sessionVerdict(session: SessionRow, now: Date): { actor: UserActor | null; write: 'expired' | 'touch' | null } {
  if (session.expiresAt <= now) return { actor: null, write: 'expired' };
  if (session.user.disabled) return { actor: null, write: null };
  const u = session.user;
  const actor: UserActor = { kind: 'user', userId: u.id, tenantId: u.tenantId, username: u.username, role: u.role, sessionId: session.id };
  return { actor, write: now.getTime() - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS ? 'touch' : null };
}

/** What an API token row means at `now` (see sessionVerdict). */
export function tokenVerdict(row: TokenRow, now: Date): { actor: UserActor | null; write: 'touch' | null } {
  if (row.revokedAt || (row.expiresAt && row.expiresAt <= now)) return { actor: null, write: null };
  const u = row.user;
  if (u.disabled || u.tenantId !== row.tenantId) return { actor: null, write: null };
  // The token's role, but never more than its user holds today (a demoted
  // user's old tokens shrink with them).
  const role = ROLE_RANK[row.role] <= ROLE_RANK[u.role] ? row.role : u.role;
  const actor: UserActor = { kind: 'token', userId: u.id, tenantId: u.tenantId, username: u.username, role, tokenId: row.id };
  return { actor, write: !row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS ? 'touch' : null };
}

async function resolveSession(db: Db, value: string, now: Date): Promise<UserActor | null> {
  const session = await db.session.findUnique({
    where: { tokenHash: hashToken(value) },
    select: {
      id: true,
      expiresAt: true,
      lastSeenAt: true,
      user: { select: { id: true, tenantId: true, username: true, role: true, disabled: true } },
    },
  });
  if (!session) return null;
  const v = sessionVerdict(session, now);
  if (v.write === 'expired') await db.session.deleteMany({ where: { id: session.id } });
  if (v.write === 'touch') await db.session.updateMany({ where: { id: session.id }, data: { lastSeenAt: now } });
  return v.actor;
}

async function resolveApiToken(db: Db, token: string, now: Date): Promise<UserActor | null> {
  const row = await db.apiToken.findUnique({
    where: { tokenHash: hashToken(token) },
    select: {
      id: true,
      tenantId: true,
      role: true,
      expiresAt: true,
      revokedAt: true,
      lastUsedAt: true,
      user: { select: { id: true, tenantId: true, username: true, role: true, disabled: true } },
    },
  });
  if (!row) return null;
  const v = tokenVerdict(row, now);
  if (v.write === 'touch') await db.apiToken.updateMany({ where: { id: row.id }, data: { lastUsedAt: now } });
  return v.actor;
}

async function resolveHost(db: Db, credential: string): Promise<HostActor | null> {
  const credentialHash = hashToken(credential);
  const host = await db.host.findUnique({ where: { credentialHash }, select: { id: true, name: true, status: true } });
  if (!host || host.status === 'revoked') return null;
  return { kind: 'host', hostId: host.id, hostName: host.name, credentialHash };
}
