// Auth building blocks and the actor resolution rules, against a real
// database: password hashing, secrets, the cookie, the limiter, sessions,
// API tokens and host credentials, first-start admin, secret-free error logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../test/db.ts';
import { hashPassword, needsRehash, verifyPassword } from '../auth/password.ts';
import { generateApiToken, generateEnrollmentToken, generateHostCredential, generateSessionToken, hashToken, tokenPrefix } from '../auth/tokens.ts';
import { clearSessionCookie, readSessionCookie, serializeSessionCookie, sessionLifetimeMs } from '../auth/cookies.ts';
import { FailureLimiter, LOGIN_MAX_FAILURES, LOGIN_MAX_USER_FAILURES, LOGIN_MAX_ADDRESS_FAILURES, LOGIN_WINDOW_MS, LoginLimiter } from '../auth/limiter.ts';
import { ensureAdmin } from '../serve/bootstrap.ts';
import { parseTrustedProxies, requestOrigin } from '../auth/clientAddress.ts';
import { logApiError, scrubSecrets } from '../trpc/error-log.ts';
import { TRPCError } from '@trpc/server';
import { changePassword, login, resolveActor, TOUCH_INTERVAL_MS } from './sessions.ts';
import { createApiToken } from './apiTokens.ts';
import type { UserActor } from '../auth/actors.ts';

describe('password hashing', () => {
  it('stores scrypt$N$r$p$salt$hash and verifies in constant form', async () => {
    const h = await hashPassword('hunter2 hunter2');
    const parts = h.split('$');
    expect(parts.slice(0, 4)).toEqual(['scrypt', '16384', '8', '1']);
    expect(Buffer.from(parts[4]!, 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[5]!, 'base64')).toHaveLength(64);
    expect(await verifyPassword('hunter2 hunter2', h)).toBe(true);
    expect(await verifyPassword('hunter2 hunter3', h)).toBe(false);
    expect(await hashPassword('hunter2 hunter2')).not.toBe(h); // fresh salt
    expect(needsRehash(h)).toBe(false);
  });

  it('never matches a malformed or hostile stored value', async () => {
    for (const bad of ['x', '', 'scrypt$16384$8$1$$', 'scrypt$1099511627776$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==', 'bcrypt$a$b$c$d$e']) {
      expect(await verifyPassword('anything', bad)).toBe(false);
      expect(needsRehash(bad)).toBe(true);
    }
  });
});

describe('secrets and cookie', () => {
  it('generates prefixed random secrets stored as sha-256 hex', () => {
    expect(generateSessionToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateApiToken()).toMatch(/^sudc_[A-Za-z0-9_-]{43}$/);
    expect(generateHostCredential()).toMatch(/^sudh_[A-Za-z0-9_-]{43}$/);
    expect(generateEnrollmentToken()).toMatch(/^sude_[A-Za-z0-9_-]{43}$/);
    expect(generateApiToken()).not.toBe(generateApiToken());
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(tokenPrefix('sudc_ABCDEFGHIJ')).toBe('sudc_ABCDE');
  });

  it('serializes and reads the session cookie', () => {
    expect(serializeSessionCookie('v', { secure: false, maxAgeSeconds: 60 })).toBe('softudc_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60');
    expect(serializeSessionCookie('v', { secure: true, maxAgeSeconds: 60 })).toMatch(/; Secure$/);
    expect(clearSessionCookie(false)).toMatch(/^softudc_session=; .*Max-Age=0/);
    expect(readSessionCookie('a=1; softudc_session=xyz; b=2')).toBe('xyz');
    expect(readSessionCookie('softudc_sessionx=1')).toBeNull();
    expect(readSessionCookie(null)).toBeNull();
    expect(sessionLifetimeMs({})).toBe(12 * 3600_000);
    expect(sessionLifetimeMs({ SOFTUDC_SESSION_HOURS: '0.5' })).toBe(1800_000);
    expect(() => sessionLifetimeMs({ SOFTUDC_SESSION_HOURS: 'soon' })).toThrow(/SOFTUDC_SESSION_HOURS/);
  });
});

