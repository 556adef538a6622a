// The console link against a small real tRPC server speaking the control
// contract (agent.desired over SSE with tracked ids, agent.report), so the
// client side is pinned down independently of the console's implementation.
import { EventEmitter, on } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTRPC, tracked, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import { closeConsole, serveConsole, type FakeConsoleServer } from './testing.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ApplyResult } from '../daemon/agent.ts';
import { createLogger } from '../log.ts';
import { StateError } from '../state.ts';
import { Backoff } from './backoff.ts';
import { createConsoleClient } from './client.ts';
import { ControlLink, type ApplyTarget } from './link.ts';
import type { AgentReport } from './report.ts';
import { STATE_FILE } from './store.ts';

const GOOD = 'sudh_test_credential_for_local_1';

function stateFor(generation: number, host = 'local-1') {
  return {
    host,
    underlay: { address: '127.0.0.2', port: 1798, multicast: null, peers: [] },
    vnets: [{ id: 7 + generation, security: 'none' }],
    vifs: [],
  };
}

class FakeConsole {
  readonly events = new EventEmitter();
  current = { generation: 1, state: stateFor(1) as Record<string, unknown> };
  subscriptions: { lastGeneration?: number; lastEventId?: string | null; auth: string | null }[] = [];
  reports: AgentReport[] = [];
  private server: FakeConsoleServer | null = null;
  port = 0;

