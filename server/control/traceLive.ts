// The live half of `farm.trace`: asks the agent of every host on the traced
// path (command `trace.lookup`, contract/traceLookup.ts) for its real state —
// the VARP entry or local port of each MAC the design resolves, each router's
// and firewall's forwarding-table lookup, a firewall's rule hit counters and
// the flow's connection — and marks each hop agreeing or not with the design
// (e.g. a VARP entry on one host that points at another host's old address).
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { parseMac } from '../../agent/wire/addr.ts';
import { traceLookupData, type TraceLookupArgs, type TraceLookupData } from '../../contract/traceLookup.ts';
import type { LearntRoute, TraceHop, TraceHost, TraceResult } from '../trace/index.ts';
import { followCommand, startCommand } from './agentCommands.ts';

export type Ask = { varp: TraceLookupArgs['varp']; routes: TraceLookupArgs['routes']; firewalls: string[] };

/** The host whose state puts (vnet, MAC) on a port: a VIF or a router's or firewall's interface. */
function ownerOf(hosts: TraceHost[], vnet: number, mac: string): TraceHost | undefined {
  const m = parseMac(mac);
  return hosts.find((h) =>
    h.state.vifs.some((v) => v.vnet === vnet && parseMac(v.mac) === m)
    || (h.state.routers ?? []).some((r) => r.interfaces.some((i) => i.vnet === vnet && parseMac(i.mac) === m))
    || (h.state.firewalls ?? []).some((f) => f.interfaces.some((i) => i.vnet === vnet && parseMac(i.mac) === m)));
}

const isMac = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s);

function plan(hops: TraceHop[]): Map<string, Ask> {
  const asks = new Map<string, Ask>();
  const ask = (hostId: string) => {
    let a = asks.get(hostId);
    if (!a) asks.set(hostId, (a = { varp: [], routes: [], firewalls: [] }));
    return a;
  };
  for (const h of hops) {
    if (!h.host) continue;
    if (h.step === 'switch' && h.node.kind === 'vnet' && isMac(h.decidedBy?.ref)) ask(h.host.id).varp.push({ vnet: Number(h.node.id), mac: h.decidedBy.ref });
    if (h.node.kind === 'router' && h.step === 'router') ask(h.host.id).routes.push({ kind: 'router', id: h.node.id, destination: h.packet.dst });
    if (h.node.kind === 'firewall' && h.step === 'firewall') {
      ask(h.host.id).routes.push({ kind: 'firewall', id: h.node.id, destination: h.packet.dst });
      if (!ask(h.host.id).firewalls.includes(h.node.id)) ask(h.host.id).firewalls.push(h.node.id);
    }
  }
  return asks;
}

