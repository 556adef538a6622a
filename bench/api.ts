// API benchmark: the console's API over real HTTP (server/serve/http.ts, the same
// entry as the Next.js route: server/serve/api.ts) in a child process,
// against Postgres. Signs in with a password, imports a generated 200-VM
// farm, then measures requests/second and latency of farm.list and of
// farm.get of that farm with N concurrent keep-alive clients for a fixed
// time. Then the per-farm limits (server/limits.ts): the import of a farm at
// the VIF limit (time, the server's memory before and after), another
// tenant's farm.list while it runs against farm.list alone just before (the
// reference), and how fast a document past the limits is refused.
//
//   npm run bench:api
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres BENCH_SECONDS=10 BENCH_CLIENTS=16 npm run bench:api
//   BENCH_LIMITS=0 BENCH_PROFILE=/tmp/prof npm run bench:api   (the reads only; a CPU profile of the server)
//
// It creates its own database on that server (softudc_bench_<hex>) and drops it at the end.
//
// Over 300 lines, kept whole: one run in one order (database, console process,
// sign-in, import, the measured phases, the verdicts, clean-up), each phase
// using the run's client, cookie and server; split, the reader would follow
// one run across files that share all of its state.
import { expectAnswer } from './verdict.ts';
import { cpuMs, rssBytes } from './proc.ts';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import superjson from 'superjson';
import { hashPassword } from '../server/auth/password.ts';
import { FARM_LIMITS } from '../server/limits.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';

const BASE_URL = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const VMS = Number(process.env.BENCH_VMS ?? 200);
const FARMS = 50; // farm.list's default page
const PASSWORD = randomBytes(12).toString('base64url');

const dbName = `softudc_bench_${randomBytes(5).toString('hex')}`;
const withDb = (name: string) => {
  const u = new URL(BASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
};
async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: withDb('postgres') });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The generated farm: 4 vnets, VMS VMs with one VIF each, a router and a firewall between the tiers. */
function farmDocument(): FarmDocumentInput {
  const tiers = ['web', 'app', 'db', 'mgmt'];
  return {
    version: 'softudc.farm/v1',
    name: 'big',
    description: `${VMS} VMs on ${tiers.length} vnets`,
    vnets: tiers.map((t, i) => ({ name: t, cidr: `10.${200 + i}.0.0/22` })),
    vms: Array.from({ length: VMS }, (_, i) => ({ name: `${tiers[i % 4]}-${i}`, vifs: [{ vnet: tiers[i % 4]! }] })),
    routers: [{ name: 'core', interfaces: tiers.map((t) => ({ vnet: t })), staticRoutes: [{ destination: '0.0.0.0/0', nextHop: '10.200.0.1' }] }],
    firewalls: [{
      name: 'fw', defaultPolicy: 'deny', interfaces: [{ name: 'outside', vnet: 'web' }, { name: 'inside', vnet: 'app' }],
      rules: [{ action: 'allow', protocol: 'tcp', destination: '10.200.0.0/22', portFrom: 443, interface: 'outside' },
        { action: 'allow', protocol: 'tcp', source: '10.200.0.0/22', destination: '10.201.0.0/22', portFrom: 8080 }, { action: 'allow', protocol: 'icmp' }],
    }],
  };
}

// ---- a minimal tRPC-over-HTTP client (no batching, superjson) ----

let base = '';
let cookie = '';
let lastCookie = ''; // the session cookie the last sign-in set

