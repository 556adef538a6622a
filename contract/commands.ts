// The router manager's commands (seed 001: an external application asks a
// virtual router to perform tasks) as they travel console -> agent
// (`agent.commands`) and the answers agent -> console (`agent.commandResult`).
// Commands are open, like the host state: an older agent keeps fields a newer
// console adds. Answers are closed: the console stores only what it knows.
//
// Over 300 lines: every command's arguments and every answer's schema in one
// file, the one place both sides read.
import { z } from 'zod';
import {
  COMMAND_ERROR_MAX_CHARS, COMMAND_MAX_RESULTS, ITEM_ID_MAX_CHARS, PING_DEFAULT_COUNT, PING_DEFAULT_INTERVAL_MS, PING_MAX_COUNT,
  PING_MAX_INTERVAL_MS, PING_MIN_INTERVAL_MS, PROBE_DEFAULT_TIMEOUT_MS, PROBE_MAX_TIMEOUT_MS, PROBE_MIN_TIMEOUT_MS, SG_MAX_PER_VIF, TRACE_MAX_HOPS,
  VIEW_MAX_ARP, VIEW_MAX_CONNECTIONS, VIEW_MAX_COUNTERS, VIEW_MAX_INTERFACES, VIEW_MAX_ROUTES, VIEW_MAX_RULES,
} from './limits.ts';
import { closed, isIpv4, isMac, open } from './fields.ts';
import { int32, text } from './primitives.ts';
import { parseIp } from '../agent/wire/addr.ts';
import { countersSchema } from './report.ts';
import { FIREWALL_ACTIONS, FIREWALL_PROTOCOLS } from './firewall.ts';
import { SG_DIRECTIONS, SG_PROTOCOLS } from './securityGroups.ts';

import { traceLookupArgs, traceLookupData } from './traceLookup.ts';