describe('failure limiter', () => {
  it('allows 10 failures in 5 minutes, then refuses until the oldest ages out', () => {
    const l = new FailureLimiter();
    const t0 = 1_000_000;
    for (let i = 0; i < 9; i++) l.fail('k', t0 + i);
    expect(l.retryAfterMs('k', t0 + 10)).toBe(0);
    l.fail('k', t0 + 9);
    expect(l.retryAfterMs('k', t0 + 10)).toBe(5 * 60_000 - 10);
    expect(l.retryAfterMs('other', t0 + 10)).toBe(0);
    expect(l.retryAfterMs('k', t0 + 5 * 60_000)).toBe(0);
    l.fail('k', t0);
    l.clear('k');
    expect(l.retryAfterMs('k', t0 + 1)).toBe(0);
  });
});

describe('sign-in limiter', () => {
  const t0 = 5_000_000;

  it('counts failures per address and username: others behind the same address are not locked out', () => {
    const l = new LoginLimiter();
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) l.fail('mallory', '10.0.0.1', t0 + i);
    expect(l.retryAfterMs('mallory', '10.0.0.1', t0 + 20)).toBe(LOGIN_WINDOW_MS - 20);
    // The same proxy address, another username; the same username, another address.
    expect(l.retryAfterMs('carol', '10.0.0.1', t0 + 20)).toBe(0);
    expect(l.retryAfterMs('mallory', '10.0.0.2', t0 + 20)).toBe(0);
    // Usernames are case-insensitive in the count, and a call without an address is an address of its own.
    expect(l.retryAfterMs('MALLORY', '10.0.0.1', t0 + 20)).toBeGreaterThan(0);
    expect(l.retryAfterMs('mallory', undefined, t0 + 20)).toBe(0);
    expect(l.retryAfterMs('mallory', '10.0.0.1', t0 + LOGIN_WINDOW_MS)).toBe(0);
  });

  it('caps one username across addresses higher, except for addresses it signed in from', () => {
    const l = new LoginLimiter();
    l.succeed('carol', '192.0.2.7', t0);
    for (let i = 0; i < LOGIN_MAX_USER_FAILURES - 1; i++) l.fail('carol', `10.1.${i >> 8}.${i & 255}`, t0 + 1);
    expect(l.retryAfterMs('carol', '10.9.9.9', t0 + 2)).toBe(0);
    l.fail('carol', '10.9.9.8', t0 + 2);
    // Spread-out guessing stops new addresses...
    expect(l.retryAfterMs('carol', '10.9.9.9', t0 + 3)).toBe(LOGIN_WINDOW_MS - 2);
    // ...but never the user at an address they signed in from, nor other usernames.
    expect(l.retryAfterMs('carol', '192.0.2.7', t0 + 3)).toBe(0);
    expect(l.retryAfterMs('dave', '10.9.9.9', t0 + 3)).toBe(0);
    // Trust has an end.
    const later = t0 + 31 * 24 * 3600_000;
    for (let i = 0; i < LOGIN_MAX_USER_FAILURES; i++) l.fail('carol', `10.2.${i >> 8}.${i & 255}`, later);
    expect(l.retryAfterMs('carol', '192.0.2.7', later + 1)).toBeGreaterThan(0);
  });

  it('caps one address across usernames highest, except for usernames that signed in from it', () => {
    const l = new LoginLimiter();
    l.succeed('erin', '198.51.100.9', t0);
    // One address tries one password against many accounts (fewer than the per-pair cap each).
    for (let i = 0; i < LOGIN_MAX_ADDRESS_FAILURES; i++) l.fail(`user${i}`, '198.51.100.9', t0 + 1);
    expect(l.retryAfterMs('someone-new', '198.51.100.9', t0 + 2)).toBe(LOGIN_WINDOW_MS - 1);
    expect(l.retryAfterMs('user0', '198.51.100.9', t0 + 2)).toBe(LOGIN_WINDOW_MS - 1);
    // The people behind that address who signed in from it before, and other addresses, go on.
    expect(l.retryAfterMs('erin', '198.51.100.9', t0 + 2)).toBe(0);
    expect(l.retryAfterMs('someone-new', '198.51.100.10', t0 + 2)).toBe(0);
    expect(l.retryAfterMs('someone-new', '198.51.100.9', t0 + 1 + LOGIN_WINDOW_MS)).toBe(0);
  });

  it('a success forgets its own pair\'s failures only', () => {
    const l = new LoginLimiter({ pairMax: 3, userMax: 5 });
    for (let i = 0; i < 2; i++) l.fail('erin', '10.0.0.1', t0);
    for (let i = 0; i < 2; i++) l.fail('erin', '10.0.0.2', t0);
    l.succeed('erin', '10.0.0.1', t0 + 1);
    expect(l.pairs.retryAfterMs('10.0.0.1 erin', t0 + 2)).toBe(0);
    l.fail('erin', '10.0.0.2', t0 + 2);
    expect(l.retryAfterMs('erin', '10.0.0.2', t0 + 3)).toBeGreaterThan(0);
    // Five failures of erin in all: a new address is stopped by the username cap, the trusted one is not.
    expect(l.retryAfterMs('erin', '10.0.0.3', t0 + 3)).toBeGreaterThan(0);
    expect(l.retryAfterMs('erin', '10.0.0.1', t0 + 3)).toBe(0);
  });
});

