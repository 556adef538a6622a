// Whole-document validation: every rule the single-entity services enforce,
// applied to a farm document at once, plus automatic MACs, IPs and link
// prefixes for what the document leaves out. Pure: the database-facing
// checks (vnet ids across the deployment, host names, the farm's name) are
// the importer's. Fields are paths inside the document (`vms.3.vifs.0.ip`).
import { badRequest, conflict } from '../errors.ts';
import { resolveDhcp, type VnetDhcp } from './vnetDhcp.ts';
import type { FarmDocument, Position } from './farmDocument.ts';
import { LAYOUT_KINDS } from './farmDocument.ts';
import { checkDocumentLimits } from './farmLimits.ts';
import {
  allocateIp, allocateLinkCidr, allocateMac, claimIp, claimMac, firewallLabel, newAddressSpace, routerLabel, vifLabel,
  type AddressSpace, type RandomSource,
} from './ipam.ts';
import { checkConnected, checkLinkAddresses, checkRule, checkStaticRoute, interfacePrefix, type Connected, type NormalRule } from './intentRules.ts';
import { checkDocumentSecurityGroups, type ResolvedSecurityGroup, type SecurityGroupModeName } from './securityRules.ts';
import { checkInterfaceName, checkMtu, checkPrefixLen, checkVid, checkVnid, requireCidr, requireIpv4, VNET_PREFIX, type Cidr } from './validate.ts';

export interface ResolvedDocument {
  version: FarmDocument['version'];
  name: string;
  description: string;
  vnets: {
    name: string; vnid: number | undefined; cidr: string; mtu: number; security: FarmDocument['vnets'][number]['security'];
    vlans: { host: string; interface: string; vid: number }[];
    dhcp: VnetDhcp;
  }[];
  vms: {
    name: string;
    host: string | null;
    guestKind: FarmDocument['vms'][number]['guestKind'];
    bandwidthMbps?: number | undefined;
    burstKb?: number | undefined;
    /** `securityGroups`: the names of the VIF's groups (empty: not filtered). */
    vifs: { name: string; vnet: string; mac: string; ip: string; securityGroups: string[] }[];
  }[];
  routers: {
    name: string;
    host: string | null;
    interfaces: { vnet: string; ip: string; prefixLen: number; mac: string; rip: boolean }[];
    staticRoutes: { destination: string; nextHop: string; metric: number }[];
  }[];
  routerLinks: { a: string; b: string; cidr: string; ipA: string; ipB: string; rip: boolean }[];
  firewalls: {
    name: string;
    host: string | null;
    defaultPolicy: FarmDocument['firewalls'][number]['defaultPolicy'];
    interfaces: { name: string; vnet: string; ip: string; prefixLen: number; mac: string }[];
    rules: NormalRule[];
  }[];
  securityGroupMode: SecurityGroupModeName;
  securityGroups: ResolvedSecurityGroup[];
  layout: Record<string, Position>;
}

interface Station {
  field: string;
  space: AddressSpace;
  label: string;
  from: 'low' | 'high';
  ip: string | undefined;
  mac: string | undefined;
}

function uniqueNames(list: { name: string }[], path: string, what: string): void {
  const seen = new Map<string, number>();
  list.forEach((x, i) => {
    const prev = seen.get(x.name);
    if (prev !== undefined) throw conflict(`${path}.${i}.name`, `${what} "${x.name}" is already defined at ${path}.${prev}`);
    seen.set(x.name, i);
  });
}

/**
 * A vnet's VLAN bridges: one per host, and a VLAN on a host interface carries
 * one vnet (`bridged`: "host/interface/vid" → vnet name, across the document).
 */
