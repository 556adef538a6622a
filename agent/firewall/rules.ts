// A firewall's ordered rules, compiled to numbers: the first rule that
// matches decides (allow/deny), else the default policy. A rule matches on
// source and destination prefix, protocol, destination port range (TCP/UDP)
// and the interface the packet entered by.
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, parseCidr } from '../wire/index.ts';
import type { Flow } from './flow.ts';
import type { FirewallRuleSpec } from '../../contract/firewall.ts';

const PROTOCOLS: Record<FirewallRuleSpec['protocol'], number> = { any: 0, tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP };

export interface CompiledRule {
  index: number;
  allow: boolean;
  protocol: number;
  srcNet: number;
  srcMask: number;
  dstNet: number;
  dstMask: number;
  /** -1: any port. */
  portFrom: number;
  portTo: number;
  iface: string | null;
  log: boolean;
  spec: FirewallRuleSpec;
}

export function compileRules(rules: readonly FirewallRuleSpec[]): CompiledRule[] {
  return rules.map((r, index) => {
    const s = parseCidr(r.source);
    const d = parseCidr(r.destination);
    const ports = r.portFrom !== null;
    return {
      index,
      allow: r.action === 'allow',
      protocol: PROTOCOLS[r.protocol],
      srcNet: s.network,
      srcMask: s.mask,
      dstNet: d.network,
      dstMask: d.mask,
      portFrom: ports ? r.portFrom! : -1,
      portTo: ports ? (r.portTo ?? r.portFrom!) : -1,
      iface: r.interface,
      log: r.log,
      spec: r,
    };
  });
}

/** The first rule matching `f` entering by `ingress`, or undefined (then the default policy decides). */
export function matchRule(rules: readonly CompiledRule[], f: Flow, ingress: string): CompiledRule | undefined {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (r.protocol !== 0 && r.protocol !== f.protocol) continue;
    if (((f.src & r.srcMask) >>> 0) !== r.srcNet) continue;
    if (((f.dst & r.dstMask) >>> 0) !== r.dstNet) continue;
    if (r.portFrom >= 0) {
      // Port ranges need a transport header: later fragments never match them.
      if (!f.hasPorts || f.laterFragment || f.dstPort < r.portFrom || f.dstPort > r.portTo) continue;
    }
    if (r.iface !== null && r.iface !== ingress) continue;
    return r;
  }
  return undefined;
}
