// API benchmark: the console's real HTTP route (app/api/trpc/[trpc]/route.ts,
// tRPC's fetch adapter) behind a node:http server in a child process, against
// Postgres. Signs in with a password, imports a generated 200-VM farm, then
// measures requests/second and latency of farm.list and of farm.get of that
// farm with N concurrent keep-alive clients for a fixed time.
//
//   npm run bench:api
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres BENCH_SECONDS=10 BENCH_CLIENTS=16 npm run bench:api
//
// It creates its own database on that server (softudc_bench_<hex>) and drops it at the end.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import superjson from 'superjson';
import { hashPassword } from '../server/auth/password.ts';
import type { FarmDocumentInput } from '../server/services/farmDocument.ts';

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
      name: 'fw', defaultPolicy: 'deny',
      interfaces: [{ name: 'outside', vnet: 'web' }, { name: 'inside', vnet: 'app' }],
      rules: [
        { action: 'allow', protocol: 'tcp', destination: '10.200.0.0/22', portFrom: 443, interface: 'outside' },
        { action: 'allow', protocol: 'tcp', source: '10.200.0.0/22', destination: '10.201.0.0/22', portFrom: 8080 },
        { action: 'allow', protocol: 'icmp' },
      ],
    }],
  };
}

// ---- a node:http front for the fetch-style route handler ----

type Handler = (req: Request) => Promise<Response>;

function serve(handler: Handler) {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      headers.set('x-forwarded-for', req.socket.remoteAddress ?? '127.0.0.1');
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks);
      handler(new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers, body }))
        .then(async (r) => {
          const out = Buffer.from(await r.arrayBuffer());
          const h: Record<string, string | string[]> = {};
          r.headers.forEach((v, k) => (h[k] = v));
          const cookies = r.headers.getSetCookie();
          if (cookies.length) h['set-cookie'] = cookies;
          res.writeHead(r.status, h).end(out);
        })
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
  });
}

// ---- a minimal tRPC-over-HTTP client (no batching, superjson) ----

let base = '';
let cookie = '';

async function call(kind: 'query' | 'mutation', path: string, input: unknown): Promise<unknown> {
  const encoded = JSON.stringify(superjson.serialize(input));
  const headers: Record<string, string> = { cookie };
  const res =
    kind === 'query'
      ? await fetch(`${base}/api/trpc/${path}?input=${encodeURIComponent(encoded)}`, { headers })
      : await fetch(`${base}/api/trpc/${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: encoded });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const setCookie = res.headers.getSetCookie()[0];
  if (setCookie) cookie = setCookie.split(';')[0]!;
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

function report(name: string, r: Result): void {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const rps = r.requests / r.seconds;
  console.log(
    `${name.padEnd(28)} ${rps.toFixed(0).padStart(7)} req/s   p50 ${pct(sorted, 50).toFixed(1).padStart(6)} ms   ` +
      `p99 ${pct(sorted, 99).toFixed(1).padStart(6)} ms   ${(r.bytes / Math.max(1, r.requests + r.errors) / 1024).toFixed(1)} KiB/resp   ` +
      `${r.requests} ok, ${r.errors} errors`,
  );
}

/** The server side, in its own process so clients and server do not share one event loop. */
async function runServer(): Promise<void> {
  const route = await import('../app/api/trpc/[trpc]/route.ts');
  const { closeDb, getDb } = await import('../server/db/index.ts');
  await getDb(); // open (and migrate) before the first request is timed
  const server = serve((req) => (req.method === 'GET' ? route.GET(req) : route.POST(req)));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void closeDb().finally(() => process.exit(0));
  });
}

async function startServer(url: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
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
  let server: { port: number; stop: () => Promise<void> } | undefined;
  try {
    const { openDatabase } = await import('../server/db/index.ts');
    const setup = await openDatabase({ databaseUrl: url, poolSize: 2 });
    try {
      const tenant = await setup.prisma.tenant.create({ data: { name: 'bench' }, select: { id: true } });
      await setup.prisma.user.create({
        data: { tenantId: tenant.id, username: 'bench-operator', role: 'operator', passwordHash: await hashPassword(PASSWORD) },
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
    console.log(`SoftUDC API over HTTP: real route handler in a node:http server process, Postgres ${new URL(BASE_URL).host}`);
    console.log(`${CLIENTS} concurrent keep-alive clients, ${SECONDS} s per procedure, ${cpus().length} CPUs, load average ${load1} before the run`);
    console.log(`import of the ${VMS}-VM farm document: ${importMs.toFixed(0)} ms`);
    await load('farm.list', {}, 1); // warm-up: JIT, pool connections
    report(`farm.list (${FARMS} farms)`, await load('farm.list', {}, SECONDS));
    await load('farm.get', { id: big.id }, 1);
    report(`farm.get (${VMS} VMs)`, await load('farm.get', { id: big.id }, SECONDS));
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
