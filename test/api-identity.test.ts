// Identity through the API: sign-in and its cookie, the failed-login limiter,
// API tokens, host credentials, roles, unauthenticated calls, secrets kept
// out of every output and audit entry.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import { refused, setupIdentityApi, type IdentityFixture } from './identity-fixture.ts';
import { resolveActor } from '../server/identity/sessions.ts';
import { loginLimiter } from '../server/auth/limiter.ts';
import { hashToken } from '../server/auth/tokens.ts';
import type { HostActor, UserActor } from '../server/auth/actors.ts';

let f: IdentityFixture;
const PW = 'correct horse battery';
/** Every secret the tests see; none may show up in any other output or in the audit log. */
const secrets: string[] = [PW];
/** Outputs of calls that must never carry a secret (everything but the shown-once answers). */
const outputs: unknown[] = [];
const keep = <T>(v: T): T => (outputs.push(v), v);

beforeAll(async () => {
  f = await setupIdentityApi();
});
afterAll(async () => {
  await f?.drop();
});
beforeEach(() => loginLimiter.reset());

async function newUser(username: string, role: 'admin' | 'operator' | 'viewer', password = PW) {
  return keep(await f.caller(f.admin).user.create({ username, password, role, displayName: username }));
}

describe('sign-in', () => {
  it('sets an httpOnly SameSite cookie that resolves to the user', async () => {
    const u = await newUser('carol', 'operator');
    const { caller, resHeaders } = f.httpCaller(null, { clientIp: '127.0.0.1' });
    const out = keep(await caller.auth.login({ username: 'carol', password: PW }));
    expect(out.user).toMatchObject({ id: u.id, username: 'carol', role: 'operator' });
    const cookie = resHeaders.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^softudc_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain('Max-Age=43200');
    expect(cookie).not.toContain('Secure');
    const value = /softudc_session=([^;]+)/.exec(cookie)![1]!;
    secrets.push(value);
    const actor = (await resolveActor(f.db, { cookie: `other=1; softudc_session=${value}` })) as UserActor;
    expect(actor).toMatchObject({ kind: 'user', userId: u.id, role: 'operator', tenantId: f.tenantA });
    expect(keep(await f.caller(actor).auth.me())).toMatchObject({ username: 'carol', tenantName: 'tenant-a' });
    // Stored only as its hash.
    expect(await f.db.session.count({ where: { tokenHash: hashToken(value) } })).toBe(1);
    expect(await f.db.session.count({ where: { tokenHash: value } })).toBe(0);

    const secure = f.httpCaller(null, { secure: true });
    await secure.caller.auth.login({ username: 'carol', password: PW });
    expect(secure.resHeaders.get('set-cookie')).toContain('; Secure');
    secrets.push(/softudc_session=([^;]+)/.exec(secure.resHeaders.get('set-cookie')!)![1]!);
  });

  it('logout ends the session and clears the cookie', async () => {
    await newUser('dave', 'viewer');
    const { caller, resHeaders } = f.httpCaller(null);
    await caller.auth.login({ username: 'dave', password: PW });
    const value = /softudc_session=([^;]+)/.exec(resHeaders.get('set-cookie')!)![1]!;
    secrets.push(value);
    const actor = await resolveActor(f.db, { cookie: value });
    expect(actor).not.toBeNull();
    const out = f.httpCaller(actor);
    expect(await out.caller.auth.logout()).toEqual({ ok: true });
    expect(out.resHeaders.get('set-cookie')).toMatch(/^softudc_session=; .*Max-Age=0/);
    expect(await resolveActor(f.db, { cookie: value })).toBeNull();
    await refused(f.caller(null).auth.me(), 'UNAUTHORIZED');
  });

  it('refuses a wrong password, an unknown user and a disabled user identically', async () => {
    const u = await newUser('erin', 'viewer');
    await newUser('frank', 'viewer');
    await f.caller(f.admin).user.update({ id: u.id, disabled: true });
    const { caller, resHeaders } = f.httpCaller(null);
    const answers = [
      await refused(caller.auth.login({ username: 'frank', password: 'not the password' }), 'UNAUTHORIZED'),
      await refused(caller.auth.login({ username: 'nobody-here', password: PW }), 'UNAUTHORIZED'),
      await refused(caller.auth.login({ username: 'erin', password: PW }), 'UNAUTHORIZED'),
    ];
    for (const e of answers) expect(e.message).toBe('username or password is wrong');
    expect(resHeaders.get('set-cookie')).toBeNull();
  });

  it('limits failed sign-ins per address and username, never locking out others behind the same address', async () => {
    await newUser('gina', 'viewer');
    await newUser('hank', 'viewer');
    const from = (ip: string) => f.httpCaller(null, { clientIp: ip }).caller;
    // Ten failures for gina from one address stop that address for gina, even with the right password...
    for (let i = 0; i < 10; i++) await refused(from('127.0.0.5').auth.login({ username: 'gina', password: `wrong-${i}` }), 'UNAUTHORIZED');
    await refused(from('127.0.0.5').auth.login({ username: 'gina', password: PW }), 'TOO_MANY_REQUESTS');
    // ...but not gina from another address, nor anyone else behind the same one (a shared proxy).
    expect((await from('127.0.0.6').auth.login({ username: 'gina', password: PW })).user.username).toBe('gina');
    for (let i = 0; i < 10; i++) await refused(from('127.0.0.5').auth.login({ username: `ghost${i}`, password: 'x' }), 'UNAUTHORIZED');
    expect((await from('127.0.0.5').auth.login({ username: 'hank', password: PW })).user.username).toBe('hank');
  });

  it('changePassword checks the current password and ends other sessions', async () => {
    await newUser('ivan', 'viewer');
    const a = f.httpCaller(null);
    await a.caller.auth.login({ username: 'ivan', password: PW });
    const b = f.httpCaller(null);
    await b.caller.auth.login({ username: 'ivan', password: PW });
    const [sa, sb] = [a, b].map((x) => /softudc_session=([^;]+)/.exec(x.resHeaders.get('set-cookie')!)![1]!);
    secrets.push(sa!, sb!);
    const actorA = (await resolveActor(f.db, { cookie: sa }))!;
    const before = await f.snapshot();
    await refused(f.caller(actorA).auth.changePassword({ currentPassword: 'wrong one!!', newPassword: 'a brand new secret' }), 'BAD_REQUEST', 'currentPassword');
    await refused(f.caller(actorA).auth.changePassword({ currentPassword: PW, newPassword: 'short' }), 'BAD_REQUEST', 'newPassword');
    expect(await f.snapshot()).toEqual(before);
    const fresh = 'a brand new secret';
    secrets.push(fresh);
    await f.caller(actorA).auth.changePassword({ currentPassword: PW, newPassword: fresh });
    expect(await resolveActor(f.db, { cookie: sa })).not.toBeNull();
    expect(await resolveActor(f.db, { cookie: sb })).toBeNull();
    await refused(f.caller(null).auth.login({ username: 'ivan', password: PW }), 'UNAUTHORIZED');
    expect((await f.caller(null).auth.login({ username: 'ivan', password: fresh })).user.username).toBe('ivan');
  });
});

