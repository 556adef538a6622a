// Open subscriptions end when the credential they were opened with stops
// being valid: an API token revoked, a session signed out or ended by a
// password change, a user disabled, a host deleted. Real HTTP (server/serve/http.ts)
// and real SSE streams, read byte by byte: each must end (with UNAUTHORIZED)
// within a second of the call that invalidated its credential, whichever
// procedure it is, and a reconnect with the same credential is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../server/auth/password.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { setupControl, type ControlFixture } from './control-fixture.ts';

/** A stream must be gone this soon after its credential is. */
const END_WITHIN_MS = 1_000;
const PW = 'correct horse battery staple';

let f: ControlFixture;
let server: ApiServer;
let farmId: string;

beforeAll(async () => {
  f = await setupControl();
  server = await startApiServer({ db: { prisma: f.db, raw: f.t.raw } });
  farmId = (await f.caller(f.operator).farm.create({ name: 'watched' })).id;
  // host.reports starts with every host's report: one host, so it has a first value.
  await f.host('seen-1', '127.0.0.8');
}, 60_000);
afterAll(async () => {
  await server?.close();
  await f?.drop();
});

interface Stream {
  /** Resolves once the first value has arrived. */
  opened: Promise<void>;
  /** Resolves when the response ends: the SSE events that came last. */
  ended: Promise<string>;
  close(): void;
}

/** Opens a subscription over HTTP exactly as EventSource would, and watches its body. */
function openStream(path: string, input: unknown, headers: Record<string, string>): Stream {
  const abort = new AbortController();
  let text = '';
  let opened!: () => void;
  const openedP = new Promise<void>((r) => (opened = r));
  const ended = (async () => {
    const url = `${server.url}/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    if (!res.body) throw new Error(`${path}: no body (${res.status})`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text.slice(-600);
      text += decoder.decode(value, { stream: true });
      if (/\ndata: \{"json"/.test(text)) opened();
    }
  })();
  ended.catch(() => undefined);
  return { opened: openedP, ended, close: () => abort.abort() };
}

/** How long after `invalidate` returns the stream's response ends; fails past END_WITHIN_MS. */
async function endsAfter(stream: Stream, invalidate: () => Promise<unknown>): Promise<string> {
  await stream.opened;
  await invalidate();
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`the stream was still open ${END_WITHIN_MS} ms after its credential was invalidated`)), END_WITHIN_MS).unref(),
  );
  try {
    return await Promise.race([stream.ended, timeout]);
  } finally {
    stream.close();
  }
}

async function userWithToken(username: string) {
  const user = await f.db.user.create({
    data: { tenantId: f.tenantA, username, role: 'operator', passwordHash: await hashPassword(PW) },
    select: { id: true },
  });
  const actor = { kind: 'user' as const, userId: user.id, tenantId: f.tenantA, username, role: 'operator' as const };
  const { token } = await f.caller(actor).apiToken.create({ name: 'stream', role: 'viewer' });
  return { actor, token, bearer: { authorization: `Bearer ${token}` } };
}

async function signIn(username: string): Promise<Record<string, string>> {
  const r = await fetch(`${server.url}/auth.login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { username, password: PW } }),
  });
  expect(r.status).toBe(200);
  return { cookie: r.headers.get('set-cookie')!.split(';')[0]! };
}

/** Handlers on the event bus: every open stream holds one or two. */
const busListeners = () => (f.bus as unknown as { emitter: { listenerCount(e: string): number } }).emitter.listenerCount('event');

const refusedNow = async (path: string, input: unknown, headers: Record<string, string>) => {
  const url = `${server.url}/${path}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
  const r = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: AbortSignal.timeout(5_000) });
  const body = await r.text();
  return body.includes('"UNAUTHORIZED"');
};

describe('open subscriptions end with their credential', () => {
  it('a revoked API token ends its farm.changes stream within a second, and nothing of it stays behind', async () => {
    const u = await userWithToken('tess');
    const listeners = busListeners();
    const s = openStream('farm.changes', { farmId }, u.bearer);
    const apiToken = (await f.caller(u.actor).apiToken.list({})).items[0]!;
    const tail = await endsAfter(s, () => f.caller(u.actor).apiToken.revoke({ id: apiToken.id }));
    expect(tail).toMatch(/event: serialized-error[\s\S]*"UNAUTHORIZED"/);
    expect(await refusedNow('farm.changes', { farmId }, u.bearer)).toBe(true);
    // The procedure's own generator let go of its event subscription too.
    await expect.poll(busListeners, { timeout: 2_000 }).toBe(listeners);
  });

  it('signing out ends the session\'s host.reports stream within a second', async () => {
    await userWithToken('sam');
    const cookie = await signIn('sam');
    const s = openStream('host.reports', {}, cookie);
    await endsAfter(s, () => fetch(`${server.url}/auth.logout`, { method: 'POST', headers: { 'content-type': 'application/json', ...cookie }, body: '{}' }));
    expect(await refusedNow('host.reports', {}, cookie)).toBe(true);
  });

  it('disabling a user ends the streams of all their tokens and sessions within a second', async () => {
    const u = await userWithToken('dora');
    const cookie = await signIn('dora');
    const a = openStream('farm.changes', { farmId }, u.bearer);
    const b = openStream('host.reports', { detail: 'full' }, cookie);
    await Promise.all([a.opened, b.opened]);
    await Promise.all([
      endsAfter(a, () => f.caller(f.admin).user.update({ id: u.actor.userId, disabled: true })),
      endsAfter(b, async () => undefined),
    ]);
  });

  it('a password change ends the user\'s other sessions\' streams, not the one that changed it', async () => {
    await userWithToken('pat');
    const mine = await signIn('pat');
    const other = await signIn('pat');
    const keep = openStream('farm.changes', { farmId }, mine);
    const lose = openStream('farm.changes', { farmId }, other);
    await keep.opened;
    await endsAfter(lose, () =>
      fetch(`${server.url}/auth.changePassword`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...mine },
        body: JSON.stringify({ json: { currentPassword: PW, newPassword: `${PW} and more` } }),
      }),
    );
    const stillOpen = await Promise.race([keep.ended.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 300))]);
    expect(stillOpen).toBe(true);
    keep.close();
  });

  it('deleting a host ends its agent\'s command stream within a second', async () => {
    const h = await f.host('gone-1', '127.0.0.9');
    const bearer = { authorization: `Bearer ${h.credential}` };
    const s = openStream('agent.desired', {}, bearer);
    const c = openStream('agent.commands', {}, bearer);
    // agent.commands yields nothing until a command comes: give it a moment to be open.
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all([
      endsAfter(s, () => f.caller(f.admin).host.delete({ id: h.id })),
      endsAfter({ ...c, opened: Promise.resolve() }, async () => undefined),
    ]);
    expect(await refusedNow('agent.commands', {}, bearer)).toBe(true);
  });
});
