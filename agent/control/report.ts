// The report an agent sends to the console (`agent.report`): what it has
// applied and what it sees. Sizes are capped at the limits the console
// accepts, so a huge VARP cache shortens the report instead of getting it
// refused; the health says when something was left out.
import {
  APPLY_ERROR_MAX_CHARS, REPORT_MAX_COUNTERS, REPORT_MAX_LEASES, REPORT_MAX_MESSAGES, REPORT_MAX_SERVICE_VNETS, REPORT_MAX_VARP, REPORT_MAX_VIFS,
  REPORT_MESSAGE_MAX_CHARS,
} from '../../contract/limits.ts';
import type { Report, ReportServices } from '../../contract/report.ts';
import type { AgentStateView } from '../daemon/agent.ts';
import { agentCapabilities } from './enroll.ts';
import type { SgVifView } from '../sg/index.ts';

export interface ApplyFailure {
  generation: number;
  message: string;
}

/** The report as the contract has it (contract/report.ts); this agent always declares its capabilities. */
export type AgentReport = Report & { capabilities: string[] };

export interface ReportInput {
  /** null: the agent has not brought anything up yet (no state from anywhere). */
  view: AgentStateView | null;
  agentVersion: string;
  uptimeS: number;
  applyError: ApplyFailure | null;
  /** Further problems the link knows of (e.g. a state that could not be persisted). */
  messages?: string[];
}

export function buildReport(i: ReportInput): AgentReport {
  const messages: string[] = [...(i.messages ?? [])];
  const view = i.view;
  if (i.applyError) messages.push(`generation ${i.applyError.generation} not applied: ${i.applyError.message}`);
  if (view && view.appliedGeneration !== null && !view.underlay.up) messages.push('underlay is down');
  for (const v of view?.vifs ?? []) {
    if (v.status === 'error') messages.push(`VIF ${v.id}: ${v.error ?? 'not up'}`);
  }
  const allVifs = view?.vifs ?? [];
  const allVarp = view?.varp ?? [];
  const counterEntries = Object.entries(view?.counters ?? {}).filter(([, n]) => Number.isFinite(n));
  if (allVifs.length > REPORT_MAX_VIFS) messages.push(`report lists ${REPORT_MAX_VIFS} of ${allVifs.length} VIFs`);
  if (allVarp.length > REPORT_MAX_VARP) messages.push(`report lists ${REPORT_MAX_VARP} of ${allVarp.length} VARP entries`);
  if (counterEntries.length > REPORT_MAX_COUNTERS) messages.push(`report lists ${REPORT_MAX_COUNTERS} of ${counterEntries.length} counters`);
  const services = view?.services ? servicesOf(view.services, messages) : undefined;

  // Only missing VIFs, a failed apply or a down underlay make the host degraded;
  // a shortened report is a note, not a fault.
  const degraded = i.applyError !== null || allVifs.some((v) => v.status === 'error') || (view !== null && view.appliedGeneration !== null && !view.underlay.up) || (i.messages?.length ?? 0) > 0;
  return {
    appliedGeneration: view?.appliedGeneration ?? 0,
    agentVersion: i.agentVersion,
    uptimeS: Math.max(0, Math.round(i.uptimeS)),
    capabilities: agentCapabilities(),
    vifs: allVifs.slice(0, REPORT_MAX_VIFS).map((v) => ({
      id: v.id,
      ...(v.name !== undefined ? { name: v.name } : {}),
      vnet: v.vnet,
      mac: v.mac,
      ip: v.ip,
      version: v.version,
      guest: v.device ? { kind: v.guest, ifname: v.device.ifname, netns: v.device.netns } : { kind: v.guest },
      ...(v.securityGroups ? { securityGroups: sgSummary(v.securityGroups) } : {}),
      ...(v.path ? { path: { path: v.path.path, reason: v.path.reason } } : {}),
      ...(v.migration ? { migration: { state: v.migration.state, activatedAt: v.migration.activatedAt } } : {}),
      ...(v.movedTo !== undefined ? { movedTo: v.movedTo } : {}),
    })),
    varp: allVarp.slice(0, REPORT_MAX_VARP).map((e) => ({
      vnet: e.vnet,
      mac: e.mac,
      ip: e.ip,
      coa: e.coa,
      state: e.state,
      ageMs: e.ageMs,
    })),
    // Largest counters first would need sorting by value; by name keeps the kept set stable between reports.
    counters: Object.fromEntries(counterEntries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, REPORT_MAX_COUNTERS)),
    ...(services ? { services } : {}),
    health: {
      status: degraded ? 'degraded' : 'ok',
      messages: messages.slice(0, REPORT_MAX_MESSAGES).map((m) => (m.length > REPORT_MESSAGE_MAX_CHARS ? m.slice(0, REPORT_MESSAGE_MAX_CHARS - 1) + '…' : m)),
    },
    applyError: i.applyError ? { generation: i.applyError.generation, message: i.applyError.message.slice(0, APPLY_ERROR_MAX_CHARS) } : null,
  };
}

/** DHCP and DNS per vnet and the newest leases, cut to the limits (a note says so). */
function servicesOf(v: NonNullable<AgentStateView['services']>, messages: string[]): ReportServices {
  if (v.leases.length > REPORT_MAX_LEASES) messages.push(`report lists the newest ${REPORT_MAX_LEASES} of ${v.leases.length} DHCP leases`);
  if (v.vnets.length > REPORT_MAX_SERVICE_VNETS) messages.push(`report lists DHCP/DNS counts of ${REPORT_MAX_SERVICE_VNETS} of ${v.vnets.length} vnets`);
  return {
    vnets: v.vnets.slice(0, REPORT_MAX_SERVICE_VNETS).map((s) => ({
      vnet: s.vnet, ...(s.farm !== undefined ? { farm: s.farm } : {}), ...(s.resolver !== undefined ? { resolver: s.resolver } : {}), leases: s.leases, dhcpReplies: s.dhcpReplies, dhcpDrops: s.dhcpDrops, dnsAnswers: s.dnsAnswers, dnsForwarded: s.dnsForwarded, dnsDrops: s.dnsDrops,
    })),
    leases: v.leases.slice(0, REPORT_MAX_LEASES).map((l) => ({
      vif: l.vif, vnet: l.vnet, mac: l.mac, ip: l.ip, hostName: l.hostName, ackedAt: Math.round(l.ackedAt), leaseTime: l.leaseTime,
    })),
  };
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** A filtered VIF in the report: totals only (the per-rule table is vif.inspect's). */
function sgSummary(g: SgVifView) {
  return { groups: g.groups, ruleHits: g.rules.reduce((a, r) => a + r.hits, 0), connections: g.connections, dropped: { ingress: sum(g.drops.ingress), egress: sum(g.drops.egress) } };
}
