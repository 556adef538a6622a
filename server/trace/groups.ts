// Security groups as the agent enforces them at a VIF (contract/securityGroups.ts):
// a VIF that lists no groups (the field absent) is not filtered; otherwise a
// new flow passes in a direction only when a rule of one of the VIF's groups
// for that direction matches it (protocol, destination port range, ICMP type
// and code, and the remote end's address in one of the rule's networks).
// The first match counts: groups in the VIF's order, rules in the group's
// (as the agent's filter counts them). Replies of an allowed flow
// pass (stateful), ARP and DHCP always pass; the trace follows the first
// packet of a new flow, so neither shows here.
import { inPrefix, parseCidr } from '../../agent/wire/addr.ts';
import type { SecurityRuleSpec } from '../../contract/securityGroups.ts';
import type { StateSecurityGroup, StateVif } from '../../contract/hostState.ts';
import type { Decider, TraceProtocol } from './types.ts';

export interface GroupFlow {
  protocol: TraceProtocol;
  src: number;
  dst: number;
  dstPort: number | null;
  /** ICMP echo request: type 8 code 0. */
  icmpType: number | null;
  icmpCode: number | null;
}

export type GroupVerdict = { filtered: false } | { filtered: true; allowed: boolean; decidedBy: Decider | null; groups: string[] };

/** Whether `remote` lies in one of the networks (a bare address is a /32, as in the agent). */
function inAny(list: readonly string[], remote: number): boolean {
  return list.some((n) => {
    const c = parseCidr(n.includes('/') ? n : `${n}/32`);
    return inPrefix(remote, c.network, c.prefixLen);
  });
}

export function ruleMatches(r: SecurityRuleSpec, f: GroupFlow, remote: number, sets: ReadonlyMap<string, readonly string[]> = new Map()): boolean {
  if (r.protocol !== 'any' && r.protocol !== f.protocol) return false;
  if (r.portFrom !== null) {
    if ((f.protocol !== 'tcp' && f.protocol !== 'udp') || f.dstPort === null) return false;
    const to = r.portTo ?? r.portFrom;
    if (f.dstPort < r.portFrom || f.dstPort > to) return false;
  }
  if (r.icmpType !== null) {
    if (f.protocol !== 'icmp' || f.icmpType !== r.icmpType) return false;
    if (r.icmpCode !== null && f.icmpCode !== r.icmpCode) return false;
  }
  // The rule's own networks, or its address set (a remote group's members, sent once per host).
  return inAny(r.remote, remote) || (r.remoteSet !== null && inAny(sets.get(r.remoteSet) ?? [], remote));
}

export function describeRule(r: SecurityRuleSpec): string {
  const ports = r.portFrom === null ? '' : r.portTo !== null && r.portTo !== r.portFrom ? ` ports ${r.portFrom}-${r.portTo}` : ` port ${r.portFrom}`;
  const icmp = r.icmpType === null ? '' : ` type ${r.icmpType}${r.icmpCode === null ? '' : ` code ${r.icmpCode}`}`;
  const remote = r.remoteSet !== null ? `the members of group ${r.remoteSet}${r.remote.length ? ` or ${r.remote.join(', ')}` : ''}` : r.remote.length ? r.remote.join(', ') : 'no addresses';
  return `${r.direction} ${r.protocol}${ports}${icmp} ${r.direction === 'ingress' ? 'from' : 'to'} ${remote}`;
}

/** The verdict of `vif`'s groups on a new flow in `direction`. */
export function checkGroups(
  vif: StateVif, groups: readonly StateSecurityGroup[] | undefined, direction: 'ingress' | 'egress', f: GroupFlow,
  sets: ReadonlyMap<string, readonly string[]> = new Map(),
): GroupVerdict {
  if (vif.securityGroups === undefined) return { filtered: false };
  const byId = new Map((groups ?? []).map((g) => [g.id, g]));
  const remote = direction === 'ingress' ? f.src : f.dst;
  for (const gid of new Set(vif.securityGroups)) {
    const g = byId.get(gid);
    if (!g) continue;
    for (const r of g.rules) {
      if (r.direction !== direction) continue;
      if (ruleMatches(r, f, remote, sets)) {
        return {
          filtered: true, allowed: true, groups: vif.securityGroups,
          decidedBy: { kind: 'security-rule', ref: `${g.id}/${r.id}`, text: `group ${g.name ?? g.id} rule ${r.id}: ${describeRule(r)}` },
        };
      }
    }
  }
  return { filtered: true, allowed: false, decidedBy: null, groups: vif.securityGroups };
}

