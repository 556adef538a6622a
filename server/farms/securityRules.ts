// Pure rules for security groups (docs/security-groups.md), shared by the
// single-entity services (securityGroups.ts) and the farm document check, so
// both refuse the same things with the same messages.
import { badRequest } from '../errors.ts';
import { SG_DIRECTIONS, SG_PROTOCOLS } from '../../contract/securityGroups.ts';
import { ANY_PREFIX, checkPortRange, requireCidr } from './validate.ts';

export type SecurityDirectionName = (typeof SG_DIRECTIONS)[number];
export type SecurityProtocolName = (typeof SG_PROTOCOLS)[number];
export const SECURITY_GROUP_MODES = ['default', 'none'] as const;
export type SecurityGroupModeName = (typeof SECURITY_GROUP_MODES)[number];
/** The group a farm in mode `default` keeps, and new VIFs join. */
export const DEFAULT_GROUP = 'default';

export interface SecurityRuleInput {
  direction: SecurityDirectionName;
  protocol?: SecurityProtocolName | undefined;
  portFrom?: number | null | undefined;
  portTo?: number | null | undefined;
  icmpType?: number | null | undefined;
  icmpCode?: number | null | undefined;
  /** The other end as a CIDR; omitted with no remote group: anywhere (`0.0.0.0/0`). */
  remoteCidr?: string | null | undefined;
  /** The other end as a group of the same farm (an id in the API, a name in a document). */
  remoteGroup?: string | null | undefined;
  description?: string | undefined;
}

/** A checked rule, defaults filled: exactly one of `remoteCidr` and `remoteGroup` is set. */
export interface NormalSecurityRule {
  direction: SecurityDirectionName;
  protocol: SecurityProtocolName;
  portFrom: number | null;
  portTo: number | null;
  icmpType: number | null;
  icmpCode: number | null;
  remoteCidr: string | null;
  remoteGroup: string | null;
  description: string;
}

const ANYWHERE = '0.0.0.0/0';

function checkByte(field: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw badRequest(field, `${n} is outside 0–255`);
  return n;
}

/**
 * Checks one rule and fills its defaults; `field(name)` names the input field
 * an error blames (e.g. `rules.3.portTo`). `remoteGroup` is taken as given:
 * whether it names a group of the farm is the caller's check.
 */
export function checkSecurityRule(rule: SecurityRuleInput, field: (name: string) => string): NormalSecurityRule {
  const protocol = rule.protocol ?? 'any';
  const portFrom = rule.portFrom ?? null;
  const portTo = checkPortRange(protocol, portFrom, rule.portTo ?? null, field);
  const icmpType = rule.icmpType ?? null;
  const icmpCode = rule.icmpCode ?? null;
  if (icmpType !== null || icmpCode !== null) {
    if (protocol !== 'icmp') {
      throw badRequest(field(icmpType !== null ? 'icmpType' : 'icmpCode'), `ICMP type and code apply only to icmp, not ${protocol}`);
    }
    if (icmpType === null) throw badRequest(field('icmpCode'), 'needs icmpType: a code is matched within a type');
    checkByte(field('icmpType'), icmpType);
    if (icmpCode !== null) checkByte(field('icmpCode'), icmpCode);
  }
  const remoteGroup = rule.remoteGroup ?? null;
  const cidrText = rule.remoteCidr ?? null;
  if (remoteGroup !== null && cidrText !== null) {
    throw badRequest(field('remoteGroup'), 'give a remote CIDR or a remote group, not both');
  }
  const remoteCidr = remoteGroup !== null ? null : requireCidr(field('remoteCidr'), cidrText ?? ANYWHERE, ANY_PREFIX).text;
  return { direction: rule.direction, protocol, portFrom, portTo, icmpType, icmpCode, remoteCidr, remoteGroup, description: rule.description ?? '' };
}

/** The rules a new `default` group starts with, as Neutron's: all egress; ingress from the group's own members. */
export function defaultGroupRules(self: string): NormalSecurityRule[] {
  const base = { protocol: 'any', portFrom: null, portTo: null, icmpType: null, icmpCode: null } as const;
  return [
    { ...base, direction: 'egress', remoteCidr: ANYWHERE, remoteGroup: null, description: 'all outgoing traffic' },
    { ...base, direction: 'ingress', remoteCidr: null, remoteGroup: self, description: 'from members of this group' },
  ];
}

/** "tcp 80–443 from 10.0.0.0/8": how a rule reads in messages and the designer. */
export function describeRule(r: Omit<NormalSecurityRule, 'description'>, groupName: (ref: string) => string = (x) => x): string {
  const ports = r.portFrom === null ? '' : r.portTo === null || r.portTo === r.portFrom ? ` ${r.portFrom}` : ` ${r.portFrom}–${r.portTo}`;
  const icmp = r.icmpType === null ? '' : ` type ${r.icmpType}${r.icmpCode === null ? '' : ` code ${r.icmpCode}`}`;
  const remote = r.remoteGroup !== null ? `group ${groupName(r.remoteGroup)}` : r.remoteCidr;
  return `${r.direction} ${r.protocol}${ports}${icmp} ${r.direction === 'ingress' ? 'from' : 'to'} ${remote}`;
}

export interface ResolvedSecurityGroup {
  name: string;
  description: string;
  /** Remote groups by name. */
  rules: NormalSecurityRule[];
}

interface DocumentGroup {
  name: string;
  description: string;
  rules: SecurityRuleInput[];
}

/**
 * A document's groups and the VIFs' memberships: names unique, rules checked,
 * remote groups and memberships naming groups of the document. A farm in mode
 * `default` without a group named default gets one with the default rules.
 * `vifs` lists each VIF's group names with the field that holds them.
 */
export function checkDocumentSecurityGroups(
  groups: DocumentGroup[], mode: SecurityGroupModeName, vifs: { field: string; groups: string[] }[],
): ResolvedSecurityGroup[] {
  const names = new Map<string, number>();
  groups.forEach((g, i) => {
    const prev = names.get(g.name);
    if (prev !== undefined) throw badRequest(`securityGroups.${i}.name`, `security group "${g.name}" is already defined at securityGroups.${prev}`);
    names.set(g.name, i);
  });
  const resolved = groups.map((g, i) => ({
    name: g.name,
    description: g.description,
    rules: g.rules.map((r, j) => {
      const f = (n: string) => `securityGroups.${i}.rules.${j}.${n}`;
      const rule = checkSecurityRule(r, f);
      if (rule.remoteGroup !== null && !names.has(rule.remoteGroup)) {
        throw badRequest(f('remoteGroup'), `no security group named "${rule.remoteGroup}" in this document`);
      }
      return rule;
    }),
  }));
  if (mode === 'default' && !names.has(DEFAULT_GROUP)) {
    resolved.push({ name: DEFAULT_GROUP, description: 'members reach each other; all outgoing traffic allowed', rules: defaultGroupRules(DEFAULT_GROUP) });
    names.set(DEFAULT_GROUP, resolved.length - 1);
  }
  for (const v of vifs) {
    const seen = new Set<string>();
    v.groups.forEach((n, k) => {
      if (!names.has(n)) throw badRequest(`${v.field}.${k}`, `no security group named "${n}" in this document`);
      if (seen.has(n)) throw badRequest(`${v.field}.${k}`, `security group "${n}" is listed twice`);
      seen.add(n);
    });
  }
  return resolved;
}
