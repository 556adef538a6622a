// Runs the console's router manager commands (seed 001: the external
// application asks a virtual router to perform tasks) against this agent's
// routers and firewalls: a router's or firewall's view, ping and traceroute
// from a router's own IP stack. Each command yields its answers one by one
// (the last with `done`), so replies and hops reach the console as they
// happen. Commands and answers are the contract's (contract/commands.ts):
// answers are cut to its bounds, and the console checks them against it.
import { VIEW_MAX_ARP, VIEW_MAX_CONNECTIONS, VIEW_MAX_COUNTERS, VIEW_MAX_ROUTES } from '../../contract/limits.ts';
import type { AgentCommand, CommandArgs, FirewallViewData, RouterViewData, VifInspectData } from '../../contract/commands.ts';
import type { NatEntryView, VirtualFirewall } from '../firewall/index.ts';
import type { VirtualRouter } from '../router/index.ts';
import { EchoSession, traceroute, type NodeView } from '../ipnode/index.ts';
import { traceLookup, type TraceVarp } from './traceLookup.ts';
import {
  ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_TIME_EXCEEDED, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipToString, parseIp,
} from '../wire/index.ts';

/** Where the commands find routers and firewalls (the agent's NodeManager). */
export interface CommandNodes {
  router(id: string): VirtualRouter | undefined;
  firewall(id: string): VirtualFirewall | undefined;
  /** `vif.inspect` (the agent's VIFs): undefined when the VIF is not on this host. */
  inspectVif?(args: CommandArgs['vif.inspect']): VifInspectData | undefined;
  /** The VARP cache and local ports (trace.lookup); absent: VARP lookups answer with nothing. */
  varp?(): TraceVarp | null;
}

/** A command this agent cannot carry out; the message goes back to the console as the command's error. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface CommandOutput {
  data: unknown;
  /** The command's last answer. */
  done: boolean;
}

const ms = (v: number) => Math.round(v * 1000) / 1000;

function requireRouter(nodes: CommandNodes, id: string): VirtualRouter {
  const r = nodes.router(id);
  if (!r) throw new CommandError(`router ${id} is not running on this host (its desired state may not be applied yet)`);
  return r;
}

function requireFirewall(nodes: CommandNodes, id: string): VirtualFirewall {
  const f = nodes.firewall(id);
  if (!f) throw new CommandError(`firewall ${id} is not running on this host (its desired state may not be applied yet)`);
  return f;
}

/** The parts routers and firewalls share, cut to the console's bounds (totals say what was cut). */
function nodeBase(v: NodeView & { nat: NatEntryView[] }) {
  const counters = Object.fromEntries(Object.entries(v.counters).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, VIEW_MAX_COUNTERS));
  return {
    id: v.id,
    interfaces: v.interfaces,
    routes: v.routes.slice(0, VIEW_MAX_ROUTES),
    routesTotal: v.routes.length,
    arp: v.arp.slice(0, VIEW_MAX_ARP).map((a) => ({ ...a, ageMs: Math.max(0, Math.round(a.ageMs)) })),
    arpTotal: v.arp.length,
    counters,
    nat: {
      total: v.nat.length,
      sample: v.nat.slice(0, VIEW_MAX_CONNECTIONS).map((n) => ({ ...n, protocol: protocolName(n.protocol), expiresInMs: Math.round(n.expiresInMs) })),
    },
  };
}

export function routerViewData(r: VirtualRouter): RouterViewData {
  const v = r.view();
  return {
    ...nodeBase(v),
    rip: v.rip.slice(0, VIEW_MAX_ROUTES).map((x) => ({ ...x, ageMs: Math.max(0, Math.round(x.ageMs)) })),
    unresolvedStaticRoutes: v.unresolvedStaticRoutes.slice(0, VIEW_MAX_ROUTES),
  };
}

