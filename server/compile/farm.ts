// One farm's part of the hosts' desired states: per host, the vnets it
// carries for the farm (peers and keys left to the host-level assembly,
// assemble.ts), its VIFs, routers and firewalls. It depends on the farm and
// on which hosts exist, never on another farm, so the control loop stores it
// per farm and a deploy compiles only the farm it changes. Router links
// across hosts travel on the link's own vnet id (stored with the link, taken
// once from a range no farm's vnet uses), never one allocated here.
import type { CompileFarm, CompileHost, CompileLeg, CompileVm, FarmPart, HostPart, StateRouter, StateVnet } from './types.ts';
import { securityGroupsOf } from './securityGroups.ts';
import { farmDhcp, hostNameOf } from './dhcp.ts';
import { CompileError, byString, prefixOf, tapDeviceName } from './common.ts';
import { GUEST_MTU_DEFAULT } from '../../contract/limits.ts';

/** External networks are ordinary LANs: the leg's vnet (and interface) MTU. */
const EXTERNAL_MTU = 1500;

/** A host's part while it is built: vnets by id, in the order the farm first reached them. */
type Acc = Omit<HostPart, 'vnets'> & { vnets: Map<number, StateVnet> };

export function compileFarm(farm: CompileFarm, hostsById: ReadonlyMap<string, CompileHost>): FarmPart {
  const parts = new Map<string, Acc>();
  const at = (hostId: string, field: string): Acc => {
    if (!hostsById.has(hostId)) throw new CompileError(field, `placed on unknown host ${hostId}`);
    let p = parts.get(hostId);
    if (!p) parts.set(hostId, (p = { hostId, vnets: new Map(), vifs: [], routers: [], firewalls: [] }));
    return p;
  };
  const vnets = new Map(farm.vnets.map((v) => [v.vnid, v]));
  const carry = (p: Acc, vnid: number, field: string) => {
    const v = vnets.get(vnid);
    if (!v) throw new CompileError(field, `unknown vnet ${vnid} in farm ${farm.name}`);
    if (!p.vnets.has(vnid)) {
      p.vnets.set(vnid, { id: vnid, name: `${farm.name}/${v.name}`, farm: farm.id, security: v.security, mtu: v.mtu, peers: [], ...(dhcp.has(vnid) ? { dhcp: dhcp.get(vnid)! } : {}) });
    }
    return v;
  };

  // A guest's default gateway on a vnet: a router's address there (routers by
  // name), else a firewall's. Guests reach other vnets only through one.
  const gateways = new Map<number, string>();
  for (const r of [...farm.routers].sort((a, b) => byString(a.name, b.name))) {
    for (const itf of r.interfaces) if (!gateways.has(itf.vnid)) gateways.set(itf.vnid, itf.ip);
  }
  for (const fw of [...farm.firewalls].sort((a, b) => byString(a.name, b.name))) {
    for (const itf of fw.interfaces) if (!gateways.has(itf.vnid)) gateways.set(itf.vnid, itf.ip);
  }

  const dhcp = farmDhcp(farm, gateways);

  // An external leg: on its node's host, a vnet of its own bridged to the host's binding of the network,
  // and the node's interface there with the leg's address and NAT. Without a binding there is nothing to bridge to.
  const legOn = (p: Acc, leg: CompileLeg, node: string, field: string) => {
    const host = hostsById.get(p.hostId)!;
    const bound = host.externalNetworks?.find((b) => b.id === leg.networkId);
    if (!bound) {
      throw new CompileError(field, `${node}'s external leg is on network ${leg.network}, which host ${host.name} has no binding for; bind it on that host (externalNetwork.bind) or place the ${node.split(' ')[0]} on a host that has one`);
    }
    p.vnets.set(leg.vnid, {
      id: leg.vnid, name: `${farm.name}/external:${leg.network}`, farm: farm.id, security: 'none', mtu: EXTERNAL_MTU, peers: [],
      external: { interface: bound.interface, vid: bound.vid, mac: leg.mac },
    });
    return {
      bound,
      itf: {
        vnet: leg.vnid, mac: leg.mac, ip: `${leg.ip}/${bound.prefixLen}`,
        nat: {
          snat: [...leg.snat],
          floatingIps: leg.floatingIps.map((f) => ({ ...f })),
          portForwards: leg.portForwards.map((f) => ({ ...f })),
        },
      },
    };
  };

  const placeVifs = (vm: CompileVm, i: number, hostId: string, incoming: { version: number } | null, outgoing: boolean) => {
    const p = at(hostId, `vms.${i}.hostId`);
    vm.vifs.forEach((vif, j) => {
      const v = carry(p, vif.vnid, `vms.${i}.vifs.${j}.vnet`);
      p.vifs.push({
        id: vif.id,
        name: `${farm.name}/${vm.name}/${vif.name}`,
        farm: farm.id,
        vnet: vif.vnid,
        mac: vif.mac,
        ip: `${vif.ip}/${prefixOf(v.cidr)}`,
        version: incoming?.version ?? vm.locationVersion,
        ...(incoming ? { incoming: true } : {}),
        ...(outgoing ? { outgoing: true } : {}),
        guest: vm.guestKind === 'tap' && vif.serial !== null ? { kind: 'tap', ifname: tapDeviceName(vif.serial) } : { kind: vm.guestKind },
        ...(gateways.has(vif.vnid) ? { gateway: gateways.get(vif.vnid)! } : {}),
        ...(vm.limit ? { limit: { ...vm.limit } } : {}),
        ...(hostNameOf(vm.name) ? { hostName: hostNameOf(vm.name)! } : {}),
        // In mode `default` a VIF in no group fails closed (filtered, nothing allowed), never open.
        ...(vif.securityGroups?.length || farm.securityGroupMode === 'default' ? { securityGroups: [...(vif.securityGroups ?? [])].sort(byString) } : {}),
      });
    });
  };
  farm.vms.forEach((vm, i) => {
    if (!vm.hostId) return; // not placed: nothing to run
    // A live migration under way: the source lists the VIFs outgoing (only then does it let them go on the
    // destination's ANNOUNCE); the destination gets them incoming, claimed on the guest's first frame.
    const moving = !!vm.incoming && vm.incoming.hostId !== vm.hostId;
    placeVifs(vm, i, vm.hostId, null, moving);
    if (moving) placeVifs(vm, i, vm.incoming!.hostId, { version: vm.incoming!.version }, false);
  });

  const routerHost = new Map<string, Acc>();
  const routerState = new Map<string, StateRouter>();
  farm.routers.forEach((r, i) => {
    if (!r.hostId) return;
    const p = at(r.hostId, `routers.${i}.hostId`);
    const state: StateRouter = {
      id: r.id,
      name: `${farm.name}/${r.name}`,
      farm: farm.id,
      interfaces: r.interfaces
        .map((itf, j) => {
          carry(p, itf.vnid, `routers.${i}.interfaces.${j}.vnet`);
          return { vnet: itf.vnid, mac: itf.mac, ip: `${itf.ip}/${itf.prefixLen}`, rip: itf.rip };
        })
        .sort((x, y) => x.vnet - y.vnet),
      staticRoutes: [...r.staticRoutes].sort((x, y) => byString(x.destination, y.destination)),
      links: [],
    };
    if (r.external) {
      const { bound, itf } = legOn(p, r.external, `router ${r.name}`, `routers.${i}.external`);
      state.interfaces.push({ ...itf, rip: false });
      // The rest of the world is behind the external gateway, unless the router routes it elsewhere.
      if (!state.staticRoutes.some((x) => x.destination === '0.0.0.0/0')) {
        state.staticRoutes.unshift({ destination: '0.0.0.0/0', nextHop: bound.gateway, metric: 1 });
      }
    }
    p.routers.push(state);
    routerHost.set(r.name, p);
    routerState.set(r.name, state);
  });

  // In the order of the routers' ids, so that renaming a router never reorders a router's links.
  const linkKey = (l: { a: string; b: string }) => `${routerState.get(l.a)?.id ?? ''}/${routerState.get(l.b)?.id ?? ''}`;
  for (const link of [...farm.routerLinks].sort((x, y) => byString(linkKey(x), linkKey(y)))) {
    const ha = routerHost.get(link.a);
    const hb = routerHost.get(link.b);
    const ra = routerState.get(link.a);
    const rb = routerState.get(link.b);
    if (!ha || !hb || !ra || !rb) continue; // an unplaced end: the link is down
    const len = prefixOf(link.cidr);
    // Co-located routers talk over an in-process channel (seed 004); across
    // hosts the link becomes a point-to-point vnet carried like any other.
    let vnet: number | null = null;
    if (ha !== hb) {
      if (link.vnid === null) continue; // a snapshot older than link vnet ids, whose link is gone: down until redeployed
      vnet = link.vnid;
      for (const p of [ha, hb]) {
        p.vnets.set(vnet, { id: vnet, name: `${farm.name}/link:${link.a}-${link.b}`, farm: farm.id, security: 'none', mtu: GUEST_MTU_DEFAULT, peers: [] });
      }
    }
    const hostName = (p: Acc) => hostsById.get(p.hostId)!.name;
    ra.links.push({ peer: rb.id, local: `${link.ipA}/${len}`, remote: link.ipB, rip: link.rip, vnet, peerHost: vnet ? hostName(hb) : null });
    rb.links.push({ peer: ra.id, local: `${link.ipB}/${len}`, remote: link.ipA, rip: link.rip, vnet, peerHost: vnet ? hostName(ha) : null });
  }

  // A VLAN bridge makes its host a carrier of the vnet, VIFs there or not.
  farm.vnets.forEach((v, i) => {
    v.vlans?.forEach((l, j) => {
      const p = at(l.hostId, `vnets.${i}.vlans.${j}.hostId`);
      carry(p, v.vnid, `vnets.${i}.vlans.${j}`);
      p.vnets.get(v.vnid)!.vlan = { interface: l.interface, vid: l.vid };
    });
  });

  farm.firewalls.forEach((fw, i) => {
    if (!fw.hostId) return;
    const p = at(fw.hostId, `firewalls.${i}.hostId`);
    p.firewalls.push({
      id: fw.id,
      name: `${farm.name}/${fw.name}`,
      farm: farm.id,
      defaultPolicy: fw.defaultPolicy,
      interfaces: [
        ...fw.interfaces.map((itf, j) => {
          carry(p, itf.vnid, `firewalls.${i}.interfaces.${j}.vnet`);
          return { name: itf.name, vnet: itf.vnid, mac: itf.mac, ip: `${itf.ip}/${itf.prefixLen}` };
        }),
        // The leg's interface takes the network's name, which rules may name.
        ...(fw.external ? [{ name: fw.external.network, ...legOn(p, fw.external, `firewall ${fw.name}`, `firewalls.${i}.external`).itf }] : []),
      ],
      rules: fw.rules,
    });
  });
  const groupsOn = securityGroupsOf(farm);
  return {
    farmId: farm.id,
    hosts: [...parts.values()].map((p) => {
      const { securityGroups, addressSets } = groupsOn(p.vifs);
      return { ...p, vnets: [...p.vnets.values()], ...(securityGroups.length ? { securityGroups } : {}), ...(addressSets.length ? { addressSets } : {}) };
    }),
    sealedVnids: [...new Set(farm.vnets.filter((v) => v.security !== 'none').map((v) => v.vnid))].sort((a, b) => a - b),
  };
}