  private router() {
    const t = initTRPC.context<{ auth: string | null }>().create({
      transformer: superjson,
      sse: { ping: { enabled: true, intervalMs: 300 }, client: { reconnectAfterInactivityMs: 3_000 } },
    });
    const host = t.procedure.use(({ ctx, next }) => {
      if (ctx.auth !== `Bearer ${GOOD}`) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'host credential required' });
      return next();
    });
    const self = this;
    return t.router({
      agent: t.router({
        desired: host
          .input(z.object({ lastGeneration: z.number().int().optional(), lastEventId: z.string().nullish() }))
          .subscription(async function* ({ input, ctx, signal }) {
            self.subscriptions.push({ ...input, auth: ctx.auth });
            // Subscribe first, then backfill: nothing published in between is lost.
            const changes = on(self.events, 'desired', { signal });
            let last = input.lastEventId ? Number(input.lastEventId) : (input.lastGeneration ?? -1);
            if (self.current.generation > last) {
              last = self.current.generation;
              yield tracked(String(last), self.current);
            }
            for await (const [msg] of changes) {
              const m = msg as { generation: number; state: Record<string, unknown>; force?: boolean };
              if (m.generation > last || m.force) {
                last = m.generation;
                yield tracked(String(m.generation), { generation: m.generation, state: m.state });
              }
            }
          }),
        report: host.input(z.any()).mutation(({ input }) => {
          self.reports.push(input as AgentReport);
          return { desiredGeneration: self.current.generation };
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

  publish(generation: number, opts: { host?: string; force?: boolean } = {}): void {
    this.current = { generation, state: stateFor(generation, opts.host) };
    this.events.emit('desired', { ...this.current, force: opts.force });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

class RecordingTarget implements ApplyTarget {
  applied: Record<string, unknown>[] = [];
  generation: number | null = null;
  failNext: StateError | null = null;
  async apply(state: unknown): Promise<ApplyResult> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
    const s = state as Record<string, unknown> & { generation: number };
    this.applied.push(s);
    this.generation = s.generation;
    return { generation: s.generation, added: [], removed: [], changed: [], errors: [] };
  }
  snapshot() {
    return {
      host: 'local-1',
      appliedGeneration: this.generation,
      underlay: { address: '127.0.0.2', port: 1798, multicast: null, joined: false, peers: [], up: true },
      vnets: [],
      vifs: [],
      varp: [],
      counters: { softudc_frames_total: 3 },
    };
  }
}

async function until(cond: () => boolean, what: string, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const logger = createLogger({ level: 'error', write: () => {} });
let fake: FakeConsole;
let dir: string;
let link: ControlLink | null = null;

beforeEach(async () => {
  fake = new FakeConsole();
  await fake.start();
  dir = await mkdtemp(join(tmpdir(), 'softudc-link-'));
});
afterEach(async () => {
  await link?.stop();
  link = null;
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

function makeLink(
  target: ApplyTarget,
  opts: { credential?: string; applied?: number | null; onHostRenamed?: (name: string) => Promise<void> } = {},
): ControlLink {
  link = new ControlLink({
    client: createConsoleClient({ url: fake.url, credential: opts.credential ?? GOOD }),
    target,
    stateDir: dir,
    hostName: 'local-1',
    onHostRenamed: opts.onHostRenamed,
    logger,
    agentVersion: '0.1.0-test',
    appliedGeneration: opts.applied ?? null,
    reportIntervalMs: 200,
    backoff: new Backoff({ initialMs: 50, maxMs: 200 }),
  });
  return link;
}

describe('ControlLink', () => {
  it('applies the state it is sent, persists it, and reports the generation', async () => {
    const target = new RecordingTarget();
    const l = makeLink(target);
    const applied: number[] = [];
    l.on('applied', (g) => applied.push(g));
    l.start();
    // 'applied' comes once the state is also on disk.
    await until(() => applied.includes(1), 'generation 1 applied');
    expect(target.applied[0]).toMatchObject({ host: 'local-1', generation: 1 });
    expect(fake.subscriptions[0]).toEqual({ auth: `Bearer ${GOOD}` });
    await until(() => fake.reports.some((r) => r.appliedGeneration === 1), 'report of generation 1');
    const r = fake.reports.find((x) => x.appliedGeneration === 1)!;
    expect(r).toMatchObject({ agentVersion: '0.1.0-test', health: { status: 'ok' }, applyError: null, counters: { softudc_frames_total: 3 } });
    const persisted = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as { generation: number; host: string };
    expect(persisted).toMatchObject({ generation: 1, host: 'local-1' });

    fake.publish(2);
    await until(() => target.generation === 2, 'generation 2 applied');
  });

  it('treats the same generation delivered twice as a no-op', async () => {
    const target = new RecordingTarget();
    makeLink(target).start();
    await until(() => target.generation === 1, 'generation 1');
    fake.publish(2);
    await until(() => target.generation === 2, 'generation 2');
    fake.publish(2, { force: true });
    fake.publish(3);
    await until(() => target.generation === 3, 'generation 3');
    expect(target.applied.map((s) => s.generation)).toEqual([1, 2, 3]);
  });

  it('subscribes with the generation it already runs, and gets only newer states', async () => {
    const target = new RecordingTarget();
    fake.publish(5);
    makeLink(target, { applied: 5 }).start();
    await until(() => fake.subscriptions.length === 1 && link!.connected, 'subscribed');
    expect(fake.subscriptions[0]!.lastGeneration).toBe(5);
    await new Promise((r) => setTimeout(r, 200));
    expect(target.applied).toEqual([]);
    fake.publish(6);
    await until(() => target.generation === 6, 'generation 6');
  });

  it('reconnects with backoff after the console goes away and resyncs what changed meanwhile', async () => {
    const target = new RecordingTarget();
    const l = makeLink(target);
    l.start();
    await until(() => target.generation === 1, 'generation 1');
    const port = fake.port;
    await fake.stop();
    await until(() => !l.connected, 'link down');
    fake.current = { generation: 4, state: stateFor(4) };
    await new Promise((r) => setTimeout(r, 300));
    await fake.start(port);
    await until(() => target.generation === 4, 'generation 4 after the console returns');
    const again = fake.subscriptions.at(-1)!;
    expect(again.lastGeneration === 1 || again.lastEventId === '1').toBe(true);
    expect(l.connected).toBe(true);
  });

  it('follows the console when the host was renamed there', async () => {
    const target = new RecordingTarget();
    const renamed: string[] = [];
    makeLink(target, { onHostRenamed: async (n) => void renamed.push(n) }).start();
    await until(() => target.generation === 1, 'generation 1');
    fake.publish(2, { host: 'rack-7' });
    await until(() => target.generation === 2, 'generation 2 under the new name');
    expect(target.applied.at(-1)).toMatchObject({ host: 'rack-7' });
    expect(renamed).toEqual(['rack-7']);
  });

  it('keeps the running state when the agent rejects a state, and applies the next good one', async () => {
    const target = new RecordingTarget();
    makeLink(target).start();
    await until(() => target.generation === 1, 'generation 1');
    target.failNext = new StateError([{ field: 'vifs[0].mac', message: 'must be a MAC address' }]);
    fake.publish(2);
    await until(() => fake.reports.some((r) => r.applyError?.generation === 2), 'apply error reported');
    expect(fake.reports.find((r) => r.applyError)!.applyError!.message).toMatch(/vifs\[0\]\.mac/);
    fake.publish(3);
    await until(() => target.generation === 3, 'generation 3');
    await until(() => fake.reports.at(-1)?.applyError === null, 'error cleared in reports');
  });

  it('is refused with a wrong credential and never applies anything', async () => {
    const target = new RecordingTarget();
    const l = makeLink(target, { credential: 'sudh_wrong' });
    const failures: (string | null)[] = [];
    l.on('failed', (_reason, code) => failures.push(code));
    l.start();
    await until(() => failures.length > 0, 'refusal');
    expect(failures[0]).toBe('UNAUTHORIZED');
    await new Promise((r) => setTimeout(r, 400));
    expect(fake.subscriptions).toEqual([]);
    expect(target.applied).toEqual([]);
    expect(fake.reports).toEqual([]);
    expect(l.connected).toBe(false);
  });
});