const PROTOCOL_NAMES: Record<number, string> = { [IPPROTO_ICMP]: 'icmp', [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp' };
const protocolName = (p: number) => PROTOCOL_NAMES[p] ?? `ip-${p}`;

export function firewallViewData(f: VirtualFirewall): FirewallViewData {
  const v = f.view();
  const byProtocol: Record<string, number> = {};
  const byState: Record<string, number> = {};
  for (const c of v.connections) {
    const p = protocolName(c.protocol);
    byProtocol[p] = (byProtocol[p] ?? 0) + 1;
    byState[c.state] = (byState[c.state] ?? 0) + 1;
  }
  return {
    ...nodeBase(v),
    defaultPolicy: v.defaultPolicy,
    rules: v.rules,
    defaultHits: v.defaultHits,
    connections: {
      total: v.connections.length,
      byProtocol,
      byState,
      sample: v.connections.slice(0, VIEW_MAX_CONNECTIONS).map((c) => ({ ...c, protocol: protocolName(c.protocol), expiresInMs: Math.round(c.expiresInMs) })),
    },
  };
}

const UNREACHABLE_TEXT: Record<number, string> = { 0: 'net unreachable', 1: 'host unreachable', 2: 'protocol unreachable', 3: 'port unreachable', 4: 'fragmentation needed', 13: 'administratively prohibited' };

function icmpText(type: number, code: number): string {
  if (type === ICMP_TIME_EXCEEDED) return 'time exceeded';
  if (type === ICMP_DEST_UNREACHABLE) return UNREACHABLE_TEXT[code] ?? `destination unreachable (code ${code})`;
  return `ICMP type ${type} code ${code}`;
}

function checkRoute(r: VirtualRouter, target: string): number {
  const dst = parseIp(target);
  if (!r.node.fib.lookup(dst)) throw new CommandError(`router ${r.id} has no route to ${target}`);
  return dst;
}

/**
 * Pings with one echo identifier and sequence numbers 1..count, a probe
 * every `intervalMs` without waiting for the previous answer (like ping(8)),
 * and yields each answer as it arrives, then the summary.
 */
async function* pingEvents(r: VirtualRouter, a: Extract<AgentCommand, { kind: 'router.ping' }>['args']): AsyncGenerator<CommandOutput> {
  const dst = checkRoute(r, a.target);
  const session = new EchoSession(r.node);
  const ready: unknown[] = [];
  let wake: (() => void) | null = null;
  let outstanding = 0;
  let launched = false;
  let stopped = false;
  const rtts: number[] = [];
  let sent = 0;
  const push = (e: unknown) => {
    ready.push(e);
    wake?.();
  };
  const launch = async () => {
    for (let seq = 1; seq <= a.count && !stopped; seq++) {
      sent++;
      outstanding++;
      void session.probe(dst, seq, { timeoutMs: a.timeoutMs }).then(({ answer, rttMs }) => {
        outstanding--;
        if (answer === null) push({ type: 'timeout', seq });
        else if (answer.type === ICMP_ECHO_REPLY) {
          rtts.push(ms(rttMs!));
          push({ type: 'reply', seq, from: ipToString(answer.from), rttMs: ms(rttMs!) });
        } else push({ type: 'error', seq, from: ipToString(answer.from), icmpType: answer.type, icmpCode: answer.code, message: icmpText(answer.type, answer.code) });
      });
      if (seq < a.count) await new Promise((res) => setTimeout(res, a.intervalMs).unref());
    }
    launched = true;
    wake?.();
  };
  try {
    void launch();
    while (!(launched && outstanding === 0 && ready.length === 0)) {
      if (ready.length === 0) {
        await new Promise<void>((res) => (wake = res));
        wake = null;
        continue;
      }
      yield { data: ready.shift(), done: false };
    }
    const received = rtts.length;
    yield {
      data: {
        type: 'summary', sent, received, lossPct: sent ? ms(((sent - received) / sent) * 100) : 0,
        minMs: received ? Math.min(...rtts) : null,
        avgMs: received ? ms(rtts.reduce((x, y) => x + y, 0) / received) : null,
        maxMs: received ? Math.max(...rtts) : null,
      },
      done: true,
    };
  } finally {
    stopped = true;
    session.close();
  }
}

async function* traceEvents(r: VirtualRouter, a: Extract<AgentCommand, { kind: 'router.traceroute' }>['args']): AsyncGenerator<CommandOutput> {
  const dst = checkRoute(r, a.target);
  let hops = 0;
  let reached = false;
  for await (const h of traceroute(r.node, dst, { maxHops: a.maxHops, timeoutMs: a.timeoutMs })) {
    hops = h.ttl;
    reached ||= h.reached;
    yield {
      data: { type: 'hop', ttl: h.ttl, address: h.address === null ? null : ipToString(h.address), rttMs: h.rttMs === null ? null : ms(h.rttMs), reached: h.reached, icmpType: h.type },
      done: false,
    };
  }
  yield { data: { type: 'summary', reached, hops }, done: true };
}

/** Runs one command; throws CommandError when it cannot (unknown router, no route). */
export async function* executeCommand(nodes: CommandNodes, cmd: AgentCommand): AsyncGenerator<CommandOutput> {
  switch (cmd.kind) {
    case 'router.view':
      yield { data: routerViewData(requireRouter(nodes, cmd.args.routerId)), done: true };
      return;
    case 'firewall.view':
      yield { data: firewallViewData(requireFirewall(nodes, cmd.args.firewallId)), done: true };
      return;
    case 'router.ping':
      yield* pingEvents(requireRouter(nodes, cmd.args.routerId), cmd.args);
      return;
    case 'router.traceroute':
      yield* traceEvents(requireRouter(nodes, cmd.args.routerId), cmd.args);
      return;
    case 'vif.inspect': {
      const data = nodes.inspectVif?.(cmd.args);
      if (!data) throw new CommandError(`VIF ${cmd.args.vifId} is not on this host (it may have moved, or the desired state is not applied yet)`);
      yield { data, done: true };
      return;
    }
    case 'trace.lookup':
      yield { data: traceLookup(nodes, nodes.varp?.() ?? null, cmd.args), done: true };
      return;
  }
}
