// Agents' reports alone finish a deployment (server/control/agentLink.ts
// handleReport: the report statement keeps the deployment's count of missing
// targets): with nobody watching its progress, the deployment is marked
// complete by the report of the last target host, not before, and announced
// once; a report of an older generation counts the host missing again. A
// revoked host's report is refused and stores nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentProgress } from '../server/control/deploy.ts';
import { agentReport, buildFarm, refusedWith, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('c1', '127.0.0.2');
  h2 = await f.host('c2', '127.0.0.3');
}, 60_000);
afterAll(() => f?.drop());

const completedAt = async (id: string) =>
  (await f.db.deployment.findUniqueOrThrow({ where: { id }, select: { completedAt: true } })).completedAt;
const generationOf = async (h: EnrolledHost) =>
  (await f.db.host.findUniqueOrThrow({ where: { id: h.id }, select: { desiredGeneration: true } })).desiredGeneration;

describe('reports finish a deployment', () => {
  it('the last target host to report its generation completes it, with nobody watching', async () => {
    const farm = await buildFarm(f.caller(f.operator), {
      name: 'done',
      vnets: [{ name: 'n', cidr: '10.60.0.0/24' }],
      vms: [
        { name: 'a', hostId: h1.id, vnets: ['n'] },
        { name: 'b', hostId: h2.id, vnets: ['n'] },
      ],
    });
    const d = await f.caller(f.operator).farm.deploy({ id: farm.id });
    const id = d.deployment.id;
    const g1 = await generationOf(h1);
    const g2 = await generationOf(h2);

    expect(await f.caller(h1.actor).agent.report(agentReport(g1))).toEqual({ desiredGeneration: g1 });
    expect(await completedAt(id)).toBeNull();
    // An older generation from the other host: still missing.
    await f.caller(h2.actor).agent.report(agentReport(g2 - 1));
    expect(await completedAt(id)).toBeNull();
    await f.caller(h2.actor).agent.report(agentReport(g2));
    expect(await completedAt(id)).toBeInstanceOf(Date);
    const host = await f.db.host.findUniqueOrThrow({ where: { id: h2.id }, select: { appliedGeneration: true, status: true, agentVersion: true } });
    expect(host).toMatchObject({ appliedGeneration: g2, status: 'online', agentVersion: 'test-agent/1' });
  });

  it('counts each target once, both ways: a host that reports a lower generation after its target is missing again', async () => {
    const farm = await buildFarm(f.caller(f.operator), {
      name: 'count',
      vnets: [{ name: 'n', cidr: '10.61.0.0/24' }],
      vms: [
        { name: 'a', hostId: h1.id, vnets: ['n'] },
        { name: 'b', hostId: h2.id, vnets: ['n'] },
      ],
    });
    const id = (await f.caller(f.operator).farm.deploy({ id: farm.id })).deployment.id;
    const g1 = await generationOf(h1);
    const g2 = await generationOf(h2);
    const state = async () => {
      const d = await f.db.deployment.findUniqueOrThrow({ where: { id }, select: { missing: true, completedAt: true } });
      return { missing: d.missing, completed: d.completedAt !== null, open: await f.db.deploymentTarget.count({ where: { deploymentId: id } }) };
    };
    const heard: string[] = [];
    const off = f.bus.subscribeTo(`deployment:${id}`, (e) => heard.push(e.type));
    try {
      expect(await state()).toEqual({ missing: 2, completed: false, open: 2 });
      await f.caller(h1.actor).agent.report(agentReport(g1));
      expect(await state()).toEqual({ missing: 1, completed: false, open: 2 });
      // The same generation again, and the periodic report: nothing crosses.
      await f.caller(h1.actor).agent.report(agentReport(g1));
      expect(await state()).toEqual({ missing: 1, completed: false, open: 2 });
      // h1's agent went back to an older state: its target is missing again, so h2's report cannot complete the deployment.
      await f.caller(h1.actor).agent.report(agentReport(g1 - 1));
      expect(await state()).toEqual({ missing: 2, completed: false, open: 2 });
      await f.caller(h2.actor).agent.report(agentReport(g2));
      expect(await state()).toEqual({ missing: 1, completed: false, open: 2 });
      expect(await completedAt(id)).toBeNull();
      await f.caller(h1.actor).agent.report(agentReport(g1));
      expect(await state()).toEqual({ missing: 0, completed: true, open: 0 });
      // A completed deployment stays completed, and is announced once.
      await f.caller(h2.actor).agent.report(agentReport(g2 - 1));
      await f.caller(h2.actor).agent.report(agentReport(g2));
      expect(await state()).toEqual({ missing: 0, completed: true, open: 0 });
      await expect.poll(() => heard).toEqual(['deployment.completed']);
      expect(await deploymentProgress({ db: f.db, actor: f.operator, id })).toMatchObject({ complete: true, applied: 2, total: 2 });
    } finally {
      off();
    }
  });

  it("a generation ahead of the console's is stored as reported but not counted applied", async () => {
    const g = await generationOf(h1);
    await f.caller(h1.actor).agent.report(agentReport(g + 5));
    const host = await f.db.host.findUniqueOrThrow({ where: { id: h1.id }, select: { appliedGeneration: true } });
    expect(host.appliedGeneration).toBe(g);
    const stored = await f.db.hostReport.findUniqueOrThrow({ where: { hostId: h1.id }, select: { appliedGeneration: true } });
    expect(stored.appliedGeneration).toBe(g + 5);
  });

  it('a revoked host cannot report', async () => {
    await f.db.host.update({ where: { id: h2.id }, data: { status: 'revoked' }, select: { id: true } });
    const before = await f.db.hostReport.findUniqueOrThrow({ where: { hostId: h2.id }, select: { receivedAt: true } });
    await refusedWith(f.caller(h2.actor).agent.report(agentReport(1)), 'UNAUTHORIZED');
    const after = await f.db.hostReport.findUniqueOrThrow({ where: { hostId: h2.id }, select: { receivedAt: true } });
    expect(after.receivedAt).toEqual(before.receivedAt);
  });
});
