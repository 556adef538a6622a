// The router manager's command channel through the real routers (createCaller)
// on a real database, with scripted agents holding host credentials: who may
// ask, who sees and answers which commands, validation, offline hosts,
// deadlines and cleanup, resuming a stream, and (on Postgres) a command that
// crosses two console processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachEventBus, detachEventBus } from '../server/events/index.ts';
import { openDatabase } from '../server/db/index.ts';
import { cleanupCommands, COMMAND_RETAIN_MS, followCommand } from '../server/control/agentCommands.ts';
import { caught, expectError } from './farm-fixtures.ts';
import { agentReport, callerOn, refusedWith, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import { managedFarm, pull, sampleRouterView, untrack, untrackProbe, type Command } from './command-fixture.ts';
import { prerequisite } from './require.ts';

let f: ControlFixture;
let h1: EnrolledHost, h2: EnrolledHost;
let gw: string, edge: string, fw: string, draftRouter: string, otherGw: string;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
  const op = f.caller(f.operator);
  const farm = await op.farm.import({ document: managedFarm('edge'), vnids: 'auto' });
  await op.farm.deploy({ id: farm.id });
  const detail = await op.farm.get({ id: farm.id });
  gw = detail.routers.find((r) => r.name === 'gw')!.id;
  edge = detail.routers.find((r) => r.name === 'edge')!.id;
  fw = detail.firewalls[0]!.id;
  // Tenant B deploys a farm of the same name: on hosts both are known by their routers' database ids.
  const other = f.caller(f.otherOperator);
  const b = await other.farm.import({ document: managedFarm('edge'), vnids: 'auto' });
  await other.farm.deploy({ id: b.id });
  otherGw = (await other.farm.get({ id: b.id })).routers.find((r) => r.name === 'gw')!.id;
  const draft = await op.farm.import({ document: { ...managedFarm('draft'), firewalls: [] }, vnids: 'auto' });
  draftRouter = (await op.farm.get({ id: draft.id })).routers[0]!.id;
  await online(h1);
  await online(h2);
}, 60_000);
afterAll(() => f?.drop());

/** The host reported just now: online. */
const online = (h: EnrolledHost) => f.caller(h.actor).agent.report(agentReport(0));

/** An agent's command stream, as a scripted agent reads it. */
function stream(h: EnrolledHost) {
  return pull((signal) => f.caller(h.actor, signal).agent.commands({}), (v) => untrack<Command>(v).data);
}

async function answer(h: EnrolledHost, id: string, seq: number, data: unknown, done: boolean, error?: string) {
  return f.caller(h.actor).agent.commandResult({ id, seq, data, done, ...(error ? { error } : {}) });
}

const commandCount = () => f.db.agentCommand.count();

