// The lean path of agent.report (server/serve/leanReport.ts): the same answer
// bytes as tRPC's, the report stored for the credential's own host and no
// other, and every check of the procedure kept: a revoked credential, an
// input the schema refuses, another content type and a user's token are not
// taken by the lean path, and tRPC refuses them as before, storing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import superjson from 'superjson';
import type { Report } from '../contract/report.ts';
import { generateHostCredential, hashToken } from '../server/auth/tokens.ts';
import { startApiServer, type ApiServer } from '../server/serve/http.ts';
import { leanReportCredential, serveLeanReport } from '../server/serve/leanReport.ts';
import { createTestDb, type TestDb } from './db.ts';

let t: TestDb;
let server: ApiServer;
const hosts: { id: string; credential: string }[] = [];

const report = (appliedGeneration: number): Report => ({
  appliedGeneration,
  agentVersion: 'lean-test',
  uptimeS: 12,
  vifs: [],
  varp: [],
  counters: {},
  health: { status: 'ok', messages: [] },
  applyError: null,
});
const body = (input: unknown) => JSON.stringify(superjson.serialize(input));
const postReport = (credential: string, input: unknown, extra: Record<string, string> = {}, query = '') =>
  fetch(`${server.url}/agent.report${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', ...extra },
    body: query ? JSON.stringify({ 0: superjson.serialize(input) }) : body(input),
  });
const stored = (hostId: string) => t.prisma.hostReport.findUnique({ where: { hostId }, select: { appliedGeneration: true, report: true } });
const leanRequest = (credential: string, type = 'application/json') => ({
  method: 'POST',
  url: '/api/trpc/agent.report',
  header: (n: string) => ({ authorization: `Bearer ${credential}`, 'content-type': type, 'content-length': '100' })[n],
});

beforeAll(async () => {
  t = await createTestDb();
  server = await startApiServer({ db: { prisma: t.prisma, raw: t.raw } });
  for (const name of ['lean-a', 'lean-b']) {
    const credential = generateHostCredential();
    const h = await t.prisma.host.create({
      data: { name, address: name === 'lean-a' ? '127.0.0.2' : '127.0.0.3', credentialHash: hashToken(credential), status: 'online', desiredGeneration: 4 },
      select: { id: true },
    });
    hosts.push({ id: h.id, credential });
  }
}, 60_000);
afterAll(async () => {
  await server?.close();
  await t?.drop();
});

describe('agent.report on the lean path', () => {
  it("answers what tRPC answers and stores the report for the credential's own host only", async () => {
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const cred = leanReportCredential(leanRequest(a.credential), '/api/trpc');
    expect(cred).toBe(a.credential);
    const lean = await serveLeanReport(cred!, Buffer.from(body(report(3))), { prisma: t.prisma, raw: t.raw });
    expect(lean?.status).toBe(200);
    expect(JSON.parse(lean!.body!.toString())).toEqual({ result: { data: { json: { desiredGeneration: 4 } } } });
    expect(await stored(a.id)).toMatchObject({ appliedGeneration: 3, report: { agentVersion: 'lean-test' } });
    expect(await stored(b.id)).toBeNull();
    const host = await t.prisma.host.findUniqueOrThrow({ where: { id: a.id }, select: { appliedGeneration: true, agentVersion: true } });
    expect(host).toEqual({ appliedGeneration: 3, agentVersion: 'lean-test' });

    // Over HTTP: the lean answer and tRPC's (a batch of one always goes through tRPC) are the same.
    const viaLean = await postReport(a.credential, report(4));
    expect(viaLean.status).toBe(200);
    expect(viaLean.headers.get('x-content-type-options')).toBe('nosniff');
    const leanBody = await viaLean.json();
    const viaTrpc = await postReport(a.credential, report(4), {}, '?batch=1');
    expect(viaTrpc.status).toBe(200);
    expect(((await viaTrpc.json()) as unknown[])[0]).toEqual(leanBody);
    expect((await stored(a.id))?.appliedGeneration).toBe(4);
    expect(await stored(b.id)).toBeNull();
  });

  it('reports of the same moment are stored together, each for the host of its own credential', async () => {
    const made = [];
    for (const [name, address] of [['lean-c', '127.0.0.4'], ['lean-d', '127.0.0.5']] as const) {
      const credential = generateHostCredential();
      const h = await t.prisma.host.create({
        data: { name, address, credentialHash: hashToken(credential), status: 'online', desiredGeneration: 9 },
        select: { id: true },
      });
      made.push({ id: h.id, credential });
    }
    const [c, d] = made as [(typeof made)[0], (typeof made)[0]];
    const send = (credential: string, generation: number) =>
      serveLeanReport(credential, Buffer.from(body(report(generation))), { prisma: t.prisma, raw: t.raw });
    // One turn: two hosts, an unknown credential, and a second report of the first host (it goes in the next statement).
    const answers = await Promise.all([send(c.credential, 5), send(d.credential, 7), send(generateHostCredential(), 8), send(c.credential, 6)]);
    expect(answers.map((a) => a?.status ?? null)).toEqual([200, 200, null, 200]);
    expect(await stored(c.id)).toMatchObject({ appliedGeneration: 6 });
    expect(await stored(d.id)).toMatchObject({ appliedGeneration: 7 });
    const applied = await t.prisma.host.findMany({ where: { id: { in: [c.id, d.id] } }, select: { id: true, appliedGeneration: true } });
    expect(Object.fromEntries(applied.map((h) => [h.id, h.appliedGeneration]))).toEqual({ [c.id]: 6, [d.id]: 7 });
    expect(await stored(hosts[1]!.id)).toBeNull();
  });

  it('an input the schema refuses is left to tRPC, which names the field and stores nothing', async () => {
    const b = hosts[1]!;
    const bad = { ...report(1), appliedGeneration: -1 };
    expect(await serveLeanReport(b.credential, Buffer.from(body(bad)), { prisma: t.prisma, raw: t.raw })).toBeNull();
    expect(await serveLeanReport(b.credential, Buffer.from('{not json'), { prisma: t.prisma, raw: t.raw })).toBeNull();
    const r = await postReport(b.credential, bad);
    expect(r.status).toBe(400);
    expect(JSON.stringify(await r.json())).toContain('appliedGeneration');
    expect(await stored(b.id)).toBeNull();
  });

  it('a revoked credential, an unknown one, a user token and another content type are refused as before', async () => {
    const b = hosts[1]!;
    expect(await serveLeanReport(generateHostCredential(), Buffer.from(body(report(1))), { prisma: t.prisma, raw: t.raw })).toBeNull();
    expect((await postReport(generateHostCredential(), report(1))).status).toBe(401);
    expect(leanReportCredential(leanRequest('softudc_tok_x'), '/api/trpc')).toBeNull();
    expect(leanReportCredential(leanRequest(b.credential, 'text/plain'), '/api/trpc')).toBeNull();
    expect((await postReport(b.credential, report(1), { 'content-type': 'text/plain' })).status).toBe(415);
    expect(await stored(b.id)).toBeNull();

    await t.prisma.host.update({ where: { id: b.id }, data: { status: 'revoked', credentialHash: null } });
    expect(await serveLeanReport(b.credential, Buffer.from(body(report(1))), { prisma: t.prisma, raw: t.raw })).toBeNull();
    const r = await postReport(b.credential, report(1));
    expect(r.status).toBe(401);
    expect(await stored(b.id)).toBeNull();
  });
});
