// The agent's desired state: what a state file holds in standalone mode and
// what the console compiles per host (server/compile). Documented field by
// field in docs/agent-state.md. Unknown fields are kept (objects are loose)
// so a newer console can add routers, firewalls, relay or keys without
// breaking an older agent; every error names the field path.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DEFAULT_GROUP, DEFAULT_PORT, VNET_MAX, isGroupMac, parseCidr, parseIp, parseMac } from './wire/index.ts';

/** spec/wire.md "Defaults": ids 0 (invalid) and 1 (physical network) are reserved. */
const VNET_MIN = 2;
const U32_MAX = 0xffff_ffff;
/** IPv4 minimum MTU (RFC 791: every host takes 68-byte datagrams) up to the IPv4 maximum. */
const MTU_MIN = 68;
const MTU_MAX = 65_535;

function valid<T>(parse: (s: string) => T): (s: string) => boolean {
  return (s) => {
    try {
      parse(s);
      return true;
    } catch {
      return false;
    }
  };
}

/** Runs a parser that already passed its field check; falls back to the raw text. */
function safe<T>(fn: () => T, fallback: string): T | string {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

const ipv4 = z.string().refine(valid(parseIp), { message: 'must be an IPv4 address a.b.c.d' });
const multicastGroup = ipv4.refine((s) => parseIp(s) >>> 28 === 0xe, { message: 'must be an IPv4 multicast group (224.0.0.0/4)' });
const vnetId = z.number().int().min(VNET_MIN, { message: 'vnet ids 0 and 1 are reserved' }).max(VNET_MAX);
const u32 = z.number().int().min(0).max(U32_MAX);
const macText = z
  .string()
  .refine(valid(parseMac), { message: 'must be a MAC address aa:bb:cc:dd:ee:ff' })
  .refine((s) => !valid(parseMac)(s) || (!isGroupMac(parseMac(s)) && parseMac(s) !== 0), {
    message: 'must be a unicast, nonzero MAC address',
  });
const cidrText = z.string().refine(valid(parseCidr), { message: 'must be an IPv4 address with prefix length, a.b.c.d/len' });

/** Strict base64 of exactly `bytes` bytes. */
function base64Of(bytes: number): z.ZodString {
  return z.string().refine((t) => BASE64_RE.test(t) && Buffer.from(t, 'base64').length === bytes, { message: `must be base64 of ${bytes} bytes` });
}
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_KEY_RE = /^(?:[0-9a-fA-F]{2})+$/;
/** spec "VARP": HMAC-SHA-256 keys shorter than this are refused. */
const VARP_KEY_MIN = 16;

/**
 * The VARP key's bytes: hex when the text is all hex digits (the original
 * format), else base64 (what the console writes). Undefined when neither.
 */
export function decodeVarpKey(text: string): Buffer | undefined {
  if (HEX_KEY_RE.test(text) && text.length >= 2 * VARP_KEY_MIN) return Buffer.from(text, 'hex');
  if (BASE64_RE.test(text) && text.length > 0) return Buffer.from(text, 'base64');
  return undefined;
}

/** AES-256-GCM key epoch of a sealed vnet (spec "SEALED frames": 32-byte key, 4-byte salt). */
export const sealKeySchema = z.object({ id: u32, key: base64Of(32), salt: base64Of(4) }).loose();

/** IEEE 802.1Q VLAN ids 1..4094 (0 and 4095 are reserved). */
export const vlanSchema = z
  .object({
    interface: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, { message: 'must be an interface name of 1-15 characters A-Z a-z 0-9 _ . -' }),
    vid: z.number().int().min(1).max(4094),
  })
  .loose();

export const vifLimitSchema = z
  .object({
    /** Sustained rate of the guest's frames, Mbit/s (Ethernet bytes). */
    rateMbps: z.number().positive().max(1_000_000),
    /** Bucket depth in KiB; default: 10 ms at the rate, at least 32 KiB. */
    burstKb: z.number().positive().max(1_048_576).optional(),
  })
  .loose();

export const relaySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** COAs of the peer vnetds (one per other LAN segment, full mesh). */
    peers: z.array(ipv4).default([]),
    /** Proxy mode: answer for VIFs behind this relay with its own COA and forward their unicast frames. */
    proxy: z.boolean().default(false),
  })
  .loose();

export const guestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('emulated') }).loose(),
  z
    .object({
      kind: z.literal('tap'),
      /** Interface name; derived from the VIF id when absent. */
      ifname: z.string().min(1).max(15).optional(),
      /** A network namespace the agent creates and moves the TAP into (a namespace guest). */
      netns: z.string().min(1).max(64).optional(),
    })
    .loose(),
]);

export const vifSchema = z
  .object({
    id: z.string().min(1),
    vnet: vnetId,
    mac: macText,
    ip: cidrText,
    /** Location version (spec "VARP"): raised by the console every time the VIF moves. */
    version: u32,
    guest: guestSchema,
    /** Next hop for addresses outside the VIF's prefix (an emulated guest's default route). */
    gateway: ipv4.optional(),
    mtu: z.number().int().min(MTU_MIN).max(MTU_MAX).optional(),
    /** Token bucket on what the guest sends (docs/agent-state.md "vifs[].limit"). */
    limit: vifLimitSchema.optional(),
  })
  .loose();