describe('router.inspect through an agent', () => {
  it('the owning agent gets the command and its answer comes back; agentId is the router id', async () => {
    const agent = await stream(h1);
    const pending = f.caller(f.viewer).router.inspect({ id: gw });
    const cmd = (await agent.next()) as Command;
    expect(cmd).toMatchObject({ kind: 'router.view', args: { routerId: gw } });
    expect(cmd.expiresAt).toBeInstanceOf(Date);
    expect(await answer(h1, cmd.id, 0, sampleRouterView(gw), true)).toEqual({ accepted: true });
    const r = await pending;
    expect(r.router).toMatchObject({ id: gw, name: 'gw', agentId: gw, host: { id: h1.id, name: 'h1' } });
    expect(r.view.routes.map((x) => x.destination)).toEqual(['10.41.0.0/24', '10.42.0.0/24']);
    // A retry of the same answer is ignored; one after the end is refused.
    expect(await answer(h1, cmd.id, 0, sampleRouterView('x'), true)).toEqual({ accepted: false });
    await refusedWith(answer(h1, cmd.id, 1, sampleRouterView('x'), true), 'CONFLICT');
    await agent.close();
  });

  it('router.fib and firewall.inspect answer from the same channel', async () => {
    const agent = await stream(h1);
    const fib = f.caller(f.operator).router.fib({ id: gw });
    const c1 = (await agent.next()) as Command;
    await answer(h1, c1.id, 0, sampleRouterView(gw), true);
    expect((await fib).routes).toHaveLength(2);

    const insp = f.caller(f.operator).firewall.inspect({ id: fw });
    const c2 = (await agent.next()) as Command;
    expect(c2).toMatchObject({ kind: 'firewall.view', args: { firewallId: fw } });
    const { rip: _rip, unresolvedStaticRoutes: _unresolved, ...nodeView } = sampleRouterView(fw);
    const view = {
      ...nodeView,
      defaultPolicy: 'deny', defaultHits: 3,
      rules: [{ index: 0, action: 'allow', protocol: 'icmp', source: '0.0.0.0/0', destination: '0.0.0.0/0', ports: null, interface: null, hits: 5 }],
      connections: { total: 1, byProtocol: { icmp: 1 }, byState: { ESTABLISHED: 1 }, sample: [{ protocol: 'icmp', from: '10.41.0.9:7', to: '10.42.0.9:7', state: 'ESTABLISHED', ingress: 'out', rule: 0, packets: [2, 2], expiresInMs: 1000 }] },
    };
    await answer(h1, c2.id, 0, view, true);
    expect((await insp).view).toMatchObject({ defaultPolicy: 'deny', rules: [{ hits: 5 }], connections: { total: 1 } });
    await agent.close();
  });

  it('another tenant gets NOT_FOUND and no command is queued; an undeployed farm is PRECONDITION_FAILED', async () => {
    const before = await commandCount();
    await expectError(f.caller(f.otherOperator).router.inspect({ id: gw }), 'NOT_FOUND', 'id');
    await expectError(f.caller(f.otherOperator).firewall.inspect({ id: fw }), 'NOT_FOUND', 'id');
    await expectError(f.caller(f.otherOperator).router.ping({ id: gw, target: '10.41.0.10' }), 'NOT_FOUND', 'id');
    await expectError(f.caller(f.operator).router.inspect({ id: otherGw }), 'NOT_FOUND', 'id');
    const e = await expectError(f.caller(f.operator).router.inspect({ id: draftRouter }), 'PRECONDITION_FAILED', 'id');
    expect(e.message).toMatch(/farm draft is not deployed/);
    await refusedWith(f.caller(null).router.inspect({ id: gw }), 'UNAUTHORIZED');
    await refusedWith(f.caller(h1.actor).router.inspect({ id: gw }), 'UNAUTHORIZED');
    expect(await commandCount()).toBe(before);
  });

  it('refuses bad probe input naming the field, before anything is queued', async () => {
    const before = await commandCount();
    const ping = (input: Record<string, unknown>) => f.caller(f.operator).router.ping({ id: gw, target: '10.41.0.10', ...input } as never);
    const trace = (input: Record<string, unknown>) => f.caller(f.operator).router.traceroute({ id: gw, target: '10.41.0.10', ...input } as never);
    await expectError(ping({ count: 21 }), 'BAD_REQUEST', 'count');
    await expectError(ping({ count: 0 }), 'BAD_REQUEST', 'count');
    await expectError(ping({ intervalMs: 99 }), 'BAD_REQUEST', 'intervalMs');
    await expectError(ping({ timeoutMs: 60_000 }), 'BAD_REQUEST', 'timeoutMs');
    await expectError(ping({ target: '10.41.0' }), 'BAD_REQUEST', 'target');
    await expectError(ping({ target: '224.0.0.5' }), 'BAD_REQUEST', 'target');
    await expectError(ping({ target: '127.0.0.1' }), 'BAD_REQUEST', 'target');
    await expectError(ping({ id: 'not-an-id' }), 'BAD_REQUEST', 'id');
    await expectError(ping({ extra: 1 }), 'BAD_REQUEST', 'extra');
    await expectError(trace({ maxHops: 31 }), 'BAD_REQUEST', 'maxHops');
    await expectError(trace({ maxHops: 0 }), 'BAD_REQUEST', 'maxHops');
    expect(await commandCount()).toBe(before);
  });
});

