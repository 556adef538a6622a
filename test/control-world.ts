// A whole control loop on one machine, for the control-loop tests and the
// deploy benchmark: a real console (server/serve/http.ts) on a fresh database
// (Postgres with DATABASE_URL, else PGlite), hosts h1..h3 on 127.0.0.2–4 in
// a segment without multicast, and three real agent processes that enrolled
// with one-time tokens. Intent is changed through the real router (callers
// as the admin); agents only ever speak HTTP to the console.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDb, type TestDb } from './db.ts';
import { freeCommonUdpPort, spawnManagedAgent, waitFor, type ManagedAgentProcess } from './managed-agent.ts';
import type { Db } from '../server/db/index.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { appRouter } from '../server/routers/_app.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';
import { createCallerFactory, type UserActor } from '../server/trpc/init.ts';

const createCaller = createCallerFactory(appRouter);
export type Caller = ReturnType<typeof createCaller>;

export const WORLD_HOSTS = [
  { name: 'h1', address: '127.0.0.2' },
  { name: 'h2', address: '127.0.0.3' },
  { name: 'h3', address: '127.0.0.4' },
] as const;
export type HostName = (typeof WORLD_HOSTS)[number]['name'];

export interface ControlWorld {
  t: TestDb;
  db: Db;
  admin: UserActor;
  caller: Caller;
  /** Console base URL (what agents get as --console). */
  consoleUrl: string;
  underlayPort: number;
  hostIds: Record<HostName, string>;
  agents: Record<HostName, ManagedAgentProcess>;
  stateDirs: Record<HostName, string>;
  consoleUp(): boolean;
  stopConsole(): Promise<void>;
  /** Starts the console again on the same port. */
  startConsole(): Promise<void>;
  /** Starts a stopped agent again from its state directory (no token: it is enrolled). */
  restartAgent(name: HostName): Promise<ManagedAgentProcess>;
  close(): Promise<void>;
}

export interface WorldOptions {
  reportIntervalS?: number;
  /** Use this database instead of a fresh one (dropped by close() all the same). */
  t?: TestDb;
  /** The admin's tenant [world]. */
  tenantName?: string;
}

export async function startControlWorld(opts: WorldOptions = {}): Promise<ControlWorld> {
  const t = opts.t ?? (await createTestDb());
  const db = t.prisma;
  const tenant = await db.tenant.create({ data: { name: opts.tenantName ?? 'world' }, select: { id: true } });
  const user = await db.user.create({ data: { tenantId: tenant.id, username: 'admin', role: 'admin', passwordHash: 'x' }, select: { id: true } });
  const admin: UserActor = { kind: 'user', userId: user.id, tenantId: tenant.id, username: 'admin', role: 'admin' };
  const caller = createCaller({ db, actor: admin });

  let server: ApiServer | null = await startApiServer({ db: { prisma: db, raw: t.raw } });
  const apiPort = server.port;
  const consoleUrl = `http://127.0.0.1:${apiPort}`;
  const root = await mkdtemp(join(tmpdir(), 'softudc-world-'));
  const underlayPort = await freeCommonUdpPort(WORLD_HOSTS.map((h) => h.address));
  const segment = await caller.segment.create({ name: 'loopback', multicast: false });

  const hostIds = {} as Record<HostName, string>;
  const stateDirs = {} as Record<HostName, string>;
  const agents = {} as Record<HostName, ManagedAgentProcess>;
  const spawnOne = (name: HostName, token?: string) =>
    spawnManagedAgent({ name, consoleUrl, stateDir: stateDirs[name], token, reportIntervalS: opts.reportIntervalS ?? 1 });

  try {
    await Promise.all(
      WORLD_HOSTS.map(async (h) => {
        const created = await caller.host.create({ name: h.name, address: h.address, port: underlayPort, segmentId: segment.id });
        hostIds[h.name] = created.host.id;
        stateDirs[h.name] = join(root, h.name);
        agents[h.name] = await spawnOne(h.name, created.enrollmentToken);
      }),
    );
    // Enrolled, and the baseline state (own address, no vnets) applied and reported.
    await waitFor(async () => {
      const rows = await db.host.findMany({ select: { status: true, report: { select: { appliedGeneration: true } } } });
      return rows.length === 3 && rows.every((r) => r.status === 'online' && r.report !== null);
    }, 'three agents enrolled and reporting', 30_000);
  } catch (err) {
    await Promise.all(Object.values(agents).map((a) => a.kill('SIGKILL')));
    await server.close();
    await t.drop();
    await rm(root, { recursive: true, force: true });
    throw err;
  }

  return {
    t,
    db,
    admin,
    caller,
    consoleUrl,
    underlayPort,
    hostIds,
    agents,
    stateDirs,
    consoleUp: () => server !== null,
    async stopConsole() {
      const s = server;
      server = null;
      await s?.close();
    },
    async startConsole() {
      if (server) return;
      server = await startApiServer({ db: { prisma: db, raw: t.raw }, port: apiPort });
    },
    async restartAgent(name) {
      if (agents[name].child.exitCode === null && agents[name].child.signalCode === null) await agents[name].kill('SIGTERM');
      agents[name] = await spawnOne(name);
      return agents[name];
    },
    async close() {
      await Promise.all(Object.values(agents).map((a) => a.kill('SIGTERM')));
      await server?.close();
      server = null;
      await t.drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Two tiers over the three hosts, and a router on h3 that joins them. */
export function twoTierFarm(name = 'shop'): FarmDocumentInput {
  return {
    version: 'softudc.farm/v1',
    name,
    vnets: [
      { name: 'front', cidr: '10.10.0.0/24' },
      { name: 'back', cidr: '10.20.0.0/24' },
    ],
    vms: [
      { name: 'web-1', host: 'h1', vifs: [{ name: 'eth0', vnet: 'front', ip: '10.10.0.11' }] },
      { name: 'web-2', host: 'h2', vifs: [{ name: 'eth0', vnet: 'front', ip: '10.10.0.12' }] },
      { name: 'app-1', host: 'h3', vifs: [{ name: 'eth0', vnet: 'back', ip: '10.20.0.21' }] },
      { name: 'db-1', host: 'h1', vifs: [{ name: 'eth0', vnet: 'back', ip: '10.20.0.31' }] },
    ],
    routers: [{ name: 'gw', host: 'h3', interfaces: [{ vnet: 'front', ip: '10.10.0.1' }, { vnet: 'back', ip: '10.20.0.1' }] }],
  };
}

/** Generations by host name, as the console stores them. */
export async function generations(db: Db): Promise<Record<string, { desired: number; applied: number }>> {
  const rows = await db.host.findMany({ select: { name: true, desiredGeneration: true, appliedGeneration: true } });
  return Object.fromEntries(rows.map((r) => [r.name, { desired: r.desiredGeneration, applied: r.appliedGeneration }]));
}

/** Waits until every agent's own /v1/state shows the console's desired generation. */
export async function waitConverged(w: ControlWorld, timeoutMs = 20_000): Promise<Record<string, number>> {
  let out: Record<string, number> = {};
  await waitFor(async () => {
    const gens = await generations(w.db);
    const seen = await Promise.all(WORLD_HOSTS.map(async (h) => [h.name, (await w.agents[h.name].state()).appliedGeneration] as const));
    out = Object.fromEntries(seen.map(([n, g]) => [n, g ?? -1]));
    return seen.every(([n, g]) => g === gens[n]!.desired && gens[n]!.applied === gens[n]!.desired);
  }, 'every agent on its desired generation', timeoutMs);
  return out;
}
