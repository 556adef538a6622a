// The one reader of the environment. `consoleConfig()` and `agentConfig()`
// return typed, validated settings (defaults filled in); a bad value throws a
// ConfigError naming every offending variable, which the console's start
// (scripts/start.mjs, scripts/prepare-db.ts) and the agent's CLI turn into a
// clear start-up error. Results are cached per environment, so callers on
// hot paths may call them freely; tests pass their own `env`.
import type { z } from 'zod';
import { VARIABLES, type Scope } from './variables.ts';

export { LOG_LEVELS, type LogLevel, normalizeAddress, parseProxyList, type ProxyPrefix } from './variables.ts';

type Vars = typeof VARIABLES;
type Env = Record<string, string | undefined>;
type NamesIn<S extends Scope> = { [K in keyof Vars]: Vars[K]['scope'] extends S ? K : never }[keyof Vars];
type ConfigOf<S extends Scope> = { readonly [K in NamesIn<S>]: z.output<Vars[K]['schema']> };

export type ConsoleConfig = ConfigOf<'console' | 'both'>;
export type AgentConfig = ConfigOf<'agent' | 'both'>;
export type TestConfig = ConfigOf<'tests'>;
export type SharedConfig = ConfigOf<'both'>;

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(problems.map((p) => `${p.variable}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

const cache = new Map<string, { key: string; value: unknown }>();

function load(scopes: readonly Scope[], env: Env): unknown {
  const names = (Object.keys(VARIABLES) as (keyof Vars)[]).filter((n) => scopes.includes(VARIABLES[n].scope));
  const id = scopes.join('+');
  const key = JSON.stringify(names.map((n) => env[n] ?? null));
  const hit = cache.get(id);
  if (hit && hit.key === key) return hit.value;
  const value: Record<string, unknown> = {};
  const problems: { variable: string; message: string }[] = [];
  for (const name of names) {
    const def = VARIABLES[name];
    const r = (def.schema as z.ZodType).safeParse(env[name]);
    if (r.success) {
      value[name] = r.data;
      continue;
    }
    const got = def.secret ? '' : ` (got "${env[name]}")`;
    problems.push({ variable: name, message: `${r.error.issues[0]?.message ?? 'invalid'}${got}` });
  }
  if (problems.length) throw new ConfigError(problems);
  Object.freeze(value);
  cache.set(id, { key, value });
  return value;
}

/** The console's settings (server, `npm start`). */
export function consoleConfig(env: Env = process.env): ConsoleConfig {
  return load(['console', 'both'], env) as ConsoleConfig;
}

/** The agent's settings. */
export function agentConfig(env: Env = process.env): AgentConfig {
  return load(['agent', 'both'], env) as AgentConfig;
}

/** Settings of the test suites and benchmarks. */
export function testConfig(env: Env = process.env): TestConfig {
  return load(['tests'], env) as TestConfig;
}

/** Settings both the console and the agent read (the log level). */
export function sharedConfig(env: Env = process.env): SharedConfig {
  return load(['both'], env) as SharedConfig;
}
