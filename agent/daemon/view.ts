// What the agent reports about itself (GET /v1/state, and the console
// link): applied generation, underlay, VIFs, the VARP cache with care-of
// addresses, a summary of its routers and firewalls, counters. Addresses in
// text; never the VARP key.
import type { GuestServices, ServicesView } from '../dhcp/services.ts';
import type { Counters } from '../metrics.ts';
import type { Switch } from '../switch/index.ts';
import type { UdpUnderlay } from '../underlay/udp.ts';
import type { Varp } from '../varp/index.ts';
import type { AgentState } from '../state.ts';
import type { VifRuntime } from './vifs.ts';
import type { NodeManager } from '../nodes/index.ts';
import type { NodeView } from '../ipnode/index.ts';
import { ipToString, macToString } from '../wire/index.ts';
import type { GuestDevice } from '../guests/types.ts';
import type { KernelPath, KernelView, VifPath } from '../bpf/fastpath.ts';
import type { SgVifView } from '../sg/index.ts';

export interface VifView {
  id: string;
  /** The display name the state gave the VIF (the console writes `<farm>/<vm>/<vif>`). */
  name?: string;
  vnet: number;
  mac: string;
  ip: string;
  guest: string;
  /** The TAP behind a TAP guest (null for emulated guests, or while it is not up). */
  device: GuestDevice | null;
  /** Location version. */
  version: number;
  status: 'up' | 'error';
  error: string | null;
  /** Which path carries the VIF's frames, and why userspace (agent/bpf/fastpath.ts). */
  path?: VifPath;
  /** Its security groups, rules with their hits, open connections and drops (absent: not filtered). */
  securityGroups?: SgVifView;
  /** A VIF the state marks incoming: waiting for its guest's first frame, or active since `activatedAt` (ms since the epoch). */
  migration?: { state: 'incoming' | 'active'; activatedAt: number | null };
  /** The newer location version another host announced: the VIF moved there and is inactive here. */
  movedTo?: number;
}

export interface VarpEntryTextView {
  vnet: number;
  mac: string;
  ip: string | null;
  coa: string;
  port: number;
  state: string;
  version: number;
  ageMs: number;
  proxy: boolean;
}

/** One router or firewall in brief; the full view is the router manager's (agent/control/execute.ts). */
interface NodeSummaryBase {
  id: string;
  interfaces: { name: string; vnet: number | null; ip: string; up: boolean }[];
  routes: number;
  arp: number;
  forwarded: number;
  dropped: number;
  /** Translations in the NAT table of its external legs. */
  nat: number;
}

export interface RouterSummary extends NodeSummaryBase {
  /** Routes RIP currently holds (learned, including those in garbage collection). */
  rip: number;
  unresolvedStaticRoutes: number;
}

export interface FirewallSummary extends NodeSummaryBase {
  defaultPolicy: 'allow' | 'deny';
  rules: number;
  /** Flows matched by any rule, and by the default policy. */
  ruleHits: number;
  defaultHits: number;
  connections: number;
}

export interface AgentStateView {
  host: string;
  appliedGeneration: number | null;
  underlay: { address: string; port: number; multicast: string | null; joined: boolean; peers: string[]; up: boolean };
  vnets: { id: number; security: string; peers: readonly string[] | null; ports: number }[];
  vifs: VifView[];
  /** One page of the VARP cache, ordered by (vnet, MAC): see VarpPage. */
  varp: VarpEntryTextView[];
  /** Live VARP entries in all (the page may hold fewer). */
  varpTotal?: number;
  /** The cursor for the next page (`after=`), null on the last one. */
  varpNext?: string | null;
  /** Always present in what buildView returns; optional for hand-made views (tests, older agents). */
  routers?: RouterSummary[];
  firewalls?: FirewallSummary[];
  /** DHCP leases handed out and DNS answers per vnet (agent/dhcp/services.ts). */
  services?: ServicesView;
  /** The kernel fast path on this host: on or off and why, its device and counters. */
  datapath?: KernelView;
  counters: Record<string, number>;
}

/** Entries per page of the VARP listing unless asked otherwise, and at most. */
export const VARP_PAGE_DEFAULT = 1_000;
export const VARP_PAGE_MAX = 10_000;

/** Which part of the VARP cache a view lists: `limit` entries after the cursor `after` (`<vnet>/<mac>`). */
export interface VarpPage {
  limit: number;
  after?: { vnet: number; mac: number };
}

/** The cursor of an entry, as `after=` takes it. */
export function varpCursor(e: { vnet: number; mac: number }): string {
  return `${e.vnet}/${macToString(e.mac)}`;
}

