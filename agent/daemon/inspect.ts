// `vif.inspect` (contract/commands.ts): the live state a packet trace needs
// at one VIF on this host — the VARP entry for a peer and its age, the open
// connections with the peer, what the VIF's security groups would decide
// for a new flow each way (nothing is counted), and the rules' hit counts.
import { VIEW_MAX_CONNECTIONS, VIEW_MAX_RULES } from '../../contract/limits.ts';
import type { CommandArgs, VifInspectData } from '../../contract/commands.ts';
import type { Switch } from '../switch/index.ts';
import type { Varp } from '../varp/index.ts';
import type { KernelPath } from '../bpf/fastpath.ts';
import { ICMP_ECHO_REQUEST, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipToString, macToString, parseIp, parseMac } from '../wire/index.ts';
import { ruleView, type SgDirection } from '../sg/index.ts';
import type { VifRuntime } from './vifs.ts';

const PROTOCOLS = { any: 0, tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP } as const;

export interface InspectInput {
  rt: VifRuntime;
  sw: Switch;
  varp: Varp | null;
  kernel?: KernelPath;
}

export function inspectVif(i: InspectInput, a: CommandArgs['vif.inspect']): VifInspectData {
  const { rt } = i;
  const peer = parseIp(a.peer);
  const vnet = rt.spec.vnet;
  const mac = a.peerMac !== undefined ? parseMac(a.peerMac) : null;
  const e = i.varp?.entries().find((x) => x.vnet === vnet && (mac !== null ? x.mac === mac : x.ip === peer));
  const local = i.sw.portList().find((p) => p.vnet === vnet && (mac !== null ? p.mac === mac : p.ip === peer));
  const protocol = PROTOCOLS[a.protocol];
  const f = rt.filter;
  const verdict = (dir: SgDirection) => {
    if (f === null) return { allowed: true, group: null, rule: null };
    // `any` is judged as the most permissive case a rule can name: protocol 0 matches `any` rules only.
    const icmp = protocol === IPPROTO_ICMP;
    const r = f.wouldAllow(dir, {
      protocol, remote: peer, dstPort: a.port ?? 0, hasPorts: !icmp && a.port !== null,
      icmpType: icmp ? (a.port ?? ICMP_ECHO_REQUEST) : -1, icmpCode: icmp ? 0 : -1,
    });
    return r ? { allowed: true, group: r.group, rule: r.rule } : { allowed: false, group: null, rule: null };
  };
  const peerText = ipToString(peer);
  const conns = (f?.connections() ?? []).filter((c) => {
    if (!c.from.startsWith(`${peerText}:`) && !c.to.startsWith(`${peerText}:`)) return false;
    if (a.protocol !== 'any' && c.protocol !== a.protocol) return false;
    return a.port === null || a.protocol === 'icmp' || c.to.endsWith(`:${a.port}`) || c.from.endsWith(`:${a.port}`);
  });
  const path = i.kernel?.pathOf(rt.spec.id);
  const view = f?.view();
  return {
    vif: { id: rt.spec.id, vnet, mac: macToString(rt.mac), ip: rt.spec.ip, version: rt.spec.version, path: path?.path ?? null, pathReason: path?.reason ?? null },
    filtered: f !== null,
    groups: view?.groups ?? [],
    peer: {
      ip: peerText,
      localPort: local ? local.id : null,
      varp: e
        ? { mac: macToString(e.mac), ip: e.ip === null ? null : ipToString(e.ip), coa: ipToString(e.coa), port: e.port, state: e.state, version: Math.max(0, e.version), ageMs: Math.max(0, Math.round(e.ageMs)), proxy: e.proxy }
        : null,
    },
    verdict: { egress: verdict('egress'), ingress: verdict('ingress') },
    connections: conns.slice(0, VIEW_MAX_CONNECTIONS),
    connectionsTotal: conns.length,
    rules: (f?.rules() ?? []).slice(0, VIEW_MAX_RULES).map(ruleView),
    drops: view?.drops ?? { ingress: {}, egress: {} },
  };
}
