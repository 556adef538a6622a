// The console as served by `npm start` (Next.js behind scripts/serve.mjs):
// the client address the API sees is the connection's, whatever
// X-Forwarded-For a client makes up; pages carry their security headers;
// forged cross-site mutations are refused.
import { expect, test } from '@playwright/test';
import { password } from './helpers.ts';

const input = (json: unknown) => `input=${encodeURIComponent(JSON.stringify({ json }))}`;

test('a forged X-Forwarded-For neither buys sign-in attempts nor reaches the audit log', async ({ request }) => {
  // An unknown user, so the real admin is never locked out for the rest of the suite.
  const codes: number[] = [];
  for (let i = 0; i < 11; i++) {
    const r = await request.post('/api/trpc/auth.login', {
      headers: { 'x-forwarded-for': `198.51.100.${i + 1}`, 'x-softudc-peer': 'forged 203.0.113.1 tcp' },
      data: { json: { username: 'nobody-e2e', password: `guess-${i}` } },
    });
    codes.push(r.status());
  }
  expect(codes.slice(0, 10)).toEqual(Array(10).fill(401));
  expect(codes[10]).toBe(429);

  const ok = await request.post('/api/trpc/auth.login', {
    headers: { 'x-forwarded-for': '198.51.100.77' },
    data: { json: { username: 'admin', password } },
  });
  expect(ok.status()).toBe(200);
  const audit = await request.get(`/api/trpc/audit.list?${input({ action: 'auth.login', limit: 1 })}`);
  const entry = (await audit.json()).result.data.json.items[0];
  expect(entry.after.clientIp).toBe('127.0.0.1');
});

test('pages and API answers carry security headers; cross-site mutations are refused', async ({ request }) => {
  const page = await request.get('/login');
  const headers = page.headers();
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
  const api = await request.get('/api/trpc/auth.me');
  expect(api.headers()['x-content-type-options']).toBe('nosniff');

  await request.post('/api/trpc/auth.login', { data: { json: { username: 'admin', password } } });
  const me = async () => (await request.get('/api/trpc/auth.me')).status();
  expect(await me()).toBe(200);
  // A form on another site (or another port of this host) posting to auth.logout.
  const form = await request.post('/api/trpc/auth.logout', { headers: { origin: 'http://127.0.0.1:1' }, multipart: { x: '1' } });
  expect(form.status()).toBe(415);
  const forged = await request.post('/api/trpc/auth.logout', { headers: { origin: 'http://127.0.0.1:1' }, data: {} });
  expect(forged.status()).toBe(403);
  const sameSite = await request.post('/api/trpc/auth.logout', { headers: { 'sec-fetch-site': 'same-site' }, data: {} });
  expect(sameSite.status()).toBe(403);
  expect(await me()).toBe(200);
});