/** One `trace.lookup` on one host: its answer, or why there is none (the host is offline, …). */
export async function lookup(db: Db, actor: UserActor, host: TraceHost, ask: Ask, flow: TraceLookupArgs['flow']): Promise<TraceLookupData | string> {
  try {
    const args: TraceLookupArgs = { ...ask, varp: ask.varp.slice(0, 16), routes: ask.routes.slice(0, 16), firewalls: ask.firewalls.slice(0, 16), flow };
    const { id } = await startCommand({ db, host: { hostId: host.id, hostName: host.name }, kind: 'trace.lookup', args, createdById: actor.userId });
    let answer: unknown;
    for await (const r of followCommand({ db, id, hostName: host.name })) answer = r.data;
    return traceLookupData.parse(answer);
  } catch (err) {
    if (err instanceof AppError) return err.message;
    throw err;
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Host names by care-of address: the farm's hosts, and any other host an entry may point at (a VM's old host). */
type Names = Map<string, string>;

function judgeVarp(hop: TraceHop, d: TraceLookupData, hosts: TraceHost[], names: Names): { state: string; agrees: boolean } | null {
  const mac = hop.decidedBy?.ref;
  if (!isMac(mac)) return null;
  const vnet = Number(hop.node.id);
  const e = d.varp.find((x) => x.vnet === vnet && x.mac.toLowerCase() === mac.toLowerCase());
  if (!e) return null;
  const owner = ownerOf(hosts, vnet, mac);
  const here = hop.host!.name;
  if (owner && owner.id === hop.host!.id) {
    return e.local !== null
      ? { state: `MAC ${mac} is local port ${e.local} on ${here}`, agrees: true }
      : { state: `MAC ${mac} is attached to no port on ${here}, which the design says carries it`, agrees: false };
  }
  if (!e.entry) {
    return { state: `no VARP entry for ${mac} on ${here} yet: the first frame resolves it`, agrees: true };
  }
  const at = names.get(e.entry.coa);
  const entry = `VARP entry on host ${here}: ${mac} at ${e.entry.coa}${at ? ` (${at})` : ''}, ${e.entry.state}, version ${e.entry.version}, age ${secs(e.entry.ageMs)}`;
  if (!owner || e.entry.coa === owner.address) return { state: entry, agrees: true };
  const what = at ? `host ${at}'s address` : 'an address of no host (an old address?)';
  return { state: `${entry}: points at ${what}, but ${mac} is on ${owner.name} (${owner.address})`, agrees: false };
}

function judgeNode(hop: TraceHop, d: TraceLookupData): { state: string; agrees: boolean } | null {
  const kind = hop.node.kind;
  if (kind !== 'router' && kind !== 'firewall') return null;
  const r = d.routes.find((x) => x.kind === kind && x.id === hop.node.id && x.destination === hop.packet.dst);
  if (!r) return null;
  if (!r.running) return { state: `${kind} ${hop.node.name} is not running on ${hop.host!.name}`, agrees: false };
  const parts: string[] = [];
  let agrees = true;
  if (!r.route) {
    parts.push(`no live route to ${r.destination}`);
    agrees = hop.verdict !== 'pass' || kind === 'firewall';
  } else {
    parts.push(`live route ${r.route.text}`);
    if (hop.verdict === 'unknown') parts.push(r.route.source === 'rip' ? '(learnt by RIP)' : '');
    else if (hop.decidedBy?.kind === 'route' && hop.decidedBy.ref !== r.route.destination) {
      agrees = false;
      parts.push(`but the design uses ${hop.decidedBy.text}`);
    }
  }
  if (kind === 'firewall') {
    const f = d.firewalls.find((x) => x.id === hop.node.id);
    if (f?.running) {
      const ref = hop.decidedBy?.ref;
      const hits = typeof ref === 'number' ? f.rules.find((x) => x.index === ref)?.hits : hop.decidedBy?.kind === 'default' ? f.defaultHits : undefined;
      if (hits !== undefined) parts.push(`${typeof ref === 'number' ? `rule ${ref + 1}` : 'default policy'} hit ${hits} times`);
      if (f.connection) parts.push(`connection ${f.connection.from} -> ${f.connection.to} ${f.connection.state} (rule ${typeof f.connection.rule === 'number' ? f.connection.rule + 1 : f.connection.rule}, ${f.connection.packets[0]}/${f.connection.packets[1]} packets)`);
      else parts.push('no tracked connection of this flow');
    }
  }
  return { state: parts.filter(Boolean).join('; '), agrees };
}

/**
 * Routes the design cannot know: while the trace stops at a router hop
 * marked unknown (a destination only RIP could reach), asks that router's
 * host for its live route and walks again with it (at most `rounds` times).
 */
export async function learnRoutes(o: {
  db: Db; actor: UserActor; hosts: TraceHost[]; trace: (learnt: LearntRoute[]) => TraceResult; rounds?: number;
}): Promise<TraceResult> {
  const learnt: LearntRoute[] = [];
  let result = o.trace(learnt);
  for (let i = 0; i < (o.rounds ?? 8); i++) {
    const hop = result.failedAt === null ? null : result.hops[result.failedAt]!;
    if (!hop || hop.verdict !== 'unknown' || hop.node.kind !== 'router' || !hop.host) break;
    const host = o.hosts.find((h) => h.id === hop.host!.id);
    if (!host) break;
    const a = await lookup(o.db, o.actor, host, { varp: [], routes: [{ kind: 'router', id: hop.node.id, destination: hop.packet.dst }], firewalls: [] }, null);
    const r = typeof a === 'string' ? undefined : a.routes[0]?.route;
    if (!r || learnt.some((l) => l.router === hop.node.id && l.destination === r.destination)) break;
    learnt.push({ router: hop.node.id, destination: r.destination, nextHop: r.nextHop, iface: r.iface, metric: 1 });
    result = o.trace(learnt);
  }
  return result;
}

export async function addLiveState(o: { db: Db; actor: UserActor; hosts: TraceHost[]; result: TraceResult }): Promise<TraceResult> {
  const { result, hosts } = o;
  const asks = plan(result.hops);
  const flow = { protocol: result.flow.protocol, src: result.flow.src, dst: result.hops.at(-1)?.packet.dst ?? result.flow.dst, dstPort: result.flow.port };
  const answers = new Map<string, TraceLookupData | string>();
  await Promise.all(
    [...asks].map(async ([hostId, ask]) => {
      const host = hosts.find((h) => h.id === hostId);
      if (host) answers.set(hostId, await lookup(o.db, o.actor, host, ask, flow));
    }),
  );
  const names: Names = new Map(hosts.map((h) => [h.address, h.name]));
  const coas = [...answers.values()].flatMap((a) => (typeof a === 'string' ? [] : a.varp.flatMap((v) => (v.entry && !names.has(v.entry.coa) ? [v.entry.coa] : []))));
  if (coas.length) {
    const rows = await o.db.host.findMany({ where: { address: { in: coas } }, select: { name: true, address: true }, orderBy: { name: 'asc' } });
    for (const r of rows) if (!names.has(r.address)) names.set(r.address, r.name);
  }
  const hops = result.hops.map((hop) => {
    if (!hop.host) return hop;
    const a = answers.get(hop.host.id);
    if (a === undefined) return hop;
    if (typeof a === 'string') return { ...hop, live: { state: `no live state: ${a}`, agrees: false } };
    const live = judgeVarp(hop, a, hosts, names) ?? judgeNode(hop, a);
    return live ? { ...hop, live } : hop;
  });
  return { ...result, hops, live: true };
}
