// What the agent shows of a filtered VIF: its rules with their hits, its
// connections, its drops (/v1/state, vif.inspect).
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipToString } from '../wire/index.ts';
import type { Conn } from '../firewall/conntrack.ts';
import type { CompiledSgRule, SgDirection } from './rules.ts';
import type { SecurityRuleSpec } from '../../contract/securityGroups.ts';
import type { SgDropReason } from './filter.ts';

export interface SgRuleView {
  group: string;
  rule: string;
  direction: SgDirection;
  protocol: SecurityRuleSpec['protocol'];
  ports: string | null;
  icmpType: number | null;
  icmpCode: number | null;
  remotes: number;
  hits: number;
}

export interface SgConnView {
  protocol: string;
  from: string;
  to: string;
  state: string;
  /** The direction of the packet that opened it, and the rule that allowed it. */
  direction: SgDirection;
  group: string;
  rule: string;
  packets: [number, number];
  expiresInMs: number;
}

/** What /v1/state shows of a filtered VIF. */
export interface SgVifView {
  groups: string[];
  rules: SgRuleView[];
  connections: number;
  connectionsMax: number;
  drops: Record<SgDirection, Record<SgDropReason, number>>;
}

const PROTO_NAMES: Record<number, string> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp', [IPPROTO_ICMP]: 'icmp' };
export const protocolName = (p: number): string => PROTO_NAMES[p] ?? `ip-${p}`;

export function ruleView(r: CompiledSgRule): SgRuleView {
  return {
    group: r.group,
    rule: r.rule,
    direction: r.direction,
    protocol: r.spec.protocol,
    ports: r.portFrom < 0 ? null : r.portFrom === r.portTo ? `${r.portFrom}` : `${r.portFrom}-${r.portTo}`,
    icmpType: r.spec.icmpType,
    icmpCode: r.spec.icmpCode,
    remotes: r.remote.size + (r.remoteSet?.size ?? 0),
    hits: r.cell.hits,
  };
}

export function connView(c: Conn, now: number): SgConnView {
  const [direction, group, rule] = c.ingress.split('\u0000') as [SgDirection, string, string];
  return {
    protocol: protocolName(c.protocol), from: `${ipToString(c.a)}:${c.aPort}`, to: `${ipToString(c.b)}:${c.bPort}`, state: c.state,
    direction, group: group ?? '', rule: rule ?? '', packets: [...c.packets] as [number, number], expiresInMs: Math.max(0, Math.round(c.expires - now)),
  };
}
