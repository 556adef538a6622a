// Security groups (issue: security groups on every VIF): stateful rules the
// agent enforces at a VIF, on the host where its VM runs, for both
// directions, before a frame leaves the switch. The console resolves a rule's
// remote group into an address set (the members' addresses), sent once per
// host in `addressSets` and named by the rules that use it (`remoteSet`). A VIF lists the groups it belongs to; a VIF that lists none
// (the field absent) is not filtered, as before security groups existed.
// Connection tracking is the firewall engine's (agent/firewall/conntrack.ts):
// replies of an allowed connection pass in the other direction.
import { z } from 'zod';
import { SG_MAX_REMOTE_ENTRIES, SG_MAX_REMOTES, SG_MAX_RULES } from './limits.ts';
import { doc, itemId, network, open } from './fields.ts';

const port = z.number().int().min(0).max(65_535);
export const SG_DIRECTIONS = ['ingress', 'egress'] as const;
export const SG_PROTOCOLS = ['any', 'tcp', 'udp', 'icmp'] as const;

export const securityRuleSchema = open({
  id: doc(itemId, "unique within the group; the console writes the rule's database id. Per-rule hit counters carry it as the `rule` label"),
  direction: doc(z.enum(SG_DIRECTIONS), '`ingress`: towards the VIF\'s guest; `egress`: from it'),
  protocol: doc(z.enum(SG_PROTOCOLS).default('any'), 'the IP protocol; `any` matches all IPv4'),
  portFrom: doc(port.nullable().default(null), { description: 'destination port range, TCP and UDP only; `portFrom` alone is one port', docType: '0..65535 or `null`' }),
  portTo: doc(port.nullable().default(null), { description: 'end of the port range', docType: '0..65535 or `null`' }),
  icmpType: doc(z.number().int().min(0).max(255).nullable().default(null), { description: 'ICMP only: the type matched; `null` any', docType: '0..255 or `null`' }),
  icmpCode: doc(z.number().int().min(0).max(255).nullable().default(null), { description: 'ICMP only, with `icmpType`: the code matched', docType: '0..255 or `null`' }),
  remote: doc(z.array(network).max(SG_MAX_REMOTES).default(['0.0.0.0/0']), {
    description: "the other end's addresses (the source for ingress, the destination for egress). A remote group is sent as `remoteSet` with `remote: []`",
    docType: 'network[]',
  }),
  remoteSet: doc(itemId.nullable().default(null), {
    description: "an address set of the host's `addressSets` (a remote group's members): the other end may also be any of its addresses. The console writes the remote group's database id",
    docType: 'string or `null`',
  }),
}).superRefine((r, ctx) => {
  if (r.portFrom !== null || r.portTo !== null) {
    if (r.protocol !== 'tcp' && r.protocol !== 'udp') ctx.addIssue({ code: 'custom', path: ['portFrom'], message: `ports apply only to tcp and udp, not ${r.protocol}` });
    if (r.portFrom === null) ctx.addIssue({ code: 'custom', path: ['portFrom'], message: 'required when portTo is given' });
    if (r.portFrom !== null && r.portTo !== null && r.portTo < r.portFrom) ctx.addIssue({ code: 'custom', path: ['portTo'], message: `${r.portTo} is lower than portFrom ${r.portFrom}` });
  }
  if ((r.icmpType !== null || r.icmpCode !== null) && r.protocol !== 'icmp') ctx.addIssue({ code: 'custom', path: ['icmpType'], message: `ICMP type and code apply only to icmp, not ${r.protocol}` });
  if (r.icmpCode !== null && r.icmpType === null) ctx.addIssue({ code: 'custom', path: ['icmpCode'], message: 'needs icmpType' });
});

export const securityGroupSchema = open({
  id: doc(itemId, "unique among the host's groups; the console writes the group's database id"),
  name: doc(z.string().max(200).optional(), 'for people and logs'),
  rules: doc(z.array(securityRuleSchema).max(SG_MAX_RULES).default([]), 'what the group allows; everything else is dropped and counted. Rule ids unique in the group'),
}).superRefine((g, ctx) => {
  const ids = new Set<string>();
  g.rules.forEach((r, i) => {
    if (ids.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id "${r.id}"` });
    ids.add(r.id);
  });
});

export const addressSetSchema = open({
  id: doc(itemId, "unique among the host's address sets; the console writes the remote group's database id"),
  addresses: doc(z.array(network).max(SG_MAX_REMOTE_ENTRIES).default([]), { description: 'the members\' addresses (`/32`s); `[]` when the group has none', docType: 'network[]' }),
});

export type AddressSetSpec = z.output<typeof addressSetSchema>;
export type SecurityGroupSpec = z.output<typeof securityGroupSchema>;
export type SecurityRuleSpec = z.output<typeof securityRuleSchema>;
