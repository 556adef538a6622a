// The `routers` section of the agent state (server/compile StateRouter),
// validated with zod so that a bad entry is refused with its field path
// (`routers[0].links[1].local`). Loose objects: newer fields are kept.
import { z } from 'zod';
import { VNET_MAX, isGroupMac, parseCidr, parseIp, parseMac } from '../wire/index.ts';

function valid<T>(parse: (s: string) => T): (s: string) => boolean {
  return (s) => {
    try {
      parse(s);
      return true;
    } catch {
      return false;
    }
  };
}

/** spec/wire.md "Defaults": vnet ids 0 and 1 are reserved. */
export const vnetIdSchema = z.number().int().min(2, { message: 'vnet ids 0 and 1 are reserved' }).max(VNET_MAX);
export const ipv4Schema = z.string().refine(valid(parseIp), { message: 'must be an IPv4 address a.b.c.d' });
export const cidrSchema = z.string().refine(valid(parseCidr), { message: 'must be an IPv4 address with prefix length, a.b.c.d/len' });
export const networkSchema = cidrSchema.refine((s) => !valid(parseCidr)(s) || parseCidr(s).ip === parseCidr(s).network, {
  message: 'must be a network address (host bits zero)',
});
export const macSchema = z
  .string()
  .refine(valid(parseMac), { message: 'must be a MAC address aa:bb:cc:dd:ee:ff' })
  .refine((s) => !valid(parseMac)(s) || (!isGroupMac(parseMac(s)) && parseMac(s) !== 0), { message: 'must be a unicast, nonzero MAC address' });
/** An interface address: a host of its prefix (not the network or broadcast address below /31). */
export const interfaceCidrSchema = cidrSchema.refine(
  (s) => {
    if (!valid(parseCidr)(s)) return true;
    const c = parseCidr(s);
    if (c.prefixLen >= 31) return true;
    return c.ip !== c.network && c.ip !== (c.network | ~c.mask) >>> 0;
  },
  { message: 'must be a host address of its prefix, not the network or broadcast address' },
);

/** RFC 2453 3.6: metrics 1–15 (16 is infinity). */
const metricSchema = z.number().int().min(1).max(15);

export const ripTimersSchema = z
  .object({
    updateMs: z.number().int().positive().optional(),
    jitter: z.number().min(0).max(0.5).optional(),
    timeoutMs: z.number().int().positive().optional(),
    garbageMs: z.number().int().positive().optional(),
    triggerMinMs: z.number().int().nonnegative().optional(),
    triggerMaxMs: z.number().int().nonnegative().optional(),
  })
  .loose();

export const routerInterfaceSchema = z
  .object({
    vnet: vnetIdSchema,
    mac: macSchema,
    ip: interfaceCidrSchema,
    rip: z.boolean().default(false),
    mtu: z.number().int().min(68).max(65_535).optional(),
  })
  .loose();

export const staticRouteSchema = z
  .object({
    destination: networkSchema,
    nextHop: ipv4Schema,
    metric: metricSchema.default(1),
  })
  .loose();

export const routerLinkSchema = z
  .object({
    peer: z.string().min(1),
    local: interfaceCidrSchema,
    remote: ipv4Schema,
    rip: z.boolean().default(false),
    /** null: the peer is on this host (in-process channel); a number: the link's point-to-point vnet. */
    vnet: vnetIdSchema.nullable().default(null),
    peerHost: z.string().nullable().default(null),
  })
  .loose();

export const routerSchema = z
  .object({
    id: z.string().min(1),
    interfaces: z.array(routerInterfaceSchema).default([]),
    staticRoutes: z.array(staticRouteSchema).default([]),
    links: z.array(routerLinkSchema).default([]),
    /** RIP timer overrides (tests and labs); RFC 2453 defaults otherwise. */
    ripTimers: ripTimersSchema.optional(),
  })
  .loose()
  .superRefine((r, ctx) => {
    const vnets = new Set<number>();
    r.interfaces.forEach((i, n) => {
      if (vnets.has(i.vnet)) ctx.addIssue({ code: 'custom', path: ['interfaces', n, 'vnet'], message: `router ${r.id} already has an interface on vnet ${i.vnet}` });
      vnets.add(i.vnet);
    });
    const peers = new Set<string>();
    r.links.forEach((l, n) => {
      if (peers.has(l.peer)) ctx.addIssue({ code: 'custom', path: ['links', n, 'peer'], message: `router ${r.id} already has a link to ${l.peer}` });
      peers.add(l.peer);
      if (valid(parseCidr)(l.local) && valid(parseIp)(l.remote)) {
        const c = parseCidr(l.local);
        if (((parseIp(l.remote) & c.mask) >>> 0) !== c.network) {
          ctx.addIssue({ code: 'custom', path: ['links', n, 'remote'], message: `${l.remote} is not on the link prefix ${l.local}` });
        }
      }
    });
  });

export type RouterSpec = z.output<typeof routerSchema>;
export type RouterSpecInput = z.input<typeof routerSchema>;
export type RouterInterfaceSpec = z.output<typeof routerInterfaceSchema>;
export type RouterLinkSpec = z.output<typeof routerLinkSchema>;
export type StaticRouteSpec = z.output<typeof staticRouteSchema>;
