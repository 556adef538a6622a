// The control loop over real HTTP: server/serve/http.ts serving the API, an agent
// subscribed over SSE with its Bearer host credential (httpSubscriptionLink +
// the eventsource package, as the agent does), and a second console process
// on the same Postgres whose deploy reaches the agent through LISTEN/NOTIFY.
// An agent whose connection closes loses its command stream at once, even
// after a garbage collection while the stream was open.
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { openDatabase } from '../server/db/index.ts';
import { followCommand, startCommand } from '../server/control/agentCommands.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { serveTrpc } from '../server/serve/api.ts';
import type { AppRouter } from '../server/routers/_app.ts';
import { agentReport, buildFarm, callerOn, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

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

/** A router.view command for `h`'s agent (the host reports first: online). */
async function queueCommand(h: EnrolledHost) {
  await f.caller(h.actor).agent.report(agentReport(0));
  return startCommand({
    db: f.db, host: { hostId: h.id, hostName: h.name }, kind: 'router.view', args: { routerId: randomUUID() }, createdById: null,
  });
}

/** How a command no one answers ends, as its caller sees it. */
function outcome(id: string, hostName: string): Promise<unknown> {
  return (async () => {
    for await (const _ of followCommand({ db: f.db, id, hostName })) throw new Error('no answer was sent');
  })().then(
    () => null,
    (e: unknown) => e,
  );
}

/** Full collections, a turn apart (weak references are cleared between turns). */
async function collectGarbage() {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
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

  it('a command stream ends with its connection after a garbage collection: the command it took fails at once', async () => {
    const h3 = await f.host('h3', '127.0.0.4');
    const client = agentClient(server.url, h3.credential);
    const s = collect<unknown>((h) => client.agent.commands.subscribe({}, { onData: (v) => h.onData(v), onError: h.onError }));
    const cmd = await queueCommand(h3);
    await s.until(() => s.values.length === 1);
    await collectGarbage();
    // The agent's connection closes before it answers: the console hears it and fails the command (not TIMEOUT at its deadline).
    s.stop();
    expect(await outcome(cmd.id, 'h3')).toMatchObject({ code: 'PRECONDITION_FAILED', message: "host h3 is offline: its agent's command stream closed before it answered" });
    expect(s.errors).toEqual([]);
  }, 30_000);

  it("the request's signal reaches the procedure after a garbage collection, the response body left unread", async () => {
    // Through serveTrpc alone, as the Next.js route calls it: nothing but the signal can end the stream here.
    const h4 = await f.host('h4', '127.0.0.5');
    const cmd = await queueCommand(h4);
    const client = new AbortController();
    const input = encodeURIComponent(JSON.stringify({ json: {} }));
    const response = await serveTrpc(
      new Request(`http://127.0.0.1/api/trpc/agent.commands?input=${input}`, {
        headers: { authorization: `Bearer ${h4.credential}`, accept: 'text/event-stream' },
        signal: client.signal,
      }),
      { connection: { address: '127.0.0.1', encrypted: false }, db: f.db },
    );
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(cmd.id)) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`the stream ended before the command came: ${text}`);
      text += decoder.decode(chunk.value);
    }
    await collectGarbage();
    client.abort();
    expect(await outcome(cmd.id, 'h4')).toMatchObject({ code: 'PRECONDITION_FAILED', message: "host h4 is offline: its agent's command stream closed before it answered" });
    await reader.cancel();
  }, 30_000);

  it('serves only /api/trpc', async () => {
    const res = await fetch(server.url.replace('/api/trpc', '/other'));
    expect(res.status).toBe(404);
  });
});
