// Deploy to a fleet: a change that gives every one of 1,000 hosts a new
// state, deployed with `farm.deploy {wait: true}` (what `deploy --wait`
// does), and the time until the console says "applied on 1,000 of 1,000".
// The 1,000 agents are simulated (bench/control/fleetAgent.ts) but do over
// HTTP what managed agents do: hold the desired-state stream, take each
// state, report it applied. First one console process, then two sharing one
// Postgres with the agents spread over both (the deploy goes to the first;
// the second hears of it through the event bus, server/events/).
//
//   npx tsx bench/control/fleet.ts          (part of npm run bench:control)
//   BENCH_FLEET_HOSTS=1000 DATABASE_URL=postgresql://… (Postgres: default 127.0.0.1:5432)
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import superjson from 'superjson';
import { hashPassword } from '../../server/auth/password.ts';
import { generateHostCredential, hashToken } from '../../server/auth/tokens.ts';
import type { FarmDocumentInput } from '../../server/farms/farmDocument.ts';
import { createTestDb, type TestDb } from '../../test/db.ts';
import { expectAnswer } from '../verdict.ts';
import { cpuMs, rssBytes } from '../proc.ts';
import { closeReportConnections, FleetAgent } from './fleetAgent.ts';
import { syntheticAddress } from './synthetic.ts';

const HOSTS = Number(process.env.BENCH_FLEET_HOSTS ?? 1000);
const PER_VNET = 50;
const TARGET_MS = 2_000;
const PASSWORD = randomUUID();
const SERVER = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

interface Console {
  proc: ChildProcess;
  url: string;
  cpuMs(): number;
  rssMiB(): number;
  stop(): Promise<void>;
}

async function startConsole(dbUrl: string): Promise<Console> {
  // BENCH_PROFILE=DIR: a V8 CPU profile of each console process in DIR.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const proc = fork(fileURLToPath(new URL('./fleetConsole.ts', import.meta.url)), [], {
    execArgv: [...profile, '--import', 'tsx'],
    env: { ...process.env, BENCH_DB_URL: dbUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`fleet console exited with ${code}`)));
    proc.on('message', (m: { type?: string; url?: string }) => m?.type === 'ready' && resolve(m.url!));
  });
  const pid = proc.pid!;
  return {
    proc,
    url,
    cpuMs: () => cpuMs(pid),
    rssMiB: () => rssBytes(pid) / 2 ** 20,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.disconnect();
      }),
  };
}

/** A farm with one VM on every host, hosts in vnets of PER_VNET. */
function fleetFarm(): FarmDocumentInput {
  const vnets = Math.ceil(HOSTS / PER_VNET);
  return {
    version: 'softudc.farm/v1',
    name: 'fleet',
    vnets: Array.from({ length: vnets }, (_, i) => ({ name: `n${i}`, cidr: `10.${100 + i}.0.0/24` })),
    vms: Array.from({ length: HOSTS }, (_, i) => ({ name: `vm-${i}`, host: `sim${i}`, vifs: [{ vnet: `n${Math.floor(i / PER_VNET)}` }] })),
  };
}

