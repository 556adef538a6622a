// The agent's report (`agent.report`): what it applied and what it sees, sent
// after every apply and every few seconds. Objects are closed
// (contract/fields.ts): the console stores only fields it knows and refuses
// others by name. The agent shortens lists to the limits and says so in
// `health.messages`; it never sends more than the console takes.
import { z } from 'zod';
import {
  AGENT_VERSION_MAX_CHARS, APPLY_ERROR_MAX_CHARS, CAPABILITIES_MAX, CAPABILITY_MAX_CHARS, COUNTER_NAME_MAX_CHARS, DISPLAY_NAME_MAX_CHARS,
  IFNAME_MAX_CHARS, ITEM_ID_MAX_CHARS, NETNS_MAX_CHARS, REPORT_MAX_COUNTERS, REPORT_MAX_LEASES, REPORT_MAX_MESSAGES, REPORT_MAX_SERVICE_VNETS,
  REPORT_MAX_VARP, REPORT_MAX_VIFS, REPORT_MESSAGE_MAX_CHARS, SG_MAX_PER_VIF,
} from './limits.ts';
import { closed } from './fields.ts';
import { int32, text, uint32 } from './primitives.ts';

/** What an agent can run: `guest:<kind>` for each guest kind it supports (sent at enrollment and with every report). */
export const capabilitiesSchema = z.array(text(CAPABILITY_MAX_CHARS).min(1)).max(CAPABILITIES_MAX);
export const guestCapability = (kind: string): string => `guest:${kind}`;

/** Counters by Prometheus series name; bounded in number as well as in name length. */
export const countersSchema = (max: number) =>
  z.record(text(COUNTER_NAME_MAX_CHARS), z.number()).refine((c) => Object.keys(c).length <= max, `at most ${max} counters`);

export const reportVifSchema = closed({
  id: text(ITEM_ID_MAX_CHARS),
  /** The display name the state gave the VIF, when it had one. */
  name: text(DISPLAY_NAME_MAX_CHARS).optional(),
  vnet: uint32(),
  mac: text(32),
  ip: text(64),
  version: int32().min(0),
  /** The guest kind, and the kernel device behind a TAP guest (`netns` null: the host namespace). */
  guest: closed({ kind: text(32), ifname: text(IFNAME_MAX_CHARS).optional(), netns: text(NETNS_MAX_CHARS).nullable().optional() }),
  /**
   * A VIF with security groups: its groups, flows its rules let open (all
   * rules together), open connections and packets dropped, by direction.
   * Per-rule counts are `vif.inspect`'s (contract/commands.ts). Absent: not filtered.
   */
  securityGroups: closed({
    groups: z.array(text(ITEM_ID_MAX_CHARS)).max(SG_MAX_PER_VIF),
    ruleHits: z.number().min(0),
    connections: int32().min(0),
    dropped: closed({ ingress: z.number().min(0), egress: z.number().min(0) }),
  }).optional(),
  /**
   * A VIF the state marks `incoming` (a live migration's destination):
   * `incoming` until its guest's first frame, then `active` and when (ms since
   * the epoch). A console finishes the move on `active`. Absent: not incoming.
   */
  migration: closed({ state: z.enum(['incoming', 'active']), activatedAt: z.number().min(0).nullable() }).optional(),
  /**
   * A VIF the state marks `outgoing` (a live migration's source) that this
   * host let go: the newer location version another host announced for it.
   * The VIF is inactive here until a state gives it another version; a
   * console refuses to cancel the move (the VM runs there). Absent: it lives here.
   */
  movedTo: int32().min(0).optional(),
  /** Which path carries the guest's frames: the kernel fast path, or the agent and why (docs/operations.md "Kernel fast path"). Absent from agents without it. */
  path: closed({ path: z.enum(['kernel', 'userspace']), reason: text(REPORT_MESSAGE_MAX_CHARS).nullable() }).optional(),
});

export const reportVarpSchema = closed({
  vnet: uint32(),
  mac: text(32),
  ip: text(64).nullable(),
  coa: text(64),
  state: text(32),
  ageMs: z.number().min(0),
});

export const reportHealthSchema = closed({
  status: z.enum(['ok', 'degraded']),
  messages: z.array(text(REPORT_MESSAGE_MAX_CHARS)).max(REPORT_MAX_MESSAGES),
});

/** A DHCP lease the agent acknowledged (agent/dhcp/services.ts): the VIF's own address, until released or expired. */
export const reportLeaseSchema = closed({
  vif: text(ITEM_ID_MAX_CHARS),
  vnet: uint32(),
  mac: text(32),
  ip: text(64),
  hostName: text(253).nullable(),
  /** When the last ACK went out, ms since the epoch. */
  ackedAt: z.number().min(0),
  leaseTime: int32().min(0),
});

/** DHCP and DNS on one vnet of this host since the agent started: packets answered and dropped. */
export const reportServiceVnetSchema = closed({
  vnet: uint32(),
  /** The farm the state gave the vnet (its `farm`); the console shows the counts to that farm's tenant only. */
  farm: text(ITEM_ID_MAX_CHARS).optional(),
  /** The vnet's resolver address on this host (the first DNS server its DHCP hands out); absent: none, or an older agent. */
  resolver: text(64).optional(),
  leases: int32().min(0),
  dhcpReplies: z.number().min(0),
  dhcpDrops: z.number().min(0),
  dnsAnswers: z.number().min(0),
  dnsForwarded: z.number().min(0),
  dnsDrops: z.number().min(0),
});

/** DHCP leases handed out and DNS answers per vnet; absent from older agents. */
export const reportServicesSchema = closed({
  vnets: z.array(reportServiceVnetSchema).max(REPORT_MAX_SERVICE_VNETS),
  leases: z.array(reportLeaseSchema).max(REPORT_MAX_LEASES),
});

export const applyErrorSchema = closed({ generation: int32().min(0), message: text(APPLY_ERROR_MAX_CHARS) }).nullable();

export const reportSchema = closed({
  appliedGeneration: int32().min(0),
  agentVersion: text(AGENT_VERSION_MAX_CHARS),
  uptimeS: z.number().min(0),
  /** What the agent can run now (root may have come or gone since enrollment); absent from older agents. */
  capabilities: capabilitiesSchema.optional(),
  vifs: z.array(reportVifSchema).max(REPORT_MAX_VIFS),
  varp: z.array(reportVarpSchema).max(REPORT_MAX_VARP),
  counters: countersSchema(REPORT_MAX_COUNTERS),
  services: reportServicesSchema.optional(),
  health: reportHealthSchema,
  applyError: applyErrorSchema,
});
export type Report = z.infer<typeof reportSchema>;
export type ReportVif = z.infer<typeof reportVifSchema>;
export type ReportServices = z.infer<typeof reportServicesSchema>;

/** The console's answer to a report. Open: an agent keeps working when a newer console says more. */
export const reportAnswerSchema = z.looseObject({ desiredGeneration: z.int().min(0) });
