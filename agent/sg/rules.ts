// The rules of a VIF's security groups, compiled to numbers for the packet
// path: one list per direction and IP protocol (the `any` rules are in every
// list), each rule with its port range, ICMP type and code, and its remote
// addresses as a set of /32s plus a few prefixes. Groups are allow lists: a
// new flow passes when some rule of some group of the VIF matches it; the
// first that does (groups in the VIF's order, rules in the group's) is the
// one counted. Hit counters are cells kept by (group, rule) id, so a new
// state that keeps a rule keeps its count.
import * as W from '../wire/index.ts';
import type { SecurityRuleSpec } from '../../contract/securityGroups.ts';
import { AddressMatcher, type SgCatalog } from './sets.ts';

export type SgDirection = 'ingress' | 'egress';

// Copied into this module: an imported binding may compile to an accessor (a call per use).
const { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } = W;

/** A rule's hits: flows it let open (and packets it passed that open none). */
export interface HitCell {
  hits: number;
}

export interface CompiledSgRule {
  group: string;
  rule: string;
  direction: SgDirection;
  /** 0: any. */
  protocol: number;
  /** -1: any port (and any ICMP type / code). */
  portFrom: number;
  portTo: number;
  icmpType: number;
  icmpCode: number;
  /** The rule's own remote addresses. */
  remote: AddressMatcher;
  /** The address set it names (shared with every rule naming it), or null. */
  remoteSet: AddressMatcher | null;
  cell: HitCell;
  spec: SecurityRuleSpec;
}

/** Per direction, the rules that can match a protocol: [tcp, udp, icmp, other]. */
export interface CompiledGroups {
  ingress: CompiledSgRule[][];
  egress: CompiledSgRule[][];
  all: CompiledSgRule[];
}

const PROTOCOLS: Record<SecurityRuleSpec['protocol'], number> = { any: 0, tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP };

/** The index of a protocol's list. */
export function protoSlot(p: number): number {
  return p === IPPROTO_TCP ? 0 : p === IPPROTO_UDP ? 1 : p === IPPROTO_ICMP ? 2 : 3;
}

export function cellKey(group: string, rule: string): string {
  return `${group}\u0000${rule}`;
}

/**
 * Compiles the groups a VIF lists (ids missing from `groups` are skipped:
 * the contract refuses such a state). `cells` holds the hit counters by
 * (group, rule); those of rules no longer present are removed from it.
 */
export function compileGroups(ids: readonly string[], catalog: SgCatalog, cells: Map<string, HitCell>): CompiledGroups {
  const out: CompiledGroups = { ingress: [[], [], [], []], egress: [[], [], [], []], all: [] };
  const keep = new Set<string>();
  for (const id of new Set(ids)) {
    const g = catalog.group(id);
    if (!g) continue;
    for (const r of g.rules) {
      const key = cellKey(g.id, r.id);
      keep.add(key);
      let cell = cells.get(key);
      if (!cell) cells.set(key, (cell = { hits: 0 }));
      const c = compileRule(g.id, r, cell, r.remoteSet === null ? null : (catalog.set(r.remoteSet) ?? EMPTY));
      out.all.push(c);
      const lists = out[c.direction];
      if (c.protocol === 0) for (const l of lists) l.push(c);
      else lists[protoSlot(c.protocol)]!.push(c);
    }
  }
  for (const k of cells.keys()) if (!keep.has(k)) cells.delete(k);
  return out;
}

const EMPTY = new AddressMatcher([]);

function compileRule(group: string, r: SecurityRuleSpec, cell: HitCell, remoteSet: AddressMatcher | null): CompiledSgRule {
  const ports = r.portFrom !== null;
  return {
    group, rule: r.id, direction: r.direction, protocol: PROTOCOLS[r.protocol],
    portFrom: ports ? r.portFrom! : -1, portTo: ports ? (r.portTo ?? r.portFrom!) : -1,
    icmpType: r.icmpType ?? -1, icmpCode: r.icmpCode ?? -1,
    remote: r.remote.length ? new AddressMatcher(r.remote) : EMPTY, remoteSet, cell, spec: r,
  };
}

/** What a new packet's match reads (a subset of the firewall's Flow, plus the ICMP code). */
export interface SgPacket {
  protocol: number;
  /** The other end: the source of an ingress packet, the destination of an egress one. */
  remote: number;
  dstPort: number;
  /** Ports were read (TCP/UDP with a transport header; not a later fragment). */
  hasPorts: boolean;
  /** -1 when not ICMP (or no ICMP header). */
  icmpType: number;
  icmpCode: number;
}

function remoteMatches(r: CompiledSgRule, a: number): boolean {
  return r.remote.has(a) || (r.remoteSet !== null && r.remoteSet.has(a));
}

/** The first rule of `list` (one direction and protocol slot) that allows `p`, or undefined. */
export function matchSg(list: readonly CompiledSgRule[], p: SgPacket): CompiledSgRule | undefined {
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    if (r.protocol !== 0 && r.protocol !== p.protocol) continue;
    if (r.portFrom >= 0 && (!p.hasPorts || p.dstPort < r.portFrom || p.dstPort > r.portTo)) continue;
    if (r.icmpType >= 0 && r.icmpType !== p.icmpType) continue;
    if (r.icmpCode >= 0 && r.icmpCode !== p.icmpCode) continue;
    if (!remoteMatches(r, p.remote)) continue;
    return r;
  }
  return undefined;
}
