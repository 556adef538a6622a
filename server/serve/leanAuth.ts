// Who is calling, for the lean read path (server/serve/hotReads.ts): the
// same lookups as resolveActor (server/identity/sessions.ts) in one raw SQL
// round trip each, and the same verdicts (sessionVerdict, tokenVerdict:
// expired sessions, revoked or expired tokens, disabled users, a token's
// role capped by its user's). Whatever needs more than a read — a session to
// delete or refresh, a token's last use to record — or is not a user or a
// token at all answers null, and the request goes through tRPC, which
// resolves the caller the ordinary way.
import type { RawDb } from '../db/index.ts';
import { API_TOKEN_PREFIX, hashToken } from '../auth/tokens.ts';
import { readSessionCookie } from '../auth/cookies.ts';
import type { Role, UserActor } from '../auth/actors.ts';
import { sessionVerdict, tokenVerdict } from '../identity/sessions.ts';

/** One raw statement; `name` makes it a prepared statement on Postgres. */
export type Sql = <R>(name: string, text: string, values: unknown[]) => Promise<R[]>;

export function sqlOf(raw: RawDb): Sql {
  if (raw.kind === 'postgres') {
    const pool = raw.pool;
    return async <R>(name: string, text: string, values: unknown[]) => (await pool.query({ name, text, values })).rows as R[];
  }
  const pglite = raw.pglite;
  return async <R>(_name: string, text: string, values: unknown[]) => (await pglite.query<R>(text, values)).rows;
}

interface UserCols {
  userId: string;
  userTenantId: string;
  username: string;
  userRole: Role;
  disabled: boolean;
}
const USER_COLS = `u.id::text AS "userId", u."tenantId"::text AS "userTenantId", u.username, u.role::text AS "userRole", u.disabled`;
const userOf = (r: UserCols) => ({ id: r.userId, tenantId: r.userTenantId, username: r.username, role: r.userRole, disabled: r.disabled });

const SESSION_SQL = `SELECT s.id::text AS id, s."expiresAt", s."lastSeenAt", ${USER_COLS}
  FROM "Session" s JOIN "User" u ON u.id = s."userId" WHERE s."tokenHash" = $1`;
const TOKEN_SQL = `SELECT t.id::text AS id, t."tenantId"::text AS "tenantId", t.role::text AS role, t."expiresAt", t."revokedAt", t."lastUsedAt", ${USER_COLS}
  FROM "ApiToken" t JOIN "User" u ON u.id = t."userId" WHERE t."tokenHash" = $1`;

/** The calling user or token, or null: tRPC decides (see above). */
export async function leanActor(sql: Sql, creds: { cookie?: string | null; authorization?: string | null }, now = new Date()): Promise<UserActor | null> {
  const auth = creds.authorization?.trim();
  // An Authorization header, when present, decides alone (as in resolveActor).
  if (auth) {
    const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    if (!token?.startsWith(API_TOKEN_PREFIX)) return null;
    type Row = UserCols & { id: string; tenantId: string; role: Role; expiresAt: Date | null; revokedAt: Date | null; lastUsedAt: Date | null };
    const row = (await sql<Row>('softudc_lean_token', TOKEN_SQL, [hashToken(token)]))[0];
    if (!row) return null;
    const v = tokenVerdict({ ...row, user: userOf(row) }, now);
    return v.write ? null : v.actor;
  }
  const raw = creds.cookie ?? null;
  const value = raw && raw.includes('=') ? readSessionCookie(raw) : raw?.trim() || null;
  if (!value) return null;
  type Row = UserCols & { id: string; expiresAt: Date; lastSeenAt: Date };
  const row = (await sql<Row>('softudc_lean_session', SESSION_SQL, [hashToken(value)]))[0];
  if (!row) return null;
  const v = sessionVerdict({ ...row, user: userOf(row) }, now);
  return v.write ? null : v.actor;
}
