// Turns deployed farm documents (revision snapshots) into compile input. A
// document names hosts, vnets, routers and interfaces; compile wants host ids
// and vnet ids. Location versions are not part of a document: they are
// derived here from what the hosts were last told, so a VM that did not move
// keeps its version and one that did always gets a higher one (spec/wire.md,
// VARP: receivers ignore ANNOUNCEs older than what they cache).
import { badRequest } from '../errors.ts';
import type { CompileFarm, CompileFirewall, CompileRouter, CompileVm, CompileVnet, HostState } from '../compile/index.ts';
import type { FarmDocument } from './farmDocument.ts';

export interface DeployedFarm {
  id: string;
  name: string;
  tenantName: string;
  revision: number;
  document: FarmDocument;
}

/** Where a VM was last placed, as the hosts were told: `<farmKey>/<vm>` → host name and version. */
export type PreviousPlacements = Map<string, { host: string; version: number }>;

export function previousPlacements(states: Iterable<Pick<HostState, 'host' | 'vifs'>>): PreviousPlacements {
  const out: PreviousPlacements = new Map();
  for (const s of states) {
    for (const vif of s.vifs ?? []) {
      const cut = vif.id.lastIndexOf('/');
      if (cut <= 0) continue;
      out.set(vif.id.slice(0, cut), { host: s.host, version: vif.version });
    }
  }
  return out;
}

/**
 * The key a farm's VIFs, routers and firewalls are named under on the hosts:
 * its name when no other deployed farm shares it, else `<tenant>.<farm>`.
 */
export function farmKeys(farms: { id: string; name: string; tenantName: string }[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const f of farms) count.set(f.name, (count.get(f.name) ?? 0) + 1);
  return new Map(farms.map((f) => [f.id, count.get(f.name) === 1 ? f.name : `${f.tenantName}.${f.name}`]));
}

export interface ToCompileContext {
  key: string;
  hostIdByName: Map<string, string>;
  /** Current location version of each VM of this farm by name (the floor for a moved VM). */
  liveVersions: Map<string, number>;
  previous: PreviousPlacements;
  warnings: string[];
}

function need<T>(value: T | undefined, farm: DeployedFarm, path: string): T {
  if (value === undefined) {
    throw badRequest('revision', `farm ${farm.name} revision ${farm.revision}: ${path} has no value in the snapshot`);
  }
  return value;
}

export function toCompileFarm(farm: DeployedFarm, ctx: ToCompileContext): CompileFarm {
  const doc = farm.document;
  const vnids = new Map<string, number>();
  const prefixes = new Map<string, number>();
  const hostOf = (name: string | null, what: string): string | null => {
    if (name === null) return null;
    const id = ctx.hostIdByName.get(name);
    if (id === undefined) {
      // A host renamed or deleted after the snapshot: the object runs nowhere until the farm is deployed again.
      ctx.warnings.push(`farm ${farm.name} revision ${farm.revision}: ${what} is placed on unknown host "${name}"; not running`);
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
    return { vnid, name: v.name, cidr: v.cidr, mtu: v.mtu, security: v.security, ...(vlans.length ? { vlans } : {}) };
  });
  const vnidOf = (name: string, path: string) => {
    const id = vnids.get(name);
    if (id === undefined) throw badRequest('revision', `farm ${farm.name} revision ${farm.revision}: ${path} names unknown vnet "${name}"`);
    return id;
  };

  const vms: CompileVm[] = doc.vms.map((vm, i) => {
    const hostId = hostOf(vm.host, `VM ${vm.name}`);
    const floor = ctx.liveVersions.get(vm.name) ?? 1;
    const prev = ctx.previous.get(`${ctx.key}/${vm.name}`);
    let locationVersion = floor;
    if (prev && hostId !== null) {
      locationVersion = prev.host === vm.host ? prev.version : Math.max(prev.version + 1, floor);
    }
    return {
      name: vm.name,
      hostId,
      guestKind: vm.guestKind,
      locationVersion,
      limit: vm.bandwidthMbps !== undefined
        ? { rateMbps: vm.bandwidthMbps, ...(vm.burstKb !== undefined ? { burstKb: vm.burstKb } : {}) }
        : null,
      vifs: vm.vifs.map((f, j) => {
        const path = `vms.${i}.vifs.${j}`;
        return {
          name: f.name ?? `eth${j}`,
          vnid: vnidOf(f.vnet, `${path}.vnet`),
          mac: need(f.mac, farm, `${path}.mac`),
          ip: need(f.ip, farm, `${path}.ip`),
        };
      }),
    };
  });

  const routers: CompileRouter[] = doc.routers.map((r, i) => ({
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
  }));

  const routerLinks = doc.routerLinks.map((l, i) => ({
    a: l.a,
    b: l.b,
    cidr: need(l.cidr, farm, `routerLinks.${i}.cidr`),
    ipA: need(l.ipA, farm, `routerLinks.${i}.ipA`),
    ipB: need(l.ipB, farm, `routerLinks.${i}.ipB`),
    rip: l.rip,
  }));

  const firewalls: CompileFirewall[] = doc.firewalls.map((fw, i) => ({
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
  }));

  return { id: farm.id, name: farm.name, key: ctx.key, revision: farm.revision, vnets, vms, routers, routerLinks, firewalls };
}