async function call(url: string, cookie: string, kind: 'query' | 'mutation', path: string, input: unknown): Promise<{ data: unknown; cookie: string }> {
  const encoded = JSON.stringify(superjson.serialize(input));
  const res =
    kind === 'query'
      ? await fetch(`${url}/${path}?input=${encodeURIComponent(encoded)}`, { headers: { cookie } })
      : await fetch(`${url}/${path}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: encoded });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const set = res.headers.getSetCookie()[0]?.split(';')[0];
  return { data: superjson.deserialize((JSON.parse(text) as { result: { data: never } }).result.data), cookie: set ?? cookie };
}

/** Connects the agents, 50 at a time; each console gets every k-th one. */
async function connect(consoles: Console[], credentials: string[]): Promise<FleetAgent[]> {
  const agents = credentials.map((c, i) => new FleetAgent(consoles[i % consoles.length]!.url, c));
  for (let i = 0; i < agents.length; i += 50) await Promise.all(agents.slice(i, i + 50).map((a) => a.open()));
  return agents;
}

interface DeployOutcome {
  progress: { total: number; applied: number; complete: boolean };
  timedOut: boolean;
  missing: string[];
}

/** Changes every vnet's MTU (every host's state changes), then deploys and waits; prints the figures. */
async function deployChange(label: string, consoles: Console[], agents: FleetAgent[], session: { cookie: string; farmId: string }, mtu: number) {
  const api = consoles[0]!.url;
  const farm = (await call(api, session.cookie, 'query', 'farm.get', { id: session.farmId })).data as { revision: number; vnets: { id: string }[] };
  let revision = farm.revision;
  for (const v of farm.vnets) {
    const r = (await call(api, session.cookie, 'mutation', 'vnet.update', { id: v.id, expectedRevision: revision, mtu })).data as { farmRevision: number };
    revision = r.farmRevision;
  }
  const before = new Map(agents.map((a) => [a, a.applied]));
  const cpu0 = consoles.map((c) => c.cpuMs());
  const t0 = performance.now();
  const result = (await call(api, session.cookie, 'mutation', 'farm.deploy', { id: session.farmId, expectedRevision: revision, wait: true, timeoutMs: 60_000 }))
    .data as DeployOutcome;
  const ms = performance.now() - t0;
  const cpu = consoles.map((c, i) => c.cpuMs() - cpu0[i]!);
  const moved = agents.filter((a) => a.applied > before.get(a)!);
  const lastReport = Math.max(...moved.map((a) => a.reportedAt.get(a.applied) ?? 0)) - t0;
  const arrivals = moved.map((a) => (a.receivedAt.get(a.applied) ?? NaN) - t0);
  const firstArrival = Math.min(...arrivals);
  const lastArrival = Math.max(...arrivals);
  const { total, applied } = result.progress;
  console.log(`   ${label}`);
  console.log(
    `     applied on ${applied} of ${total} in ${ms.toFixed(0)} ms (target < ${TARGET_MS} ms: ${ms < TARGET_MS && applied === HOSTS ? 'met' : 'MISSED'}); ` +
      `agents with the new generation ${moved.length}`,
  );
  console.log(
    `     new states arrived ${firstArrival.toFixed(0)}–${lastArrival.toFixed(0)} ms after the call, last report answered at ${lastReport.toFixed(0)} ms`,
  );
  console.log(
    `     console CPU ${consoles.map((c, i) => `${c.proc.pid}: ${cpu[i]} ms (${((cpu[i]! / ms) * 100).toFixed(0)} % of a core)`).join(', ')}; ` +
      `RSS ${consoles.map((c) => `${c.rssMiB().toFixed(0)} MiB`).join(', ')}`,
  );
  const failed = agents.filter((a) => a.failures > 0);
  if (failed.length) console.log(`     ${failed.length} agents had failed reports, e.g. ${failed[0]!.lastError}`);
  expectAnswer(!result.timedOut && applied === total && total === HOSTS, `${label}: applied on ${applied} of ${total} (${HOSTS} hosts), missing ${result.missing.slice(0, 5).join(', ')}`);
  expectAnswer(moved.length === HOSTS, `${label}: only ${moved.length} of ${HOSTS} agents received and reported the new state`);
}

export async function benchFleet(): Promise<void> {
  console.log(`\n== deploy to a fleet: ${HOSTS} simulated agents over HTTP (stream, apply, report), one VM each, load ${loadavg()[0]!.toFixed(1)}`);
  const t: TestDb = await createTestDb({ serverUrl: SERVER });
  const consoles: Console[] = [];
  let agents: FleetAgent[] = [];
  try {
    const tenant = await t.prisma.tenant.create({ data: { name: 'fleet' }, select: { id: true } });
    await t.prisma.user.create({ data: { tenantId: tenant.id, username: 'fleet', role: 'admin', passwordHash: await hashPassword(PASSWORD) }, select: { id: true } });
    const credentials = Array.from({ length: HOSTS }, () => generateHostCredential());
    await t.prisma.host.createMany({
      data: credentials.map((c, i) => ({
        name: `sim${i}`, address: syntheticAddress(i, 100), credentialHash: hashToken(c), status: 'online' as const,
        capabilities: ['guest:emulated'], lastSeenAt: new Date(),
      })),
    });
    consoles.push(await startConsole(t.url!));
    const api = consoles[0]!.url;
    const login = await call(api, '', 'mutation', 'auth.login', { username: 'fleet', password: PASSWORD });
    const farm = (await call(api, login.cookie, 'mutation', 'farm.import', { document: fleetFarm() })).data as { id: string };
    const session = { cookie: login.cookie, farmId: farm.id };

    let t0 = performance.now();
    agents = await connect(consoles, credentials);
    console.log(`   ${HOSTS} agents connected to one console in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    t0 = performance.now();
    const first = (await call(api, session.cookie, 'mutation', 'farm.deploy', { id: farm.id, wait: true, timeoutMs: 120_000 })).data as DeployOutcome;
    console.log(`   first deploy: applied on ${first.progress.applied} of ${first.progress.total} in ${(performance.now() - t0).toFixed(0)} ms`);
    await deployChange('one console: every vnet MTU changed, deploy --wait', consoles, agents, session, 1300);

    for (const a of agents) a.close();
    consoles.push(await startConsole(t.url!));
    t0 = performance.now();
    agents = await connect(consoles, credentials);
    console.log(`   ${HOSTS} agents reconnected, half to each of two consoles, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // As with one console, the measured deploy is not the new layout's first: the second console has just started.
    await deployChange('two consoles, one Postgres: first deploy after the reconnect', consoles, agents, session, 1250);
    await deployChange('two consoles, one Postgres: every vnet MTU changed, deploy --wait on the first', consoles, agents, session, 1200);
  } finally {
    for (const a of agents) a.close();
    closeReportConnections();
    await Promise.all(consoles.map((c) => c.stop()));
    await t.drop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchFleet()
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => process.exit(process.exitCode ?? 0));
}