describe('API tokens', () => {
  it('act with their role; revoked and expired ones are refused', async () => {
    const made = await f.caller(f.operator).apiToken.create({ name: 'ci', role: 'viewer' });
    secrets.push(made.token);
    expect(made.token).toMatch(/^sudc_[A-Za-z0-9_-]{43}$/);
    expect(made.apiToken.prefix).toBe(made.token.slice(0, 10));
    const actor = (await resolveActor(f.db, { authorization: `Bearer ${made.token}` })) as UserActor;
    expect(actor).toMatchObject({ kind: 'token', userId: f.operator.userId, role: 'viewer', tokenId: made.apiToken.id });
    expect(keep(await f.caller(actor).host.list())).toHaveProperty('items');
    await refused(f.caller(actor).segment.create({ name: 'lan-x' }), 'FORBIDDEN');
    const used = await f.db.apiToken.findUnique({ where: { id: made.apiToken.id }, select: { lastUsedAt: true } });
    expect(used?.lastUsedAt).toBeInstanceOf(Date);

    // Not more than the creator's role.
    const before = await f.snapshot();
    await refused(f.caller(f.operator).apiToken.create({ name: 'x', role: 'admin' }), 'BAD_REQUEST', 'role');
    expect(await f.snapshot()).toEqual(before);

    keep(await f.caller(f.operator).apiToken.revoke({ id: made.apiToken.id }));
    expect(await resolveActor(f.db, { authorization: `Bearer ${made.token}` })).toBeNull();

    const short = await f.caller(f.admin).apiToken.create({ name: 'short', role: 'admin', expiresInDays: 1 });
    secrets.push(short.token);
    expect(await resolveActor(f.db, { authorization: `Bearer ${short.token}` })).toMatchObject({ role: 'admin' });
    const later = new Date(Date.now() + 2 * 86_400_000);
    expect(await resolveActor(f.db, { authorization: `Bearer ${short.token}` }, later)).toBeNull();
    expect(await resolveActor(f.db, { authorization: 'Bearer sudc_not-a-real-token' })).toBeNull();
  });

  it('lists own tokens; admins see the tenant, never another tenant', async () => {
    const mine = await f.caller(f.viewer).apiToken.create({ name: 'viewer-bot', role: 'viewer' });
    const theirs = await f.caller(f.otherOperator).apiToken.create({ name: 'b-bot', role: 'operator' });
    secrets.push(mine.token, theirs.token);
    const ownList = keep(await f.caller(f.viewer).apiToken.list());
    expect(ownList.items.map((t) => t.name)).toEqual(['viewer-bot']);
    const adminList = keep(await f.caller(f.admin).apiToken.list({ includeRevoked: true, limit: 200 }));
    expect(adminList.items.map((t) => t.name)).toContain('viewer-bot');
    expect(adminList.items.map((t) => t.name)).not.toContain('b-bot');
    await refused(f.caller(f.viewer).apiToken.revoke({ id: theirs.apiToken.id }), 'NOT_FOUND', 'id');
    await refused(f.caller(f.admin).apiToken.revoke({ id: theirs.apiToken.id }), 'NOT_FOUND', 'id');
  });
});

