// Real `softudc-agent` processes in managed mode (--console/--token/
// --state-dir) for the control-loop tests and benchmark: the admin address is
// learned from the agent's own log line, every log line is kept for asserts.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import type { AgentStateView } from '../agent/daemon/agent.ts';
import type { PingResult } from '../agent/guests/index.ts';

const BIN = fileURLToPath(new URL('../bin/softudc-agent.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;

export interface LogLine {
  msg?: string;
  level?: string;
  [k: string]: unknown;
}

export interface ManagedAgentProcess {
  name: string;
  stateDir: string;
  child: ChildProcess;
  adminUrl: string;
  logs: LogLine[];
  state(): Promise<AgentStateView>;
  ping(vif: string, target: string, opts?: Record<string, number>): Promise<PingResult>;
  /** Generations this process logged as applied, in order. */
  appliedGenerations(): number[];
  /** Sends `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnManagedOptions {
  name: string;
  consoleUrl: string;
  stateDir: string;
  token?: string;
  reportIntervalS?: number;
}

export async function spawnManagedAgent(o: SpawnManagedOptions): Promise<ManagedAgentProcess> {
  const argv = [BIN, '--console', o.consoleUrl, '--state-dir', o.stateDir, '--admin', '127.0.0.1:0', '--log-level', 'info'];
  if (o.token) argv.push('--token', o.token);
  argv.push('--report-interval', String(o.reportIntervalS ?? 1));
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: LogLine[] = [];
  const raw: string[] = [];
  const adminUrl = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${o.name}: no admin address within ${START_TIMEOUT_MS} ms\n${raw.join('\n')}`)), START_TIMEOUT_MS);
    let buf = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        raw.push(line);
        try {
          const j = JSON.parse(line) as LogLine & { address?: string; port?: number };
          logs.push(j);
          if (j.msg === 'admin listening') {
            clearTimeout(timer);
            ok(`http://${j.address}:${j.port}`);
          }
        } catch {
          logs.push({ msg: line });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${o.name} exited with ${code} before listening\n${raw.join('\n')}`));
    });
  });

  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    name: o.name,
    stateDir: o.stateDir,
    child,
    adminUrl,
    logs,
    state: async () => {
      const r = await fetch(`${adminUrl}/v1/state`);
      if (!r.ok) throw new Error(`${o.name} GET /v1/state: ${r.status}`);
      return (await r.json()) as AgentStateView;
    },
    ping: async (vif, target, opts = {}) => {
      const r = await fetch(`${adminUrl}/v1/vifs/${encodeURIComponent(vif)}/ping`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target, ...opts }),
      });
      if (!r.ok) throw new Error(`${o.name} ping from ${vif}: ${r.status} ${await r.text()}`);
      return (await r.json()) as PingResult;
    },
    appliedGenerations: () =>
      logs.filter((l) => l.msg === 'desired state applied' || l.msg === 'forwarding from the persisted state').map((l) => Number(l.generation)),
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A UDP port free on every address (agents of one deployment share the underlay port). */
export async function freeCommonUdpPort(addresses: string[]): Promise<number> {
  const bind = (s: dgram.Socket, port: number, address: string) =>
    new Promise<boolean>((ok) => {
      s.once('error', () => ok(false));
      s.bind(port, address, () => ok(true));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const sockets = addresses.map(() => dgram.createSocket('udp4'));
    try {
      if (!(await bind(sockets[0]!, 0, addresses[0]!))) continue;
      const port = sockets[0]!.address().port;
      let ok = true;
      for (let i = 1; i < addresses.length && ok; i++) ok = await bind(sockets[i]!, port, addresses[i]!);
      if (ok) return port;
    } finally {
      for (const s of sockets) {
        try {
          s.close();
        } catch {
          // never bound
        }
      }
    }
  }
  throw new Error(`no UDP port free on all of ${addresses.join(', ')}`);
}

/** Polls until `cond` holds; the error names what was awaited and the last failure. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