describe('with a database', () => {
  let t: TestDb;
  let user: UserActor;
  const PW = 'a long password 1';
  beforeAll(async () => {
    t = await createTestDb();
    const r = await ensureAdmin(t.prisma, { password: PW, log: () => {} });
    expect(r).toEqual({ created: true, generated: false });
    const u = await t.prisma.user.findUniqueOrThrow({ where: { username: 'admin' }, select: { id: true, tenantId: true, username: true, role: true } });
    user = { kind: 'user', userId: u.id, tenantId: u.tenantId, username: u.username, role: u.role };
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('ensureAdmin is idempotent and race-safe', async () => {
    const lines: string[] = [];
    const again = await Promise.all([1, 2, 3].map(() => ensureAdmin(t.prisma, { log: (l) => lines.push(l) })));
    expect(again.every((r) => !r.created)).toBe(true);
    expect(lines).toEqual([]);
    expect(await t.prisma.user.count()).toBe(1);
  });

  it('ensureAdmin on an empty database prints a generated password once', async () => {
    const fresh = await createTestDb();
    try {
      const lines: string[] = [];
      const log = (l: string) => lines.push(l);
      await expect(ensureAdmin(fresh.prisma, { password: 'short', log })).rejects.toThrow(/at least 12/);
      expect(await fresh.prisma.user.count()).toBe(0);
      const results = await Promise.all([ensureAdmin(fresh.prisma, { log }), ensureAdmin(fresh.prisma, { log })]);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('first start: admin password');
      const password = /password: (\S+)/.exec(lines[0]!)![1]!;
      expect(password.length).toBeGreaterThanOrEqual(20);
      expect(await fresh.prisma.user.count()).toBe(1);
      const out = await login({ db: fresh.prisma, username: 'admin', password, limiter: new LoginLimiter() });
      expect(out.user.role).toBe('admin');
      expect(await ensureAdmin(fresh.prisma, { log })).toEqual({ created: false, generated: false });
      expect(lines).toHaveLength(1);
    } finally {
      await fresh.drop();
    }
  });

  it('sessions expire, die with a disabled user, and refresh lastSeenAt at most once a minute', async () => {
    const limiter = new LoginLimiter();
    const t0 = new Date();
    const s = await login({ db: t.prisma, username: 'admin', password: PW, limiter, now: t0 });
    expect(s.expiresAt.getTime() - t0.getTime()).toBe(12 * 3600_000);
    const soon = new Date(t0.getTime() + 1000);
    expect(await resolveActor(t.prisma, { cookie: s.sessionToken }, soon)).toMatchObject({ kind: 'user', userId: user.userId });
    const row = () => t.prisma.session.findFirstOrThrow({ where: { tokenHash: hashToken(s.sessionToken) }, select: { lastSeenAt: true } });
    expect((await row()).lastSeenAt.getTime()).toBe(t0.getTime());
    const later = new Date(t0.getTime() + TOUCH_INTERVAL_MS + 5);
    await resolveActor(t.prisma, { cookie: s.sessionToken }, later);
    expect((await row()).lastSeenAt.getTime()).toBe(later.getTime());
    expect(await resolveActor(t.prisma, { cookie: s.sessionToken }, new Date(t0.getTime() + 13 * 3600_000))).toBeNull();
    expect(await t.prisma.session.count({ where: { tokenHash: hashToken(s.sessionToken) } })).toBe(0);

    const s2 = await login({ db: t.prisma, username: 'admin', password: PW, limiter });
    await t.prisma.user.update({ where: { id: user.userId }, data: { disabled: true } });
    expect(await resolveActor(t.prisma, { cookie: s2.sessionToken })).toBeNull();
    await t.prisma.user.update({ where: { id: user.userId }, data: { disabled: false } });
    expect(await resolveActor(t.prisma, { cookie: s2.sessionToken })).not.toBeNull();
  });

  it('an Authorization header decides alone; malformed ones are nobody', async () => {
    const s = await login({ db: t.prisma, username: 'admin', password: PW, limiter: new LoginLimiter() });
    expect(await resolveActor(t.prisma, { cookie: s.sessionToken, authorization: 'Bearer sudc_forged' })).toBeNull();
    expect(await resolveActor(t.prisma, { authorization: 'Basic YWRtaW46eA==' })).toBeNull();
    expect(await resolveActor(t.prisma, { authorization: `Bearer ${s.sessionToken}` })).toBeNull();
    expect(await resolveActor(t.prisma, {})).toBeNull();
  });

  it('a user signs in despite failures of the same username elsewhere and of other users at the same address', async () => {
    const limiter = new LoginLimiter({ pairMax: 3, userMax: 6 });
    const tryAs = (username: string, password: string, clientIp: string) => login({ db: t.prisma, username, password, clientIp, limiter });
    const code = (p: Promise<unknown>) => p.then(() => 'OK', (e: { code?: string }) => e.code);
    // Someone behind the office proxy fails again and again as a user that does not exist...
    for (let i = 0; i < 3; i++) expect(await code(tryAs('nobody', `wrong ${i}`, '198.51.100.1'))).toBe('UNAUTHORIZED');
    expect(await code(tryAs('nobody', 'again', '198.51.100.1'))).toBe('TOO_MANY_REQUESTS');
    // ...and the admin behind the same proxy still signs in.
    expect(await code(tryAs('admin', PW, '198.51.100.1'))).toBe('OK');
    // Failing as admin there stops that pair, even with the right password.
    for (let i = 0; i < 3; i++) expect(await code(tryAs('admin', `wrong ${i}`, '198.51.100.1'))).toBe('UNAUTHORIZED');
    expect(await code(tryAs('admin', PW, '198.51.100.1'))).toBe('TOO_MANY_REQUESTS');
    // The admin at home is not.
    expect(await code(tryAs('admin', PW, '203.0.113.5'))).toBe('OK');
    // Guessing spread over addresses reaches the username cap (6 failures): new addresses stop...
    for (let i = 0; i < 3; i++) expect(await code(tryAs('admin', 'guess', `192.0.2.${i}`))).toBe('UNAUTHORIZED');
    expect(await code(tryAs('admin', PW, '192.0.2.200'))).toBe('TOO_MANY_REQUESTS');
    // ...while the admin's own address still signs in, and nobody else is affected.
    expect(await code(tryAs('admin', PW, '203.0.113.5'))).toBe('OK');
    expect(await code(tryAs('nobody', 'x', '192.0.2.200'))).toBe('UNAUTHORIZED');
  });

  it('wrong current passwords are counted apart from sign-ins', async () => {
    const limiter = new LoginLimiter({ pairMax: 2, userMax: 2, passwordMax: 2 });
    for (let i = 0; i < 2; i++) await expect(login({ db: t.prisma, username: 'admin', password: 'no', clientIp: '198.51.100.9', limiter })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const change = (currentPassword: string) => changePassword({ db: t.prisma, actor: user, currentPassword, newPassword: 'another long password', limiter });
    // Other people's failed sign-ins do not stop the signed-in admin...
    await expect(change('not it')).rejects.toMatchObject({ code: 'BAD_REQUEST', field: 'currentPassword' });
    await expect(change('not it')).rejects.toMatchObject({ code: 'BAD_REQUEST', field: 'currentPassword' });
    // ...their own wrong guesses do, and do not touch sign-ins from a trusted address.
    await expect(change(PW)).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    limiter.succeed('admin', '203.0.113.5');
    expect((await login({ db: t.prisma, username: 'admin', password: PW, clientIp: '203.0.113.5', limiter })).user.username).toBe('admin');
  });

  it('a token never acts above its user\'s current role', async () => {
    const { token } = await createApiToken({ db: t.prisma, actor: user, name: 'auto', role: 'admin' });
    expect(await resolveActor(t.prisma, { authorization: `bearer ${token}` })).toMatchObject({ kind: 'token', role: 'admin' });
    await t.prisma.user.update({ where: { id: user.userId }, data: { role: 'viewer' } });
    expect(await resolveActor(t.prisma, { authorization: `Bearer ${token}` })).toMatchObject({ role: 'viewer' });
    await t.prisma.user.update({ where: { id: user.userId }, data: { role: 'admin' } });
  });
});

describe('request helpers and error log', () => {
  it('takes the client address from the connection, and X-Forwarded-For only from trusted proxies', () => {
    const none = parseTrustedProxies('');
    const proxies = parseTrustedProxies('10.0.0.5, 10.1.0.0/16, fd00::/8');
    const from = (peer: string | undefined, xff: string | null, trusted = proxies, proto: string | null = null, encrypted = false) =>
      requestOrigin({ peer, encrypted, forwardedFor: xff, forwardedProto: proto, trusted });
    // Nobody trusted (the default): the header is never read.
    expect(from('127.0.0.9', '6.6.6.6', none)).toEqual({ address: '127.0.0.9', secure: false });
    expect(from('::ffff:127.0.0.1', null, none).address).toBe('127.0.0.1');
    expect(from(undefined, '6.6.6.6', none).address).toBeUndefined();
    // An untrusted peer's header is ignored, proto included.
    expect(from('192.0.2.1', '6.6.6.6', proxies, 'https')).toEqual({ address: '192.0.2.1', secure: false });
    // From a trusted proxy: the rightmost address that is not a trusted proxy.
    expect(from('10.0.0.5', '6.6.6.6, 203.0.113.7, 10.1.2.3', proxies, 'https')).toEqual({ address: '203.0.113.7', secure: true });
    expect(from('fd00::1', '198.51.100.2').address).toBe('198.51.100.2');
    // Only proxies in the header: the leftmost; a proxy that sent none: the proxy; garbage: the proxy nearest it.
    expect(from('10.0.0.5', '10.1.0.9, 10.1.0.8').address).toBe('10.1.0.9');
    expect(from('10.0.0.5', null).address).toBe('10.0.0.5');
    expect(from('10.0.0.5', 'evil<script>, 10.1.0.8').address).toBe('10.1.0.8');
    expect(from('10.0.0.5', null, proxies, null, true).secure).toBe(true);
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow(/SOFTUDC_TRUSTED_PROXIES: "10.0.0.0\/33"/);
    expect(() => parseTrustedProxies('proxy.example')).toThrow(/not an IP address or CIDR prefix/);
  });

  it('logs server errors as one JSON line with secrets masked, and ignores client errors', () => {
    const tok = generateApiToken();
    const lines: string[] = [];
    const cause = new Error(`insert failed for ${tok} hash ${hashToken(tok)} scrypt$16384$8$1$abc$def at postgresql://u:pw@db/x\nstack`);
    logApiError({ error: new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'boom', cause }), path: 'auth.login', type: 'mutation' }, (l) => lines.push(l));
    logApiError({ error: new TRPCError({ code: 'BAD_REQUEST', message: 'name: bad' }), path: 'x', type: 'query' }, (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'error', path: 'auth.login', code: 'INTERNAL_SERVER_ERROR', error: 'boom' });
    expect(lines[0]).not.toContain(tok);
    expect(lines[0]).not.toContain(hashToken(tok));
    expect(lines[0]).not.toContain('scrypt$');
    expect(lines[0]).not.toContain(':pw@');
    expect(lines[0]).not.toContain('stack');
    expect(scrubSecrets('postgresql://u:pw@h/db')).toBe('postgresql://u:[redacted]@h/db');
  });
});
