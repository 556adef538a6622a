// Every environment variable the console, the agent and the test suites read,
// in one place: its zod schema (what a valid value is, and its default) and
// the words of the table in docs/operations.md, which is generated from here
// (`npm run docs:config`; config/config.test.ts fails when the page drifts).
// Values are strings; an empty or blank one counts as unset.
import { isIP } from 'node:net';
import { z } from 'zod';

export type Scope = 'console' | 'agent' | 'both' | 'tests';

export interface Variable<S extends z.ZodType = z.ZodType, C extends Scope = Scope> {
  scope: C;
  schema: S;
  /** The default as the docs show it. */
  default: string;
  meaning: string;
  /** Never echoed in an error message. */
  secret?: boolean;
}

const unsetIfBlank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** `0` or `1` (default `on`). */
function flag(on: boolean) {
  return z.preprocess(unsetIfBlank, z.enum(['0', '1'], { error: 'expected 0 or 1' }).optional()).transform((v) => (v === undefined ? on : v === '1'));
}

/** A decimal number in [min, max] (min exclusive when `above`); integers only when `int`. */
function number(o: { fallback: number; min: number; max?: number; above?: boolean; int?: boolean; unit: string; what?: string }) {
  const range = `${o.above ? `more than ${o.min}` : `at least ${o.min}`}${o.max === undefined ? '' : ` and at most ${o.max}`}`;
  const what = o.what ?? `expected ${o.int ? 'a whole number' : 'a number'} of ${o.unit}, ${range}`;
  return z.preprocess(
    unsetIfBlank,
    z
      .string()
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return o.fallback;
        const n = /^\s*[+]?(\d+(\.\d*)?|\.\d+)\s*$/.test(v) ? Number(v) : NaN;
        const ok = Number.isFinite(n) && (o.above ? n > o.min : n >= o.min) && (o.max === undefined || n <= o.max) && (!o.int || Number.isInteger(n));
        if (!ok) ctx.addIssue({ code: 'custom', message: what });
        return n;
      }),
  );
}

function text(fallback: string) {
  return z.preprocess(unsetIfBlank, z.string().optional()).transform((v) => v ?? fallback);
}

function optionalText() {
  return z.preprocess(unsetIfBlank, z.string().optional());
}

export interface ProxyPrefix {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is `192.0.2.1`; null: not an address. */
export function normalizeAddress(address: string): string | null {
  const a = address.trim();
  const v4 = a.toLowerCase().startsWith('::ffff:') ? a.slice(7) : a;
  if (isIP(v4) === 4) return v4;
  return isIP(a) === 6 ? a.toLowerCase() : null;
}

/** A comma-separated list of addresses and CIDR prefixes, e.g. `10.0.0.5, 10.1.0.0/16, fd00::/8`. */
export function parseProxyList(text: string): { prefixes: ProxyPrefix[]; bad?: string } {
  const prefixes: ProxyPrefix[] = [];
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const slash = item.indexOf('/');
    const address = normalizeAddress(slash < 0 ? item : item.slice(0, slash));
    const family = address === null ? 0 : isIP(address);
    const max = family === 4 ? 32 : 128;
    const lenText = slash < 0 ? String(max) : item.slice(slash + 1);
    const prefix = /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
    if (address === null || !(prefix >= 0 && prefix <= max)) return { prefixes, bad: item };
    prefixes.push({ address, prefix, family: family as 4 | 6 });
  }
  return { prefixes };
}

const proxies = z.preprocess(unsetIfBlank, z.string().optional()).transform((v, ctx) => {
  const r = parseProxyList(v ?? '');
  if (r.bad !== undefined) ctx.addIssue({ code: 'custom', message: `"${r.bad}" is not an IP address or CIDR prefix (e.g. 10.0.0.5, 10.1.0.0/16, fd00::/8)` });
  return { text: v ?? '', prefixes: r.prefixes };
});

const port = (fallback: number) => number({ fallback, min: 1, max: 65535, int: true, unit: 'port', what: 'expected a TCP port, 1–65535' });

const databaseUrl = optionalText().refine((v) => v === undefined || /^postgres(ql)?:\/\//i.test(v), {
  message: 'expected a postgresql:// URL, or nothing for the embedded database',
});

const listen = text('127.0.0.1').refine((v) => isIP(v) !== 0 || /^[A-Za-z0-9.-]+$/.test(v), { message: 'expected an IP address or a host name' });

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const logLevel = z
  .preprocess((v) => (typeof v === 'string' ? unsetIfBlank(v.trim().toLowerCase()) : v), z.enum(LOG_LEVELS, { error: 'expected debug, info, warn or error' }).optional())
  .transform((v): LogLevel => v ?? 'info');

const datapath = z
  .preprocess((v) => (typeof v === 'string' ? unsetIfBlank(v.trim().toLowerCase()) : v), z.enum(['auto', 'kernel', 'userspace'], { error: 'expected auto, kernel or userspace' }).optional())
  .transform((v) => v ?? 'auto');