function checkVlans(vlans: { host: string; interface: string; vid: number }[], f: string, vnet: string, bridged: Map<string, string>): void {
  const hosts = new Set<string>();
  vlans.forEach((l, j) => {
    const g = `${f}.vlans.${j}`;
    checkInterfaceName(`${g}.interface`, l.interface);
    checkVid(`${g}.vid`, l.vid);
    if (hosts.has(l.host)) throw conflict(`${g}.host`, `vnet ${vnet} is already bridged to a VLAN on host ${l.host}`);
    hosts.add(l.host);
    const key = `${l.host}/${l.interface}/${l.vid}`;
    const other = bridged.get(key);
    if (other !== undefined) throw conflict(`${g}.vid`, `VLAN ${l.vid} on ${l.host} ${l.interface} already carries vnet ${other}`);
    bridged.set(key, vnet);
  });
}

export function checkFarmDocument(doc: FarmDocument, random?: RandomSource): ResolvedDocument {
  // First: a document past the farm limits costs nothing more to refuse.
  checkDocumentLimits(doc);
  uniqueNames(doc.vnets, 'vnets', 'vnet');
  uniqueNames(doc.vms, 'vms', 'VM');
  uniqueNames(doc.routers, 'routers', 'router');
  uniqueNames(doc.firewalls, 'firewalls', 'firewall');

  const spaces = new Map<string, AddressSpace>();
  const vnids = new Map<number, string>();
  const vnetCidrs: { prefix: Cidr; what: string }[] = [];
  const bridged = new Map<string, string>();
  const dhcps = new Map<string, VnetDhcp>();
  doc.vnets.forEach((v, i) => {
    const f = `vnets.${i}`;
    if (v.vnid !== undefined) {
      checkVnid(`${f}.vnid`, v.vnid);
      const other = vnids.get(v.vnid);
      if (other !== undefined) throw conflict(`${f}.vnid`, `${v.vnid} is already the id of vnet ${other}`);
      vnids.set(v.vnid, v.name);
    }
    const cidr = requireCidr(`${f}.cidr`, v.cidr, VNET_PREFIX);
    checkMtu(`${f}.mtu`, v.mtu);
    dhcps.set(v.name, resolveDhcp(`${f}.dhcp`, cidr, v.dhcp));
    checkVlans(v.vlans ?? [], f, v.name, bridged);
    spaces.set(v.name, newAddressSpace(v.name, cidr.text));
    vnetCidrs.push({ prefix: cidr, what: `vnet ${v.name}` });
  });
  const spaceOf = (field: string, name: string): AddressSpace => {
    const s = spaces.get(name);
    if (!s) throw badRequest(field, `no vnet named "${name}" in this document`);
    return s;
  };

  // Addresses: every explicit one is claimed before any automatic one is
  // picked, so an automatic address never takes one the document names later.
  const stations: Station[] = [];
  const station = (field: string, vnet: string, label: string, from: Station['from'], x: { ip?: string | undefined; mac?: string | undefined }) => {
    const s: Station = { field, space: spaceOf(`${field}.vnet`, vnet), label, from, ip: x.ip, mac: x.mac };
    stations.push(s);
    return s;
  };
  const vmStations = doc.vms.map((vm, i) => {
    const names = new Set<string>();
    return vm.vifs.map((vif, j) => {
      const f = `vms.${i}.vifs.${j}`;
      const name = vif.name ?? `eth${j}`;
      if (names.has(name)) throw conflict(`${f}.name`, `VM ${vm.name} already has an interface named ${name}`);
      names.add(name);
      return { name, vnet: vif.vnet, s: station(f, vif.vnet, vifLabel(vm.name, name), 'low', vif) };
    });
  });
  const routerStations = doc.routers.map((r, i) =>
    r.interfaces.map((x, j) => ({ x, s: station(`routers.${i}.interfaces.${j}`, x.vnet, routerLabel(r.name), 'high', x) })),
  );
  const firewallStations = doc.firewalls.map((fw, i) => {
    uniqueNames(fw.interfaces, `firewalls.${i}.interfaces`, 'interface');
    return fw.interfaces.map((x, j) => ({
      x, s: station(`firewalls.${i}.interfaces.${j}`, x.vnet, firewallLabel(fw.name, x.name), 'high', x),
    }));
  });
  for (const s of stations) {
    if (s.ip !== undefined) s.ip = claimIp(s.space, `${s.field}.ip`, s.ip, s.label);
    if (s.mac !== undefined) s.mac = claimMac(s.space, `${s.field}.mac`, s.mac, s.label);
  }
  for (const s of stations) {
    s.ip ??= allocateIp(s.space, `${s.field}.ip`, s.label, s.from);
    s.mac ??= allocateMac(s.space, s.label, random);
  }

  // Connected prefixes of routers and firewalls.
  const ifacePrefix = (field: string, vnet: string, prefixLen: number | undefined, ip: string) => {
    const len = checkPrefixLen(`${field}.prefixLen`, prefixLen ?? spaceOf(`${field}.vnet`, vnet).cidr.prefixLen);
    return { len, prefix: interfacePrefix(`${field}.ip`, requireIpv4(`${field}.ip`, ip), len) };
  };
  const connected = new Map<string, Connected[]>();
  const occupied: { prefix: Cidr; what: string }[] = [...vnetCidrs];
  const routers = doc.routers.map((r, i) => {
    const list: Connected[] = [];
    const interfaces = routerStations[i]!.map(({ x, s }, j) => {
      const f = `routers.${i}.interfaces.${j}`;
      const { len, prefix } = ifacePrefix(f, x.vnet, x.prefixLen, s.ip!);
      list.push({ vnet: x.vnet, vnetName: x.vnet, prefix, ip: requireIpv4(`${f}.ip`, s.ip!), fieldVnet: `${f}.vnet`, fieldIp: `${f}.ip` });
      occupied.push({ prefix, what: `router ${r.name}` });
      return { vnet: x.vnet, ip: s.ip!, prefixLen: len, mac: s.mac!, rip: x.rip };
    });
    connected.set(r.name, list);
    return { name: r.name, host: r.host, interfaces, staticRoutes: [] as ResolvedDocument['routers'][number]['staticRoutes'] };
  });
  const firewalls = doc.firewalls.map((fw, i) => {
    const list: Connected[] = [];
    const interfaces = firewallStations[i]!.map(({ x, s }, j) => {
      const f = `firewalls.${i}.interfaces.${j}`;
      const { len, prefix } = ifacePrefix(f, x.vnet, x.prefixLen, s.ip!);
      list.push({ vnet: x.vnet, vnetName: x.vnet, prefix, ip: requireIpv4(`${f}.ip`, s.ip!), fieldVnet: `${f}.vnet`, fieldIp: `${f}.ip` });
      occupied.push({ prefix, what: `firewall ${fw.name}` });
      return { name: x.name, vnet: x.vnet, ip: s.ip!, prefixLen: len, mac: s.mac! };
    });
    checkConnected(list, `firewall ${fw.name}`);
    const names = interfaces.map((x) => x.name);
    const rules = fw.rules.map((rule, j) => checkRule(rule, names, fw.name, (n) => `firewalls.${i}.rules.${j}.${n}`));
    return { name: fw.name, host: fw.host, defaultPolicy: fw.defaultPolicy, interfaces, rules };
  });

  // Links: client-chosen prefixes first, then automatic ones around them.
  const pairs = new Set<string>();
  const links = doc.routerLinks.map((l, i) => {
    const f = `routerLinks.${i}`;
    if (!connected.has(l.a)) throw badRequest(`${f}.a`, `no router named "${l.a}" in this document`);
    if (!connected.has(l.b)) throw badRequest(`${f}.b`, `no router named "${l.b}" in this document`);
    if (l.a === l.b) throw badRequest(`${f}.b`, 'a router cannot be linked to itself');
    const pair = [l.a, l.b].sort().join('\u0000');
    if (pairs.has(pair)) throw conflict(`${f}.b`, `routers ${l.a} and ${l.b} are already linked`);
    pairs.add(pair);
    if (l.cidr === undefined && (l.ipA !== undefined || l.ipB !== undefined)) throw badRequest(`${f}.cidr`, 'required when ipA or ipB is given');
    if (l.cidr === undefined) return { l, f, addr: null as null | { cidr: Cidr; ipA: string; ipB: string } };
    const addr = checkLinkAddresses({ ...l, cidr: l.cidr }, occupied, (n) => `${f}.${n}`);
    occupied.push({ prefix: addr.cidr, what: `link ${l.a}–${l.b}` });
    return { l, f, addr };
  });
  const resolvedLinks = links.map(({ l, f, addr }) => {
    const a = addr ?? allocateLinkCidr(occupied.map((o) => o.prefix), `${f}.cidr`);
    if (!addr) occupied.push({ prefix: a.cidr, what: `link ${l.a}–${l.b}` });
    const end = (ip: string, fieldIp: string): Connected => ({
      vnet: null, vnetName: '', prefix: a.cidr, ip: requireIpv4(fieldIp, ip), fieldVnet: `${f}.cidr`, fieldIp: `${f}.cidr`,
    });
    connected.get(l.a)!.push(end(a.ipA, `${f}.ipA`));
    connected.get(l.b)!.push(end(a.ipB, `${f}.ipB`));
    return { a: l.a, b: l.b, cidr: a.cidr.text, ipA: a.ipA, ipB: a.ipB, rip: l.rip };
  });

  doc.routers.forEach((r, i) => {
    const list = connected.get(r.name)!;
    checkConnected(list, `router ${r.name}`);
    const dests = new Set<string>();
    routers[i]!.staticRoutes = r.staticRoutes.map((route, j) => {
      const f = `routers.${i}.staticRoutes.${j}`;
      const s = checkStaticRoute(route, list, r.name, (n) => `${f}.${n}`);
      if (dests.has(s.destination)) throw conflict(`${f}.destination`, `router ${r.name} already has a route to ${s.destination}`);
      dests.add(s.destination);
      return s;
    });
  });

  const securityGroups = checkDocumentSecurityGroups(
    doc.securityGroups, doc.securityGroupMode,
    doc.vms.flatMap((vm, i) => vm.vifs.map((f, j) => ({ field: `vms.${i}.vifs.${j}.securityGroups`, groups: f.securityGroups ?? [] }))),
  );

  const known = new Set<string>();
  for (const v of doc.vnets) known.add(`vnet:${v.name}`);
  for (const v of doc.vms) known.add(`vm:${v.name}`);
  for (const r of doc.routers) known.add(`router:${r.name}`);
  for (const f of doc.firewalls) known.add(`firewall:${f.name}`);
  for (const key of Object.keys(doc.layout)) {
    if (!known.has(key)) {
      throw badRequest(`layout.${key}`, `names no node of this document (keys are <kind>:<name>, kind one of ${LAYOUT_KINDS.join(', ')})`);
    }
  }

  return {
    version: doc.version,
    name: doc.name,
    description: doc.description,
    vnets: doc.vnets.map((v) => ({
      name: v.name, vnid: v.vnid, cidr: spaces.get(v.name)!.cidr.text, mtu: v.mtu, security: v.security, vlans: v.vlans ?? [], dhcp: dhcps.get(v.name)!,
    })),
    vms: doc.vms.map((vm, i) => ({
      name: vm.name,
      host: vm.host,
      guestKind: vm.guestKind,
      bandwidthMbps: vm.bandwidthMbps,
      burstKb: vm.burstKb,
      vifs: vmStations[i]!.map(({ name, vnet, s }, j) => ({ name, vnet, mac: s.mac!, ip: s.ip!, securityGroups: vm.vifs[j]!.securityGroups ?? [] })),
    })),
    routers,
    routerLinks: resolvedLinks,
    firewalls,
    securityGroupMode: doc.securityGroupMode,
    securityGroups,
    layout: doc.layout,
  };
}

