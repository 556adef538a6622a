// Agents as real processes inside host namespaces, driven by state files:
// what the dataplane test and benchmark use. Each agent runs
// `node bin/softudc-agent.js --state FILE --admin 127.0.0.1:PORT` under
// `ip netns exec`, so its admin address is that namespace's own loopback.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetnsHarness } from './harness.ts';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const agentBin = join(repoRoot, 'bin', 'softudc-agent.js');
export const ADMIN_PORT = 9180;

/** True when the agent CLI is present and answers --help. */
export function agentCliPresent(): boolean {
  return existsSync(agentBin);
}

export interface VifState {
  id: string;
  vnet: number;
  mac: string;
  ip: string;
  version: number;
  guest: { kind: 'tap'; ifname?: string; netns?: string } | { kind: 'emulated' };
}

export interface HostState {
  host: string;
  generation: number;
  underlay: { address: string; port: number; multicast: null; peers: string[] };
  vnets: Array<{ id: number; security: 'none' | 'auth' | 'conf'; mtu?: number; keys?: unknown }>;
  vifs: VifState[];
}

export interface VarpEntryView {
  vnet: number;
  mac: string;
  coa: string;
  proxy: boolean;
  state: string;
  version: number;
}

/**
 * An agent process inside a host namespace: its log lines, its admin
 * address (that namespace's loopback, reached with curl inside it), stop.
 * Subclasses choose how it is started: from a state file or by a console.
 */
export class NsAgent {
  readonly logs: string[] = [];
  /** Extra environment of the agent process (e.g. SOFTUDC_DATAPATH). */
  env: Record<string, string> = {};
  protected child: ChildProcess | undefined;

  constructor(
    protected readonly h: NetnsHarness,
    readonly ns: string,
    /** Extra node flags, e.g. --cpu-prof for profiling. */
    private readonly nodeArgs: string[] = [],
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** User+system CPU seconds the agent process has used (from /proc). */
  async cpuSeconds(): Promise<number> {
    const { readFile } = await import('node:fs/promises');
    if (!this.child?.pid) return 0;
    const stat = await readFile(`/proc/${this.child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12]: utime, stime in clock ticks (proc(5), counted from field 3)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  /** Starts `softudc-agent ARGS --admin 127.0.0.1:ADMIN_PORT` in the namespace, keeping its output. */
  protected launch(args: string[]): void {
    const child = this.h.spawn(this.ns, process.execPath, [...this.nodeArgs, agentBin, ...args, '--admin', `127.0.0.1:${ADMIN_PORT}`], {
      cwd: repoRoot,
      netOnly: true, // guest namespaces the agent creates must be visible outside it
      env: { ...process.env, SOFTUDC_LOG_LEVEL: process.env.SOFTUDC_LOG_LEVEL ?? 'info', ...this.env },
    });
    this.child = child;
    const keep = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line) this.logs.push(line);
      if (this.logs.length > 2000) this.logs.splice(0, this.logs.length - 2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Throws with the last log lines when the process has exited. */
  checkAlive(): void {
    if (this.child && this.child.exitCode !== null) throw new Error(`agent in ${this.ns} exited ${this.child.exitCode}:\n${this.logs.slice(-20).join('\n')}`);
  }

  /** GET on the agent's admin address, from inside its namespace. */
  async admin(path: string): Promise<string> {
    const r = await this.h.exec(this.ns, 'curl', ['-sf', '--max-time', '2', `http://127.0.0.1:${ADMIN_PORT}${path}`]);
    if (r.code !== 0) throw new Error(`GET ${path} on ${this.ns} failed (curl exit ${r.code})`);
    return r.stdout;
  }

  /** Resolves once /v1/state reports `generation` applied. */
  async waitApplied(generation: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      this.checkAlive();
      try {
        const s = JSON.parse(await this.admin('/v1/state')) as Record<string, unknown>;
        const applied = Number(s.appliedGeneration ?? s.generation ?? -1);
        if (applied >= generation) return;
        last = `applied ${applied}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`agent in ${this.ns} did not apply generation ${generation} (${last}):\n${this.logs.slice(-20).join('\n')}`);
  }

  /** POST of a JSON body on the agent's admin address (the emulated guests' probes); the JSON answer. */
  async adminPost<T>(path: string, body: unknown): Promise<T> {
    const r = await this.h.exec(this.ns, 'curl', ['-sf', '--max-time', '10', '-H', 'content-type: application/json', '-d', JSON.stringify(body), `http://127.0.0.1:${ADMIN_PORT}${path}`]);
    if (r.code !== 0) throw new Error(`POST ${path} on ${this.ns} failed (curl exit ${r.code})`);
    return JSON.parse(r.stdout) as T;
  }

  async metrics(): Promise<string> {
    return this.admin('/metrics');
  }

  /** The agent's /v1/state: VARP cache and counters (what the tests read of it). */
  async view(): Promise<{ varp: VarpEntryView[]; counters: Record<string, number> }> {
    return JSON.parse(await this.admin('/v1/state'));
  }

  async counter(name: string): Promise<number> {
    return (await this.view()).counters[name] ?? 0;
  }

  async entry(mac: string, vnet?: number): Promise<VarpEntryView | undefined> {
    return (await this.view()).varp.find((e) => e.mac === mac && (vnet === undefined || e.vnet === vnet));
  }

  async stop(): Promise<void> {
    if (this.child) await this.h.kill(this.child, 5000);
    this.child = undefined;
  }
}

/** An agent in standalone mode, driven by a state file the test writes. */
export class AgentProcess extends NsAgent {
  constructor(
    h: NetnsHarness,
    ns: string,
    readonly stateFile: string,
    public state: HostState,
    nodeArgs: string[] = [],
  ) {
    super(h, ns, nodeArgs);
  }

  async start(): Promise<void> {
    await this.writeState();
    this.launch(['--state', this.stateFile]);
    await this.waitApplied(this.state.generation);
  }

  /** Writes the state file (atomically) and signals the agent to re-read it. */
  async apply(state: HostState): Promise<void> {
    this.state = state;
    await this.writeState();
    this.child?.kill('SIGHUP');
  }

  private async writeState(): Promise<void> {
    const tmp = `${this.stateFile}.tmp`;
    await writeFile(tmp, JSON.stringify(this.state, null, 2));
    const { rename } = await import('node:fs/promises');
    await rename(tmp, this.stateFile);
  }
}

export async function stateDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'softudc-netns-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Sum of all samples of a metric family in Prometheus text. */
export function metricSum(text: string, family: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === family) sum += Number(m[3]);
  }
  return sum;
}
