// Runs real `softudc-agent` processes for the loopback and robustness tests:
// state files written atomically (as an operator or a deploy tool would),
// the admin address learned from the agent's own log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentStateView } from '../agent/daemon/agent.ts';
import type { PingResult } from '../agent/guests/index.ts';

const BIN = fileURLToPath(new URL('../bin/softudc-agent.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;

export interface AgentProcess {
  name: string;
  stateFile: string;
  child: ChildProcess;
  adminUrl: string;
  logs: string[];
  state(): Promise<AgentStateView>;
  metrics(): Promise<Map<string, number>>;
  ping(vif: string, target: string, opts?: Record<string, number>): Promise<PingResult>;
  writeState(state: unknown): Promise<void>;
  stop(): Promise<number | null>;
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Replaces the file in one rename, so the agent never reads half a file. */
export async function writeStateFile(file: string, state: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2));
  await rename(tmp, file);
}

export async function spawnAgent(dir: string, name: string, state: unknown): Promise<AgentProcess> {
  const stateFile = join(dir, `${name}.json`);
  await writeStateFile(stateFile, state);
  const child = spawn(process.execPath, [BIN, '--state', stateFile, '--admin', '127.0.0.1:0', '--log-level', 'info'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  const adminUrl = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name}: no admin address within ${START_TIMEOUT_MS} ms\n${logs.join('\n')}`)), START_TIMEOUT_MS);
    let buf = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        try {
          const j = JSON.parse(line) as { msg?: string; address?: string; port?: number };
          if (j.msg === 'admin listening') {
            clearTimeout(timer);
            ok(`http://${j.address}:${j.port}`);
          }
        } catch {
          // not a log line (a crash trace): kept in logs
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited with ${code} before listening\n${logs.join('\n')}`));
    });
  });

  const get = async (path: string) => {
    const r = await fetch(`${adminUrl}${path}`);
    if (!r.ok) throw new Error(`${name} GET ${path}: ${r.status} ${await r.text()}`);
    return r;
  };
  return {
    name,
    stateFile,
    child,
    adminUrl,
    logs,
    state: async () => (await (await get('/v1/state')).json()) as AgentStateView,
    metrics: async () => parseMetrics(await (await get('/metrics')).text()),
    ping: async (vif, target, opts = {}) => {
      const r = await fetch(`${adminUrl}/v1/vifs/${encodeURIComponent(vif)}/ping`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target, ...opts }),
      });
      if (!r.ok) throw new Error(`${name} ping from ${vif}: ${r.status} ${await r.text()}`);
      return (await r.json()) as PingResult;
    },
    writeState: (s) => writeStateFile(stateFile, s),
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done(child.exitCode);
        child.once('exit', (code) => done(code));
        child.kill('SIGTERM');
      }),
  };
}

export function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return m;
}

/** Sum of a metric family over its label sets. */
export function family(m: Map<string, number>, name: string): number {
  let total = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) total += v;
  return total;
}
