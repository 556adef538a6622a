// The lean path of agent.desired (server/serve/leanDesired.ts) against the
// tRPC procedure it stands in for, both read over HTTP for the same hosts:
// the same headers, the same `connected` event, the same states (each
// tracked by its generation) and the same errors; resumption from
// Last-Event-ID and lastGeneration as tRPC's; and what the lean path does
// not take (no credential, another kind, an unknown or revoked one) answered
// by tRPC as before.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { readSseEvents } from '../bench/control/desiredStream.ts';
import { serveApi } from '../server/serve/api.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { leanDesiredCall, openLeanDesired } from '../server/serve/leanDesired.ts';
import { buildFarm, setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let lean: ApiServer;
let trpc: ApiServer;
let h1: EnrolledHost;
let h2: EnrolledHost;
let h3: EnrolledHost;
let farm: { id: string; vnetId: string; revision: number };

interface Sse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Each event's text, as sent (without the blank lines that end it). */
  events: string[];
  /** Resolves once `n` events have come (or the stream ended). */
  until(n: number): Promise<string[]>;
  close(): void;
}

/** agent.desired as the agent's httpSubscriptionLink asks for it, read raw. */
function open(
  server: ApiServer,
  credential: string | null,
  o: { input?: unknown; query?: string; headers?: Record<string, string>; pings?: boolean } = {},
): Promise<Sse> {
  const input = o.input === undefined ? '' : `input=${encodeURIComponent(JSON.stringify(superjson.serialize(o.input)))}`;
  const query = [input, o.query ?? ''].filter(Boolean).join('&');
  const headers: Record<string, string> = { accept: 'text/event-stream', ...(credential ? { authorization: `Bearer ${credential}` } : {}), ...o.headers };
  return new Promise((resolve, reject) => {
    const req = http.get(`${server.url}/agent.desired${query ? `?${query}` : ''}`, { agent: false, headers }, (res) => {
      const events: string[] = [];
      const waiters: { n: number; resolve: (e: string[]) => void }[] = [];
      let ended = false;
      const wake = () => {
        for (const w of [...waiters]) {
          if (ended || events.length >= w.n) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(events.slice());
          }
        }
      };
      readSseEvents(res, (ev) => {
        if (o.pings || ev !== 'event: ping\ndata: ') events.push(ev);
        wake();
      });
      res.on('close', () => {
        ended = true;
        wake();
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        until: (n) => new Promise((r) => (waiters.push({ n, resolve: r }), wake())),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

/** An event's fields; `data` parsed (superjson's envelope as sent). */
function fields(ev: string): { event?: string; id?: string; data?: unknown } {
  const out: { event?: string; id?: string; data?: unknown } = {};
  for (const line of ev.split('\n')) {
    const [k, ...rest] = line.split(': ');
    const v = rest.join(': ');
    if (k === 'event') out.event = v;
    else if (k === 'id') out.id = v;
    else if (k === 'data') out.data = v === '' ? '' : JSON.parse(v);
  }
  return out;
}

/** The first `n` events from both servers for the same request, with their headers. */
async function both(n: number, credential: string | null, o: Parameters<typeof open>[2] = {}) {
  const [a, b] = await Promise.all([open(lean, credential, o), open(trpc, credential, o)]);
  try {
    const [ea, eb] = await Promise.all([a.until(n), b.until(n)]);
    return { lean: { status: a.status, headers: a.headers, events: ea.slice(0, n) }, trpc: { status: b.status, headers: b.headers, events: eb.slice(0, n) } };
  } finally {
    a.close();
    b.close();
  }
}

const headersOf = (h: http.IncomingHttpHeaders) => {
  const { date: _d, 'transfer-encoding': _t, ...rest } = h;
  return rest;
};

async function changeMtu(mtu: number) {
  const api = f.caller(f.operator);
  const r = await api.vnet.update({ id: farm.vnetId, expectedRevision: farm.revision, mtu });
  farm.revision = r.farmRevision;
  await api.farm.deploy({ id: farm.id, expectedRevision: farm.revision });
}

beforeAll(async () => {
  f = await setupControl();
  const db = { prisma: f.db, raw: f.t.raw };
  lean = await startApiServer({ db });
  trpc = await startApiServer({ db, leanDesired: false });
  h1 = await f.host('h1', '127.0.0.2');
  h2 = await f.host('h2', '127.0.0.3');
  h3 = await f.host('h3', '127.0.0.4');
  const built = await buildFarm(f.caller(f.operator), {
    name: 'lean',
    vnets: [{ name: 'n', cidr: '10.63.0.0/24', security: 'conf' }],
    vms: [{ name: 'a', hostId: h1.id, vnets: ['n'] }, { name: 'b', hostId: h3.id, vnets: ['n'] }],
  });
  farm = { id: built.id, vnetId: built.vnets.n!.id, revision: built.revision };
  await f.caller(f.operator).farm.deploy({ id: farm.id, expectedRevision: farm.revision });
}, 60_000);
afterAll(async () => {
  await lean?.close();
  await trpc?.close();
  await f?.drop();
});

describe('agent.desired on the lean path', () => {
  it('takes only a GET of agent.desired with a host credential and an input the schema takes', () => {
    const req = (url: string, headers: Record<string, string> = { authorization: `Bearer ${h1.credential}` }, method = 'GET') => ({
      method,
      url,
      header: (n: string) => headers[n],
    });
    const input = encodeURIComponent(JSON.stringify({ json: { lastGeneration: 3 } }));
    expect(leanDesiredCall(req(`/api/trpc/agent.desired?input=${input}`), '/api/trpc')).toEqual({ credential: h1.credential, input: { lastGeneration: 3 } });
    expect(leanDesiredCall(req('/api/trpc/agent.desired?lastEventId=7'), '/api/trpc')?.input).toEqual({ lastEventId: '7' });
    expect(leanDesiredCall(req('/api/trpc/agent.desired', { authorization: `Bearer ${h1.credential}`, 'last-event-id': '8' }), '/api/trpc')?.input).toEqual({ lastEventId: '8' });
    // Not taken: another method, path, parameter, credential kind, or an input the schema refuses.
    expect(leanDesiredCall(req('/api/trpc/agent.desired', undefined, 'POST'), '/api/trpc')).toBeNull();
    expect(leanDesiredCall(req('/api/trpc/agent.commands'), '/api/trpc')).toBeNull();
    expect(leanDesiredCall(req('/api/trpc/agent.desired?batch=1'), '/api/trpc')).toBeNull();
    expect(leanDesiredCall(req('/api/trpc/agent.desired', {}), '/api/trpc')).toBeNull();
    expect(leanDesiredCall(req('/api/trpc/agent.desired', { authorization: 'Bearer sudt_x' }), '/api/trpc')).toBeNull();
    const bad = encodeURIComponent(JSON.stringify({ json: { lastGeneration: -1 } }));
    expect(leanDesiredCall(req(`/api/trpc/agent.desired?input=${bad}`), '/api/trpc')).toBeNull();
    expect(leanDesiredCall(req('/api/trpc/agent.desired?input=%7B'), '/api/trpc')).toBeNull();
  });

  it("sends what tRPC sends: headers, the connected event, the host's stored state tracked by its generation", async () => {
    const stored = await f.db.hostDesiredState.findUniqueOrThrow({ where: { hostId: h1.id }, select: { generation: true, state: true } });
    const r = await both(2, h1.credential, { input: {} });
    expect(r.lean.status).toBe(200);
    expect(headersOf(r.lean.headers)).toEqual(headersOf(r.trpc.headers));
    expect(r.lean.events[0]).toBe(r.trpc.events[0]);
    const [a, b] = [fields(r.lean.events[1]!), fields(r.trpc.events[1]!)];
    expect(a).toEqual(b);
    expect(a).toEqual({ id: String(stored.generation), data: { json: { generation: stored.generation, state: stored.state } } });

    // The lean server took it itself: the same events come from the lean path called directly.
    const call = leanDesiredCall({ method: 'GET', url: '/api/trpc/agent.desired', header: (n) => (n === 'authorization' ? `Bearer ${h1.credential}` : undefined) }, '/api/trpc');
    const stream = await openLeanDesired(call!, { prisma: f.db, raw: f.t.raw });
    const sent: string[] = [];
    const stop = new AbortController();
    const ran = stream!.run({ write: (e) => void (sent.push(e), sent.length === 2 && stop.abort()), end: () => undefined }, stop.signal);
    await ran;
    expect(sent[0]).toBe(`${r.trpc.events[0]}\n\n\n`);
    expect(fields(sent[1]!.trimEnd())).toEqual(b);
    expect(await openLeanDesired({ credential: 'sudh_unknown', input: {} }, { prisma: f.db, raw: f.t.raw })).toBeNull();

    // A host no deploy has reached: the baseline, the same from both.
    const base = await both(2, h2.credential);
    expect(base.lean.events[0]).toBe(base.trpc.events[0]);
    expect(fields(base.lean.events[1]!)).toEqual(fields(base.trpc.events[1]!));
    expect(fields(base.lean.events[1]!)).toMatchObject({ id: '0', data: { json: { generation: 0, state: { generation: 0 } } } });
  }, 30_000);

  it('is served the same way through the fetch API (the Next.js route)', async () => {
    const r = await both(2, h1.credential);
    const abort = new AbortController();
    const res = await serveApi(
      new Request(`${lean.url}/agent.desired`, { headers: { authorization: `Bearer ${h1.credential}` }, signal: abort.signal }),
      { connection: undefined, db: f.db, raw: f.t.raw },
    );
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (text.split('\n\n\n').length < 3) text += (await reader.read()).value ?? '';
    await reader.cancel();
    abort.abort();
    const events = text.split('\n\n\n').slice(0, 2);
    expect(events[0]).toBe(r.trpc.events[0]);
    expect(fields(events[1]!)).toEqual(fields(r.trpc.events[1]!));
    expect(res.headers.get('content-type')).toBe(r.trpc.headers['content-type']);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  }, 30_000);

  it('holds a reader that does not keep up to the newest state through the fetch API, not a backlog of every generation', async () => {
    const abort = new AbortController();
    const res = await serveApi(
      new Request(`${lean.url}/agent.desired`, { headers: { authorization: `Bearer ${h1.credential}` }, signal: abort.signal }),
      { connection: undefined, db: f.db, raw: f.t.raw },
    );
    // Read straight from the body: a piped decoder would read ahead into queues of its own.
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const read = async (until: (events: string[]) => boolean) => {
      let events = text.split('\n\n\n').filter((e) => e && e !== 'event: ping\ndata: ');
      while (!until(events)) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error('the stream ended');
        text += decoder.decode(chunk.value, { stream: true });
        events = text.split('\n\n\n').slice(0, -1).filter((e) => e !== 'event: ping\ndata: ');
      }
      return events;
    };
    try {
      await read((e) => e.length >= 2); // connected, then the current state
      const first = fields(text.split('\n\n\n')[1]!).id;
      // Five deploys while the reader reads nothing, each given time to reach the stream.
      for (const mtu of [1310, 1320, 1330, 1340, 1350]) {
        await changeMtu(mtu);
        await new Promise((r) => setTimeout(r, 300));
      }
      const newest = String((await f.db.hostDesiredState.findUniqueOrThrow({ where: { hostId: h1.id }, select: { generation: true } })).generation);
      const events = await read((e) => e.some((ev) => fields(ev).id === newest));
      const ids = events.slice(1).map((ev) => fields(ev).id);
      expect(ids[0]).toBe(first);
      expect(ids.at(-1)).toBe(newest);
      // At most the one state queued when the reader stopped, then the newest: never all five.
      expect(ids.length).toBeLessThanOrEqual(3);
    } finally {
      await reader.cancel();
      abort.abort();
    }
  }, 60_000);

  it('resumes as tRPC does: nothing old after Last-Event-ID or lastGeneration, then each new generation', async () => {
    const current = (await f.db.host.findUniqueOrThrow({ where: { id: h1.id }, select: { desiredGeneration: true } })).desiredGeneration;
    const streams = await Promise.all([
      open(lean, h1.credential, { headers: { 'last-event-id': String(current) } }),
      open(trpc, h1.credential, { headers: { 'last-event-id': String(current) } }),
      open(lean, h1.credential, { input: { lastGeneration: current } }),
      open(trpc, h1.credential, { input: { lastGeneration: current } }),
      open(lean, h1.credential, { input: { lastGeneration: current + 5 }, query: `lastEventId=${current}` }),
    ]);
    try {
      await Promise.all(streams.map((s) => s.until(1)));
      await changeMtu(1300);
      const next = (await f.db.hostDesiredState.findUniqueOrThrow({ where: { hostId: h1.id }, select: { generation: true, state: true } }));
      expect(next.generation).toBeGreaterThan(current);
      const got = await Promise.all(streams.map((s) => s.until(2)));
      for (const events of got) {
        expect(events).toHaveLength(2);
        expect(fields(events[1]!)).toEqual({ id: String(next.generation), data: { json: { generation: next.generation, state: next.state } } });
      }
    } finally {
      for (const s of streams) s.close();
    }
    // An agent behind (or ahead: a restored console) is given the current state at once.
    const behind = await both(2, h1.credential, { headers: { 'last-event-id': String(current) } });
    expect(fields(behind.lean.events[1]!)).toEqual(fields(behind.trpc.events[1]!));
  }, 30_000);

  it('pings an idle stream as tRPC does', async () => {
    const r = await both(3, h2.credential, { pings: true });
    expect(r.lean.events).toEqual([r.trpc.events[0], expect.stringMatching(/^data: /), 'event: ping\ndata: ']);
    expect(r.trpc.events[2]).toBe('event: ping\ndata: ');
  }, 30_000);

  it('refuses what tRPC refuses, with the same bytes: no credential, an unknown one', async () => {
    for (const credential of [null, 'sudh_not-a-credential', h1.credential.slice(0, -2) + 'xx']) {
      const r = await both(2, credential);
      expect(r.lean.status).toBe(r.trpc.status);
      expect(r.lean.events).toEqual(r.trpc.events);
      expect(fields(r.lean.events[1]!)).toMatchObject({ event: 'serialized-error', data: { json: { data: { code: 'UNAUTHORIZED' } } } });
    }
  }, 30_000);

  it('ends a stream whose host is revoked with the error tRPC sends, and refuses the credential after', async () => {
    const [a, b] = await Promise.all([open(lean, h3.credential), open(trpc, h3.credential)]);
    try {
      await Promise.all([a.until(2), b.until(2)]);
      await f.caller(f.admin).host.revokeCredential({ id: h3.id });
      const [ea, eb] = await Promise.all([a.until(3), b.until(3)]);
      expect(ea).toHaveLength(3);
      expect(fields(ea[2]!)).toEqual(fields(eb[2]!));
      expect(fields(ea[2]!)).toMatchObject({ event: 'serialized-error', data: { json: { data: { code: 'UNAUTHORIZED' } } } });
    } finally {
      a.close();
      b.close();
    }
    const after = await both(2, h3.credential);
    expect(after.lean.events).toEqual(after.trpc.events);
    expect(fields(after.lean.events[1]!)).toMatchObject({ event: 'serialized-error', data: { json: { data: { code: 'UNAUTHORIZED' } } } });
  }, 30_000);
});
