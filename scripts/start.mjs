#!/usr/bin/env node
// `npm start`: prepares the database (embedded PGlite unless DATABASE_URL is
// set), builds the web app when its sources changed, then serves the console.
//   --dev          Next.js dev server instead of a production build
//   --port N       HTTP port (default $PORT or 3000)
//   --host H       listen address (default $SOFTUDC_LISTEN or 127.0.0.1)
//   --no-agents    no local agents (or SOFTUDC_LOCAL_AGENTS=0)
//   --no-seed      no example farm on first start (or SOFTUDC_SEED=0)
//   --demo         local agents and example farms even when the environment turns them off
// Unless turned off, three local agents (hosts local-1..3 on 127.0.0.2-4,
// admin endpoints 127.0.0.1:9101-9103) run beside the console and stop with it.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';

const USAGE = `usage: npm start -- [--dev] [--port N] [--host H] [--no-agents] [--no-seed] [--demo]
`;
let args;
try {
  args = parseArgs({
    args: process.argv.slice(2),
    options: {
      dev: { type: 'boolean' },
      port: { type: 'string' },
      host: { type: 'string' },
      'no-agents': { type: 'boolean' },
      'no-seed': { type: 'boolean' },
      demo: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (err) {
  // Unknown flags, flags without their value, stray arguments: say which, and stop.
  process.stderr.write(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

// Every setting is checked before anything starts (config/variables.ts).
const { consoleConfig } = await tsImport('../config/index.ts', import.meta.url);
let config;
try {
  config = consoleConfig();
} catch (err) {
  console.error(err.message);
  process.exit(2);
}

const dev = args.dev === true;
const port = args.port ?? String(config.PORT);
const host = args.host ?? config.SOFTUDC_LISTEN;
if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
  process.stderr.write(`--port: expected a TCP port, 1–65535 (got "${port}")\n`);
  process.exit(2);
}
const bin = (name) => join('node_modules', '.bin', name);
const demo = args.demo === true;
const localAgents = demo || (!args['no-agents'] && config.SOFTUDC_LOCAL_AGENTS);
const seed = demo || (!args['no-seed'] && config.SOFTUDC_SEED);
const agentsDir = config.SOFTUDC_AGENTS_DIR;

function run(cmd, argv, extraEnv = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', env: { ...process.env, ...extraEnv } });
  if (r.status !== 0) {
    console.error(`${cmd} ${argv.join(' ')} failed (exit ${r.status ?? r.signal})`);
    removeDemoUplink();
    process.exit(r.status ?? 1);
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'generated' || entry.name === 'node_modules') continue;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function buildIsStale() {
  const marker = '.next/BUILD_ID';
  if (!existsSync(marker)) return true;
  const built = statSync(marker).mtimeMs;
  // The web app also bundles the console–agent contract, the wire codecs it parses addresses with,
  // the configuration module and the logger.
  return ['app', 'server', 'prisma', 'contract', 'config', 'log', 'agent/wire'].some((d) => existsSync(d) && newestMtime(d) > built);
}

// As root, the demo farm gets a way out: a veth pair whose machine end holds the demo external network's
// gateway 198.19.200.1/24 (scripts/demo-external.ts). Made afresh on every start (a leftover from a start
// that did not exit cleanly is replaced) and removed on exit.
const demoUplink = localAgents && seed && process.getuid?.() === 0 ? makeDemoUplink() : false;
if (localAgents && seed && !demoUplink) console.log('demo external network skipped: not running as root (see README, "Reaching the demo from the machine")');

function makeDemoUplink() {
  const ip = (...a) => spawnSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  ip('link', 'del', 'sdxdemo-gw');
  for (const a of [
    ['link', 'add', 'sdxdemo-gw', 'type', 'veth', 'peer', 'name', 'sdxdemo-ext'],
    ['addr', 'add', '198.19.200.1/24', 'dev', 'sdxdemo-gw'],
    ['link', 'set', 'sdxdemo-gw', 'up'],
    ['link', 'set', 'sdxdemo-ext', 'up'],
  ]) {
    const r = ip(...a);
    if (r.status !== 0) {
      console.error(`demo external network skipped: ip ${a.join(' ')}: ${r.stderr?.toString().trim() || `exit ${r.status}`}`);
      ip('link', 'del', 'sdxdemo-gw');
      return false;
    }
  }
  return true;
}

function removeDemoUplink() {
  if (demoUplink) spawnSync('ip', ['link', 'del', 'sdxdemo-gw'], { stdio: 'ignore' });
}

run(bin('tsx'), ['scripts/prepare-db.ts'], {
  SOFTUDC_LOCAL_AGENTS: localAgents ? '1' : '0',
  SOFTUDC_SEED: seed ? '1' : '0',
  SOFTUDC_AGENTS_DIR: agentsDir,
});

if (!dev && buildIsStale()) {
  console.log('building the web console (first start, or sources changed)…');
  run(bin('next'), ['build'], { NEXT_TELEMETRY_DISABLED: '1' });
}

// Next.js behind our own HTTP server (scripts/serve.mjs), which hands the API each connection's address.
const next = spawn(process.execPath, ['scripts/serve.mjs', ...(dev ? ['--dev'] : []), '--host', host, '--port', port], {
  stdio: 'inherit',
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
});
console.log(`SoftUDC console on http://${host}:${port}`);

const children = [next];
let exiting = false;
const STOP_GRACE_MS = 5_000;
const stop = (signal) => {
  if (exiting) return;
  exiting = true;
  // Agents first (they close their streams), then the web server, which
  // waits a little for open streams of remote agents: past the grace period
  // it is stopped hard, so stopping the console never hangs.
  const alive = (c) => c.exitCode === null && c.signalCode === null;
  for (const c of children) if (c !== next && alive(c)) c.kill(signal);
  setTimeout(() => alive(next) && next.kill(signal), 500).unref();
  setTimeout(() => {
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
  }, STOP_GRACE_MS).unref();
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
next.on('exit', (code, signal) => {
  stop('SIGTERM');
  removeDemoUplink();
  process.exit(code ?? (signal ? 1 : 0));
});

if (localAgents) void startLocalAgents();

/** Waits until the console answers HTTP at all (any status), then runs the local agents. */
async function startLocalAgents() {
  const planFile = join(agentsDir, 'local-agents.json');
  if (!existsSync(planFile)) return;
  const plans = JSON.parse(readFileSync(planFile, 'utf8'));
  const consoleHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const consoleUrl = `http://${consoleHost}:${port}`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (exiting) return;
    try {
      await fetch(`${consoleUrl}/api/trpc/auth.me`, { signal: AbortSignal.timeout(5_000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        console.error(`local agents not started: the console did not answer at ${consoleUrl} within 5 minutes`);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  for (const p of plans) runAgent(p, consoleUrl, 0);
  console.log(`local agents: ${plans.map((p) => `${p.name} (${p.address}, admin http://127.0.0.1:${p.adminPort})`).join(', ')}`);
}

/** One local agent; its log goes to <state dir>/agent.log, warnings and errors also here. */
function runAgent(p, consoleUrl, restarts) {
  if (exiting) return;
  const tokenFile = join(p.stateDir, 'enrollment-token');
  const argv = ['bin/softudc-agent.js', '--console', consoleUrl, '--state-dir', p.stateDir, '--admin', `127.0.0.1:${p.adminPort}`];
  // The token goes by environment, not argv, so `ps` never shows it.
  const env = { ...process.env };
  delete env.SOFTUDC_ENROLL_TOKEN;
  if (existsSync(tokenFile) && !existsSync(join(p.stateDir, 'credential.json'))) {
    env.SOFTUDC_ENROLL_TOKEN = readFileSync(tokenFile, 'utf8').trim();
  }
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], env });
  children.push(child);
  const log = createWriteStream(join(p.stateDir, 'agent.log'), { flags: 'a', mode: 0o600 });
  let rest = '';
  child.stderr.on('data', (chunk) => {
    log.write(chunk);
    rest += chunk.toString('utf8');
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      // Warnings, errors, and anything that is not a log line (a crash).
      if (/"level":"(warn|error)"/.test(line) || (line.trim() && !line.startsWith('{'))) console.error(`[${p.name}] ${line}`);
    }
  });
  // The one-time token is spent once the agent holds its credential.
  const tidy = setInterval(() => {
    if (existsSync(join(p.stateDir, 'credential.json'))) {
      rmSync(tokenFile, { force: true });
      clearInterval(tidy);
    }
  }, 1_000);
  tidy.unref();
  child.on('exit', (code, signal) => {
    clearInterval(tidy);
    log.end();
    if (exiting) return;
    if (restarts >= 5) {
      console.error(`[${p.name}] agent exited (${code ?? signal}) too often; not restarting it (see ${join(p.stateDir, 'agent.log')})`);
      return;
    }
    console.error(`[${p.name}] agent exited (${code ?? signal}); restarting in 2 s`);
    setTimeout(() => runAgent(p, consoleUrl, restarts + 1), 2_000).unref();
  });
}
