// Turns deployed farm documents (revision snapshots) into compile input. A
// document names hosts, vnets, routers and interfaces; compile wants host ids
// and vnet ids, and the database ids that name VMs' VIFs, routers and
// firewalls on hosts (snapshots carry them). Location versions are not part
// of a document: each VM's is stored where it was last deployed
// (vmLocations.ts), so a VM that did not move keeps its version and one that
// did always gets a higher one (docs/wire.md, VARP: receivers ignore
// ANNOUNCEs older than what they cache).
import { badRequest } from '../errors.ts';
import type { CompileFarm, CompileFirewall, CompileLeg, CompileRouter, CompileSecurityGroup, CompileVm, CompileVnet } from '../compile/index.ts';
import type { FarmDocument } from '../farms/farmDocument.ts';
import { nextLocation, type VmLocations } from './vmLocations.ts';
import { dhcpOfRow } from '../farms/vnetDhcp.ts';

export interface DeployedFarm {
  id: string;
  name: string;
  revision: number;
  document: FarmDocument;
}

/** The rows that name a farm's parts today, for a snapshot taken before snapshots carried ids. */
export interface FarmRows {
  vms: { id: string; name: string; vifs: { id: string; name: string; serial: number }[] }[];
  routers: { id: string; name: string }[];
  firewalls: { id: string; name: string }[];
  /** Router links by their routers' names, with their vnet ids. */
  links: { a: string; b: string; vnid: number }[];
}

/** True when some part of the document has no database id (a snapshot older than ids in snapshots). */
export function lacksIds(doc: FarmDocument): boolean {
  return [...doc.vms, ...doc.vms.flatMap((vm) => vm.vifs), ...doc.routers, ...doc.firewalls].some((x) => x.id === undefined)
    || doc.routerLinks.some((l) => l.vnid === undefined)
    || doc.securityGroups.some((g) => g.id === undefined || g.rules.some((r) => r.id === undefined));
}

/**
 * Gives an older snapshot the ids of the rows that carry those names today.
 * What no row carries any more keeps a farm-scoped id (`<farm id>/<names>`),
 * unique on hosts all the same, until the farm is deployed again; a router
 * link no row carries any more has no vnet id and stays down across hosts.
 */
export function withIds(farm: DeployedFarm, rows: FarmRows): FarmDocument {
  const doc = farm.document;
  const vms = new Map(rows.vms.map((v) => [v.name, v]));
  const routers = new Map(rows.routers.map((r) => [r.name, r.id]));
  const firewalls = new Map(rows.firewalls.map((f) => [f.name, f.id]));
  const links = new Map(rows.links.map((l) => [`${l.a}\u0000${l.b}`, l.vnid]));
  return {
    ...doc,
    vms: doc.vms.map((vm) => {
      const row = vms.get(vm.name);
      return {
        ...vm,
        id: vm.id ?? row?.id ?? `${farm.id}/${vm.name}`,
        vifs: vm.vifs.map((f, j) => {
          const name = f.name ?? `eth${j}`;
          const vif = row?.vifs.find((x) => x.name === name);
          return { ...f, id: f.id ?? vif?.id ?? `${farm.id}/${vm.name}/${name}`, serial: f.serial ?? vif?.serial };
        }),
      };
    }),
    routers: doc.routers.map((r) => ({ ...r, id: r.id ?? routers.get(r.name) ?? `${farm.id}/${r.name}` })),
    firewalls: doc.firewalls.map((f) => ({ ...f, id: f.id ?? firewalls.get(f.name) ?? `${farm.id}/${f.name}` })),
    routerLinks: doc.routerLinks.map((l) => ({ ...l, vnid: l.vnid ?? links.get(`${l.a}\u0000${l.b}`) })),
    // Snapshots have carried their groups' ids since groups exist; farm-scoped ones for any other document.
    securityGroups: doc.securityGroups.map((g) => ({
      ...g,
      id: g.id ?? `${farm.id}/sg/${g.name}`,
      rules: g.rules.map((r, j) => ({ ...r, id: r.id ?? `${farm.id}/sg/${g.name}/${j}` })),
    })),
  };
}

export interface ToCompileContext {
  hostIdByName: Map<string, string>;
  /** Current location version of each VM of this farm by id (the floor for a moved VM). */
  liveVersions: Map<string, number>;
  /** VMs in a live migration by id: the host they are moving to (server/control/liveMigration.ts). */
  migratingTo?: Map<string, string>;
  /** Where each VM was last deployed; the VMs placed here are added to `placed`. */
  locations: VmLocations;
  placed: VmLocations;
  warnings: string[];
  /** Host names the farm places things on that no host bears (collected here). */
  unknownHosts: Set<string>;
}

function need<T>(value: T | undefined, farm: DeployedFarm, path: string): T {
  if (value === undefined) {
    throw badRequest('revision', `farm ${farm.name} revision ${farm.revision}: ${path} has no value in the snapshot`);
  }
  return value;
}