export const vnetSchema = z
  .object({
    id: vnetId,
    security: z.enum(['none', 'auth', 'conf']).default('none'),
    /** COAs of the hosts carrying this vnet (head-end replication); underlay.peers when absent. */
    peers: z.array(ipv4).optional(),
    mtu: z.number().int().min(MTU_MIN).max(MTU_MAX).optional(),
    /** Sealing keys of an auth/conf vnet (spec "SEALED frames"); secrets, never logged or served. */
    keys: z.array(sealKeySchema).optional(),
    /** The key id frames are sealed with; the highest id when absent. */
    sendKeyId: u32.optional(),
    /** Bridges the vnet to an 802.1Q VLAN on a host interface (seed 002 "VLAN interface"). */
    vlan: vlanSchema.optional(),
  })
  .loose()
  .superRefine((v, ctx) => {
    const ids = new Set<number>();
    (v.keys ?? []).forEach((k, i) => {
      if (ids.has(k.id)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate key id ${k.id}` });
      ids.add(k.id);
    });
    if (v.sendKeyId !== undefined && !ids.has(v.sendKeyId)) {
      ctx.addIssue({ code: 'custom', path: ['sendKeyId'], message: `key id ${v.sendKeyId} is not in keys` });
    }
  });

export const varpConfigSchema = z
  .object({
    lifetimeMs: z.number().int().positive().optional(),
    requestCount: z.number().int().positive().optional(),
    requestIntervalMs: z.number().int().positive().optional(),
    queueLimit: z.number().int().nonnegative().optional(),
    failedHoldMs: z.number().int().nonnegative().optional(),
    /** Deployment VARP key, base64 or hex (at least 16 bytes). A secret: never logged or served. */
    key: z.string().refine((t) => (decodeVarpKey(t)?.length ?? 0) >= VARP_KEY_MIN, { message: 'must be base64 or hex, at least 16 bytes' }).optional(),
  })
  .loose();

export const underlaySchema = z
  .object({
    address: ipv4,
    port: z.number().int().min(1).max(65_535).default(DEFAULT_PORT),
    /** The VARP/broadcast group, or null for unicast to peers (spec "VARP"). */
    multicast: multicastGroup.nullable().default(DEFAULT_GROUP),
    peers: z.array(ipv4).default([]),
  })
  .loose();

export const agentStateSchema = z
  .object({
    host: z.string().min(1),
    /** Compiled states leave it to the deploy service; a file without one counts as 0. */
    generation: z.number().int().nonnegative().default(0),
    underlay: underlaySchema,
    vnets: z.array(vnetSchema).default([]),
    vifs: z.array(vifSchema).default([]),
    varp: varpConfigSchema.optional(),
    /** The vnetd relay role (spec "RELAY"); null or absent: not a relay. */
    relay: relaySchema.nullable().optional(),
  })
  .loose()
  .superRefine((s, ctx) => {
    const vnets = new Set<number>();
    s.vnets.forEach((v, i) => {
      if (vnets.has(v.id)) ctx.addIssue({ code: 'custom', path: ['vnets', i, 'id'], message: `duplicate vnet id ${v.id}` });
      vnets.add(v.id);
    });
    const ids = new Set<string>();
    const macs = new Set<string>();
    const ips = new Set<string>();
    s.vifs.forEach((v, i) => {
      if (ids.has(v.id)) ctx.addIssue({ code: 'custom', path: ['vifs', i, 'id'], message: `duplicate VIF id "${v.id}"` });
      ids.add(v.id);
      if (!vnets.has(v.vnet)) ctx.addIssue({ code: 'custom', path: ['vifs', i, 'vnet'], message: `vnet ${v.vnet} is not in vnets` });
      const macKey = `${v.vnet}/${safe(() => parseMac(v.mac), v.mac)}`;
      if (macs.has(macKey)) ctx.addIssue({ code: 'custom', path: ['vifs', i, 'mac'], message: `MAC ${v.mac} is used twice on vnet ${v.vnet}` });
      macs.add(macKey);
      const ipKey = `${v.vnet}/${safe(() => parseCidr(v.ip).ip, v.ip)}`;
      if (ips.has(ipKey)) ctx.addIssue({ code: 'custom', path: ['vifs', i, 'ip'], message: `address ${v.ip} is used twice on vnet ${v.vnet}` });
      ips.add(ipKey);
    });
  });

export type AgentState = z.output<typeof agentStateSchema>;
export type AgentStateInput = z.input<typeof agentStateSchema>;
export type VnetSpec = z.output<typeof vnetSchema>;
export type VifSpec = z.output<typeof vifSchema>;
export type GuestSpec = z.output<typeof guestSchema>;
export type UnderlaySpec = z.output<typeof underlaySchema>;
export type VarpConfigSpec = z.output<typeof varpConfigSchema>;
export type RelaySpec = z.output<typeof relaySchema>;
export type VlanSpec = z.output<typeof vlanSchema>;
export type VifLimitSpec = z.output<typeof vifLimitSchema>;

export interface StateIssue {
  /** Dotted path with indices, e.g. `vifs[0].mac`. */
  field: string;
  message: string;
}

export class StateError extends Error {
  readonly code = 'BAD_STATE';
  constructor(readonly issues: StateIssue[]) {
    super(issues.map((i) => `${i.field || '(root)'}: ${i.message}`).join('; '));
    this.name = 'StateError';
  }
  /** The first offending field, for callers that report one. */
  get field(): string {
    return this.issues[0]?.field ?? '';
  }
}

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Validates a desired state (parsed JSON); throws StateError naming every bad field. */
export function parseState(input: unknown): AgentState {
  const r = agentStateSchema.safeParse(input);
  if (r.success) return r.data;
  throw new StateError(r.error.issues.map((i) => ({ field: fieldPath(i.path), message: i.message })));
}

/** Reads and validates a state file; JSON syntax errors are StateErrors too. */
export async function loadStateFile(path: string): Promise<AgentState> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new StateError([{ field: '', message: `${path} is not valid JSON: ${(err as Error).message}` }]);
  }
  return parseState(json);
}
