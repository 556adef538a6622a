// Control-loop benchmark.
//
//   npm run bench:control
//   BENCH_STEPS=200,500,1000 BENCH_WINDOW_S=15 npm run bench:control
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npm run bench:control
//
// 1. Compile: 1,000 hosts / 10,000 VMs of synthetic intent through compile()
//    plus the per-host hashes a recompute compares and the contract check it
//    runs on every state it stores; and a deploy of one farm, which compiles
//    that farm alone and decides only its hosts (pure CPU, no database).
// 2. Subscriptions: one console process (server/serve/http.ts, in a child process)
//    and N simulated agents, each holding the agent.desired SSE stream with its
//    own host credential from the loopback. For N = 200, 500, 1000: the
//    console's memory and the CPU it spends per second keeping idle streams
//    alive (tRPC pings every 5 s, plus each stream's periodic resync).
// 3. Deploy to all applied: a 100-VM farm over three real agent processes
//    (bench/control-deploy.ts).
// 4. Deploy to a fleet: a change on 1,000 simulated agents that stream, apply
//    and report over HTTP, to one console and to two sharing one Postgres
//    (bench/control/fleet.ts).
import { expectAnswer, finish } from './verdict.ts';
import { cpuMs, rssBytes } from './proc.ts';
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { affectedHosts, assemble, compile, compileFarm, stateHash } from '../server/compile/index.ts';
import { hostStateSchema } from '../contract/hostState.ts';
import { syntheticInput } from './control/synthetic.ts';
import { benchDeploy } from './control-deploy.ts';
import { benchFleet } from './control/fleet.ts';
import { openDesiredStream } from './control/desiredStream.ts';

const STEPS = (process.env.BENCH_STEPS ?? '200,500,1000').split(',').map(Number).filter((n) => n > 0);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 15);
const COMPILE_RUNS = Number(process.env.BENCH_COMPILE_RUNS ?? 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

// ---------------------------------------------------------------- compile

function benchCompile(): void {
  const input = syntheticInput(1000, 10_000);
  const times: number[] = [];
  const hashTimes: number[] = [];
  const checkTimes: number[] = [];
  let hostsOut = 0;
  let refused = 0;
  let bytes = 0;
  for (let i = 0; i < COMPILE_RUNS; i++) {
    const t0 = performance.now();
    const out = compile(input);
    const t1 = performance.now();
    for (const s of out.values()) stateHash(s);
    const t2 = performance.now();
    for (const s of out.values()) if (!hostStateSchema.safeParse({ ...s, generation: 1 }).success) refused++;
    const t3 = performance.now();
    times.push(t1 - t0);
    hashTimes.push(t2 - t1);
    checkTimes.push(t3 - t2);
    hostsOut = out.size;
    if (i === 0) for (const s of out.values()) bytes += JSON.stringify(s).length;
  }
  console.log('\n== compile (synthetic: 1,000 hosts, 10,000 VMs in 100 farms, a router and a firewall each)');
  console.log(`   compile           median ${median(times).toFixed(1)} ms  (min ${Math.min(...times).toFixed(1)}, ${COMPILE_RUNS} runs)`);
  console.log(`   hash all states   median ${median(hashTimes).toFixed(1)} ms`);
  console.log(`   contract check    median ${median(checkTimes).toFixed(1)} ms  (every state; ${refused} refused)`);
  if (refused > 0) {
    console.error('   the contract refused compiled states: the figures above are not of a working deploy');
    process.exitCode = 1;
  }
  console.log(`   output            ${hostsOut} host states, ${mb(bytes)} of JSON`);
  benchOneFarm(input);
}

/**
 * A deploy of one farm (server/control/desiredCompute.ts): that farm's part
 * compiled, the others' parts reused, the states of the hosts it reaches
 * (and their relays) assembled and hashed. Checked against the full compile.
 */
function benchOneFarm(input: ReturnType<typeof syntheticInput>): void {
  const hostsById = new Map(input.hosts.map((h) => [h.id, h]));
  const farms = [...input.farms].sort((a, b) => (a.id < b.id ? -1 : 1));
  const stored = farms.map((f) => compileFarm(f, hostsById));
  const full = compile(input);
  const times: number[] = [];
  let decided = 0;
  let differ = 0;
  for (let i = 0; i < COMPILE_RUNS; i++) {
    const k = (i * 37) % farms.length;
    const t0 = performance.now();
    const part = compileFarm(farms[k]!, hostsById);
    const affected = affectedHosts(part.hosts.map((h) => h.hostId), input.hosts, input.segments);
    const parts = stored.map((p, j) => (j === k ? part : p));
    const out = assemble({ ...input, parts }, affected);
    for (const s of out.values()) stateHash(s);
    times.push(performance.now() - t0);
    decided = out.size;
    for (const [name, s] of out) if (stateHash(s) !== stateHash(full.get(name)!)) differ++;
  }
  console.log(`   one farm changed  median ${median(times).toFixed(1)} ms  (its part compiled, ${decided} hosts decided, the other farms' parts reused)`);
  if (differ > 0) {
    console.error(`   ${differ} host states differ from the full compile: the figure above is not of a working deploy`);
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------- subscriptions

interface ConsoleChild {
  proc: ChildProcess;
  url: string;
  db: string;
  credentials: string[];
  memory(): Promise<NodeJS.MemoryUsage>;
}

async function startConsole(hosts: number): Promise<ConsoleChild> {
  const script = fileURLToPath(new URL('./control/console.ts', import.meta.url));
  const proc = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_HOSTS: String(hosts) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ url: string; db: string; credentials: string[] }>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`console exited with ${code}`)));
    proc.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve(m as never));
  });
  return {
    proc,
    ...ready,
    memory: () =>
      new Promise((resolve) => {
        const on = (m: { type?: string; memory?: NodeJS.MemoryUsage }) => {
          if (m?.type !== 'memory') return;
          proc.off('message', on);
          resolve(m.memory!);
        };
        proc.on('message', on);
        proc.send({ type: 'memory' });
      }),
  };
}