/** The id a snapshot gives an item; one without is a defect of the caller (withIds fills them). */
function idOf(x: { id?: string | undefined }, farm: DeployedFarm, path: string): string {
  return need(x.id, farm, `${path}.id`);
}

export function toCompileFarm(farm: DeployedFarm, ctx: ToCompileContext): CompileFarm {
  const doc = farm.document;
  const knownHosts = new Set(ctx.hostIdByName.values());
  const vnids = new Map<string, number>();
  const prefixes = new Map<string, number>();
  const hostOf = (name: string | null, what: string): string | null => {
    if (name === null) return null;
    const id = ctx.hostIdByName.get(name);
    if (id === undefined) {
      // A host renamed or deleted after the snapshot: the object runs nowhere until the farm is deployed again.
      ctx.warnings.push(`farm ${farm.name} revision ${farm.revision}: ${what} is placed on unknown host "${name}"; not running`);
      ctx.unknownHosts.add(name);
      return null;
    }
    return id;
  };
  const vnets: CompileVnet[] = doc.vnets.map((v, i) => {
    const vnid = need(v.vnid, farm, `vnets.${i}.vnid`);
    vnids.set(v.name, vnid);
    prefixes.set(v.name, Number(v.cidr.split('/')[1] ?? 32));
    const vlans = (v.vlans ?? []).flatMap((l) => {
      const hostId = hostOf(l.host, `vnet ${v.name}'s VLAN ${l.vid}`);
      return hostId === null ? [] : [{ hostId, interface: l.interface, vid: l.vid }];
    });
    return { vnid, name: v.name, cidr: v.cidr, mtu: v.mtu, security: v.security, dhcp: dhcpOfRow(v.dhcp), ...(vlans.length ? { vlans } : {}) };
  });
  const vnidOf = (name: string, path: string) => {
    const id = vnids.get(name);
    if (id === undefined) throw badRequest('revision', `farm ${farm.name} revision ${farm.revision}: ${path} names unknown vnet "${name}"`);
    return id;
  };

  const groupIds = new Map(doc.securityGroups.map((g, i) => [g.name, idOf(g, farm, `securityGroups.${i}`)]));
  const groupIdOf = (name: string, path: string) => {
    const id = groupIds.get(name);
    if (id === undefined) throw badRequest('revision', `farm ${farm.name} revision ${farm.revision}: ${path} names unknown security group "${name}"`);
    return id;
  };

  const vms: CompileVm[] = doc.vms.map((vm, i) => {
    const id = idOf(vm, farm, `vms.${i}`);
    const hostId = hostOf(vm.host, `VM ${vm.name}`);
    const floor = ctx.liveVersions.get(id) ?? 1;
    const locationVersion = hostId === null ? floor : nextLocation(ctx.locations.get(id), hostId, floor);
    if (hostId !== null) ctx.placed.set(id, { hostId, version: locationVersion });
    const to = ctx.migratingTo?.get(id);
    // The version the finished move will give it (nextLocation to the destination): the destination holds it from the start.
    // A destination deleted since the move started gets nothing (the move is cancelled or finished by hand).
    const incoming = hostId !== null && to !== undefined && to !== hostId && vm.guestKind === 'tap' && knownHosts.has(to)
      ? { hostId: to, version: nextLocation(ctx.locations.get(id), to, floor) }
      : null;
    return {
      id,
      name: vm.name,
      hostId,
      guestKind: vm.guestKind,
      locationVersion,
      ...(incoming ? { incoming } : {}),
      limit: vm.bandwidthMbps !== undefined
        ? { rateMbps: vm.bandwidthMbps, ...(vm.burstKb !== undefined ? { burstKb: vm.burstKb } : {}) }
        : null,
      vifs: vm.vifs.map((f, j) => {
        const path = `vms.${i}.vifs.${j}`;
        return {
          id: idOf(f, farm, path),
          serial: f.serial ?? null,
          name: f.name ?? `eth${j}`,
          vnid: vnidOf(f.vnet, `${path}.vnet`),
          mac: need(f.mac, farm, `${path}.mac`),
          ip: need(f.ip, farm, `${path}.ip`),
          ...(f.securityGroups?.length ? { securityGroups: f.securityGroups.map((n, k) => groupIdOf(n, `${path}.securityGroups.${k}`)) } : {}),
        };
      }),
    };
  });

  // External legs: NAT by the VIFs' addresses in this document.
  const vifIp = new Map(doc.vms.flatMap((vm) => vm.vifs.map((f, j) => [`${vm.name}\u0000${f.name ?? `eth${j}`}`, f.ip] as const)));
  const legOf = (leg: FarmDocument['routers'][number]['external'], what: string, path: string): { external?: CompileLeg } => {
    if (!leg) return {};
    if (leg.networkId === undefined || leg.vnid === undefined || leg.ip === undefined || leg.mac === undefined) {
      // A plan of a document whose leg is not created yet: shown without it.
      ctx.warnings.push(`farm ${farm.name}: ${what}'s external leg on ${leg.network} has no address yet; it is left out until the farm is saved and deployed`);
      return {};
    }
    const inside = (vm: string, vif: string, at: string) => need(vifIp.get(`${vm}\u0000${vif}`), farm, at);
    return {
      external: {
        networkId: leg.networkId, network: leg.network, vnid: leg.vnid, ip: leg.ip, mac: leg.mac, snat: leg.snat ?? [],
        floatingIps: leg.floatingIps.flatMap((f, j) => (f.ip === undefined ? [] : [{ external: f.ip, internal: inside(f.vm, f.vif, `${path}.floatingIps.${j}.ip`) }])),
        portForwards: leg.portForwards.map((p, j) => ({
          protocol: p.protocol, external: leg.ip!, externalPort: p.externalPort,
          internal: inside(p.vm, p.vif, `${path}.portForwards.${j}.vif`), internalPort: p.internalPort,
        })),
      },
    };
  };

  const routers: CompileRouter[] = doc.routers.map((r, i) => ({
    id: idOf(r, farm, `routers.${i}`),
    name: r.name,
    hostId: hostOf(r.host, `router ${r.name}`),
    interfaces: r.interfaces.map((itf, j) => {
      const path = `routers.${i}.interfaces.${j}`;
      return {
        vnid: vnidOf(itf.vnet, `${path}.vnet`),
        ip: need(itf.ip, farm, `${path}.ip`),
        prefixLen: itf.prefixLen ?? prefixes.get(itf.vnet) ?? 32,
        mac: need(itf.mac, farm, `${path}.mac`),
        rip: itf.rip,
      };
    }),
    staticRoutes: r.staticRoutes.map((s) => ({ destination: s.destination, nextHop: s.nextHop, metric: s.metric })),
    ...legOf(r.external, `router ${r.name}`, `routers.${i}.external`),
  }));

  const oldLinks = doc.routerLinks.filter((l) => l.vnid === undefined).map((l) => `${l.a}–${l.b}`);
  if (oldLinks.length) {
    ctx.warnings.push(`farm ${farm.name} revision ${farm.revision}: router links ${oldLinks.join(', ')} no longer exist and have no vnet id; down across hosts until the farm is deployed again`);
  }
  const routerLinks = doc.routerLinks.map((l, i) => ({
    a: l.a,
    b: l.b,
    cidr: need(l.cidr, farm, `routerLinks.${i}.cidr`),
    ipA: need(l.ipA, farm, `routerLinks.${i}.ipA`),
    ipB: need(l.ipB, farm, `routerLinks.${i}.ipB`),
    rip: l.rip,
    vnid: l.vnid ?? null,
  }));

  const firewalls: CompileFirewall[] = doc.firewalls.map((fw, i) => ({
    id: idOf(fw, farm, `firewalls.${i}`),
    name: fw.name,
    hostId: hostOf(fw.host, `firewall ${fw.name}`),
    defaultPolicy: fw.defaultPolicy,
    interfaces: fw.interfaces.map((itf, j) => {
      const path = `firewalls.${i}.interfaces.${j}`;
      return {
        name: itf.name,
        vnid: vnidOf(itf.vnet, `${path}.vnet`),
        ip: need(itf.ip, farm, `${path}.ip`),
        prefixLen: itf.prefixLen ?? prefixes.get(itf.vnet) ?? 32,
        mac: need(itf.mac, farm, `${path}.mac`),
      };
    }),
    rules: fw.rules.map((r) => ({
      action: r.action,
      protocol: r.protocol,
      source: r.source,
      destination: r.destination,
      portFrom: r.portFrom,
      portTo: r.portTo,
      interface: r.interface,
      log: r.log,
    })),
    ...legOf(fw.external, `firewall ${fw.name}`, `firewalls.${i}.external`),
  }));

  const securityGroups: CompileSecurityGroup[] = doc.securityGroups.map((g, i) => ({
    id: groupIds.get(g.name)!,
    name: g.name,
    rules: g.rules.map((r, j) => {
      const path = `securityGroups.${i}.rules.${j}`;
      return {
        id: idOf(r, farm, path), direction: r.direction, protocol: r.protocol,
        portFrom: r.portFrom, portTo: r.portTo ?? r.portFrom, icmpType: r.icmpType, icmpCode: r.icmpCode,
        remoteCidr: r.remoteGroup === null ? (r.remoteCidr ?? '0.0.0.0/0') : null,
        remoteGroup: r.remoteGroup === null ? null : groupIdOf(r.remoteGroup, `${path}.remoteGroup`),
      };
    }),
  }));

  return {
    id: farm.id, name: farm.name, revision: farm.revision, vnets, vms, routers, routerLinks, firewalls,
    ...(securityGroups.length ? { securityGroups } : {}),
    securityGroupMode: doc.securityGroupMode,
  };
}
