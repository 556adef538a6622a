// Agents' reports alone finish a deployment (server/control/agentLink.ts
// handleReport: the report statement keeps the deployment's count of missing
// targets): with nobody watching its progress, the deployment is marked
// complete by the report of the last target host, not before, and announced
// once; a report of an older generation counts the host missing again. A
// revoked host's report is refused and stores nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { deploymentProgress } from '../server/control/deploy.ts';
import { storeReports } from '../server/control/reportWrite.ts';
import { storeDesiredStates } from '../server/control/desiredWrite.ts';
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

/**
 * Runs `run` in a transaction on a connection of its own while another transaction holds the row of
 * `table` with the lowest of `ids`; once `run` waits for that row, which of the other rows it holds
 * (a statement that locks in id order holds none). Then lets it finish and commits.
 */
async function heldWhileWaiting(table: string, ids: string[], run: (c: pg.Client) => Promise<unknown>) {
  const sorted = [...ids].sort();
  const connect = async () => {
    const c = new pg.Client({ connectionString: f.t.url! });
    await c.connect();
    return c;
  };
  const [holder, worker, probe] = [await connect(), await connect(), await connect()];
  try {
    await holder.query('BEGIN');
    await holder.query(`SELECT id FROM "${table}" WHERE id = $1 FOR UPDATE`, [sorted[0]]);
    await worker.query('BEGIN');
    const pid = (await worker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const running = run(worker);
    const waiting = async () => (await probe.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]?.wait_event_type === 'Lock';
    while (!(await waiting())) await new Promise((r) => setTimeout(r, 20));
    const held: string[] = [];
    for (const id of sorted.slice(1)) {
      // Outside a transaction: taken and released at once if free.
      await probe.query(`SELECT id FROM "${table}" WHERE id = $1 FOR UPDATE NOWAIT`, [id]).catch((err: { code?: string }) => {
        if (err.code !== '55P03') throw err;
        held.push(id);
      });
    }
    await holder.query('COMMIT');
    const result = await running;
    await worker.query('COMMIT');
    return { held, result };
  } finally {
    for (const c of [holder, worker, probe]) await c.end().catch(() => {});
  }
}

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

  // Two batches whose hosts share several open deployments must not each hold one the other waits for (Postgres
  // aborts one as a deadlock): every report statement locks deployments in id order. Seen here as a batch that
  // waits for the lowest deployment it changes while holding none of the others.
  it('a report statement locks the deployments it changes in id order (Postgres)', async (ctx) => {
    if (f.t.kind !== 'postgres' || f.t.url === null) return ctx.skip();
    const farm = await f.caller(f.operator).farm.create({ name: 'lock-order' });
    const g = await generationOf(h1);
    await f.caller(h1.actor).agent.report(agentReport(g));
    await f.db.host.update({ where: { id: h1.id }, data: { desiredGeneration: g + 1 }, select: { id: true } });
    const ids = ['1f0c9a52', '2b7e4d13', '5a3f8e07', '7c9d2b41', 'a4e61f9c', 'd08b3c5e'].map((x) => `${x}-0000-4000-8000-00000000c0de`);
    for (const id of ids) {
      await f.db.deployment.create({ data: { id, farmId: farm.id, kind: 'deploy', revision: 1, targets: [], missing: 1 }, select: { id: true } });
      await f.db.deploymentTarget.create({ data: { deploymentId: id, hostId: h1.id, generation: g + 1 } });
    }
    const { held, result } = await heldWhileWaiting('Deployment', ids, (c) =>
      storeReports((_name, text, values) => c.query(text, values).then((r) => r.rows), 'id', [{ key: h1.id, report: agentReport(g + 1) }], new Date()));
    expect(held).toEqual([]);
    expect(result).toEqual([{ desiredGeneration: g + 1 }]);
    const left = await f.db.deployment.findMany({ where: { id: { in: ids } }, select: { missing: true, completedAt: true } });
    expect(left.every((d) => d.missing === 0 && d.completedAt !== null)).toBe(true);
  });

  it('a deploy stores its hosts\' desired states locking the hosts in id order, as reports do (Postgres)', async (ctx) => {
    if (f.t.kind !== 'postgres' || f.t.url === null) return ctx.skip();
    const hosts = [];
    for (let i = 1; i <= 6; i++) hosts.push(await f.host(`lock-${i}`, `127.0.1.${i}`));
    const ids = hosts.map((h) => h.id).sort();
    const rows = ids.map((hostId) => ({ hostId, generation: 7, hash: 'h', state: { generation: 7 } })).reverse();
    const { held } = await heldWhileWaiting('Host', ids, (c) => {
      const tx = { $executeRawUnsafe: (text: string, ...values: unknown[]) => c.query(text, values).then((r) => r.rowCount) };
      return storeDesiredStates(tx as unknown as Parameters<typeof storeDesiredStates>[0], rows);
    });
    expect(held).toEqual([]);
    const stored = await f.db.host.findMany({ where: { id: { in: ids } }, select: { desiredGeneration: true } });
    expect(stored.map((h) => h.desiredGeneration)).toEqual(ids.map(() => 7));
  });

  it('a revoked host cannot report', async () => {
    await f.db.host.update({ where: { id: h2.id }, data: { status: 'revoked' }, select: { id: true } });
    const before = await f.db.hostReport.findUniqueOrThrow({ where: { hostId: h2.id }, select: { receivedAt: true } });
    await refusedWith(f.caller(h2.actor).agent.report(agentReport(1)), 'UNAUTHORIZED');
    const after = await f.db.hostReport.findUniqueOrThrow({ where: { hostId: h2.id }, select: { receivedAt: true } });
    expect(after.receivedAt).toEqual(before.receivedAt);
  });
});
