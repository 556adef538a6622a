// The control loop when things break: the console goes away, an agent dies,
// the database becomes unreachable, a host credential reaches for another
// host. Real console (server/serve/http.ts), real database, real agent processes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleClient, errorCode, normaliseConsoleUrl, type ConsoleClient } from '../agent/control/client.ts';
import { openDatabase, type OpenedDatabase } from '../server/db/index.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { createApiToken } from '../server/identity/apiTokens.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';
import type { UserActor } from '../server/trpc/init.ts';
import { startControlWorld, twoTierFarm, waitConverged, generations, type ControlWorld } from './control-world.ts';
import { createTestDb, type TestDb } from './db.ts';
import { waitFor } from './managed-agent.ts';
import { prerequisite } from './require.ts';
import { TcpProxy } from './tcp-proxy.ts';

let w: ControlWorld;
let farmId: string;

beforeAll(async () => {
  w = await startControlWorld();
  farmId = (await w.caller.farm.import({ document: twoTierFarm(), vnids: 'auto' })).id;
  const r = await w.caller.farm.deploy({ id: farmId, wait: true, timeoutMs: 30_000 });
  if (!r.progress.complete) throw new Error('initial deploy did not complete');
}, 120_000);
afterAll(async () => {
  await w?.close();
});

async function vifId(host: 'h1' | 'h2' | 'h3', vm: string): Promise<string> {
  const v = (await w.agents[host].state()).vifs.find((x) => x.name?.endsWith(`/${vm}/eth0`));
  if (!v) throw new Error(`${host} runs no VIF of ${vm}`);
  return v.id;
}

/** Changes web-2's address and deploys without waiting (the agents may be unreachable). */
async function changeWeb2(ip: string): Promise<number> {
  const farm = await w.caller.farm.get({ id: farmId });
  const vm = farm.vms.find((v) => v.name === 'web-2')!;
  await w.caller.vif.update({ id: vm.vifs[0]!.id, expectedRevision: farm.revision, ip });
  const r = await w.caller.farm.deploy({ id: farmId });
  return r.deployment.targets.find((t) => t.host === 'h2')!.generation;
}

async function credentialOf(host: 'h1' | 'h2' | 'h3'): Promise<string> {
  return (JSON.parse(await readFile(join(w.stateDirs[host], 'credential.json'), 'utf8')) as { credential: string }).credential;
}