export const COMMAND_KINDS = ['router.view', 'firewall.view', 'router.ping', 'router.traceroute', 'vif.inspect', 'trace.lookup'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** 0/8 "this network", 127/8 loopback, 224/4 multicast and 240/4 reserved/broadcast: never a probe target. */
function isUnicastIpv4(s: string): boolean {
  if (!isIpv4(s)) return false;
  const first = parseIp(s) >>> 24;
  return first !== 0 && first !== 127 && first < 224;
}

/** A probe target: a unicast IPv4 address in dotted quad. */
export const probeTarget = text(15).refine(isUnicastIpv4, { message: 'must be a unicast IPv4 address a.b.c.d' });
export const pingCount = int32().min(1).max(PING_MAX_COUNT);
export const pingInterval = int32().min(PING_MIN_INTERVAL_MS).max(PING_MAX_INTERVAL_MS);
export const probeTimeout = int32().min(PROBE_MIN_TIMEOUT_MS).max(PROBE_MAX_TIMEOUT_MS);
export const traceHops = int32().min(1).max(TRACE_MAX_HOPS);

/** A router's or firewall's id on its host (contract/router.ts `id`). */
const nodeId = z.string().min(1).max(ITEM_ID_MAX_CHARS);

export const commandArgs = {
  'router.view': open({ routerId: nodeId }),
  'firewall.view': open({ firewallId: nodeId }),
  'router.ping': open({
    routerId: nodeId,
    target: probeTarget,
    count: pingCount.default(PING_DEFAULT_COUNT),
    intervalMs: pingInterval.default(PING_DEFAULT_INTERVAL_MS),
    timeoutMs: probeTimeout.default(PROBE_DEFAULT_TIMEOUT_MS),
  }),
  'router.traceroute': open({
    routerId: nodeId,
    target: probeTarget,
    maxHops: traceHops.default(TRACE_MAX_HOPS),
    timeoutMs: probeTimeout.default(PROBE_DEFAULT_TIMEOUT_MS),
  }),
  /**
   * The live state a trace needs at one VIF, on the host it runs on: the VARP
   * entry for a peer (its age: is it stale?), the open connections with the
   * peer, what the VIF's security groups would decide for a new flow each
   * way, and every rule's hit count. `port`: the destination port (tcp/udp),
   * or the ICMP type (icmp; echo request, 8, when null).
   */
  'vif.inspect': open({
    vifId: nodeId,
    peer: text(15).refine(isIpv4, { message: 'must be an IPv4 address a.b.c.d' }),
    /** The MAC the VARP entry is looked up by; by default the entry holding `peer`. */
    peerMac: text(17).refine(isMac, { message: 'must be a MAC address aa:bb:cc:dd:ee:ff' }).optional(),
    protocol: z.enum(SG_PROTOCOLS).default('any'),
    port: z.int().min(0).max(65_535).nullable().default(null),
  }),
  'trace.lookup': traceLookupArgs,
} satisfies Record<CommandKind, z.ZodType>;
/** What the console sends (every field given); the agent reads z.output (defaults filled). */
export type CommandArgs = { [K in CommandKind]: z.output<(typeof commandArgs)[K]> };

/** Console-side ids are UUIDs; the agent takes any short id. */
const commandId = z.string().min(1).max(64);

/** One command as `agent.commands` yields it (inside `tracked(id, …)`). */
export const agentCommandSchema = z.discriminatedUnion('kind', [
  open({ id: commandId, kind: z.literal('router.view'), args: commandArgs['router.view'], expiresAt: z.date().optional() }),
  open({ id: commandId, kind: z.literal('firewall.view'), args: commandArgs['firewall.view'], expiresAt: z.date().optional() }),
  open({ id: commandId, kind: z.literal('router.ping'), args: commandArgs['router.ping'], expiresAt: z.date().optional() }),
  open({ id: commandId, kind: z.literal('router.traceroute'), args: commandArgs['router.traceroute'], expiresAt: z.date().optional() }),
  open({ id: commandId, kind: z.literal('vif.inspect'), args: commandArgs['vif.inspect'], expiresAt: z.date().optional() }),
  open({ id: commandId, kind: z.literal('trace.lookup'), args: commandArgs['trace.lookup'], expiresAt: z.date().optional() }),
]);
export type AgentCommand = z.output<typeof agentCommandSchema>;

// ---- what the agent answers ----

const nodeInterface = closed({
  name: text(64),
  kind: z.enum(['vnet', 'channel']),
  vnet: z.int().min(0).nullable(),
  mac: text(32).nullable(),
  ip: text(32),
  mtu: z.int().min(0),
  up: z.boolean(),
});

const route = closed({
  destination: text(32),
  nextHop: text(32).nullable(),
  iface: text(64),
  metric: z.int().min(0),
  source: text(16),
  text: text(200),
});

const arpEntry = closed({
  iface: text(64),
  ip: text(32),
  mac: text(32).nullable(),
  state: text(16),
  ageMs: z.number().min(0),
  queued: z.int().min(0),
});

/** The translations of a node's external legs (contract/nat.ts); absent from agents without NAT. */
const natView = closed({
  total: z.int().min(0),
  /** The first translations of the table (at most VIEW_MAX_CONNECTIONS). */
  sample: z
    .array(
      closed({
        protocol: text(16),
        leg: text(64),
        kind: z.enum(['snat', 'floating', 'forward']),
        /** `a:port -> b:port` as the first packet arrived, and the reply as it arrives. */
        original: text(48),
        reply: text(48),
        state: text(32),
        expiresInMs: z.number(),
      }),
    )
    .max(VIEW_MAX_CONNECTIONS),
});

const nodeBase = {
  id: text(ITEM_ID_MAX_CHARS),
  nat: natView.optional(),
  interfaces: z.array(nodeInterface).max(VIEW_MAX_INTERFACES),
  routes: z.array(route).max(VIEW_MAX_ROUTES),
  /** Routes in the table; more than `routes` lists when it was cut at the bound. */
  routesTotal: z.int().min(0),
  arp: z.array(arpEntry).max(VIEW_MAX_ARP),
  arpTotal: z.int().min(0),
  counters: countersSchema(VIEW_MAX_COUNTERS),
};

export const routerViewData = closed({
  ...nodeBase,
  rip: z
    .array(closed({ prefix: text(32), nextHop: text(32), iface: text(64), metric: z.int().min(0), garbage: z.boolean(), ageMs: z.number().min(0) }))
    .max(VIEW_MAX_ROUTES),
  unresolvedStaticRoutes: z.array(text(100)).max(VIEW_MAX_ROUTES),
});
export type RouterViewData = z.infer<typeof routerViewData>;

/** A tracked connection, as firewalls and security groups show it. */
const connectionFields = { protocol: text(16), from: text(32), to: text(32), state: text(32) };

export const firewallViewData = closed({
  ...nodeBase,
  defaultPolicy: z.enum(FIREWALL_ACTIONS),
  rules: z
    .array(
      closed({
        index: z.int().min(0),
        action: z.enum(FIREWALL_ACTIONS),
        protocol: z.enum(FIREWALL_PROTOCOLS),
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
  connections: closed({
    total: z.int().min(0),
    byProtocol: z.record(text(16), z.int().min(0)),
    byState: z.record(text(32), z.int().min(0)),
    /** The first connections of the table (at most VIEW_MAX_CONNECTIONS). */
    sample: z
      .array(
        closed({
          ...connectionFields,
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
  closed({ type: z.literal('reply'), seq: probeSeq, from: ipText, rttMs: z.number().min(0) }),
  closed({ type: z.literal('timeout'), seq: probeSeq }),
  /** An ICMP error instead of a reply (e.g. net unreachable from a router on the way). */
  closed({ type: z.literal('error'), seq: probeSeq, from: ipText, icmpType: z.int().min(0).max(255), icmpCode: z.int().min(0).max(255), message: text(200) }),
  closed({
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
  closed({
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
  closed({ type: z.literal('summary'), reached: z.boolean(), hops: z.int().min(0).max(TRACE_MAX_HOPS) }),
]);
export type TraceEvent = z.infer<typeof traceEvent>;

const sgVerdict = closed({
  /** The VIF's groups allow a new flow this way (always true for a VIF that is not filtered). */
  allowed: z.boolean(),
  /** The group and rule that allow it (null: not filtered, or dropped). */
  group: text(ITEM_ID_MAX_CHARS).nullable(),
  rule: text(ITEM_ID_MAX_CHARS).nullable(),
});
const sgDrops = z.record(text(32), z.number().min(0));

export const vifInspectData = closed({
  vif: closed({
    id: text(ITEM_ID_MAX_CHARS),
    vnet: z.int().min(0),
    mac: text(17),
    ip: text(18),
    /** Its location version on this host. */
    version: z.int().min(0),
    /** Which path carries it here (`kernel` or `userspace`), and why userspace. */
    path: text(16).nullable(),
    pathReason: text(200).nullable(),
  }),
  /** The VIF lists security groups (else nothing below filters it). */
  filtered: z.boolean(),
  groups: z.array(text(ITEM_ID_MAX_CHARS)).max(SG_MAX_PER_VIF),
  peer: closed({
    ip: text(15),
    /** The peer is a port on this host's switch (a VIF or a router's or firewall's interface): its id. */
    localPort: text(ITEM_ID_MAX_CHARS).nullable(),
    /** This host's VARP entry for the peer (by `peerMac`, else the one holding `peer`), null when there is none. */
    varp: closed({
      mac: text(17),
      ip: text(15).nullable(),
      coa: text(15),
      port: z.int().min(0).max(65_535),
      state: text(16),
      version: z.int().min(0),
      ageMs: z.number().min(0),
      proxy: z.boolean(),
    }).nullable(),
  }),
  /** A new flow from the VIF to the peer (egress) and from the peer to the VIF (ingress), by the rules now. */
  verdict: closed({ egress: sgVerdict, ingress: sgVerdict }),
  /** Open connections of the VIF with the peer (and the protocol and port, when given). */
  connections: z
    .array(
      closed({
        ...connectionFields,
        /** The direction of the packet that opened it, and the rule that allowed it. */
        direction: z.enum(SG_DIRECTIONS),
        group: text(ITEM_ID_MAX_CHARS),
        rule: text(ITEM_ID_MAX_CHARS),
        packets: z.tuple([z.int().min(0), z.int().min(0)]),
        expiresInMs: z.number().min(0),
      }),
    )
    .max(VIEW_MAX_CONNECTIONS),
  connectionsTotal: z.int().min(0),
  /** Every rule of the VIF's groups with its hits (flows it let open). */
  rules: z
    .array(
      closed({
        group: text(ITEM_ID_MAX_CHARS),
        rule: text(ITEM_ID_MAX_CHARS),
        direction: z.enum(SG_DIRECTIONS),
        protocol: z.enum(SG_PROTOCOLS),
        ports: text(16).nullable(),
        icmpType: z.int().min(0).max(255).nullable(),
        icmpCode: z.int().min(0).max(255).nullable(),
        remotes: z.int().min(0),
        hits: z.number().min(0),
      }),
    )
    .max(VIEW_MAX_RULES),
  /** Packets the VIF's groups dropped, by direction and reason (no_rule, ethertype, malformed, invalid, fragment, conntrack_full). */
  drops: closed({ ingress: sgDrops, egress: sgDrops }),
});
export type VifInspectData = z.infer<typeof vifInspectData>;

/** The data of one answer, by command kind. */
export const commandResultData = {
  'router.view': routerViewData,
  'firewall.view': firewallViewData,
  'router.ping': pingEvent,
  'router.traceroute': traceEvent,
  'vif.inspect': vifInspectData,
  'trace.lookup': traceLookupData,
} satisfies Record<CommandKind, z.ZodType>;
export type CommandResultData = { [K in CommandKind]: z.infer<(typeof commandResultData)[K]> };

/** `agent.commandResult`: one streamed answer (or the error that ends the command). */
export const commandResultSchema = closed({
  id: z.guid(),
  /** 0, 1, 2, … per command; a repeated seq (a retry) is accepted once. */
  seq: int32().min(0).max(COMMAND_MAX_RESULTS - 1),
  /** Checked against the command kind's answer schema. Null with `error`. */
  data: z.unknown(),
  /** The last answer of this command. */
  done: z.boolean(),
  /** The command failed on the agent (ends it); `data` is then ignored. */
  error: text(COMMAND_ERROR_MAX_CHARS).nullish(),
});
export type CommandResult = z.infer<typeof commandResultSchema>;

export const commandResultAnswerSchema = z.looseObject({
  /** False for a repeated seq that was already stored. */
  accepted: z.boolean(),
});
