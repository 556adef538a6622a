// Who is calling, for the lean read path (server/serve/hotReads.ts): the
// same lookups as resolveActor (server/identity/sessions.ts) in raw SQL,
// in the same statement as what the request reads for the caller's tenant
// (one round trip per request), and the same verdicts (sessionVerdict, tokenVerdict:
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

const sqls = new WeakMap<RawDb, Sql>();

/** The raw statements of a database, one function per database for every lean path. */
export function sqlOf(raw: RawDb): Sql {
  let sql = sqls.get(raw);
  if (sql) return sql;
  if (raw.kind === 'postgres') {
    const pool = raw.pool;
    sql = async <R>(name: string, text: string, values: unknown[]) => (await pool.query({ name, text, values })).rows as R[];
  } else {
    const pglite = raw.pglite;
    sql = async <R>(_name: string, text: string, values: unknown[]) => (await pglite.query<R>(text, values)).rows;
  }
  sqls.set(raw, sql);
  return sql;
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
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

// The caller's row; $1 is the hash of its cookie or token. "callerTenant" is
// the tenant an answer may be read for: the user's, which both verdicts
// require the actor's to be (a token whose user moved tenant is refused).
const SESSION_SQL = `SELECT s.id::text AS id, s."expiresAt", s."lastSeenAt", u."tenantId" AS "callerTenant", ${USER_COLS}
  FROM "Session" s JOIN "User" u ON u.id = s."userId" WHERE s."tokenHash" = $1`;
const TOKEN_SQL = `SELECT t.id::text AS id, t."tenantId"::text AS "tenantId", t.role::text AS role, t."expiresAt", t."revokedAt", t."lastUsedAt",
  u."tenantId" AS "callerTenant", ${USER_COLS}
  FROM "ApiToken" t JOIN "User" u ON u.id = t."userId" WHERE t."tokenHash" = $1`;

type SessionRow = UserCols & { id: string; expiresAt: Date; lastSeenAt: Date };
type TokenRow = UserCols & { id: string; tenantId: string; role: Role; expiresAt: Date | null; revokedAt: Date | null; lastUsedAt: Date | null };

/** Which credential a request carries, hashed as stored; null when the lean path does not take it. */
function credentialOf(creds: { cookie?: string | null; authorization?: string | null }): { kind: 'token' | 'session'; hash: string } | null {
  const auth = creds.authorization?.trim();
  // An Authorization header, when present, decides alone (as in resolveActor).
  if (auth) {
    const token = bearerToken(auth);
    return token?.startsWith(API_TOKEN_PREFIX) ? { kind: 'token', hash: hashToken(token) } : null;
  }
  const raw = creds.cookie ?? null;
  const value = raw && raw.includes('=') ? readSessionCookie(raw) : raw?.trim() || null;
  return value ? { kind: 'session', hash: hashToken(value) } : null;
}

/**
 * What the request reads, computed in the caller's own statement: `expr`
 * is a scalar SQL expression over the caller's tenant (given to it as the
 * SQL text `tenant`, a uuid) with its own parameters from $2 on.
 */
export interface TenantRead {
  /** Names the prepared statement (one per read and credential kind). */
  name: string;
  expr(tenant: string): string;
  values: unknown[];
}

/**
 * The calling user or token and, in the same round trip, `read` for its
 * tenant; null when tRPC decides (see above). The value is computed before
 * the verdict, but only returned with an actor whose tenant it was read for.
 */
export async function leanActorWith<T>(
  sql: Sql,
  creds: { cookie?: string | null; authorization?: string | null },
  read: TenantRead,
  now = new Date(),
): Promise<{ actor: UserActor; value: T | null } | null> {
  const cred = credentialOf(creds);
  if (!cred) return null;
  const caller = cred.kind === 'token' ? TOKEN_SQL : SESSION_SQL;
  type Row = (SessionRow | TokenRow) & { callerTenant: string; value: T | null };
  const text = `WITH c AS (${caller}) SELECT c.*, (${read.expr('c."callerTenant"')}) AS value FROM c`;
  const row = (await sql<Row>(`${read.name}_${cred.kind}`, text, [cred.hash, ...read.values]))[0];
  if (!row) return null;
  const v =
    cred.kind === 'token' ? tokenVerdict({ ...(row as TokenRow), user: userOf(row) }, now) : sessionVerdict({ ...(row as SessionRow), user: userOf(row) }, now);
  if (v.write || !v.actor || v.actor.tenantId !== row.callerTenant) return null;
  return { actor: v.actor, value: row.value };
}
