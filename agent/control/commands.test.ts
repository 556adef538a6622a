// The agent's command channel against a small real tRPC server speaking the
// router manager contract (agent.commands over SSE with tracked ids,
// agent.commandResult), with a real in-process agent: a router, a firewall
// and emulated guests on one host. Every answer is checked against the
// console's own schemas, so both programs agree on the shapes.
import { EventEmitter, on } from 'node:events';
import { initTRPC, tracked, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { closeConsole, serveConsole, type FakeConsoleServer } from './testing.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commandResultData, type CommandKind } from '../../contract/commands.ts';
import { waitFor } from '../../test/managed-agent.ts';
import { Agent } from '../daemon/agent.ts';
import { silentLogger } from '../log.ts';
import { Backoff } from './backoff.ts';
import { createConsoleClient } from './client.ts';
import { CommandChannel } from './commands.ts';

const CREDENTIAL = 'sudh_command_channel_test';

interface Posted {
  id: string;
  seq: number;
  data: unknown;
  done: boolean;
  error?: string;
}

class FakeConsole {
  readonly queue = new EventEmitter();
  readonly posted: Posted[] = [];
  subscriptions = 0;
  /** Refuses answers with this code while set. */
  refuse: TRPCError['code'] | null = null;
  private server: FakeConsoleServer | null = null;
  port = 0;

  private router() {
    const t = initTRPC.context<{ auth: string | null }>().create({ transformer: superjson, sse: { ping: { enabled: true, intervalMs: 300 } } });
    const host = t.procedure.use(({ ctx, next }) => {
      if (ctx.auth !== `Bearer ${CREDENTIAL}`) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'host credential required' });
      return next();
    });
    const self = this;
    return t.router({
      agent: t.router({
        commands: host.input(z.object({ lastEventId: z.string().nullish() }).optional()).subscription(async function* ({ signal }) {
          self.subscriptions++;
          for await (const [c] of on(self.queue, 'command', { signal })) yield tracked((c as { id: string }).id, c as Record<string, unknown>);
        }),
        commandResult: host.input(z.any()).mutation(({ input }) => {
          if (self.refuse) throw new TRPCError({ code: self.refuse, message: 'id: the command has ended (expired); stop working on it' });
          self.posted.push(input as Posted);
          return { accepted: true };
        }),
      }),
    });
  }

  async start(port = 0): Promise<void> {
    ({ server: this.server, port: this.port } = await serveConsole(this.router(), port));
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    await closeConsole(s);
  }

  send(id: string, kind: string, args: Record<string, unknown>): void {
    this.queue.emit('command', { id, kind, args, expiresAt: new Date(Date.now() + 30_000) });
  }

  of(id: string): Posted[] {
    return this.posted.filter((p) => p.id === id);
  }
}

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const mac = (n: number) => `02:5f:00:00:00:${n.toString(16).padStart(2, '0')}`;
const vif = (id: string, vnet: number, ip: string, gateway: string, n: number) => ({ id, vnet, mac: mac(n), ip: `${ip}/24`, gateway, version: 1, guest: { kind: 'emulated' } });

let fake: FakeConsole;
let agent: Agent;
let channel: CommandChannel;

beforeAll(async () => {
  fake = new FakeConsole();
  await fake.start();
  agent = new Agent({
    logger: silentLogger,
    state: {
      host: 'h1',
      generation: 1,
      underlay: { address: '127.0.0.2', port: PORT, multicast: null, peers: [] },
      vnets: [7, 8, 9].map((id) => ({ id, security: 'none' })),
      vifs: [vif('g7', 7, '10.7.0.10', '10.7.0.1', 10), vif('g8', 8, '10.8.0.10', '10.8.0.1', 11), vif('g9', 9, '10.9.0.10', '10.9.0.254', 12)],
      routers: [{
        id: 'f/r',
        interfaces: [{ vnet: 7, mac: mac(1), ip: '10.7.0.1/24' }, { vnet: 8, mac: mac(2), ip: '10.8.0.1/24' }],
        staticRoutes: [{ destination: '10.9.0.0/24', nextHop: '10.8.0.254' }],
      }],
      firewalls: [{
        id: 'f/fw',
        defaultPolicy: 'deny',
        interfaces: [{ name: 'outside', vnet: 8, mac: mac(3), ip: '10.8.0.254/24' }, { name: 'inside', vnet: 9, mac: mac(4), ip: '10.9.0.254/24' }],
        rules: [{ action: 'allow', protocol: 'icmp', source: '10.8.0.0/24', destination: '10.9.0.0/24' }],
      }],
    },
  });
  const r = await agent.start();
  expect(r.errors).toEqual([]);
  channel = new CommandChannel({
    client: createConsoleClient({ url: `http://127.0.0.1:${fake.port}`, credential: CREDENTIAL }),
    nodes: { router: (id) => agent.nodes.router(id), firewall: (id) => agent.nodes.firewall(id), varp: () => agent.traceVarp() },
    logger: silentLogger,
    agentVersion: '9.9.9',
    backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
    maxRunning: 2,
  });
  channel.start();
  await waitFor(() => fake.subscriptions === 1, 'the command stream', 10_000);
}, 30_000);
afterAll(async () => {
  await channel?.stop();
  await agent?.stop();
  await fake?.stop();
});