describe('control loop failures', () => {
  // Each case starts with the console up, whatever the previous one left behind.
  beforeEach(async () => {
    await w.startConsole();
  });

  it('keeps forwarding while the console is down, then reconnects and resyncs a change made meanwhile', async () => {
    const web1 = await vifId('h1', 'web-1');
    await w.stopConsole();
    await waitFor(() => w.agents.h2.logs.some((l) => l.msg?.startsWith('console link down')), 'h2 noticing the console is gone', 10_000);

    const p = await w.agents.h1.ping(web1, '10.10.0.12', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(p.received, 'forwarding without the console').toBe(3);

    // A deploy recorded while no agent can hear of it.
    const gen = await changeWeb2('10.10.0.14');
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await w.agents.h2.state()).appliedGeneration).toBeLessThan(gen);

    await w.startConsole();
    await waitConverged(w, 30_000);
    expect((await w.agents.h2.state()).appliedGeneration).toBe(gen);
    const q = await w.agents.h1.ping(web1, '10.10.0.14', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(q.received).toBe(3);

    // And the link is live again: a new deploy reaches the agent while we wait for it.
    const farm = await w.caller.farm.get({ id: farmId });
    const vm = farm.vms.find((v) => v.name === 'web-2')!;
    await w.caller.vif.update({ id: vm.vifs[0]!.id, expectedRevision: farm.revision, ip: '10.10.0.12' });
    const r = await w.caller.farm.deploy({ id: farmId, wait: true, timeoutMs: 30_000 });
    expect(r.progress.complete).toBe(true);
  }, 120_000);

  it('restarts a killed agent from its persisted state before it can reach the console, then resyncs', async () => {
    const web1 = await vifId('h1', 'web-1');
    const gens = await generations(w.db);
    await w.stopConsole();
    const code = await w.agents.h2.kill('SIGKILL');
    expect(code).toBeNull();

    const h2 = await w.restartAgent('h2');
    // No console: whatever runs now comes from the state directory.
    const s = await h2.state();
    expect(s.appliedGeneration).toBe(gens.h2!.desired);
    expect(s.vifs.map((v) => v.id)).toContain(await vifId('h2', 'web-2'));
    expect(h2.logs.some((l) => l.msg === 'forwarding from the persisted state')).toBe(true);
    expect(h2.logs.some((l) => l.msg === 'console link up')).toBe(false);
    const web2 = await vifId('h2', 'web-2');
    const out = await h2.ping(web2, '10.10.0.11', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(out.received, 'web-2 (restarted h2) -> web-1 (h1)').toBe(3);
    const back = await w.agents.h1.ping(web1, '10.10.0.12', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(back.received, 'web-1 (h1) -> web-2 (restarted h2)').toBe(3);

    const gen = await changeWeb2('10.10.0.15');
    await w.startConsole();
    await waitFor(async () => (await h2.state()).appliedGeneration === gen, 'restarted h2 resyncing', 30_000);
    await waitConverged(w, 30_000);
    expect((await w.agents.h1.ping(web1, '10.10.0.15', { count: 2, intervalMs: 50, timeoutMs: 3_000 })).received).toBe(2);
  }, 120_000);

  it("never lets one host's credential read or report another host's state", async () => {
    const cred1 = await credentialOf('h1');
    const client = createConsoleClient({ url: w.consoleUrl, credential: cred1 });

    // The stream has no host parameter; whatever is slipped in, it is h1's own state.
    const first = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error('no desired state within 10 s'));
      }, 10_000);
      const sub = client.subscription('agent.desired', { hostId: w.hostIds.h2, host: 'h2' }, {
        onData: (v) => {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(v);
        },
        onError: (e) => {
          clearTimeout(timer);
          sub.unsubscribe();
          reject(e);
        },
      });
    });
    const body = (first as { data?: { state: { host: string } } }).data ?? (first as { state: { host: string } });
    expect(body.state.host).toBe('h1');

    // User procedures refuse a host credential, so host.report (another host's live state) is out of reach.
    for (const [path, input] of [
      ['host.report', { id: w.hostIds.h2 }],
      ['host.get', { id: w.hostIds.h2 }],
      ['farm.get', { id: farmId }],
    ] as const) {
      const err = await client.query(path, input).then(() => null, (e: unknown) => e);
      expect(err, `${path} with a host credential`).not.toBeNull();
      expect(['UNAUTHORIZED', 'FORBIDDEN']).toContain(errorCode(err));
    }

    // A report always lands on the credential's own host.
    const h2Before = await w.db.host.findUnique({ where: { id: w.hostIds.h2 }, select: { agentVersion: true } });
    await client.mutation('agent.report', {
      hostId: w.hostIds.h2, appliedGeneration: 0, agentVersion: 'forged', uptimeS: 0, vifs: [], varp: [], counters: {},
      health: { status: 'ok', messages: [] }, applyError: null,
    }).catch(() => undefined);
    const h2After = await w.db.host.findUnique({ where: { id: w.hostIds.h2 }, select: { agentVersion: true } });
    expect(h2After).toEqual(h2Before);
    expect(h2After?.agentVersion).not.toBe('forged');

    // A revoked credential reads nothing more; the agent keeps forwarding from what it has.
    const cred3 = await credentialOf('h3');
    await w.caller.host.revokeCredential({ id: w.hostIds.h3 });
    await waitFor(() => w.agents.h3.logs.some((l) => String(l.msg).includes('refused this host credential')), 'h3 told it is revoked', 15_000);
    const revoked = createConsoleClient({ url: w.consoleUrl, credential: cred3 });
    const err = await revoked.mutation('agent.report', {
      appliedGeneration: 0, agentVersion: 'x', uptimeS: 0, vifs: [], varp: [], counters: {}, health: { status: 'ok', messages: [] }, applyError: null,
    }).then(() => null, (e: unknown) => e);
    expect(errorCode(err)).toBe('UNAUTHORIZED');
    const db1 = await vifId('h1', 'db-1');
    expect((await w.agents.h1.ping(db1, '10.20.0.21', { count: 2, intervalMs: 50, timeoutMs: 3_000 })).received).toBe(2);
  }, 60_000);
});

const pgUrl = process.env.DATABASE_URL;
const havePostgres = prerequisite(!!pgUrl, 'DATABASE_URL is unset: the database-unreachable test needs a Postgres server it can cut off');

