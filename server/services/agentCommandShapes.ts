// The router manager's commands (seed 001: an external application asks a
// virtual router to perform tasks) as they travel console -> agent and back:
// what each kind takes, what the agent answers, and the bounds on both. The
// agent is a separate program that validates on its side too
// (agent/control/execute.ts); these schemas are the console's word on what
// it stores and shows.
import { z } from 'zod';
import { parseIpv4 } from './validate.ts';
import { int32, text } from '../../contract/primitives.ts';

export const COMMAND_KINDS = ['router.view', 'firewall.view', 'router.ping', 'router.traceroute'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** Ping: at most 20 probes, at least 100 ms apart, so one call is a few seconds of ICMP, never a flood. */
export const PING_MAX_COUNT = 20;
export const PING_MIN_INTERVAL_MS = 100;
export const PING_MAX_INTERVAL_MS = 5_000;
/** Traceroute: at most 30 hops, the classic traceroute default. */
export const TRACE_MAX_HOPS = 30;
/** Per-probe wait for an answer. */
export const PROBE_MIN_TIMEOUT_MS = 100;
export const PROBE_MAX_TIMEOUT_MS = 5_000;

/** Bounds on one view, so a router with a huge table still answers in one row of a few megabytes. */
export const VIEW_MAX_ROUTES = 10_000;
export const VIEW_MAX_ARP = 4_096;
export const VIEW_MAX_INTERFACES = 256;
export const VIEW_MAX_COUNTERS = 500;
export const VIEW_MAX_RULES = 1_000;
/** Firewalls: the connection table is summarised (counts) with this many connections listed. */
export const VIEW_MAX_CONNECTIONS = 100;


function isUnicastIpv4(s: string): boolean {
  const n = parseIpv4(s);
  if (n === null) return false;
  const first = n >>> 24;
  // 0/8 "this network", 127/8 loopback, 224/4 multicast and 240/4 reserved/broadcast: never a probe target.
  return first !== 0 && first !== 127 && first < 224;
}

/** A probe target: a unicast IPv4 address in dotted quad. */
export const targetInput = text(15).refine(isUnicastIpv4, { message: 'must be a unicast IPv4 address a.b.c.d' });

/** A router's or firewall's id on the hosts: `<farm key>/<name>` (server/compile). */
const nodeId = z.string().min(1).max(200);

export const commandArgs = {
  'router.view': z.strictObject({ routerId: nodeId }),
  'firewall.view': z.strictObject({ firewallId: nodeId }),
  'router.ping': z.strictObject({
    routerId: nodeId,
    target: targetInput,
    count: z.int().min(1).max(PING_MAX_COUNT),
    intervalMs: z.int().min(PING_MIN_INTERVAL_MS).max(PING_MAX_INTERVAL_MS),
    timeoutMs: z.int().min(PROBE_MIN_TIMEOUT_MS).max(PROBE_MAX_TIMEOUT_MS),
  }),
  'router.traceroute': z.strictObject({
    routerId: nodeId,
    target: targetInput,
    maxHops: z.int().min(1).max(TRACE_MAX_HOPS),
    timeoutMs: z.int().min(PROBE_MIN_TIMEOUT_MS).max(PROBE_MAX_TIMEOUT_MS),
  }),
} satisfies Record<CommandKind, z.ZodType>;
export type CommandArgs = { [K in CommandKind]: z.infer<(typeof commandArgs)[K]> };

/** What `agent.commands` yields to an agent (inside `tracked(id, …)`). */
export const agentCommandView = z.discriminatedUnion('kind', [
  z.object({ id: z.string(), kind: z.literal('router.view'), args: commandArgs['router.view'], expiresAt: z.date() }),
  z.object({ id: z.string(), kind: z.literal('firewall.view'), args: commandArgs['firewall.view'], expiresAt: z.date() }),
  z.object({ id: z.string(), kind: z.literal('router.ping'), args: commandArgs['router.ping'], expiresAt: z.date() }),
  z.object({ id: z.string(), kind: z.literal('router.traceroute'), args: commandArgs['router.traceroute'], expiresAt: z.date() }),
]);
export type AgentCommandView = z.infer<typeof agentCommandView>;

// ---- what the agent answers ----

const counters = z
  .record(text(200), z.number())
  .refine((c) => Object.keys(c).length <= VIEW_MAX_COUNTERS, `at most ${VIEW_MAX_COUNTERS} counters`);

const nodeInterface = z.object({
  name: text(64),
  kind: z.enum(['vnet', 'channel']),
  vnet: z.int().min(0).nullable(),
  mac: text(32).nullable(),
  ip: text(32),
  mtu: z.int().min(0),
  up: z.boolean(),
});

const route = z.object({
  destination: text(32),
  nextHop: text(32).nullable(),
  iface: text(64),
  metric: z.int().min(0),
  source: text(16),
  text: text(200),
});

const arpEntry = z.object({
  iface: text(64),
  ip: text(32),
  mac: text(32).nullable(),
  state: text(16),
  ageMs: z.number().min(0),
  queued: z.int().min(0),
});

const nodeBase = {
  id: text(200),
  interfaces: z.array(nodeInterface).max(VIEW_MAX_INTERFACES),
  routes: z.array(route).max(VIEW_MAX_ROUTES),
  /** Routes in the table; more than `routes` lists when it was cut at the bound. */
  routesTotal: z.int().min(0),
  arp: z.array(arpEntry).max(VIEW_MAX_ARP),
  arpTotal: z.int().min(0),
  counters,
};

export const routerViewData = z.object({
  ...nodeBase,
  rip: z
    .array(z.object({ prefix: text(32), nextHop: text(32), iface: text(64), metric: z.int().min(0), garbage: z.boolean(), ageMs: z.number().min(0) }))
    .max(VIEW_MAX_ROUTES),
  unresolvedStaticRoutes: z.array(text(100)).max(VIEW_MAX_ROUTES),
});
export type RouterViewData = z.infer<typeof routerViewData>;

export const firewallViewData = z.object({
  ...nodeBase,
  defaultPolicy: z.enum(['allow', 'deny']),
  rules: z
    .array(
      z.object({
        index: z.int().min(0),
        action: z.enum(['allow', 'deny']),
        protocol: z.enum(['any', 'tcp', 'udp', 'icmp']),
        source: text(32),
        destination: text(32),
        ports: text(16).nullable(),
        interface: text(64).nullable(),
        hits: z.number().min(0),
      }),
    )
    .max(VIEW_MAX_RULES),
  /** Flows decided by the default policy. */
  defaultHits: z.number().min(0),
  connections: z.object({
    total: z.int().min(0),
    byProtocol: z.record(text(16), z.int().min(0)),
    byState: z.record(text(32), z.int().min(0)),
    /** The first connections of the table (at most VIEW_MAX_CONNECTIONS). */
    sample: z
      .array(
        z.object({
          protocol: text(16),
          from: text(32),
          to: text(32),
          state: text(32),
          ingress: text(64),
          rule: z.union([z.int().min(0), z.literal('default')]),
          packets: z.tuple([z.int().min(0), z.int().min(0)]),
          expiresInMs: z.number(),
        }),
      )
      .max(VIEW_MAX_CONNECTIONS),
  }),
});
export type FirewallViewData = z.infer<typeof firewallViewData>;

const ipText = text(15);
const probeSeq = z.int().min(1).max(Math.max(PING_MAX_COUNT, TRACE_MAX_HOPS));

export const pingEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('reply'), seq: probeSeq, from: ipText, rttMs: z.number().min(0) }),
  z.object({ type: z.literal('timeout'), seq: probeSeq }),
  /** An ICMP error instead of a reply (e.g. net unreachable from a router on the way). */
  z.object({ type: z.literal('error'), seq: probeSeq, from: ipText, icmpType: z.int().min(0).max(255), icmpCode: z.int().min(0).max(255), message: text(200) }),
  z.object({
    type: z.literal('summary'),
    sent: z.int().min(0).max(PING_MAX_COUNT),
    received: z.int().min(0).max(PING_MAX_COUNT),
    lossPct: z.number().min(0).max(100),
    minMs: z.number().min(0).nullable(),
    avgMs: z.number().min(0).nullable(),
    maxMs: z.number().min(0).nullable(),
  }),
]);
export type PingEvent = z.infer<typeof pingEvent>;

