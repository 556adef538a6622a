import { z } from 'zod';
import { idInput } from '../../farms/farmShapes.ts';
import { isIpv4 } from '../../../contract/fields.ts';
import { text } from '../../../contract/primitives.ts';
import { TRACE_PROTOCOLS } from '../../trace/types.ts';

const address = text(15).refine(isIpv4, { message: 'must be an IPv4 address a.b.c.d' });

export const traceInput = z
  .strictObject({
    id: idInput,
    /** Where the flow starts: a VIF of the farm (its id), or an address on the farm's external network. */
    from: z.union([z.strictObject({ vif: idInput }), z.strictObject({ external: address })], {
      error: 'must be {vif: <VIF id>} or {external: <IPv4 address>}',
    }),
    to: address,
    protocol: z.enum(TRACE_PROTOCOLS),
    /** Destination port: required for tcp and udp, refused for icmp. */
    port: z.int().min(1).max(65_535).nullish(),
    /** Also ask the agents on the path for their real state. */
    live: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (v.protocol === 'icmp' && v.port != null) ctx.addIssue({ code: 'custom', path: ['port'], message: 'icmp has no ports' });
    if (v.protocol !== 'icmp' && v.port == null) ctx.addIssue({ code: 'custom', path: ['port'], message: `required for ${v.protocol}` });
  });

const packet = z.object({ src: z.string(), dst: z.string(), srcPort: z.int().nullable(), dstPort: z.int().nullable() });

export const traceHopShape = z.object({
  step: z.enum(['port-security', 'security-group', 'switch', 'router', 'firewall', 'nat', 'external', 'deliver']),
  verdict: z.enum(['pass', 'drop', 'deliver', 'unknown']),
  host: z.object({ id: z.string(), name: z.string() }).nullable(),
  node: z.object({ kind: z.enum(['vif', 'vnet', 'router', 'firewall', 'external']), id: z.string(), name: z.string() }),
  reason: z.string(),
  decidedBy: z.object({ kind: z.enum(['rule', 'default', 'security-rule', 'route', 'entry', 'nat']), ref: z.union([z.string(), z.number()]).nullable(), text: z.string() }).nullable(),
  packet,
  live: z.object({ state: z.string(), agrees: z.boolean() }).optional(),
});

export const traceOutput = z.object({
  farmId: z.string(),
  verdict: z.enum(['delivered', 'dropped', 'unknown']),
  failedAt: z.int().nullable(),
  flow: z.object({ protocol: z.enum(TRACE_PROTOCOLS), src: z.string(), dst: z.string(), port: z.int().nullable() }),
  hops: z.array(traceHopShape),
  live: z.boolean(),
});
