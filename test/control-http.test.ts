// The control loop over real HTTP: server/serve/http.ts serving the API, an agent
// subscribed over SSE with its Bearer host credential (httpSubscriptionLink +
// the eventsource package, as the agent does), and a second console process
// on the same Postgres whose deploy reaches the agent through LISTEN/NOTIFY.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { openDatabase } from '../server/db/index.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import type { AppRouter } from '../server/routers/_app.ts';
import { agentReport, buildFarm, callerOn, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let server: ApiServer;
let h1: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  server = await startApiServer({ db: { prisma: f.db, raw: f.t.raw } });
  h1 = await f.host('h1', '127.0.0.2');
}, 60_000);
afterAll(async () => {
  await server?.close();
  await f?.drop();
});

function agentClient(url: string, credential: string): TRPCClient<AppRouter> {
  const auth = { authorization: `Bearer ${credential}` };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          transformer: superjson,
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...auth } }),
          }),
        }),
        false: httpLink({ url, transformer: superjson, headers: () => auth }),
      }),
    ],
  });
}

/** Values and errors of one subscription, awaited one by one. */
function collect<T>(subscribe: (handlers: { onData: (v: T) => void; onError: (e: unknown) => void }) => { unsubscribe(): void }) {
  const values: T[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const sub = subscribe({
    onData: (v) => {
      values.push(v);
      wake();
    },
    onError: (e) => {
      errors.push(e);
      wake();
    },
  });
  return {
    values,
    errors,
    async until(pred: () => boolean, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out; values ${JSON.stringify(values.map((v) => (v as { generation?: number }).generation))}, errors ${errors.length}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100).unref();
        });
      }
    },
    stop: () => sub.unsubscribe(),
  };
}

describe('agent over SSE', () => {
  it('gets its state on connect and every new generation, including deploys made by another console process', async () => {
    const client = agentClient(server.url, h1.credential);
    type D = { generation: number; state: { host: string; vifs: { id: string }[] } };
    const s = collect<D>((h) =>
      client.agent.desired.subscribe({}, { onData: (v) => h.onData(v.data as D), onError: h.onError }),
    );
    await s.until(() => s.values.length === 1);
    expect(s.values[0]).toMatchObject({ generation: 0, state: { host: 'h1', vifs: [] } });

    const farm = await buildFarm(f.caller(f.operator), {
      name: 'wire',
      vnets: [{ name: 'n', cidr: '10.60.0.0/24' }],
      vms: [{ name: 'a', hostId: h1.id, vnets: ['n'] }],
    });
    // The deploy goes through a second pool (another console process) when on Postgres.
    const second = f.t.url ? await openDatabase({ databaseUrl: f.t.url, migrate: false, poolSize: 2 }) : null;
    try {
      await callerOn(second?.prisma ?? f.db, f.operator).farm.deploy({ id: farm.id });
    } finally {
      await second?.close();
    }
    await s.until(() => s.values.length === 2);
    expect(s.values[1]).toMatchObject({ generation: 1, state: { host: 'h1', vifs: [{ id: farm.vms.a!.vifIds[0], name: 'wire/a/eth0' }] } });

    // Reports over plain HTTP with the same credential.
    expect(await client.agent.report.mutate(agentReport(1))).toEqual({ desiredGeneration: 1 });
    expect((await f.db.host.findUniqueOrThrow({ where: { id: h1.id } })).appliedGeneration).toBe(1);
    s.stop();
    expect(s.errors).toEqual([]);
  }, 30_000);

  it('a revoked credential loses its open stream and cannot reconnect (UNAUTHORIZED)', async () => {
    const h2 = await f.host('h2', '127.0.0.3');
    const client = agentClient(server.url, h2.credential);
    const s = collect<unknown>((h) => client.agent.desired.subscribe({}, { onData: h.onData, onError: h.onError }));
    await s.until(() => s.values.length === 1);
    await f.caller(f.admin).host.revokeCredential({ id: h2.id });
    await s.until(() => s.errors.length === 1);
    expect(s.errors[0]).toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    s.stop();
    await expect(client.agent.report.mutate(agentReport(0))).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    // And a made-up credential is refused as well.
    const forged = agentClient(server.url, 'sudh_not-a-real-credential');
    await expect(forged.agent.report.mutate(agentReport(0))).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  }, 30_000);

  it('serves only /api/trpc', async () => {
    const res = await fetch(server.url.replace('/api/trpc', '/other'));
    expect(res.status).toBe(404);
  });
});