export interface ViewInput {
  state: AgentState;
  appliedGeneration: number | null;
  underlay: UdpUnderlay | null;
  varp: Varp | null;
  sw: Switch;
  vifs: VifRuntime[];
  counters: Counters;
  nodes?: NodeManager;
  services?: GuestServices;
  varpPage?: VarpPage;
  kernel?: KernelPath;
}

/** The kernel path's counters under the agent's names (softudc_kernel_*), so totals hold whichever path carried a frame. */
export function kernelCounterEntries(k: KernelView | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!k) return out;
  for (const [name, n] of Object.entries(k.counters)) out[`softudc_kernel_${name}_total`] = n;
  return out;
}

function summaryBase(v: NodeView & { nat: unknown[] }): NodeSummaryBase {
  let dropped = 0;
  for (const [name, n] of Object.entries(v.counters)) if (name.startsWith('dropped_packets_total')) dropped += n;
  return {
    id: v.id,
    interfaces: v.interfaces.map((i) => ({ name: i.name, vnet: i.vnet, ip: i.ip, up: i.up })),
    routes: v.routes.length,
    arp: v.arp.length,
    forwarded: v.counters['forwarded_packets_total'] ?? 0,
    dropped,
    nat: v.nat.length,
  };
}

/** Routers and firewalls in brief (counts, not tables). */
export function nodeSummaries(nodes: NodeManager | undefined): { routers: RouterSummary[]; firewalls: FirewallSummary[] } {
  if (!nodes) return { routers: [], firewalls: [] };
  const all = nodes.view();
  return {
    routers: all.routers.map((r) => ({ ...summaryBase(r), rip: r.rip.length, unresolvedStaticRoutes: r.unresolvedStaticRoutes.length })),
    firewalls: all.firewalls.map((f) => ({
      ...summaryBase(f),
      defaultPolicy: f.defaultPolicy,
      rules: f.rules.length,
      ruleHits: f.rules.reduce((sum, r) => sum + r.hits, 0),
      defaultHits: f.defaultHits,
      connections: f.connections.length,
    })),
  };
}

export function buildView(i: ViewInput): AgentStateView {
  const u = i.state.underlay;
  const datapath = i.kernel?.view();
  return {
    host: i.state.host,
    appliedGeneration: i.appliedGeneration,
    underlay: {
      address: u.address,
      port: u.port,
      multicast: u.multicast,
      joined: i.underlay?.joined ?? false,
      peers: [...u.peers],
      up: i.underlay !== null,
    },
    vnets: i.sw.vnetView(),
    vifs: i.vifs.map((rt) => ({
      id: rt.spec.id,
      ...(rt.spec.name !== undefined ? { name: rt.spec.name } : {}),
      vnet: rt.spec.vnet,
      mac: rt.spec.mac.toLowerCase(),
      ip: rt.spec.ip,
      guest: rt.spec.guest.kind,
      device: rt.guest?.device ?? null,
      version: rt.spec.version,
      status: rt.error === null && rt.guest !== null ? 'up' : 'error',
      error: rt.error,
      ...(i.kernel?.pathOf(rt.spec.id) ? { path: i.kernel.pathOf(rt.spec.id) } : {}),
      ...(rt.filter ? { securityGroups: rt.filter.view() } : {}),
      ...(rt.migration ? { migration: { ...rt.migration } } : {}),
      ...(rt.movedTo !== null ? { movedTo: rt.movedTo } : {}),
    })),
    ...varpListing(i),
    ...nodeSummaries(i.nodes),
    ...(i.services ? { services: i.services.view() } : {}),
    ...(datapath ? { datapath } : {}),
    counters: { ...i.counters.snapshot(), ...kernelCounterEntries(datapath) },
  };
}

function varpListing(i: ViewInput): Pick<AgentStateView, 'varp' | 'varpTotal' | 'varpNext'> {
  const page = i.varpPage ?? { limit: VARP_PAGE_DEFAULT };
  const { entries, total, more } = i.varp?.entryPage(page.limit, page.after) ?? { entries: [], total: 0, more: false };
  const last = entries.at(-1);
  return {
    varp: entries.map((e) => ({
      vnet: e.vnet,
      mac: macToString(e.mac),
      ip: e.ip === null ? null : ipToString(e.ip),
      coa: ipToString(e.coa),
      port: e.port,
      state: e.state,
      version: e.version,
      ageMs: Math.round(e.ageMs),
      proxy: e.proxy,
    })),
    varpTotal: total,
    varpNext: more && last ? varpCursor(last) : null,
  };
}
