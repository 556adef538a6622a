// Test fixture for API tests: a fresh database (Postgres when DATABASE_URL is
// set, embedded PGlite otherwise), two tenants with users of every role, and
// callers acting as each of them through the real router (createCaller).
import { createTestDb } from './db.ts';
import { createCallerFactory } from '../server/trpc/init.ts';
import { appRouter } from '../server/routers/_app.ts';
import type { UserActor, Role, Context } from '../server/trpc/init.ts';
import type { Db } from '../server/db/index.ts';

const createCaller = createCallerFactory(appRouter);
export type Caller = ReturnType<typeof createCaller>;

export interface ApiFixture {
  db: Db;
  drop(): Promise<void>;
  tenantA: string;
  tenantB: string;
  admin: UserActor;
  operator: UserActor;
  viewer: UserActor;
  /** An operator of tenant B: must never see tenant A's farms. */
  otherOperator: UserActor;
  caller(actor: Context['actor']): Caller;
}

export async function setupApi(): Promise<ApiFixture> {
  const t = await createTestDb();
  const db = t.prisma;
  const [a, b] = await Promise.all([
    db.tenant.create({ data: { name: 'tenant-a' }, select: { id: true } }),
    db.tenant.create({ data: { name: 'tenant-b' }, select: { id: true } }),
  ]);
  const mk = async (tenantId: string, username: string, role: Role): Promise<UserActor> => {
    // A password hash that matches no password: these users act only through createCaller.
    const u = await db.user.create({
      data: { tenantId, username, role, passwordHash: 'x' },
      select: { id: true },
    });
    return { kind: 'user', userId: u.id, tenantId, username, role };
  };
  const admin = await mk(a.id, 'alice-admin', 'admin');
  const operator = await mk(a.id, 'oscar-operator', 'operator');
  const viewer = await mk(a.id, 'victor-viewer', 'viewer');
  const otherOperator = await mk(b.id, 'olga-other', 'operator');
  return {
    db,
    drop: t.drop,
    tenantA: a.id,
    tenantB: b.id,
    admin,
    operator,
    viewer,
    otherOperator,
    caller: (actor) => createCaller({ db, actor }),
  };
}
