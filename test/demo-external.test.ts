// The demo's external network (scripts/demo-external.ts): made only as root
// with its interface present, once; the demo router's host then carries the
// leg on sdxdemo-ext with floating IPs for the web servers. And the demo seeds
// on a freshly migrated embedded database, as `npm start` opens it (enum
// columns of bulk inserts once reached it as "none,none").
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_UPLINK, demoExternalUnavailable, ensureDemoExternal } from '../scripts/demo-external.ts';
import { ensureLocalHosts, seedDemoFarm } from '../scripts/demo-seed.ts';
import { openDatabase, type OpenedDatabase } from '../server/db/index.ts';
import type { HostState } from '../server/compile/index.ts';
import { ensureAdmin } from '../server/serve/bootstrap.ts';

let db: OpenedDatabase;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'softudc-demo-ext-'));
  db = await openDatabase({ databaseUrl: '', dataDir: 'memory://' });
  await ensureAdmin(db.prisma, { password: 'demo-external-test-password', log: () => {} });
}, 60_000);
afterAll(async () => {
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('demo external network', () => {
  it('seeds the example farms on a freshly migrated embedded database', async () => {
    await ensureLocalHosts(db.prisma, { agentsDir: dir, log: () => {} });
    expect(await seedDemoFarm(db.prisma, { log: () => {} })).toBe('seeded');
  });

  it('is skipped with a reason when not root or without its interface', async () => {
    expect(demoExternalUnavailable({ root: false })).toMatch(/not run as root/);
    expect(demoExternalUnavailable({ root: true, interfaceExists: false })).toMatch(/sdxdemo-ext is missing/);
    const lines: string[] = [];
    expect(await ensureDemoExternal(db.prisma, { log: (m) => lines.push(m), root: false })).toEqual([]);
    expect(lines).toEqual([expect.stringMatching(/^demo external network skipped: .*root/)]);
    expect(await db.prisma.externalNetwork.count()).toBe(0);
  });

  it('as root: a network bound on local-2, the router leg with floating IPs for web-1 and web-2, deployed; once', async () => {
    const ips = await ensureDemoExternal(db.prisma, { log: () => {}, root: true, interfaceExists: true });
    expect(ips).toEqual(['198.19.200.11', '198.19.200.12']);
    expect(await ensureDemoExternal(db.prisma, { log: () => {}, root: true, interfaceExists: true })).toEqual(ips);
    expect(await db.prisma.externalLeg.count()).toBe(1);
    const host = await db.prisma.host.findUniqueOrThrow({ where: { name: DEMO_UPLINK.host }, select: { id: true } });
    const state = (await db.prisma.hostDesiredState.findUniqueOrThrow({ where: { hostId: host.id }, select: { state: true } })).state as unknown as HostState;
    expect(state.vnets.find((v) => v.external)?.external).toMatchObject({ interface: DEMO_UPLINK.hostIf, vid: null });
    const gw = state.routers.find((r) => r.name === 'demo/gw')!;
    const leg = gw.interfaces.find((i) => i.nat)!;
    expect(leg.ip).toBe('198.19.200.10/24');
    expect(leg.nat?.floatingIps.map((f) => f.external).sort()).toEqual(ips);
    expect(gw.staticRoutes).toContainEqual(expect.objectContaining({ destination: '0.0.0.0/0', nextHop: DEMO_UPLINK.gateway }));
  });
});