describe('what a host credential may do', () => {
  it('sees only its own host commands, and cannot answer another host command (NOT_FOUND)', async () => {
    const s1 = await stream(h1);
    const s2 = await stream(h2);
    const pending = f.caller(f.operator).router.inspect({ id: edge }).catch((e: unknown) => e);
    const cmd = (await s2.next()) as Command;
    expect(cmd.args).toEqual({ routerId: edge });
    expect(await s1.next(300)).toBe('timeout');
    // h1 answering h2's command: NOT_FOUND, like an id that does not exist; nothing stored.
    await expectError(answer(h1, cmd.id, 0, sampleRouterView('forged'), true), 'NOT_FOUND', 'id');
    await expectError(answer(h1, '00000000-0000-4000-8000-000000000000', 0, null, true), 'NOT_FOUND', 'id');
    const row = await f.db.agentCommand.findUniqueOrThrow({ where: { id: cmd.id }, select: { status: true, resultCount: true } });
    expect(row).toEqual({ status: 'running', resultCount: 0 });
    // Users cannot use the agent procedures at all.
    await refusedWith(f.caller(f.admin).agent.commandResult({ id: cmd.id, seq: 0, data: null, done: true }), 'UNAUTHORIZED');
    await answer(h2, cmd.id, 0, sampleRouterView(edge), true);
    expect(await pending).toMatchObject({ router: { host: { name: 'h2' } } });
    await s1.close();
    await s2.close();
  });

  it('checks every answer: shape (field named), seq order, done on the summary only', async () => {
    const agent = await stream(h1);
    const started = await f.caller(f.operator).router.ping({ id: gw, target: '10.41.0.10', count: 2, intervalMs: 100 });
    expect(started.kind).toBe('router.ping');
    const sub = await pull((signal) => f.caller(f.operator, signal).router.probe({ probeId: started.probeId }), untrackProbe);
    const first = sub.next(8000);
    const cmd = (await agent.next()) as Command;
    expect(cmd.id).toBe(started.probeId);
    expect(cmd).toMatchObject({ kind: 'router.ping', args: { count: 2, intervalMs: 100, timeoutMs: 1000, target: '10.41.0.10' } });
    await expectError(answer(h1, cmd.id, 0, { type: 'reply', seq: 1, from: '10.41.0.10', rttMs: -1 }, false), 'BAD_REQUEST', 'data.rttMs');
    await expectError(answer(h1, cmd.id, 0, { type: 'pong' }, false), 'BAD_REQUEST', 'data.type');
    await expectError(answer(h1, cmd.id, 1, { type: 'timeout', seq: 1 }, false), 'CONFLICT', 'seq');
    await expectError(answer(h1, cmd.id, 0, { type: 'timeout', seq: 1 }, true), 'BAD_REQUEST', 'done');
    expect(await f.db.agentCommand.findUniqueOrThrow({ where: { id: cmd.id }, select: { resultCount: true } })).toEqual({ resultCount: 0 });

    await answer(h1, cmd.id, 0, { type: 'reply', seq: 1, from: '10.41.0.10', rttMs: 0.4 }, false);
    const e1 = (await first) as { id: string; data: unknown };
    expect(e1).toEqual({ id: `${cmd.id}:0`, data: { type: 'reply', seq: 1, from: '10.41.0.10', rttMs: 0.4 } });
    await expectError(answer(h1, cmd.id, 1, { type: 'summary', sent: 2, received: 1, lossPct: 50, minMs: 0.4, avgMs: 0.4, maxMs: 0.4 }, false), 'BAD_REQUEST', 'done');
    await answer(h1, cmd.id, 1, { type: 'timeout', seq: 2 }, false);
    await answer(h1, cmd.id, 2, { type: 'summary', sent: 2, received: 1, lossPct: 50, minMs: 0.4, avgMs: 0.4, maxMs: 0.4 }, true);
    const rest = (await sub.rest()) as { id: string; data: { type: string } }[];
    expect(rest.map((r) => [r.id, r.data.type])).toEqual([[`${cmd.id}:1`, 'timeout'], [`${cmd.id}:2`, 'summary']]);

    // Reconnecting with the last id seen replays what followed it; following starts nothing.
    const before = await commandCount();
    const again = await pull((signal) => f.caller(f.operator, signal).router.probe({ probeId: cmd.id, lastEventId: `${cmd.id}:0` }), untrackProbe);
    expect(((await again.rest()) as { id: string }[]).map((r) => r.id)).toEqual([`${cmd.id}:1`, `${cmd.id}:2`]);
    expect(await commandCount()).toBe(before);
    // Another user cannot follow it; their own ping is a new command.
    const follow = (actor: typeof f.viewer) => f.caller(actor).router.probe({ probeId: cmd.id }).then((s) => s[Symbol.asyncIterator]().next());
    await expectError(follow(f.viewer), 'NOT_FOUND', 'probeId');
    await expectError(follow(f.otherOperator), 'NOT_FOUND', 'probeId');
    const own = await f.caller(f.viewer).router.ping({ id: gw, target: '10.41.0.10', count: 1 });
    const viewerPing = await pull((signal) => f.caller(f.viewer, signal).router.probe({ probeId: own.probeId }), untrackProbe);
    const next = viewerPing.next(8000);
    const fresh = (await agent.next()) as Command;
    expect(fresh.id).not.toBe(cmd.id);
    await answer(h1, fresh.id, 0, { type: 'error', seq: 1, from: '10.41.0.1', icmpType: 3, icmpCode: 1, message: 'host unreachable' }, false);
    expect(await next).toMatchObject({ id: `${fresh.id}:0`, data: { type: 'error', icmpType: 3 } });
    await viewerPing.close();
    await agent.close();
  });

  it('an agent error ends the command with PRECONDITION_FAILED naming the host', async () => {
    const agent = await stream(h1);
    const started = await f.caller(f.operator).router.traceroute({ id: gw, target: '10.42.0.9', maxHops: 3 });
    const sub = await pull((signal) => f.caller(f.operator, signal).router.probe({ probeId: started.probeId }), untrackProbe);
    const err = sub.error();
    const cmd = (await agent.next()) as Command;
    expect(cmd).toMatchObject({ kind: 'router.traceroute', args: { maxHops: 3 } });
    await answer(h1, cmd.id, 0, { type: 'hop', ttl: 1, address: null, rttMs: null, reached: false, icmpType: null }, false);
    await answer(h1, cmd.id, 1, null, true, `router ${gw} has no route to 10.42.0.9`);
    const e = await caught(err.then((x) => Promise.reject(x)));
    expect(e).toMatchObject({ code: 'PRECONDITION_FAILED', message: `host h1: router ${gw} has no route to 10.42.0.9` });
    await agent.close();
  });
});