describe('host credentials', () => {
  it('act only as a host, never as a user', async () => {
    const created = await f.caller(f.admin).host.create({ name: 'cred-host', address: '127.0.0.41' });
    const enrolled = await f.caller(null).host.enroll({ token: created.enrollmentToken, agentVersion: '0.1.0' });
    secrets.push(created.enrollmentToken, enrolled.credential);
    expect(enrolled.credential).toMatch(/^sudh_/);
    const actor = (await resolveActor(f.db, { authorization: `Bearer ${enrolled.credential}` })) as HostActor;
    expect(actor).toEqual({ kind: 'host', hostId: created.host.id, hostName: 'cred-host', credentialHash: hashToken(enrolled.credential) });
    const asHost = f.caller(actor);
    await refused(asHost.auth.me(), 'UNAUTHORIZED');
    await refused(asHost.user.list(), 'UNAUTHORIZED');
    await refused(asHost.host.list(), 'UNAUTHORIZED');
    await refused(asHost.apiToken.create({ name: 'x', role: 'viewer' }), 'UNAUTHORIZED');
    await refused(asHost.audit.list(), 'UNAUTHORIZED');
    // A host credential in the cookie position is nothing.
    expect(await resolveActor(f.db, { cookie: enrolled.credential })).toBeNull();
  });
});

const PROCEDURES: Array<[string, (c: ReturnType<IdentityFixture['caller']>) => Promise<unknown>]> = [
  ['auth.me', (c) => c.auth.me()],
  ['auth.changePassword', (c) => c.auth.changePassword({ currentPassword: 'x', newPassword: 'yyyyyyyyyyyyyy' })],
  ['user.list', (c) => c.user.list()],
  ['user.get', (c) => c.user.get({ id: '00000000-0000-0000-0000-000000000000' })],
  ['user.create', (c) => c.user.create({ username: 'zed', password: 'zzzzzzzzzzzzzz', role: 'viewer' })],
  ['user.update', (c) => c.user.update({ id: '00000000-0000-0000-0000-000000000000', displayName: 'x' })],
  ['user.delete', (c) => c.user.delete({ id: '00000000-0000-0000-0000-000000000000' })],
  ['apiToken.create', (c) => c.apiToken.create({ name: 'x', role: 'viewer' })],
  ['apiToken.list', (c) => c.apiToken.list()],
  ['apiToken.revoke', (c) => c.apiToken.revoke({ id: '00000000-0000-0000-0000-000000000000' })],
  ['host.list', (c) => c.host.list()],
  ['host.get', (c) => c.host.get({ id: '00000000-0000-0000-0000-000000000000' })],
  ['host.create', (c) => c.host.create({ name: 'nope', address: '127.0.0.250' })],
  ['host.update', (c) => c.host.update({ id: '00000000-0000-0000-0000-000000000000', port: 2000 })],
  ['host.delete', (c) => c.host.delete({ id: '00000000-0000-0000-0000-000000000000' })],
  ['host.createEnrollmentToken', (c) => c.host.createEnrollmentToken({ id: '00000000-0000-0000-0000-000000000000' })],
  ['host.revokeCredential', (c) => c.host.revokeCredential({ id: '00000000-0000-0000-0000-000000000000' })],
  ['segment.list', (c) => c.segment.list()],
  ['segment.get', (c) => c.segment.get({ id: '00000000-0000-0000-0000-000000000000' })],
  ['segment.create', (c) => c.segment.create({ name: 'nope' })],
  ['segment.update', (c) => c.segment.update({ id: '00000000-0000-0000-0000-000000000000', name: 'x' })],
  ['segment.delete', (c) => c.segment.delete({ id: '00000000-0000-0000-0000-000000000000' })],
  ['audit.list', (c) => c.audit.list()],
];
const MUTATIONS_FOR_ADMINS = PROCEDURES.filter(([n]) => /^(user\.|host\.(create|update|delete|createE|revoke)|segment\.(create|update|delete))/.test(n));