export const traceEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hop'),
    ttl: z.int().min(1).max(TRACE_MAX_HOPS),
    /** Who answered, or null when nobody did in time (`*`). */
    address: ipText.nullable(),
    rttMs: z.number().min(0).nullable(),
    /** The target itself answered: the last hop. */
    reached: z.boolean(),
    /** ICMP type of the answer: 11 time exceeded, 0 echo reply, 3 unreachable. */
    icmpType: z.int().min(0).max(255).nullable(),
  }),
  z.object({ type: z.literal('summary'), reached: z.boolean(), hops: z.int().min(0).max(TRACE_MAX_HOPS) }),
]);
export type TraceEvent = z.infer<typeof traceEvent>;

/** The data of one answer, by command kind. */
export const commandResultData = {
  'router.view': routerViewData,
  'firewall.view': firewallViewData,
  'router.ping': pingEvent,
  'router.traceroute': traceEvent,
} satisfies Record<CommandKind, z.ZodType>;
export type CommandResultData = { [K in CommandKind]: z.infer<(typeof commandResultData)[K]> };

/** Answers one command may have: 20 replies and a summary, 30 hops and a summary, or one view. */
export const MAX_RESULTS = 64;
/** One answer's JSON at most (a view of a large table). */
export const MAX_RESULT_BYTES = 4 * 1024 * 1024;

/** `agent.commandResult`: one streamed answer (or the error that ends the command). */
export const commandResultInput = z.strictObject({
  id: z.guid(),
  /** 0, 1, 2, … per command; a repeated seq (a retry) is accepted once. */
  seq: int32().min(0).max(MAX_RESULTS - 1),
  /** Checked against the command kind's answer schema. Null with `error`. */
  data: z.unknown(),
  /** The last answer of this command. */
  done: z.boolean(),
  /** The command failed on the agent (ends it); `data` is then ignored. */
  error: text(2000).nullish(),
});
export type CommandResultInput = z.infer<typeof commandResultInput>;

export const commandResultOutput = z.object({
  /** False for a repeated seq that was already stored. */
  accepted: z.boolean(),
});

// ---- what the console's procedures return (router.inspect, router.fib, firewall.inspect) ----

/** A deployed router or firewall and the host it runs on. */
export const nodeRefView = z.object({
  id: z.string(),
  name: z.string(),
  farmId: z.string(),
  farmName: z.string(),
  /** Its id on the hosts (`<farm key>/<name>`), as in the agent's state and metrics. */
  agentId: z.string(),
  host: z.object({ id: z.string(), name: z.string() }),
});

export const routerInspectView = z.object({ router: nodeRefView, view: routerViewData, fetchedAt: z.date() });
export const routerFibView = z.object({
  router: nodeRefView,
  routes: routerViewData.shape.routes,
  routesTotal: z.int().min(0),
  fetchedAt: z.date(),
});
export const firewallInspectView = z.object({ firewall: nodeRefView, view: firewallViewData, fetchedAt: z.date() });
