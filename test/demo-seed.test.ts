// The seeded demo data: the local hosts and both example farms ("demo" and
// the three-tier "dmz") are created and deployed once, and the DMZ's
// firewall does what its rules say when the seeded desired states run in
// real agents on loopback: the web tier reachable, the app tier only from
// the web tier, the database not from the web tier, everything else dropped
// and counted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../agent/daemon/agent.ts';
import { EmulatedGuest } from '../agent/guests/index.ts';
import { silentLogger } from '../agent/log.ts';
import { DMZ_FARM, DMZ_NETS, DEMO_FARM, ensureLocalHosts, LOCAL_HOSTS, seedDemoFarm } from '../scripts/demo-seed.ts';
import type { HostState } from '../server/compile/index.ts';
import { createTestDb, type TestDb } from './db.ts';
import { freeCommonUdpPort } from './managed-agent.ts';

let t: TestDb;
let dir: string;
const agents: Agent[] = [];

beforeAll(async () => {
  t = await createTestDb();
  const tenant = await t.prisma.tenant.create({ data: { name: 'default' }, select: { id: true } });
  await t.prisma.user.create({ data: { tenantId: tenant.id, username: 'admin', role: 'admin', passwordHash: 'x' }, select: { id: true } });
  dir = await mkdtemp(join(tmpdir(), 'softudc-seed-'));
}, 30_000);
afterAll(async () => {
  for (const a of agents.splice(0)) await a.stop();
  await t?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const quiet = () => {};

describe('demo seed', () => {
  it('creates the local hosts and deploys both example farms once', async () => {
    const plans = await ensureLocalHosts(t.prisma, { agentsDir: dir, log: quiet });
    expect(plans.map((p) => p.name)).toEqual(LOCAL_HOSTS.map((h) => h.name));
    expect(await seedDemoFarm(t.prisma, { log: quiet })).toBe('seeded');
    const farms = await t.prisma.farm.findMany({ select: { name: true, deployedRevision: true }, orderBy: { name: 'asc' } });
    expect(farms).toEqual([{ name: DEMO_FARM, deployedRevision: 1 }, { name: DMZ_FARM, deployedRevision: 1 }]);
    expect(await seedDemoFarm(t.prisma, { log: quiet })).toBe('already');
    expect(await t.prisma.farm.count()).toBe(2);

    const fw = await firewallState();
    expect(fw).toMatchObject({ name: 'dmz/edge', defaultPolicy: 'deny' });
    expect(fw.interfaces.map((i) => [i.name, i.ip]).sort()).toEqual([['app', '10.50.2.1/24'], ['db', '10.50.3.1/24'], ['outside', '10.50.1.1/24']]);
    expect(fw.rules).toHaveLength(5);
    // The firewall is every tier's gateway.
    const vifs = (await states()).flatMap((s) => s.vifs).filter((v) => v.name.startsWith('dmz/'));
    expect(vifs.map((v) => [v.name, v.gateway]).sort()).toEqual([
      ['dmz/api-1/eth0', '10.50.2.1'], ['dmz/pg-1/eth0', '10.50.3.1'], ['dmz/www-1/eth0', '10.50.1.1'], ['dmz/www-2/eth0', '10.50.1.1'],
    ]);
  });

  it('runs in real agents: only the flows the rules allow pass, the rest is dropped and counted', async () => {
    const port = await freeCommonUdpPort(LOCAL_HOSTS.map((h) => h.address));
    for (const s of await states()) {
      const a = new Agent({ state: { ...s, underlay: { ...s.underlay, port } }, logger: silentLogger });
      agents.push(a);
      expect((await a.start()).errors).toEqual([]);
    }
    const idOf = new Map((await states()).flatMap((s) => s.vifs).map((v) => [v.name, v.id]));
    const byVif = (name: string): EmulatedGuest => {
      for (const a of agents) {
        const g = a.guest(idOf.get(name) ?? name);
        if (g instanceof EmulatedGuest) return g;
      }
      throw new Error(`no agent runs ${name}`);
    };
    const www1 = byVif('dmz/www-1/eth0');
    const api1 = byVif('dmz/api-1/eth0');
    const pg1 = byVif('dmz/pg-1/eth0');
    const ping = async (from: EmulatedGuest, to: string, timeoutMs = 2_000) => (await from.ping(to, { count: 2, intervalMs: 20, timeoutMs })).received;

    expect(DMZ_NETS.web).toBe('10.50.1.0/24');
    expect(await ping(www1, '10.50.1.12'), 'web to web: same vnet').toBe(2);
    expect(await ping(www1, '10.50.2.21'), 'web to app').toBe(2);
    expect(await ping(api1, '10.50.1.11'), 'app to web (ping the web tier)').toBe(2);
    expect(await ping(pg1, '10.50.1.11'), 'db to web (ping the web tier)').toBe(2);
    const echo = await www1.udpStream('10.50.2.21', { packets: 20, size: 64, port: 7 });
    expect(echo.echoed, 'web to app, UDP').toBe(20);

    const fwId = (await firewallState()).id;
    const fwNode = agents.map((a) => a.nodes.firewall(fwId)).find((x) => x !== undefined)!;
    const before = fwNode.view();
    expect(await ping(api1, '10.50.3.31', 300), 'app to db: only tcp/5432').toBe(0);
    expect(await ping(www1, '10.50.3.31', 300), 'web to db').toBe(0);
    expect(await ping(pg1, '10.50.2.21', 300), 'db to app').toBe(0);
    const denied = await api1.udpStream('10.50.3.31', { packets: 5, size: 64, port: 7 });
    expect(denied.echoed, 'app to db, UDP').toBe(0);
    const after = fwNode.view();
    expect(after.defaultHits - before.defaultHits).toBeGreaterThanOrEqual(4);
    expect((after.counters['dropped_packets_total{reason="filtered"}'] ?? 0) - (before.counters['dropped_packets_total{reason="filtered"}'] ?? 0))
      .toBeGreaterThanOrEqual(6 + 5);
    const hits = after.rules.map((r) => r.hits);
    expect(hits[2], 'icmp to web').toBeGreaterThanOrEqual(2);
    expect(hits[3], 'web to app').toBeGreaterThanOrEqual(2);
    expect(hits[4], 'tcp/5432 from app: no such flow here').toBe(0);
  }, 60_000);

  it('a deleted example farm stays deleted; a console seeded before the DMZ existed gets it once', async () => {
    await t.prisma.farm.deleteMany({ where: { name: DMZ_FARM } });
    expect(await seedDemoFarm(t.prisma, { log: quiet })).toBe('already');
    expect(await t.prisma.farm.count({ where: { name: DMZ_FARM } })).toBe(0);
    await t.prisma.auditLog.deleteMany({ where: { action: 'demo.seed.dmz' } });
    expect(await seedDemoFarm(t.prisma, { log: quiet })).toBe('seeded');
    expect(await t.prisma.farm.findMany({ select: { name: true }, orderBy: { name: 'asc' } })).toEqual([{ name: DEMO_FARM }, { name: DMZ_FARM }]);
  });
});

async function states(): Promise<HostState[]> {
  const rows = await t.prisma.hostDesiredState.findMany({ select: { state: true }, orderBy: { hostId: 'asc' } });
  return rows.map((r) => r.state as unknown as HostState);
}

async function firewallState() {
  const fw = (await states()).flatMap((s) => s.firewalls).find((f) => f.name === 'dmz/edge');
  if (!fw) throw new Error('no host runs dmz/edge');
  return fw;
}