const v = <C extends Scope, S extends z.ZodType>(scope: C, schema: S, fallback: string, meaning: string, secret = false): Variable<S, C> => ({
  scope,
  schema,
  default: fallback,
  meaning,
  secret,
});

export const VARIABLES = {
  DATABASE_URL: v('console', databaseUrl, 'unset', '`postgresql://…` of a Postgres server; unset or empty: the embedded database (the tests: API tests on this server instead of in-memory PGlite)', true),
  SOFTUDC_DATA_DIR: v('console', text('./data/pglite'), '`./data/pglite`', 'directory of the embedded database (`memory://…` keeps it in memory)'),
  SOFTUDC_ADMIN_PASSWORD: v('console', optionalText(), 'generated and printed once', 'password of the first admin, used only when the database has no user yet; at least 12 characters', true),
  PORT: v('console', port(3000), '`3000`', 'HTTP port of the console'),
  SOFTUDC_LISTEN: v('console', listen, '`127.0.0.1`', 'listen address of the console'),
  SOFTUDC_SESSION_HOURS: v('console', number({ fallback: 12, min: 0, above: true, max: 720, unit: 'hours' }), '`12`', 'sign-in session lifetime in hours, more than 0 and at most 720'),
  SOFTUDC_TRUSTED_PROXIES: v('console', proxies, 'unset (none)', 'proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` the console believes: addresses and CIDR prefixes, comma-separated (`10.0.0.5, fd00::/8`); from anyone else the connection\'s own address counts'),
  SOFTUDC_ENROLL_TTL_MINUTES: v('console', number({ fallback: 60, min: 1, max: 7 * 24 * 60, unit: 'minutes' }), '`60`', 'default lifetime of enrollment tokens, 1–10080 minutes'),
  SOFTUDC_LOCAL_AGENTS: v('console', flag(true), '`1`', '`0`: `npm start` runs no local demo agents (as `--no-agents`)'),
  SOFTUDC_SEED: v('console', flag(true), '`1`', '`0`: no example farm on the first start (as `--no-seed`)'),
  SOFTUDC_AGENTS_DIR: v('console', text('data/agents'), '`data/agents`', 'where the local demo agents keep their state directories'),
  SOFTUDC_KEY_ROTATION_HOURS: v('console', number({ fallback: 24, min: 0, unit: 'hours' }), '`24`', 'scheduled rotation period of sealed vnets\' keys, in hours (fractions allowed); `0`: only on demand'),
  SOFTUDC_KEY_ROTATION_GRACE_S: v('console', number({ fallback: 300, min: 0, unit: 'seconds' }), '`300`', 'longest wait, in seconds, for every carrier of a vnet to apply a rotation step before the next one is taken anyway'),
  SOFTUDC_VARP_AUTH: v('console', flag(true), '`1`', '`0`: no VARP authentication; otherwise every host running something gets the deployment\'s VARP key and signs and checks every VARP message'),
  SOFTUDC_LOG_LEVEL: v('both', logLevel, '`info`', 'log level of the console and the agent: `debug`, `info`, `warn` or `error` (the agent\'s `--log-level` wins)'),
  SOFTUDC_ENROLL_TOKEN: v('agent', optionalText(), 'unset', 'the one-time enrollment token, instead of `--token` (keeps it out of `ps`)', true),
  SOFTUDC_TAP_OFFLOAD: v('agent', flag(true), '`1`', '`0`: TAP guests (namespace guests and VMs) exchange plain frames, without checksum and segmentation offload'),
  SOFTUDC_DATAPATH: v('agent', datapath, '`auto`', 'the kernel fast path (tc-BPF, docs/operations.md "Kernel fast path"): `auto` uses it where the kernel, the built BPF object, `bpftool`, `tc` and root allow and says why not otherwise; `kernel` the same, but a host that cannot is logged as an error; `userspace`: never'),
  SOFTUDC_UNDERLAY_BATCH: v('agent', flag(true), '`1`', '`0`: the underlay uses Node\'s `dgram` socket (one system call per datagram) instead of the addon\'s batched socket (`sendmmsg`/`recvmmsg`); an agent without the addon uses `dgram` anyway. The choice is logged (`underlay socket`, `io: batched\\|dgram`)'),
  SOFTUDC_UNDERLAY_GSO: v('agent', flag(true), '`1`', '`0`: the batched socket sends and receives without UDP segmentation/receive offload (GSO/GRO), e.g. for a NIC or kernel that mishandles them; it also falls back by itself after repeated refusals'),
  SOFTUDC_REQUIRE_ALL: v('tests', flag(false), '`0`', '`1`: nothing may skip: a test whose prerequisite (root, namespaces, Postgres, Chromium, GSO) is missing fails instead (CI sets it)'),
  CHROMIUM_PATH: v('tests', text('/usr/bin/chromium'), '`/usr/bin/chromium`', 'the Chromium the browser tests and `npm run bench:ui` drive'),
  E2E_PORT: v('tests', port(3210), '`3210`', 'port of the console the browser tests start'),
} satisfies Record<string, Variable>;

export type VariableName = keyof typeof VARIABLES;