/** Sends a command and waits for its final answer; returns every answer, each checked against the console schema. */
async function run(id: string, kind: string, args: Record<string, unknown>): Promise<Posted[]> {
  fake.send(id, kind, args);
  await waitFor(() => fake.of(id).some((p) => p.done), `the last answer to ${id}`, 15_000);
  const answers = fake.of(id);
  expect(answers.map((a) => a.seq)).toEqual(answers.map((_, i) => i));
  for (const a of answers) if (!a.error) commandResultData[kind as CommandKind].parse(a.data);
  return answers;
}

describe('command channel', () => {
  it('router.view answers once with the FIB (connected and static routes)', async () => {
    const [a] = await run('c1', 'router.view', { routerId: 'f/r' });
    const view = a!.data as { routes: { destination: string; source: string }[]; routesTotal: number };
    expect(a!.done).toBe(true);
    expect(view.routes.map((r) => `${r.destination} ${r.source}`).sort()).toEqual(['10.7.0.0/24 connected', '10.8.0.0/24 connected', '10.9.0.0/24 static']);
    expect(view.routesTotal).toBe(3);
  });

  it('router.ping streams one answer per probe, then the summary; a firewall lets it through and counts it', async () => {
    const answers = await run('c2', 'router.ping', { routerId: 'f/r', target: '10.9.0.10', count: 3, intervalMs: 100, timeoutMs: 2000 });
    expect(answers.map((a) => (a.data as { type: string }).type)).toEqual(['reply', 'reply', 'reply', 'summary']);
    expect(answers.map((a) => a.done)).toEqual([false, false, false, true]);
    expect(answers[3]!.data).toMatchObject({ sent: 3, received: 3, lossPct: 0 });
    const [fw] = await run('c3', 'firewall.view', { firewallId: 'f/fw' });
    const view = fw!.data as { rules: { hits: number }[]; connections: { total: number; byProtocol: Record<string, number> } };
    expect(view.rules[0]!.hits).toBeGreaterThanOrEqual(1);
    expect(view.connections.byProtocol).toEqual({ icmp: view.connections.total });
    // A probe to an address nobody has: timeouts, not replies.
    const lost = await run('c4', 'router.ping', { routerId: 'f/r', target: '10.7.0.99', count: 1, intervalMs: 100, timeoutMs: 200 });
    expect(lost.map((a) => a.data)).toEqual([{ type: 'timeout', seq: 1 }, expect.objectContaining({ type: 'summary', received: 0, lossPct: 100 })]);
  });

  it('trace.lookup answers the local port of a MAC, FIB lookups, rule hits and the flow\'s connection', async () => {
    const [a] = await run('t1', 'trace.lookup', {
      varp: [{ vnet: 9, mac: mac(12) }, { vnet: 9, mac: mac(99) }],
      routes: [{ kind: 'router', id: 'f/r', destination: '10.9.0.10' }, { kind: 'firewall', id: 'f/fw', destination: '10.7.0.5' }, { kind: 'router', id: 'f/gone', destination: '10.9.0.10' }],
      firewalls: ['f/fw'],
      flow: { protocol: 'icmp', src: '10.8.0.1', dst: '10.9.0.10', dstPort: null },
    });
    expect(a!.done).toBe(true);
    const d = a!.data as { varp: { local: string | null; entry: unknown }[]; routes: { running: boolean; route: { destination: string; source: string } | null }[]; firewalls: { rules: { hits: number }[]; connection: { from: string; to: string } | null }[] };
    expect(d.varp[0]!.local).not.toBeNull();
    expect(d.varp[1]).toMatchObject({ local: null, entry: null });
    expect(d.routes.map((r) => [r.running, r.route?.destination ?? null, r.route?.source ?? null])).toEqual([
      [true, '10.9.0.0/24', 'static'], [true, null, null], [false, null, null],
    ]);
    // The ping before went through the firewall: its rule counted it and its connection is tracked.
    expect(d.firewalls[0]!.rules[0]!.hits).toBeGreaterThanOrEqual(1);
    expect(d.firewalls[0]!.connection?.from).toMatch(/^10\.8\.0\.1:/);
  });

  it('router.traceroute yields the firewall, then the guest', async () => {
    const answers = await run('c5', 'router.traceroute', { routerId: 'f/r', target: '10.9.0.10', maxHops: 5, timeoutMs: 1000 });
    expect(answers.map((a) => a.data)).toEqual([
      expect.objectContaining({ type: 'hop', ttl: 1, address: '10.8.0.254', reached: false, icmpType: 11 }),
      expect.objectContaining({ type: 'hop', ttl: 2, address: '10.9.0.10', reached: true, icmpType: 0 }),
      { type: 'summary', reached: true, hops: 2 },
    ]);
  });

  it('answers what it cannot do with an error: unknown router, no route, unknown kind, bad arguments', async () => {
    expect(await run('e1', 'router.view', { routerId: 'f/nope' })).toEqual([
      { id: 'e1', seq: 0, data: null, done: true, error: 'router f/nope is not running on this host (its desired state may not be applied yet)' },
    ]);
    expect((await run('e2', 'router.ping', { routerId: 'f/r', target: '192.0.2.1', count: 1, intervalMs: 100, timeoutMs: 100 }))[0]!.error)
      .toBe('router f/r has no route to 192.0.2.1');
    expect((await run('e3', 'router.reboot', {}))[0]!.error).toMatch(/^agent 9\.9\.9 cannot run "router\.reboot"/);
    expect((await run('e4', 'router.ping', { routerId: 'f/r', target: '10.7.0.10', count: 500 }))[0]!.error).toMatch(/args\.count/);
    // A command delivered twice runs once.
    fake.send('e1', 'router.view', { routerId: 'f/r' });
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.of('e1')).toHaveLength(1);
  });

  it('stops a command the console refuses, and says "busy" beyond maxRunning', async () => {
    fake.refuse = 'CONFLICT';
    const finished = new Promise<boolean>((resolve) => channel.on('finished', (id, ok) => id === 's1' && resolve(ok)));
    fake.send('s1', 'router.ping', { routerId: 'f/r', target: '10.7.0.10', count: 5, intervalMs: 100, timeoutMs: 500 });
    expect(await finished).toBe(false);
    expect(channel.runningCount).toBe(0);
    fake.refuse = null;
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.of('s1')).toEqual([]);

    fake.send('b1', 'router.ping', { routerId: 'f/r', target: '10.7.0.10', count: 3, intervalMs: 300, timeoutMs: 500 });
    fake.send('b2', 'router.ping', { routerId: 'f/r', target: '10.7.0.10', count: 3, intervalMs: 300, timeoutMs: 500 });
    const busy = await run('b3', 'router.view', { routerId: 'f/r' });
    expect(busy[0]!.error).toBe('agent busy: already running 2 commands');
    await waitFor(() => channel.runningCount === 0, 'the two pings to finish', 5_000);
    expect(fake.of('b1').at(-1)!.data).toMatchObject({ type: 'summary', received: 3 });
  });

  it('subscribes again after the console went away', async () => {
    const before = fake.subscriptions;
    const port = fake.port;
    await fake.stop();
    const again = new FakeConsole();
    fake = again;
    // Same port, so the channel's client reaches the new one.
    await again.start(port);
    await waitFor(() => again.subscriptions >= 1, 'a new command stream', 10_000);
    expect(before).toBeGreaterThanOrEqual(1);
    expect((await run('r1', 'router.view', { routerId: 'f/r' }))[0]!.done).toBe(true);
  }, 20_000);
});
