// What the vnetd relay role (spec "RELAY") needs from the rest of the agent,
// and its counter names. Addresses are u32 COAs throughout.
import type { FrameMessage, VarpMessage } from '../wire/index.ts';
import type { LocalVif } from '../varp/index.ts';
import type { Counters } from '../metrics.ts';

export interface Endpoint {
  address: number;
  port: number;
}

export interface RelaySettings {
  /** Peer vnetds, one per other LAN segment (full mesh). */
  peers: readonly number[];
  /** Proxy mode: answer for VIFs behind this relay with our COA and forward their unicast FRAMEs. */
  proxy: boolean;
  ownCoa: number;
  /** The deployment's underlay port (spec: both ends use the same one). */
  port: number;
  /** The VARP key: messages we rewrite or originate are signed with it. */
  key: Buffer | undefined;
  /** How long a learnt proxy route is trusted (the VARP entry lifetime). */
  lifetimeMs: number;
  /** REQUESTs per proxy resolution and the interval between them (VARP defaults). */
  requestCount: number;
  requestIntervalMs: number;
  /** Frames held per destination while a proxy resolves it. */
  queueLimit: number;
}

export interface RelayIo {
  sendTo(buf: Buffer, coa: number, port: number): void;
  /** A flood on this host's own LAN: the multicast group, or each LAN peer not in `exclude`. */
  floodLan(buf: Buffer, exclude: ReadonlySet<number>): void;
  /** A VARP message handled by this host's own engine, as if it came from `from`. */
  handleVarp(msg: VarpMessage, from: Endpoint): void;
  /** A FRAME handled by this host's own switch; the drop reason or null when delivered. */
  handleFrame(msg: FrameMessage, fromCoa: number, datagram: Buffer): string | null;
  /** True when this host's state lists the vnet: a proxy resolves and re-asks only for vnets it carries. */
  carries(vnet: number): boolean;
  /** A VIF attached on this host, by MAC or by IP. */
  local(vnet: number, mac: number): LocalVif | undefined;
  localByIp(vnet: number, ip: number): LocalVif | undefined;
  /**
   * The destination MAC of a FRAME datagram; through sealing where this host
   * holds the vnet's keys. Null when it cannot be read.
   */
  frameDestination(datagram: Buffer): number | null;
}

/** What the proxy table needs from its relay (agent/relay/relay.ts). */
export interface ProxyLink {
  readonly io: RelayIo;
  readonly counters: Counters;
  settings(): RelaySettings;
  relayOut(inner: Buffer, origin: number, kind: 'varp' | 'frame'): void;
  floodLan(buf: Buffer, exclude: readonly number[]): void;
  /** A bug on the packet path or in a timer, for the log (rate-limited there). */
  reportBug(where: string, err: unknown): void;
}

const P = 'softudc_relay_';
const names = new Map<string, string>();
function labelled(family: string, label: string, value: string): string {
  const key = `${family}|${label}|${value}`;
  let n = names.get(key);
  if (!n) names.set(key, (n = `${P}${family}{${label}="${value}"}`));
  return n;
}

export const RELAY_COUNTERS = {
  /** Messages heard on the LAN (or sent by this host) and relayed to the peers, by inner kind. */
  out: (kind: 'varp' | 'frame') => labelled('relayed_out_total', 'kind', kind),
  /** RELAY datagrams sent (one per peer). */
  outDatagrams: `${P}out_datagrams_total`,
  /** RELAYs accepted from a peer, by inner kind. */
  in: (kind: 'varp' | 'frame') => labelled('relayed_in_total', 'kind', kind),
  /** Inner messages re-sent on this LAN. */
  reflooded: (kind: 'varp' | 'frame') => labelled('reflooded_total', 'kind', kind),
  /** Relayed FRAMEs this host's own switch did not deliver (normal where it has no port on that vnet). */
  localUndelivered: (reason: string) => labelled('local_undelivered_total', 'reason', reason),
  /** Proxy mode. */
  proxyAnswers: (side: 'lan' | 'far') => labelled('proxy_answers_total', 'side', side),
  proxyForwarded: (to: 'lan' | 'far') => labelled('proxy_forwarded_frames_total', 'to', to),
  proxyRequests: `${P}proxy_requests_sent_total`,
  proxyRoutesLearnt: (side: 'lan' | 'far') => labelled('proxy_routes_learnt_total', 'side', side),
  proxyRoutesWithdrawn: `${P}proxy_routes_withdrawn_total`,
  proxyRewritten: `${P}proxy_rewritten_total`,
  proxyQueued: `${P}proxy_frames_queued_total`,
  proxyDropped: (reason: string) => labelled('proxy_frames_dropped_total', 'reason', reason),
  proxyIgnored: (reason: string) => labelled('proxy_messages_ignored_total', 'reason', reason),
  /** The proxy's periodic sweep threw (a bug, reported in the log); it runs again at the next tick. */
  sweepErrors: `${P}proxy_sweep_errors_total`,
} as const;