async function call(kind: 'query' | 'mutation', path: string, input: unknown, as = cookie): Promise<unknown> {
  const encoded = JSON.stringify(superjson.serialize(input));
  const headers: Record<string, string> = { cookie: as };
  const res =
    kind === 'query'
      ? await fetch(`${base}/api/trpc/${path}?input=${encodeURIComponent(encoded)}`, { headers })
      : await fetch(`${base}/api/trpc/${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: encoded });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const setCookie = res.headers.getSetCookie()[0];
  if (setCookie) {
    lastCookie = setCookie.split(';')[0]!;
    if (as === cookie) cookie = lastCookie;
  }
  return superjson.deserialize((JSON.parse(text) as { result: { data: never } }).result.data);
}

interface Result {
  requests: number;
  errors: number;
  bytes: number;
  latencies: number[];
  seconds: number;
}

/** CLIENTS loops, each issuing one request after the other until the time is up. */
async function load(path: string, input: unknown, seconds: number): Promise<Result> {
  const url = `${base}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(superjson.serialize(input)))}`;
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const maxPerClient = 1_000_000; // a bound, never reached in practice
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = 0; i < maxPerClient && performance.now() < end; i++) {
        const t0 = performance.now();
        try {
          const res = await fetch(url, { headers: { cookie } });
          const body = await res.arrayBuffer();
          bytes += body.byteLength;
          if (res.ok) latencies.push(performance.now() - t0);
          else errors++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { requests: latencies.length, errors, bytes, latencies, seconds: (performance.now() - start) / 1000 };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

function report(name: string, r: Result, serverCpuMs: number): void {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const rps = r.requests / r.seconds;
  console.log(
    `${name.padEnd(28)} ${rps.toFixed(0).padStart(7)} req/s   p50 ${pct(sorted, 50).toFixed(1).padStart(6)} ms   ` +
      `p99 ${pct(sorted, 99).toFixed(1).padStart(6)} ms   ${(r.bytes / Math.max(1, r.requests + r.errors) / 1024).toFixed(1)} KiB/resp   ` +
      `${r.requests} ok, ${r.errors} errors   server CPU ${(serverCpuMs / Math.max(1, r.requests)).toFixed(2)} ms/req`,
  );
  expectAnswer(r.requests > 0, `${name}: no request answered (${r.errors} errors)`);
}

/** The server side, in its own process so clients and server do not share one event loop. */
async function runServer(): Promise<void> {
  const { startApiServer } = await import('../server/serve/http.ts');
  const { closeDb, getDb } = await import('../server/db/index.ts');
  await getDb(); // open (and migrate) before the first request is timed
  const server = await startApiServer({ port: 0 });
  process.stdout.write(`listening ${server.port}\n`);
  process.on('SIGTERM', () => {
    void server
      .close()
      .then(() => closeDb())
      .finally(() => process.exit(0));
  });
}

const rssMiB = (pid: number) => rssBytes(pid) / 2 ** 20;

/** A farm at the VIF limit: every VM with a VIF on each of 64 vnets. */
function farmAtLimit(name: string): FarmDocumentInput {
  const perVm = 64;
  const nets = Array.from({ length: perVm }, (_, i) => ({ name: `n${i}`, cidr: `10.${i}.0.0/24` }));
  const vms = Array.from({ length: FARM_LIMITS.vifs / perVm }, (_, i) => ({ name: `vm-${i}`, vifs: nets.map((n) => ({ vnet: n.name })) }));
  return { version: 'softudc.farm/v1', name, vnets: nets, vms };
}

/** farm.list as another tenant, one request after the other, until `until` settles; the latencies. */
async function listLoop(as: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const t0 = performance.now();
    await call('query', 'farm.list', {}, as);
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

function latencyLine(name: string, ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  expectAnswer(ms.length > 0, `${name}: no request answered`);
  return `${name.padEnd(44)} p50 ${pct(sorted, 50).toFixed(1).padStart(7)} ms   max ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(7)} ms   (${ms.length} requests)`;
}

/** The per-farm limits: an import at the limit, another tenant meanwhile, a document past the limits refused. */
async function benchLimits(serverPid: number, otherCookie: string): Promise<void> {
  console.log(`\nper-farm limits (server/limits.ts): a farm at the VIF limit, ${FARM_LIMITS.vifs} VIFs on ${FARM_LIMITS.vifs / 64} VMs`);
  const reference = await listLoop(otherCookie, new Promise((r) => setTimeout(r, 2_000)));
  const rssBefore = rssMiB(serverPid);
  const t0 = performance.now();
  const importing = call('mutation', 'farm.import', { document: farmAtLimit('at-limit') });
  const during = await listLoop(otherCookie, importing);
  const answer = (await importing) as { counts: { vms: number } };
  const importMs = performance.now() - t0;
  if (answer.counts.vms !== FARM_LIMITS.vifs / 64) throw new Error(`the import answered ${JSON.stringify(answer.counts)}`);
  const rssAfter = rssMiB(serverPid);
  console.log(`import at the limit: ${importMs.toFixed(0)} ms, answer ${JSON.stringify(answer).length} bytes; server resident ${rssBefore.toFixed(0)} MiB before, ${rssAfter.toFixed(0)} MiB after (+${(rssAfter - rssBefore).toFixed(0)} MiB)`);
  console.log(latencyLine("another tenant's farm.list, alone (reference)", reference));
  console.log(latencyLine("another tenant's farm.list during the import", during));
  const t1 = performance.now();
  const past = { version: 'softudc.farm/v1', name: 'past', vnets: [{ name: 'n', cidr: '10.0.0.0/8' }], vms: Array.from({ length: 10_000 }, (_, i) => ({ name: `vm-${i}`, vifs: Array.from({ length: 8 }, () => ({ vnet: 'n' })) })) };
  const refusal = await call('mutation', 'farm.import', { document: past }).then(
    () => 'accepted (wrong)',
    (e: unknown) => String(e).slice(0, 120),
  );
  console.log(`import of 10 000 VMs × 8 VIFs: refused in ${(performance.now() - t1).toFixed(0)} ms: ${refusal}`);
  if (!refusal.includes('HTTP 400')) process.exitCode = 1;
}

async function startServer(url: string): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  // BENCH_PROFILE=DIR: a V8 CPU profile of the server process in DIR (open it in Chrome's DevTools).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_ROLE: 'server', DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function main(): Promise<void> {
  await admin(`CREATE DATABASE "${dbName}"`);
  const url = withDb(dbName);
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const { openDatabase } = await import('../server/db/index.ts');
    const setup = await openDatabase({ databaseUrl: url, poolSize: 2 });
    try {
      const tenant = await setup.prisma.tenant.create({ data: { name: 'bench' }, select: { id: true } });
      await setup.prisma.user.create({
        data: { tenantId: tenant.id, username: 'bench-operator', role: 'operator', passwordHash: await hashPassword(PASSWORD) },
        select: { id: true },
      });
      const other = await setup.prisma.tenant.create({ data: { name: 'bench-other' }, select: { id: true } });
      await setup.prisma.user.create({
        data: { tenantId: other.id, username: 'bench-other', role: 'operator', passwordHash: await hashPassword(PASSWORD) },
        select: { id: true },
      });
    } finally {
      await setup.close();
    }
    server = await startServer(url);
    base = `http://127.0.0.1:${server.port}`;

    await call('mutation', 'auth.login', { username: 'bench-operator', password: PASSWORD });
    if (!cookie) throw new Error('sign-in set no session cookie');
    const t0 = performance.now();
    const big = (await call('mutation', 'farm.import', { document: farmDocument() })) as { id: string };
    const importMs = performance.now() - t0;
    for (let i = 1; i < FARMS; i++) await call('mutation', 'farm.create', { name: `small-${i}` });
    const detail = (await call('query', 'farm.get', { id: big.id })) as { vms: unknown[] };
    if (detail.vms.length !== VMS) throw new Error(`farm.get returned ${detail.vms.length} VMs, expected ${VMS}`);

    const load1 = loadavg()[0]!.toFixed(1);
    console.log(`SoftUDC API over HTTP: the API's HTTP entry (server/serve/api.ts) in a node:http server process, Postgres ${new URL(BASE_URL).host}`);
    console.log(`${CLIENTS} concurrent keep-alive clients, ${SECONDS} s per procedure, ${cpus().length} CPUs, load average ${load1} before the run`);
    console.log(`import of the ${VMS}-VM farm document: ${importMs.toFixed(0)} ms`);
    const measure = async (name: string, path: string, input: unknown) => {
      await load(path, input, 1); // warm-up: JIT, pool connections
      const cpu0 = cpuMs(server!.pid);
      const r = await load(path, input, SECONDS);
      report(name, r, cpuMs(server!.pid) - cpu0);
    };
    await measure(`farm.list (${FARMS} farms)`, 'farm.list', {});
    await measure(`farm.get (${VMS} VMs)`, 'farm.get', { id: big.id });

    const mine = cookie;
    await call('mutation', 'auth.login', { username: 'bench-other', password: PASSWORD }, 'other');
    const other = lastCookie;
    cookie = mine;
    // BENCH_LIMITS=0 measures the two reads only.
    if (process.env.BENCH_LIMITS !== '0') await benchLimits(server.pid, other);
  } finally {
    await server?.stop();
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch((err: unknown) => console.error(`could not drop ${dbName}:`, err));
  }
}

const role = process.env.BENCH_ROLE === 'server' ? runServer : main;
role().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
