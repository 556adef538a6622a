// The desired-state stream carries the stored state field for field. A state
// compiled with sealing keys, a VLAN bridge, a gateway and a bandwidth limit is
// streamed through the real `agent.desired` procedure over HTTP (SSE), into
// the agent's own console link, and what the agent is given to apply must be
// the HostDesiredState row exactly: nothing between the database and the
// agent may drop, add or change a field. And a state the agent would refuse
// is never stored in the first place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleClient, normaliseConsoleUrl } from '../agent/control/client.ts';
import { ControlLink } from '../agent/control/link.ts';
import { silentLogger } from '../agent/log.ts';
import { parseState } from '../agent/state.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { refreshDesiredStates } from '../server/control/desiredState.ts';
import { buildFarm, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let server: ApiServer;
let h1: EnrolledHost;
let h2: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  server = await startApiServer({ db: { prisma: f.db, raw: f.t.raw } });
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
}, 60_000);
afterAll(async () => {
  await server?.close();
  await f?.drop();
});

/** Deploys a farm using every field the stream once dropped; returns h1's stored row. */
async function deployEverything() {
  const api = f.caller(f.operator);
  const farm = await api.farm.create({ name: 'sealed' });
  const front = await api.vnet.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'front', cidr: '10.61.0.0/24', security: 'conf' });
  let rev = front.farmRevision;
  rev = (await api.vm.create({
    farmId: farm.id, expectedRevision: rev, name: 'web-1', hostId: h1.id, bandwidthMbps: 50, burstKb: 64, vifs: [{ vnetId: front.vnet.id }],
  })).farmRevision;
  rev = (await api.vm.create({ farmId: farm.id, expectedRevision: rev, name: 'web-2', hostId: h2.id, vifs: [{ vnetId: front.vnet.id }] })).farmRevision;
  rev = (await api.router.create({ farmId: farm.id, expectedRevision: rev, name: 'r1', hostId: h1.id, interfaces: [{ vnetId: front.vnet.id }] })).farmRevision;
  rev = (await f.caller(f.admin).vnet.setVlan({ id: front.vnet.id, expectedRevision: rev, hostId: h1.id, interface: 'eth1', vid: 300 })).farmRevision;
  await api.farm.deploy({ id: farm.id, expectedRevision: rev });
  return f.db.hostDesiredState.findUniqueOrThrow({ where: { hostId: h1.id }, select: { generation: true, state: true } });
}

describe('agent.desired', () => {
  it('gives a managed agent the stored state exactly: sealing keys, send key, VLAN, gateway and limit included', async () => {
    const stored = await deployEverything();
    type Doc = { vnets: Record<string, unknown>[]; vifs: Record<string, unknown>[] };
    const row = stored.state as unknown as Doc;
    // What the console compiled: every field the old stream dropped is in the row.
    expect(row.vnets[0]).toEqual(expect.objectContaining({ keys: expect.any(Array), sendKeyId: expect.any(Number), vlan: { interface: 'eth1', vid: 300 } }));
    expect((row.vnets[0]!.keys as unknown[]).length).toBeGreaterThan(0);
    expect(row.vifs[0]).toEqual(expect.objectContaining({ gateway: expect.stringMatching(/^10\.61\.0\.\d+$/), limit: { rateMbps: 50, burstKb: 64 } }));

    // A managed agent's console link, over HTTP, with h1's credential; it hands what it receives to `apply`.
    const received: unknown[] = [];
    const link = new ControlLink({
      client: createConsoleClient({ url: normaliseConsoleUrl(server.url), credential: h1.credential }),
      target: {
        apply: async (state) => {
          received.push(state);
          return { generation: (state as { generation: number }).generation, added: [], removed: [], changed: [], errors: [] };
        },
        snapshot: () => null,
      },
      stateDir: null,
      hostName: 'h1',
      logger: silentLogger,
      agentVersion: 'test',
    });
    link.start();
    try {
      const deadline = Date.now() + 15_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await link.stop();
    }
    expect(received).toHaveLength(1);
    expect(received[0]).toEqual(stored.state);
    expect((received[0] as { generation: number }).generation).toBe(stored.generation);

    // And the agent's parser keeps all of it.
    const parsed = parseState(received[0]);
    expect(parsed.vnets[0]).toMatchObject({ keys: row.vnets[0]!.keys, sendKeyId: row.vnets[0]!.sendKeyId, vlan: { interface: 'eth1', vid: 300 } });
    expect(parsed.vifs[0]).toMatchObject({ gateway: row.vifs[0]!.gateway, limit: { rateMbps: 50, burstKb: 64 } });
  }, 60_000);

  it('never stores a state its agent would refuse: the recompute is refused, naming the host and the field', async () => {
    const farm = await buildFarm(f.caller(f.operator), {
      name: 'twins',
      vnets: [{ name: 'n', cidr: '10.62.0.0/24' }],
      vms: [{ name: 'a', hostId: h2.id, vnets: ['n'] }, { name: 'b', hostId: h2.id, vnets: ['n'] }],
    });
    await f.caller(f.operator).farm.deploy({ id: farm.id });
    const before = await f.db.hostDesiredState.findUniqueOrThrow({ where: { hostId: h2.id } });
    // A snapshot damaged behind the console's back: both VMs with one MAC on one vnet.
    const row = await f.db.farmRevision.findFirstOrThrow({ where: { farmId: farm.id }, orderBy: { revision: 'desc' }, select: { id: true, snapshot: true } });
    const doc = row.snapshot as { vms: { vifs: { mac: string }[] }[] };
    doc.vms[1]!.vifs[0]!.mac = doc.vms[0]!.vifs[0]!.mac;
    await f.db.farmRevision.update({ where: { id: row.id }, data: { snapshot: doc as object } });
    const err = await refreshDesiredStates({ db: f.db }).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'BAD_REQUEST', field: 'id' });
    expect((err as Error).message).toMatch(/^id: host h2 would refuse its new state \(vifs\[\d\]\.mac: MAC .* is used twice on vnet \d+\); nothing was deployed$/);
    expect(await f.db.hostDesiredState.findUniqueOrThrow({ where: { hostId: h2.id } })).toEqual(before);
  }, 60_000);
});
