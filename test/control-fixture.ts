// Fixture for the control-loop tests: a fresh database (Postgres with
// DATABASE_URL, else in-memory PGlite) with its event bus attached, tenants
// A and B with users of every role, callers through the real root router,
// enrolled hosts (real credentials, host actors), and a small farm builder
// that goes through the public API like a client would.
import { expect } from 'vitest';
import { TRPCError } from '@trpc/server';
import { createTestDb, type TestDb } from './db.ts';
import type { Db } from '../server/db/index.ts';
import { attachEventBus, detachEventBus, type EventBus } from '../server/events/index.ts';
import { appRouter } from '../server/routers/_app.ts';
import { stopLivenessSweep } from '../server/control/hostLiveness.ts';
import { createCallerFactory, type Context, type HostActor, type UserActor } from '../server/trpc/init.ts';
import type { Role } from '../server/auth/actors.ts';

const createCaller = createCallerFactory(appRouter);
export type Caller = ReturnType<typeof createCaller>;

/** A caller on another Prisma client (a second console process on the same database). */
export function callerOn(db: Db, actor: Context['actor']): Caller {
  return createCaller({ db, actor });
}

export interface EnrolledHost {
  id: string;
  name: string;
  address: string;
  credential: string;
  actor: HostActor;
}

export interface ControlFixture {
  t: TestDb;
  db: Db;
  bus: EventBus;
  tenantA: string;
  tenantB: string;
  admin: UserActor;
  operator: UserActor;
  viewer: UserActor;
  otherOperator: UserActor;
  caller(actor: Context['actor'], signal?: AbortSignal): Caller;
  host(name: string, address: string): Promise<EnrolledHost>;
  drop(): Promise<void>;
}

export async function setupControl(): Promise<ControlFixture> {
  const t = await createTestDb();
  const db = t.prisma;
  const bus = await attachEventBus(db, t.raw);
  const a = await db.tenant.create({ data: { name: 'tenant-a' }, select: { id: true } });
  const b = await db.tenant.create({ data: { name: 'tenant-b' }, select: { id: true } });
  const mk = async (tenantId: string, username: string, role: Role): Promise<UserActor> => {
    // A hash that matches no password: these users act only through callers.
    const u = await db.user.create({ data: { tenantId, username, role, passwordHash: 'x' }, select: { id: true } });
    return { kind: 'user', userId: u.id, tenantId, username, role };
  };
  const admin = await mk(a.id, 'alice-admin', 'admin');
  const caller = (actor: Context['actor'], signal?: AbortSignal) => createCaller({ db, actor }, { signal });
  return {
    t,
    db,
    bus,
    tenantA: a.id,
    tenantB: b.id,
    admin,
    operator: await mk(a.id, 'oscar-operator', 'operator'),
    viewer: await mk(a.id, 'victor-viewer', 'viewer'),
    otherOperator: await mk(b.id, 'olga-other', 'operator'),
    caller,
    async host(name, address) {
      const created = await caller(admin).host.create({ name, address });
      const enrolled = await caller(null).host.enroll({ token: created.enrollmentToken, agentVersion: 'test' });
      return {
        id: enrolled.hostId,
        name,
        address,
        credential: enrolled.credential,
        actor: { kind: 'host', hostId: enrolled.hostId, hostName: enrolled.hostName },
      };
    },
    async drop() {
      stopLivenessSweep(db);
      await detachEventBus(db);
      await t.drop();
    },
  };
}

export interface BuiltFarm {
  id: string;
  revision: number;
  vnets: Record<string, { id: string; vnid: number }>;
  vms: Record<string, { id: string; vifIds: string[] }>;
}

/** A farm through the API: vnets by name and CIDR, VMs by name with a host and the vnets of their VIFs. */
export async function buildFarm(
  caller: Caller,
  spec: { name: string; vnets: { name: string; cidr: string; vnid?: number; security?: 'none' | 'auth' | 'conf' }[]; vms: { name: string; hostId: string | null; vnets: string[] }[] },
): Promise<BuiltFarm> {
  const farm = await caller.farm.create({ name: spec.name });
  let revision = farm.revision;
  const vnets: BuiltFarm['vnets'] = {};
  for (const v of spec.vnets) {
    const r = await caller.vnet.create({ farmId: farm.id, expectedRevision: revision, name: v.name, cidr: v.cidr, vnid: v.vnid, security: v.security });
    revision = r.farmRevision;
    vnets[v.name] = { id: r.vnet.id, vnid: r.vnet.vnid };
  }
  const vms: BuiltFarm['vms'] = {};
  for (const vm of spec.vms) {
    const r = await caller.vm.create({
      farmId: farm.id,
      expectedRevision: revision,
      name: vm.name,
      hostId: vm.hostId,
      vifs: vm.vnets.map((n) => ({ vnetId: vnets[n]!.id })),
    });
    revision = r.farmRevision;
    vms[vm.name] = { id: r.vm.id, vifIds: r.vm.vifs.map((v) => v.id) };
  }
  return { id: farm.id, revision, vnets, vms };
}

/** Awaits a call that must fail with `code`. */
export async function refusedWith(call: Promise<unknown>, code: TRPCError['code']): Promise<TRPCError> {
  let err: unknown = null;
  try {
    await call;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code} but the call succeeded`).toBeInstanceOf(TRPCError);
  expect((err as TRPCError).code).toBe(code);
  return err as TRPCError;
}

/** Every control-loop row, to prove a call wrote nothing. */
export async function controlSnapshot(db: Db): Promise<unknown> {
  return {
    hosts: await db.host.findMany({ select: { id: true, desiredGeneration: true, appliedGeneration: true, status: true }, orderBy: { id: 'asc' } }),
    desired: await db.hostDesiredState.findMany({ orderBy: { hostId: 'asc' } }),
    deployments: await db.deployment.findMany({ orderBy: { id: 'asc' } }),
    revisions: await db.farmRevision.findMany({ select: { id: true, farmId: true, revision: true }, orderBy: { id: 'asc' } }),
    farms: await db.farm.findMany({ select: { id: true, revision: true, deployedRevision: true }, orderBy: { id: 'asc' } }),
    audit: await db.auditLog.count(),
    vnetKeys: await db.vnetKey.findMany({ select: { id: true, retiredAt: true }, orderBy: { id: 'asc' } }),
    secrets: await db.deploymentSecret.findMany({ select: { name: true, updatedAt: true }, orderBy: { name: 'asc' } }),
    locations: await db.vmLocation.findMany({ orderBy: { vmId: 'asc' } }),
    parts: await db.farmContribution.findMany({ orderBy: { farmId: 'asc' } }),
  };
}

/** A well-formed agent report saying `appliedGeneration` was applied. */
export function agentReport(appliedGeneration: number, applyError: { generation: number; message: string } | null = null) {
  return {
    appliedGeneration,
    agentVersion: 'test-agent/1',
    uptimeS: 12,
    vifs: [],
    varp: [],
    counters: { 'frames.tx': 1 },
    health: { status: 'ok' as const, messages: [] },
    applyError,
  };
}
