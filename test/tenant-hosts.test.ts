// Two tenants on shared hosts cannot touch each other's forwarding through
// the names they choose. Hosts used to know a farm by its name, or by
// `<tenant>.<farm>` when two deployed farms shared one, and farm names may
// contain "."; so tenant "evil" deploying farms "default.zoo" and "zoo" next
// to tenant "default"'s "zoo" put duplicate VIF ids on a host, whose agent
// then refused every later state (A's deploys timed out), and A's
// router.inspect of its own router answered with B's. Everything on hosts is
// now named by database ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';
import { callerOn, type Caller } from './control-fixture.ts';
import { startControlWorld, waitConverged, WORLD_HOSTS, type ControlWorld } from './control-world.ts';

let w: ControlWorld;
let evil: Caller;

beforeAll(async () => {
  w = await startControlWorld({ tenantName: 'default' });
  const tenant = await w.db.tenant.create({ data: { name: 'evil' }, select: { id: true } });
  const user = await w.db.user.create({ data: { tenantId: tenant.id, username: 'mallory', role: 'operator', passwordHash: 'x' }, select: { id: true } });
  evil = callerOn(w.db, { kind: 'user', userId: user.id, tenantId: tenant.id, username: 'mallory', role: 'operator' });
}, 90_000);
afterAll(async () => {
  await w?.close();
});

/** The same farm for everyone (same VM, router and VIF names), on its own addresses 10.<net>.0.0/23. */
function zoo(name: string, net: number): FarmDocumentInput {
  return {
    version: 'softudc.farm/v1',
    name,
    vnets: [
      { name: 'lan', cidr: `10.${net}.0.0/24` },
      { name: 'dmz', cidr: `10.${net}.1.0/24` },
    ],
    vms: [
      { name: 'web-1', host: 'h1', vifs: [{ name: 'eth0', vnet: 'lan', ip: `10.${net}.0.10` }] },
      { name: 'web-2', host: 'h2', vifs: [{ name: 'eth0', vnet: 'lan', ip: `10.${net}.0.11` }] },
    ],
    routers: [{ name: 'gw', host: 'h1', interfaces: [{ vnet: 'lan', ip: `10.${net}.0.1` }, { vnet: 'dmz', ip: `10.${net}.1.1` }] }],
  };
}

async function deploy(api: Caller, name: string, net: number): Promise<string> {
  const farm = await api.farm.import({ document: zoo(name, net), vnids: 'auto' });
  const r = await api.farm.deploy({ id: farm.id, wait: true, timeoutMs: 20_000 });
  expect(r.timedOut, `${name}: applied on every host`).toBe(false);
  expect(r.missing).toEqual([]);
  return farm.id;
}

describe('farms of two tenants on shared hosts', () => {
  it('tenant B deploys "default.zoo" and "zoo" beside tenant A ("default"): A still deploys, inspects its own router, and forwards', async () => {
    const mine = w.caller;
    await deploy(evil, 'default.zoo', 62);
    await deploy(evil, 'zoo', 63);
    const zooA = await deploy(mine, 'zoo', 61);

    // Every agent applied the newest state of its host; none refused one.
    await waitConverged(w);
    for (const h of WORLD_HOSTS) {
      const report = await mine.host.report({ id: w.hostIds[h.name] });
      expect(report.report?.applyError ?? null, h.name).toBeNull();
      const state = await w.agents[h.name].state();
      expect(new Set(state.vifs.map((v) => v.id)).size, `${h.name}: VIF ids`).toBe(state.vifs.length);
      expect(state.vifs.every((v) => v.status === 'up'), `${h.name}: VIFs up`).toBe(true);
    }
    expect((await w.agents.h1.state()).vifs).toHaveLength(3); // web-1 of each of the three farms

    // A's router.inspect answers with A's router, run by A's agent entry.
    const detail = await mine.farm.get({ id: zooA });
    const gw = detail.routers[0]!;
    const r = await mine.router.inspect({ id: gw.id });
    expect(r.router).toMatchObject({ id: gw.id, agentId: gw.id, farmId: zooA, host: { name: 'h1' } });
    expect(r.view.id).toBe(gw.id);
    expect(r.view.interfaces.map((i) => i.ip).sort()).toEqual(['10.61.0.1/24', '10.61.1.1/24']);

    // And A's guests reach each other across hosts.
    const web1 = detail.vms.find((v) => v.name === 'web-1')!.vifs[0]!.id;
    const ping = await w.agents.h1.ping(web1, '10.61.0.11', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(ping.received, "A's web-1 (h1) -> A's web-2 (h2)").toBe(3);
  }, 120_000);
});
