// Where a fleet deploy's own time goes, before any state reaches an agent:
// the deploy of bench/control/fleet.ts (1,000 hosts, every vnet's MTU
// changed) run in this process with no agents, every database round trip
// timed and grouped by statement, and the time between them (the console's
// own work) summed.
//
//   DATABASE_URL=postgresql://… npx tsx bench/control/deployProbe.ts
//   (PROBE_KEEP=1 keeps the database and prints its URL, for EXPLAIN)
import pg from 'pg';
import { generateHostCredential, hashToken } from '../../server/auth/tokens.ts';
import { setupControl } from '../../test/control-fixture.ts';
import { syntheticAddress } from './synthetic.ts';

const HOSTS = Number(process.env.BENCH_FLEET_HOSTS ?? 1000);
const PER_VNET = 50;

interface Timed { text: string; ms: number; start: number }
let timed: Timed[] | null = null;
// Every statement Prisma's adapter and the raw pool send goes through pg.Client#query.
const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: pg.Client, ...args: unknown[]) {
  const start = performance.now();
  const r = query.apply(this, args);
  const cfg = args[0] as string | { text?: string };
  const text = (typeof cfg === 'string' ? cfg : (cfg?.text ?? '')).replace(/\s+/g, ' ').slice(0, 110);
  if (timed && r && typeof (r as Promise<unknown>).then === 'function') {
    const list = timed;
    void (r as Promise<unknown>).then(() => list.push({ text, ms: performance.now() - start, start }), () => undefined);
  }
  return r;
};

const f = await setupControl();
try {
  const credentials = Array.from({ length: HOSTS }, () => generateHostCredential());
  await f.db.host.createMany({
    data: credentials.map((c, i) => ({
      name: `sim${i}`, address: syntheticAddress(i, 100), credentialHash: hashToken(c), status: 'online' as const,
      capabilities: ['guest:emulated'], lastSeenAt: new Date(),
    })),
  });
  const api = f.caller(f.admin);
  const vnets = Math.ceil(HOSTS / PER_VNET);
  const farm = await api.farm.import({
    document: {
      version: 'softudc.farm/v1',
      name: 'fleet',
      vnets: Array.from({ length: vnets }, (_, i) => ({ name: `n${i}`, cidr: `10.${100 + i}.0.0/24` })),
      vms: Array.from({ length: HOSTS }, (_, i) => ({ name: `vm-${i}`, host: `sim${i}`, vifs: [{ vnet: `n${Math.floor(i / PER_VNET)}` }] })),
    },
  });
  let t0 = performance.now();
  await api.farm.deploy({ id: farm.id });
  console.log(`first deploy ${(performance.now() - t0).toFixed(0)} ms`);
  for (const mtu of [1300, 1200]) {
    const got = await api.farm.get({ id: farm.id });
    let revision = got.revision;
    for (const v of got.vnets) revision = (await api.vnet.update({ id: v.id, expectedRevision: revision, mtu })).farmRevision;
    timed = [];
    t0 = performance.now();
    const d = await api.farm.deploy({ id: farm.id, expectedRevision: revision });
    const total = performance.now() - t0;
    const list = timed;
    timed = null;
    const db = list.reduce((a, q) => a + q.ms, 0);
    console.log(`\nchange deploy (MTU ${mtu}): ${total.toFixed(0)} ms, ${d.progress.total} hosts; ${list.length} statements, ${db.toFixed(0)} ms in them, ${(total - db).toFixed(0)} ms between`);
    const groups = new Map<string, { n: number; ms: number }>();
    for (const q of list) {
      const g = groups.get(q.text) ?? { n: 0, ms: 0 };
      g.n++;
      g.ms += q.ms;
      groups.set(q.text, g);
    }
    for (const [text, g] of [...groups].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) console.log(`${g.ms.toFixed(1).padStart(8)} ms ${String(g.n).padStart(4)}× ${text}`);
    // The gaps: where the console itself computes between round trips.
    list.sort((a, b) => a.start - b.start);
    let prev = t0;
    const gaps: { ms: number; before: string }[] = [];
    for (const q of list) {
      if (q.start - prev > 20) gaps.push({ ms: q.start - prev, before: q.text });
      prev = Math.max(prev, q.start + q.ms);
    }
    for (const g of gaps) console.log(`   gap ${g.ms.toFixed(0)} ms before ${g.before}`);
  }
} finally {
  if (process.env.PROBE_KEEP) console.log(`kept ${f.t.url}`);
  else await f.drop();
}