/** One simulated agent: a raw SSE stream (what httpSubscriptionLink opens), counting data and pings. */
class SimAgent {
  data = 0;
  pings = 0;
  closed = false;
  private req: http.ClientRequest | null = null;

  constructor(
    private readonly url: string,
    private readonly credential: string,
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = openDesiredStream(this.url, this.credential, {
        ping: () => this.pings++,
        data: () => {
          this.data++;
          if (this.data === 1) resolve();
        },
        error: (e) => (this.closed ? undefined : reject(e)),
        close: () => {
          this.closed = true;
          // A stream that ended without a state is a probe without an answer: the run fails instead of waiting.
          if (this.data === 0) reject(new Error('agent.desired closed before sending a state'));
        },
      });
    });
  }

  close(): void {
    this.closed = true;
    this.req?.destroy();
  }
}

async function measureWindow(c: ConsoleChild, agents: SimAgent[]) {
  const pid = c.proc.pid!;
  const pings0 = agents.reduce((s, a) => s + a.pings, 0);
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (cpuMs(pid) - cpu0) / seconds;
  const pings = (agents.reduce((s, a) => s + a.pings, 0) - pings0) / seconds;
  const mem = await c.memory();
  return { cpu, pings, rss: rssBytes(pid), heap: mem.heapUsed, alive: agents.filter((a) => !a.closed).length };
}

async function benchSubscriptions(): Promise<void> {
  const max = Math.max(...STEPS);
  console.log(`\n== subscriptions (one console process, simulated agents over SSE on loopback; window ${WINDOW_S} s each)`);
  const c = await startConsole(max);
  const agents: SimAgent[] = [];
  try {
    console.log(`   console pid ${c.proc.pid}, database ${c.db}, ${max} enrolled hosts`);
    await sleep(2000);
    const base = await measureWindow(c, agents);
    console.log(`   ${'agents'.padStart(6)}  ${'connect'.padStart(8)}  ${'console RSS'.padStart(11)}  ${'heap'.padStart(10)}  ${'CPU ms/s'.padStart(8)}  ${'over idle'.padStart(9)}  ${'per agent'.padStart(10)}  pings/s`);
    const row = (n: number, connect: string, m: Awaited<ReturnType<typeof measureWindow>>) =>
      console.log(
        `   ${String(n).padStart(6)}  ${connect.padStart(8)}  ${mb(m.rss).padStart(11)}  ${mb(m.heap).padStart(10)}  ${m.cpu.toFixed(2).padStart(8)}  ${(m.cpu - base.cpu).toFixed(2).padStart(9)}  ${(n ? `${(((m.cpu - base.cpu) / n) * 1000).toFixed(1)} µs` : '—').padStart(10)}  ${m.pings.toFixed(0)}`,
      );
    row(0, '—', base);
    for (const n of STEPS) {
      const t0 = performance.now();
      // Connect in batches: every stream authenticates and reads its host first.
      for (let i = agents.length; i < n; i += 50) {
        const batch = c.credentials.slice(i, Math.min(n, i + 50)).map((cred) => new SimAgent(c.url, cred));
        await Promise.all(batch.map((a) => a.open()));
        agents.push(...batch);
      }
      const connect = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
      const m = await measureWindow(c, agents);
      row(n, connect, m);
      expectAnswer(m.alive === n, `subscriptions: only ${m.alive} of ${n} streams still open`);
    }
    console.log('   (CPU over idle / agents = keep-alive cost per agent per second: pings every 5 s, resync read every 60 s)');
  } finally {
    for (const a of agents) a.close();
    c.proc.disconnect();
    await new Promise((r) => c.proc.once('exit', r));
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(`bench:control  node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  benchCompile();
  await benchSubscriptions();
  await benchDeploy();
  await benchFleet();
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => finish('bench:control'));