describe.skipIf(!havePostgres)('database unreachable', () => {
  let t: TestDb;
  let proxy: TcpProxy;
  let consoleDb: OpenedDatabase;
  let server: ApiServer;
  let api: ConsoleClient;
  let hostId: string;

  beforeAll(async () => {
    t = await createTestDb();
    const db = t.prisma;
    const tenant = await db.tenant.create({ data: { name: 'cut' }, select: { id: true } });
    const user = await db.user.create({ data: { tenantId: tenant.id, username: 'admin', role: 'admin', passwordHash: 'x' }, select: { id: true } });
    const admin: UserActor = { kind: 'user', userId: user.id, tenantId: tenant.id, username: 'admin', role: 'admin' };
    const { token } = await createApiToken({ db, actor: admin, name: 'test', role: 'admin' });
    const host = await db.host.create({ data: { name: 'h1', address: '127.0.0.2' }, select: { id: true } });
    hostId = host.id;
    // The console reaches Postgres only through the proxy; the test checks the rows directly.
    const target = new URL(t.url!);
    proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    consoleDb = await openDatabase({ databaseUrl: proxy.urlFor(t.url!), migrate: false, poolSize: 4 });
    server = await startApiServer({ db: { prisma: consoleDb.prisma, raw: consoleDb.raw } });
    api = createConsoleClient({ url: normaliseConsoleUrl(server.url), credential: token, timeoutMs: 20_000 });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    proxy?.cut();
    await consoleDb?.close().catch(() => undefined);
    await t?.drop();
  });

  function bigFarm(name: string): FarmDocumentInput {
    return {
      version: 'softudc.farm/v1',
      name,
      vnets: [{ name: 'net', cidr: '10.50.0.0/16' }],
      vms: Array.from({ length: 200 }, (_, i) => ({ name: `vm-${i}`, host: 'h1', vifs: [{ name: 'eth0', vnet: 'net' }] })),
    };
  }

  async function rowsOf(db: TestDb['prisma']) {
    return {
      farms: await db.farm.findMany({ select: { id: true, name: true, revision: true, deployedRevision: true }, orderBy: { id: 'asc' } }),
      vnets: await db.vnet.count(),
      vms: await db.vm.count(),
      vifs: await db.vif.count(),
      revisions: await db.farmRevision.count(),
      deployments: await db.deployment.count(),
      desired: await db.hostDesiredState.findMany({ orderBy: { hostId: 'asc' } }),
      hosts: await db.host.findMany({ select: { id: true, desiredGeneration: true }, orderBy: { id: 'asc' } }),
      audit: await db.auditLog.count(),
    };
  }

  async function expectUnavailable(call: Promise<unknown>, what: string): Promise<void> {
    const err = await call.then(() => null, (e: unknown) => e);
    expect(err, `${what} succeeded without a database`).not.toBeNull();
    expect(errorCode(err), `${what}: ${(err as Error).message}`).toBe('SERVICE_UNAVAILABLE');
    expect((err as Error).message).toMatch(/database/i);
  }

  it('fails an import cut off halfway with SERVICE_UNAVAILABLE and leaves no partial farm', async () => {
    expect(await api.query('farm.list', {})).toBeTruthy();
    const before = await rowsOf(t.prisma);

    // Bulk rows go by unnest() (server/db/bulkInsert.ts), not through Prisma: no schema prefix.
    const cut = proxy.cutOn(/INSERT INTO (?:"public"\.)?"Vm"/);
    await expectUnavailable(api.mutation('farm.import', { document: bigFarm('half') }), 'farm.import');
    await cut;
    // While Postgres stays unreachable every call says so.
    await expectUnavailable(api.query('farm.list', {}), 'farm.list');

    expect(await rowsOf(t.prisma)).toEqual(before);
    expect(await t.prisma.farm.count({ where: { name: 'half' } })).toBe(0);

    await proxy.resume();
    await waitFor(async () => !!(await api.query('farm.list', {})), 'the console reaching Postgres again', 20_000, 200);
    const farm = (await api.mutation('farm.import', { document: bigFarm('half') })) as { id: string };
    expect(await t.prisma.vm.count({ where: { farmId: farm.id } })).toBe(200);
  }, 60_000);

  it('fails a deploy cut off halfway and leaves generations, desired states and deployments as they were', async () => {
    await proxy.resume();
    const farm = (await api.mutation('farm.import', { document: { ...bigFarm('staged'), vnets: [{ name: 'net', cidr: '10.60.0.0/16' }] } })) as { id: string };
    const before = await rowsOf(t.prisma);

    const cut = proxy.cutOn(/INSERT INTO "public"\."Deployment"/);
    await expectUnavailable(api.mutation('farm.deploy', { id: farm.id }), 'farm.deploy');
    await cut;
    expect(await rowsOf(t.prisma)).toEqual(before);

    await proxy.resume();
    await waitFor(async () => !!(await api.query('farm.list', {})), 'the console reaching Postgres again', 20_000, 200);
    await api.mutation('farm.deploy', { id: farm.id });
    const h = await t.prisma.host.findUniqueOrThrow({ where: { id: hostId }, select: { desiredGeneration: true } });
    expect(h.desiredGeneration).toBeGreaterThan(before.hosts.find((x) => x.id === hostId)!.desiredGeneration);
  }, 60_000);
});
