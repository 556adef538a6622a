// The client address over real HTTP (server/serve/http.ts, the same request path as
// the Next.js route): requests come from distinct loopback addresses, with
// X-Forwarded-For headers a client made up. The sign-in limiter and the audit
// log must see the connection's address, unless the connection comes from a
// proxy named in SOFTUDC_TRUSTED_PROXIES.
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../server/auth/password.ts';
import { TRUSTED_PROXIES_ENV } from '../server/auth/clientAddress.ts';
import { LOGIN_MAX_FAILURES, loginLimiter } from '../server/auth/limiter.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { createTestDb, type TestDb } from './db.ts';

const PW = 'correct horse battery staple';
let t: TestDb;
let server: ApiServer;

beforeAll(async () => {
  t = await createTestDb();
  server = await startApiServer({ db: { prisma: t.prisma, raw: t.raw } });
  const tenant = await t.prisma.tenant.create({ data: { name: 'default' }, select: { id: true } });
  const passwordHash = await hashPassword(PW);
  for (const username of ['alice', 'bob', 'carol', 'dave']) {
    await t.prisma.user.create({ data: { tenantId: tenant.id, username, role: 'viewer', passwordHash }, select: { id: true } });
  }
}, 60_000);
afterAll(async () => {
  await server?.close();
  await t?.drop();
});
afterEach(() => {
  delete process.env[TRUSTED_PROXIES_ENV];
  loginLimiter.reset();
});

interface Answer {
  status: number;
  code: string | undefined;
  setCookie: string[];
}

/** `auth.login` over HTTP from the loopback address `from`, with extra headers. */
function login(from: string, username: string, password: string, headers: Record<string, string> = {}): Promise<Answer> {
  const body = JSON.stringify({ json: { username, password } });
  const url = new URL(`${server.url}/auth.login`);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => {
          const parsed = JSON.parse(text) as { error?: { json?: { data?: { code?: string } } } };
          resolve({ status: res.statusCode ?? 0, code: parsed.error?.json?.data?.code, setCookie: res.headers['set-cookie'] ?? [] });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The client address the audit log recorded for the latest sign-in of `username`. */
async function auditedAddress(username: string): Promise<unknown> {
  const row = await t.prisma.auditLog.findFirstOrThrow({
    where: { action: 'auth.login', actorName: username },
    orderBy: { id: 'desc' },
    select: { after: true },
  });
  return (row.after as { clientIp?: unknown }).clientIp;
}

describe('client address', () => {
  it('a forged X-Forwarded-For buys no new sign-in attempts', async () => {
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) {
      expect((await login('127.0.0.5', 'alice', `guess ${i}`, { 'x-forwarded-for': `198.51.100.${i + 1}` })).status).toBe(401);
    }
    const next = await login('127.0.0.5', 'alice', PW, { 'x-forwarded-for': '198.51.100.200' });
    expect(next).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS' });
  });

  it('a forged X-Forwarded-For cannot lock a victim out of their own address, and is not what the audit log records', async () => {
    for (let i = 0; i < LOGIN_MAX_FAILURES + 2; i++) {
      await login('127.0.0.6', 'bob', `guess ${i}`, { 'x-forwarded-for': '127.0.0.7' });
    }
    const victim = await login('127.0.0.7', 'bob', PW, { 'x-forwarded-for': '203.0.113.66' });
    expect(victim.status).toBe(200);
    expect(await auditedAddress('bob')).toBe('127.0.0.7');
  });

  it('believes X-Forwarded-For and X-Forwarded-Proto only from a configured proxy', async () => {
    process.env[TRUSTED_PROXIES_ENV] = '127.0.0.8/32';
    const headers = { 'x-forwarded-for': '192.0.2.44, 203.0.113.9', 'x-forwarded-proto': 'https' };
    const proxied = await login('127.0.0.8', 'carol', PW, headers);
    expect(proxied.status).toBe(200);
    expect(await auditedAddress('carol')).toBe('203.0.113.9');
    expect(proxied.setCookie.join()).toMatch(/; Secure/);
    const direct = await login('127.0.0.9', 'dave', PW, headers);
    expect(direct.status).toBe(200);
    expect(await auditedAddress('dave')).toBe('127.0.0.9');
    expect(direct.setCookie.join()).not.toMatch(/; Secure/);
  });

  it('the failures behind a trusted proxy count per client, not per proxy', async () => {
    process.env[TRUSTED_PROXIES_ENV] = '127.0.0.8';
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) await login('127.0.0.8', 'alice', `guess ${i}`, { 'x-forwarded-for': '192.0.2.1' });
    expect((await login('127.0.0.8', 'alice', PW, { 'x-forwarded-for': '192.0.2.1' })).status).toBe(429);
    expect((await login('127.0.0.8', 'alice', PW, { 'x-forwarded-for': '192.0.2.2' })).status).toBe(200);
  });
});
