// Pure text for the live router and firewall views: table rows, one line per
// streamed ping or traceroute event, and the checks on the probe forms. Kept
// out of React so every wording is unit-tested.
import type { FirewallViewData, PingEvent, RouterViewData, TraceEvent } from '../../contract/commands.ts';
import { PING_DEFAULT_COUNT, PING_MAX_COUNT } from '../../contract/limits.ts';

type Route = RouterViewData['routes'][number];
type Rule = FirewallViewData['rules'][number];
type Connections = FirewallViewData['connections'];

/** ICMP destination unreachable (RFC 792): a traceroute hop that ends the path without reaching the target. */
const ICMP_DEST_UNREACHABLE = 3;

/** Round-trip times as ping(8) prints them: more decimals for the sub-millisecond times of a userspace LAN. */
export function formatMs(ms: number | null): string {
  return ms === null ? '*' : `${msNumber(ms)} ms`;
}

function msNumber(ms: number): string {
  return ms.toFixed(ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0);
}

const pct = (v: number) => `${Math.round(v * 10) / 10}%`;

export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

export interface RouteRow {
  key: string;
  prefix: string;
  nextHop: string;
  iface: string;
  source: string;
  metric: string;
}

const SOURCE_ORDER: Record<string, number> = { connected: 0, static: 1, rip: 2 };

/** a.b.c.d/len as one sortable number pair; anything unparsable sorts last. */
function prefixKey(p: string): [number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(p);
  if (!m) return [Number.MAX_SAFE_INTEGER, 0];
  const n = ((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]);
  return [n, Number(m[5] ?? 32)];
}

/** Forwarding-table rows: connected, then static, then RIP routes, each by address; a null next hop is a directly connected network. */
export function routeRows(routes: readonly Route[]): RouteRow[] {
  const sorted = [...routes].sort((a, b) => {
    const s = (SOURCE_ORDER[a.source] ?? 9) - (SOURCE_ORDER[b.source] ?? 9);
    if (s !== 0) return s;
    const [an, al] = prefixKey(a.destination);
    const [bn, bl] = prefixKey(b.destination);
    return an - bn || bl - al;
  });
  return sorted.map((r) => ({
    key: `${r.source} ${r.destination} ${r.nextHop ?? ''} ${r.iface}`,
    prefix: r.destination,
    nextHop: r.nextHop ?? 'direct',
    iface: r.iface,
    source: r.source,
    metric: String(r.metric),
  }));
}

/** Counters worth a row (non-zero), by name; the rest are only counted, so the narrow panel stays readable. */
export function counterRows(counters: Readonly<Record<string, number>>): { rows: { name: string; value: string }[]; zero: number } {
  const names = Object.keys(counters).sort();
  const rows = names.filter((n) => counters[n] !== 0).map((n) => ({ name: n, value: (counters[n] ?? 0).toLocaleString('en-US') }));
  return { rows, zero: names.length - rows.length };
}

/** One line per streamed ping event, in the spirit of ping(8). */
export function pingLine(e: PingEvent): string {
  switch (e.type) {
    case 'reply':
      return `reply from ${e.from}: seq=${e.seq} time=${formatMs(e.rttMs)}`;
    case 'timeout':
      return `seq=${e.seq}: no reply (timed out)`;
    case 'error':
      return `from ${e.from}: seq=${e.seq} ${e.message}`;
    case 'summary': {
      const head = `${e.sent} sent, ${e.received} received, ${pct(e.lossPct)} loss`;
      if (e.minMs === null || e.avgMs === null || e.maxMs === null) return head;
      return `${head}; rtt min/avg/max ${msNumber(e.minMs)}/${msNumber(e.avgMs)}/${formatMs(e.maxMs)}`;
    }
  }
}

/** One line per streamed traceroute event; `target` words the summary. */
export function traceLine(e: TraceEvent, target: string): string {
  if (e.type === 'summary') {
    const hops = `${e.hops} hop${e.hops === 1 ? '' : 's'}`;
    return e.reached ? `reached ${target} in ${hops}` : `${target} not reached after ${hops}`;
  }
  if (e.address === null) return `${e.ttl}  *  no answer`;
  const note = e.reached ? '  (target)' : e.icmpType === ICMP_DEST_UNREACHABLE ? '  (unreachable)' : '';
  return `${e.ttl}  ${e.address}  ${formatMs(e.rttMs)}${note}`;
}

/** What a firewall rule matches, in one short phrase. */
export function ruleMatch(r: Rule): string {
  const parts = [r.protocol === 'any' ? 'any protocol' : r.protocol, `${r.source} → ${r.destination}`];
  if (r.ports) parts.push(`port ${r.ports}`);
  if (r.interface) parts.push(`in ${r.interface}`);
  return parts.join(' ');
}

/** "3 connections: icmp 1, tcp 2" — counts by protocol, by name. */
export function connectionSummary(c: Connections): string {
  const head = `${c.total} connection${c.total === 1 ? '' : 's'}`;
  const by = Object.entries(c.byProtocol).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return by.length ? `${head}: ${by.map(([p, n]) => `${p} ${n}`).join(', ')}` : head;
}

export type ProbeCheck = { ok: true; target: string; count: number } | { ok: false; field: 'target' | 'count'; message: string };

/**
 * The probe forms' own check before subscribing: a dotted-quad target and a
 * whole count within bounds. The API checks again (unicast only) and its
 * message is shown the same way.
 */
export function checkProbe(form: { target: string; count?: string }): ProbeCheck {
  const target = form.target.trim();
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(target);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) return { ok: false, field: 'target', message: 'target: enter an IPv4 address a.b.c.d' };
  const text = form.count?.trim() ?? '';
  if (text === '') return { ok: true, target, count: PING_DEFAULT_COUNT };
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1 || count > PING_MAX_COUNT) {
    return { ok: false, field: 'count', message: `count: a whole number from 1 to ${PING_MAX_COUNT}` };
  }
  return { ok: true, target, count };
}