describe('roles', () => {
  it('refuses every non-public procedure without an actor (UNAUTHORIZED)', async () => {
    const before = await f.snapshot();
    for (const [, call] of PROCEDURES) await refused(call(f.caller(null)), 'UNAUTHORIZED');
    expect(await f.snapshot()).toEqual(before);
  });

  it('viewers and operators cannot manage users, hosts or segments (FORBIDDEN)', async () => {
    const before = await f.snapshot();
    for (const actor of [f.viewer, f.operator]) {
      for (const [, call] of MUTATIONS_FOR_ADMINS) await refused(call(f.caller(actor)), 'FORBIDDEN');
    }
    expect(MUTATIONS_FOR_ADMINS.length).toBe(13);
    expect(await f.snapshot()).toEqual(before);
    // Reads of the shared infrastructure are open to every signed-in user.
    expect(keep(await f.caller(f.viewer).host.list())).toHaveProperty('items');
    expect(keep(await f.caller(f.viewer).segment.list())).toHaveProperty('items');
  });

  it('keeps users within their tenant', async () => {
    const b = await f.db.user.findFirst({ where: { tenantId: f.tenantB }, select: { id: true } });
    const before = await f.snapshot();
    await refused(f.caller(f.admin).user.get({ id: b!.id }), 'NOT_FOUND', 'id');
    await refused(f.caller(f.admin).user.update({ id: b!.id, role: 'viewer' }), 'NOT_FOUND', 'id');
    await refused(f.caller(f.admin).user.delete({ id: b!.id }), 'NOT_FOUND', 'id');
    expect(await f.snapshot()).toEqual(before);
    const list = keep(await f.caller(f.admin).user.list({ limit: 200 }));
    expect(list.items.every((u) => u.tenantId === f.tenantA)).toBe(true);
  });
});

describe('audit and secrecy', () => {
  it('writes an audit entry for every mutation, with secrets redacted', async () => {
    const actions = new Set((await f.db.auditLog.findMany({ select: { action: true } })).map((a) => a.action));
    for (const a of ['auth.login', 'auth.logout', 'auth.changePassword', 'user.create', 'user.update', 'apiToken.create', 'apiToken.revoke', 'host.create', 'host.enroll']) {
      expect(actions, a).toContain(a);
    }
    const raw = JSON.stringify(await f.db.auditLog.findMany(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    for (const s of secrets) {
      expect(raw).not.toContain(s);
      expect(raw).not.toContain(hashToken(s));
    }
    expect(raw).not.toContain('scrypt$');
  });

  it('audit.list shows the tenant its own entries only', async () => {
    const mine = keep(await f.caller(f.operator).audit.list({ limit: 200 }));
    expect(mine.items.length).toBeGreaterThan(0);
    expect(mine.items.every((e) => e.tenantId === f.tenantA)).toBe(true);
    const other = keep(await f.caller(f.otherOperator).audit.list({ limit: 200 }));
    expect(other.items.every((e) => e.tenantId === f.tenantB)).toBe(true);
    const page1 = await f.caller(f.admin).audit.list({ limit: 2 });
    const page2 = await f.caller(f.admin).audit.list({ limit: 2, cursor: page1.nextCursor! });
    expect(page2.items[0]!.id).not.toBe(page1.items[1]!.id);
    expect(BigInt(page2.items[0]!.id)).toBeLessThan(BigInt(page1.items[1]!.id));
    const logins = await f.caller(f.admin).audit.list({ action: 'auth.login', limit: 200 });
    expect(logins.items.length).toBeGreaterThan(0);
    expect(logins.items.every((e) => e.action === 'auth.login')).toBe(true);
  });

  it('no output carries a secret or a hash', async () => {
    outputs.push(await f.caller(f.admin).user.list({ limit: 200 }), await f.caller(f.admin).host.list({ limit: 200 }));
    const text = superjson.stringify(outputs);
    expect(outputs.length).toBeGreaterThan(15);
    expect(text).not.toMatch(/hash/i);
    expect(text).not.toContain('scrypt$');
    for (const s of secrets) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(hashToken(s));
    }
  });
});
