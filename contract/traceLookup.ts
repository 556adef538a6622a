// `trace.lookup`: what a live packet trace (issue 16) asks the agent of one
// host on a flow's path: the VARP cache entry (or local port) of a vnet's
// MAC with its age, a router's or firewall's forwarding-table lookup, a
// firewall's rule hit counters and the connection-tracking entry of the flow.
// The console compares each answer with the design and marks disagreements.
import { z } from 'zod';
import { ITEM_ID_MAX_CHARS, VIEW_MAX_RULES } from './limits.ts';
import { closed, ipv4, mac, open, vnetId } from './fields.ts';
import { text } from './primitives.ts';

/** Lookups of one kind per command at most. */
export const TRACE_LOOKUP_MAX = 16;
const nodeId = z.string().min(1).max(ITEM_ID_MAX_CHARS);
const port = z.int().min(0).max(65_535);

export const traceLookupArgs = open({
  varp: z.array(open({ vnet: vnetId, mac })).max(TRACE_LOOKUP_MAX).default([]),
  routes: z.array(open({ kind: z.enum(['router', 'firewall']), id: nodeId, destination: ipv4 })).max(TRACE_LOOKUP_MAX).default([]),
  firewalls: z.array(nodeId).max(TRACE_LOOKUP_MAX).default([]),
  /** The traced flow, to find its connection-tracking entry (any source port). */
  flow: open({ protocol: z.enum(['tcp', 'udp', 'icmp']), src: ipv4, dst: ipv4, dstPort: port.nullable() }).nullable().default(null),
});

const ipText = text(15);

export const traceLookupData = closed({
  varp: z
    .array(
      closed({
        vnet: z.int().min(0),
        mac: text(17),
        /** The VIF or node port attached here with that MAC, or null. */
        local: text(ITEM_ID_MAX_CHARS + 16).nullable(),
        entry: closed({ coa: ipText, port: z.int().min(0).max(65_535), state: text(16), version: z.int().min(0), ageMs: z.number().min(0), proxy: z.boolean() }).nullable(),
      }),
    )
    .max(TRACE_LOOKUP_MAX),
  routes: z
    .array(
      closed({
        kind: z.enum(['router', 'firewall']),
        id: text(ITEM_ID_MAX_CHARS),
        destination: ipText,
        running: z.boolean(),
        route: closed({ destination: text(32), nextHop: text(32).nullable(), iface: text(80), source: text(16), text: text(200) }).nullable(),
      }),
    )
    .max(TRACE_LOOKUP_MAX),
  firewalls: z
    .array(
      closed({
        id: text(ITEM_ID_MAX_CHARS),
        running: z.boolean(),
        rules: z.array(closed({ index: z.int().min(0), hits: z.number().min(0) })).max(VIEW_MAX_RULES),
        defaultHits: z.number().min(0),
        connection: closed({ from: text(32), to: text(32), state: text(32), rule: z.union([z.int().min(0), z.literal('default')]), packets: z.tuple([z.int().min(0), z.int().min(0)]), expiresInMs: z.number() }).nullable(),
      }),
    )
    .max(TRACE_LOOKUP_MAX),
});

export type TraceLookupArgs = z.output<typeof traceLookupArgs>;
export type TraceLookupData = z.infer<typeof traceLookupData>;
