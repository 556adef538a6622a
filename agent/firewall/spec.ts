// The `firewalls` section of the agent state (server/compile StateFirewall),
// validated with zod: errors carry the field path (`firewalls[0].rules[2].portTo`).
import { z } from 'zod';
import { interfaceCidrSchema, macSchema, networkSchema, vnetIdSchema } from '../router/spec.ts';

const port = z.number().int().min(0).max(65_535);

export const firewallInterfaceSchema = z
  .object({
    name: z.string().min(1).max(64),
    vnet: vnetIdSchema,
    mac: macSchema,
    ip: interfaceCidrSchema,
    mtu: z.number().int().min(68).max(65_535).optional(),
  })
  .loose();

export const firewallRuleSchema = z
  .object({
    action: z.enum(['allow', 'deny']),
    protocol: z.enum(['any', 'tcp', 'udp', 'icmp']).default('any'),
    source: networkSchema.default('0.0.0.0/0'),
    destination: networkSchema.default('0.0.0.0/0'),
    portFrom: port.nullable().default(null),
    portTo: port.nullable().default(null),
    /** An interface name: the rule applies to packets entering there only. */
    interface: z.string().min(1).nullable().default(null),
    log: z.boolean().default(false),
    description: z.string().optional(),
  })
  .loose()
  .superRefine((r, ctx) => {
    if (r.portFrom === null && r.portTo === null) return;
    if (r.protocol !== 'tcp' && r.protocol !== 'udp') {
      ctx.addIssue({ code: 'custom', path: [r.portFrom !== null ? 'portFrom' : 'portTo'], message: `ports apply only to tcp and udp, not ${r.protocol}` });
    }
    if (r.portFrom === null) ctx.addIssue({ code: 'custom', path: ['portFrom'], message: 'required when portTo is given' });
    if (r.portFrom !== null && r.portTo !== null && r.portTo < r.portFrom) {
      ctx.addIssue({ code: 'custom', path: ['portTo'], message: `${r.portTo} is lower than portFrom ${r.portFrom}` });
    }
  });

export const conntrackSchema = z
  .object({
    synSentMs: z.number().int().positive().optional(),
    establishedMs: z.number().int().positive().optional(),
    finWaitMs: z.number().int().positive().optional(),
    closedMs: z.number().int().positive().optional(),
    udpMs: z.number().int().positive().optional(),
    udpStreamMs: z.number().int().positive().optional(),
    icmpMs: z.number().int().positive().optional(),
    maxConnections: z.number().int().positive().optional(),
  })
  .loose();

export const firewallSchema = z
  .object({
    id: z.string().min(1),
    defaultPolicy: z.enum(['allow', 'deny']).default('deny'),
    interfaces: z.array(firewallInterfaceSchema).default([]),
    rules: z.array(firewallRuleSchema).default([]),
    /** Timeout overrides for connection tracking (tests and labs). */
    conntrack: conntrackSchema.optional(),
    /** Denied flows logged per second at most (token bucket), and the burst. */
    logRate: z.number().positive().optional(),
    logBurst: z.number().int().positive().optional(),
  })
  .loose()
  .superRefine((f, ctx) => {
    const names = new Set<string>();
    const vnets = new Set<number>();
    f.interfaces.forEach((i, n) => {
      if (names.has(i.name)) ctx.addIssue({ code: 'custom', path: ['interfaces', n, 'name'], message: `firewall ${f.id} already has an interface named ${i.name}` });
      if (vnets.has(i.vnet)) ctx.addIssue({ code: 'custom', path: ['interfaces', n, 'vnet'], message: `firewall ${f.id} already has an interface on vnet ${i.vnet}` });
      names.add(i.name);
      vnets.add(i.vnet);
    });
    f.rules.forEach((r, n) => {
      if (r.interface !== null && !names.has(r.interface)) {
        const known = [...names].sort().join(', ') || 'none';
        ctx.addIssue({ code: 'custom', path: ['rules', n, 'interface'], message: `firewall ${f.id} has no interface named "${r.interface}" (it has: ${known})` });
      }
    });
  });

export type FirewallSpec = z.output<typeof firewallSchema>;
export type FirewallSpecInput = z.input<typeof firewallSchema>;
export type FirewallRuleSpec = z.output<typeof firewallRuleSchema>;