describe('offline hosts, deadlines and cleanup', () => {
  it('a host whose agent stopped reporting is refused at once: "host h2 is offline"', async () => {
    await f.db.host.update({ where: { id: h2.id }, data: { lastSeenAt: new Date(Date.now() - 60_000) } });
    const before = await commandCount();
    const e = await expectError(f.caller(f.operator).router.inspect({ id: edge }), 'PRECONDITION_FAILED', null);
    expect(e.message).toMatch(/^host h2 is offline; its agent last reported 6\d s ago$/);
    expect(await commandCount()).toBe(before);
    await online(h2);
  });

  it('an online host whose agent holds no command stream fails within the pickup time', async () => {
    const t0 = Date.now();
    const e = await expectError(f.caller(f.operator).router.inspect({ id: edge }), 'PRECONDITION_FAILED', null);
    expect(e.message).toBe('host h2 is offline: its agent did not take the command within 5 s');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4_900);
    // A stream opened afterwards does not get the failed command.
    const late = await stream(h2);
    expect(await late.next(300)).toBe('timeout');
    await late.close();
  }, 15_000);

  it('a command the agent took is failed at once when its stream closes before any answer (the agent died)', async () => {
    const agent = await stream(h1);
    const t0 = Date.now();
    const pending = expectError(f.caller(f.operator).router.inspect({ id: gw }), 'PRECONDITION_FAILED', null);
    const cmd = (await agent.next()) as Command;
    expect(cmd).toMatchObject({ kind: 'router.view' });
    await agent.close();
    const e = await pending;
    expect(e.message).toBe('host h1 is offline: its agent\'s command stream closed before it answered');
    // Well before the view's 10 s deadline, which is what ended it before (TIMEOUT).
    console.log(`command taken, stream closed: failed after ${Date.now() - t0} ms`);
    // An answer that arrives anyway is refused: the agent stops working on it.
    await refusedWith(answer(h1, cmd.id, 0, sampleRouterView(gw), true), 'CONFLICT');
  }, 15_000);

  it('a command past its deadline expires (TIMEOUT) and old rows are deleted', async () => {
    const now = Date.now();
    const stuck = await f.db.agentCommand.create({
      data: { hostId: h1.id, kind: 'router.view', args: { routerId: 'x/y' }, status: 'running', createdAt: new Date(now - 20_000), expiresAt: new Date(now - 1) },
      select: { id: true },
    });
    const follow = followCommand({ db: f.db, id: stuck.id, hostName: 'h1' });
    const e = await follow.next().then(() => null, (err: unknown) => err);
    expect(e).toMatchObject({ name: 'AppError', code: 'TIMEOUT', message: 'host h1 did not finish router.view within 20 s' });
    expect(await f.db.agentCommand.findUniqueOrThrow({ where: { id: stuck.id }, select: { status: true } })).toEqual({ status: 'expired' });
    await refusedWith(answer(h1, stuck.id, 0, sampleRouterView('x/y'), true), 'CONFLICT');

    const old = await f.db.agentCommand.create({
      data: { hostId: h1.id, kind: 'router.view', args: {}, status: 'done', createdAt: new Date(now - COMMAND_RETAIN_MS - 20_000), expiresAt: new Date(now - COMMAND_RETAIN_MS - 10_000) },
      select: { id: true },
    });
    expect(await cleanupCommands({ db: f.db })).toBeGreaterThanOrEqual(1);
    expect(await f.db.agentCommand.findUnique({ where: { id: old.id } })).toBeNull();
    expect(await f.db.agentCommand.findUnique({ where: { id: stuck.id } })).not.toBeNull();
  });
});

const pgUrl = process.env.DATABASE_URL;
const twoProcesses = prerequisite(!!pgUrl, 'DATABASE_URL is unset: two console processes need a shared Postgres (PGlite lives in one process)');

describe.skipIf(!twoProcesses)('across console processes', () => {
  it('the request lands on one process, the agent stream and its answer on another', async () => {
    const second = await openDatabase({ databaseUrl: f.t.url!, migrate: false, poolSize: 2 });
    await attachEventBus(second.prisma, second.raw);
    try {
      // The agent's stream on the first process, the user's request on the second.
      const agent = await stream(h1);
      const pending = callerOn(second.prisma, f.viewer).router.inspect({ id: gw });
      const cmd = (await agent.next()) as Command;
      await answer(h1, cmd.id, 0, sampleRouterView(gw), true);
      expect((await pending).view.routesTotal).toBe(2);
      await agent.close();
    } finally {
      await detachEventBus(second.prisma);
      await second.close();
    }
  });
});
