import { describe, expect, it } from 'vitest';
import { DHCP_DEFAULTS } from '../../server/farms/vnetDhcp.ts';
import { CommandStack } from '../lib/graph/commands.ts';
import { findInFarm } from '../lib/graph/farm-graph.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { addNodeCommand, changedFields, connectCommand, deleteCommand, editCommand } from './farm-commands.ts';
import type { FarmOps } from './farm-ops.ts';

/** An in-memory farm with the API's observable behaviour: fresh ids on every create, refusals where the API refuses. */
function fakeFarm() {
  let seq = 0;
  const t = new Date(0);
  const nextId = () => `id-${++seq}`;
  const farm: FarmDetail = {
    id: 'farm', name: 'f', description: '', revision: 1, deployedRevision: null, createdAt: t, updatedAt: t,
    counts: { vnets: 0, vms: 0, routers: 0, firewalls: 0 },
    vnets: [], vms: [], routers: [], routerLinks: [], firewalls: [], securityGroupMode: 'none', securityGroups: [], externalLegs: [],
  };
  const mac = () => `02:00:00:00:00:${(seq % 256).toString(16).padStart(2, '0')}`;
  const must = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`${what} not found`);
    return x;
  };
  const drop = <T extends { id: string }>(list: T[], id: string, what: string) => {
    const i = list.findIndex((x) => x.id === id);
    if (i < 0) throw new Error(`${what} ${id} not found`);
    list.splice(i, 1);
  };
  const bump = () => void farm.revision++;
  const ops: FarmOps = {
    async createVnet(s) {
      const v = { id: nextId(), farmId: farm.id, vnid: s.vnid ?? 100 + seq, name: s.name, cidr: s.cidr, mtu: s.mtu ?? 1400, security: s.security ?? 'none', dhcp: DHCP_DEFAULTS, createdAt: t, updatedAt: t, vlans: [] };
      farm.vnets.push(v);
      bump();
      return v;
    },
    async updateVnet(id, p) { Object.assign(must(farm.vnets.find((v) => v.id === id), 'vnet'), p); bump(); },
    async deleteVnet(id) {
      const used = farm.vms.some((vm) => vm.vifs.some((f) => f.vnetId === id)) || farm.routers.some((r) => r.interfaces.some((i) => i.vnetId === id));
      if (used) throw new Error('vnet still in use');
      drop(farm.vnets, id, 'vnet');
      bump();
    },
    async createVm(s) {
      const id = nextId();
      const vm = {
        id, farmId: farm.id, name: s.name, hostId: s.hostId ?? null, hostName: null, guestKind: s.guestKind ?? 'emulated' as const,
        bandwidthMbps: s.bandwidthMbps ?? null, burstKb: s.burstKb ?? null, locationVersion: 1, migratingToHostId: null, migrationStartedAt: null, migrationError: null, migrationErrorAt: null, migrationRetryAt: null, createdAt: t, updatedAt: t,
        vifs: (s.vifs ?? []).map((f, i) => ({ id: nextId(), vmId: id, vnetId: f.vnetId, name: `eth${i}`, mac: f.mac ?? mac(), ip: f.ip ?? '10.0.0.9', securityGroups: [] })),
      };
      farm.vms.push(vm);
      bump();
      return vm;
    },
    async updateVm(id, p) { Object.assign(must(farm.vms.find((v) => v.id === id), 'vm'), p); bump(); },
    async deleteVm(id) { drop(farm.vms, id, 'vm'); bump(); },
    async createVif(s) {
      const vm = must(farm.vms.find((v) => v.id === s.vmId), 'vm');
      must(farm.vnets.find((v) => v.id === s.vnetId), 'vnet');
      const f = { id: nextId(), vmId: vm.id, vnetId: s.vnetId, name: `eth${vm.vifs.length}`, mac: s.mac ?? mac(), ip: s.ip ?? '10.0.0.5', securityGroups: [] };
      vm.vifs.push(f);
      bump();
      return f;
    },
    async updateVif(id, p) { Object.assign(must(farm.vms.flatMap((v) => v.vifs).find((f) => f.id === id), 'vif'), p); bump(); },
    async deleteVif(id) { drop(must(farm.vms.find((v) => v.vifs.some((f) => f.id === id)), 'vif').vifs, id, 'vif'); bump(); },
    async createRouter(s) {
      const id = nextId();
      const r = {
        id, farmId: farm.id, name: s.name, hostId: s.hostId ?? null, hostName: null, createdAt: t, updatedAt: t, staticRoutes: [],
        interfaces: (s.interfaces ?? []).map((i) => ({ id: nextId(), routerId: id, vnetId: i.vnetId, ip: i.ip ?? '10.0.0.1', prefixLen: i.prefixLen ?? 24, mac: i.mac ?? mac(), rip: i.rip ?? false })),
      };
      farm.routers.push(r);
      bump();
      return r;
    },
    async updateRouter(id, p) { Object.assign(must(farm.routers.find((v) => v.id === id), 'router'), p); bump(); },
    async deleteRouter(id) {
      drop(farm.routers, id, 'router');
      farm.routerLinks = farm.routerLinks.filter((l) => l.routerAId !== id && l.routerBId !== id);
      bump();
    },
    async addRouterInterface(s) {
      const r = must(farm.routers.find((x) => x.id === s.routerId), 'router');
      if (r.interfaces.some((i) => i.vnetId === s.vnetId)) throw new Error('vnetId: already attached');
      const i = { id: nextId(), routerId: r.id, vnetId: s.vnetId, ip: s.ip ?? '10.0.0.1', prefixLen: s.prefixLen ?? 24, mac: s.mac ?? mac(), rip: s.rip ?? false };
      r.interfaces.push(i);
      bump();
      return i;
    },
    async updateRouterInterface(id, p) { Object.assign(must(farm.routers.flatMap((r) => r.interfaces).find((i) => i.id === id), 'interface'), p); bump(); },
    async removeRouterInterface(id) { drop(must(farm.routers.find((r) => r.interfaces.some((i) => i.id === id)), 'interface').interfaces, id, 'interface'); bump(); },
    async addStaticRoute(s) {
      const route = { id: nextId(), routerId: s.routerId, destination: s.destination, nextHop: s.nextHop, metric: s.metric ?? 1 };
      must(farm.routers.find((r) => r.id === s.routerId), 'router').staticRoutes.push(route);
      bump();
      return route;
    },
    async removeStaticRoute(id) { drop(must(farm.routers.find((r) => r.staticRoutes.some((x) => x.id === id)), 'route').staticRoutes, id, 'route'); bump(); },
    async link(s) {
      const l = { id: nextId(), farmId: farm.id, routerAId: s.routerAId, routerBId: s.routerBId, cidr: s.cidr ?? '10.255.0.0/30', ipA: s.ipA ?? '10.255.0.1', ipB: s.ipB ?? '10.255.0.2', rip: s.rip ?? false };
      farm.routerLinks.push(l);
      bump();
      return l;
    },
    async unlink(id) { drop(farm.routerLinks, id, 'link'); bump(); },
    async createFirewall(s) {
      const id = nextId();
      const f = {
        id, farmId: farm.id, name: s.name, hostId: s.hostId ?? null, hostName: null, defaultPolicy: s.defaultPolicy ?? 'deny' as const, createdAt: t, updatedAt: t,
        interfaces: (s.interfaces ?? []).map((i) => ({ id: nextId(), firewallId: id, name: i.name, vnetId: i.vnetId, ip: i.ip ?? '10.0.0.2', prefixLen: i.prefixLen ?? 24, mac: i.mac ?? mac() })),
        rules: [] as FarmDetail['firewalls'][number]['rules'],
      };
      farm.firewalls.push(f);
      if (s.rules) await ops.setRules(id, s.rules);
      bump();
      return f;
    },
    async updateFirewall(id, p) { Object.assign(must(farm.firewalls.find((v) => v.id === id), 'firewall'), p); bump(); },
    async deleteFirewall(id) { drop(farm.firewalls, id, 'firewall'); bump(); },
    async addFirewallInterface(s) {
      const fw = must(farm.firewalls.find((x) => x.id === s.firewallId), 'firewall');
      const i = { id: nextId(), firewallId: fw.id, name: s.name, vnetId: s.vnetId, ip: s.ip ?? '10.0.0.2', prefixLen: s.prefixLen ?? 24, mac: s.mac ?? mac() };
      fw.interfaces.push(i);
      bump();
      return i;
    },
    async removeFirewallInterface(id) { drop(must(farm.firewalls.find((f) => f.interfaces.some((i) => i.id === id)), 'interface').interfaces, id, 'interface'); bump(); },
    async setRules(firewallId, rules) {
      const fw = must(farm.firewalls.find((f) => f.id === firewallId), 'firewall');
      fw.rules = rules.map((r, i) => ({
        id: nextId(), position: i, action: r.action, protocol: r.protocol ?? 'any', source: r.source ?? '0.0.0.0/0', destination: r.destination ?? '0.0.0.0/0',
        portFrom: r.portFrom ?? null, portTo: r.portTo ?? null, interfaceId: null, interface: r.interface ?? null, log: r.log ?? false, description: r.description ?? '',
      }));
      bump();
      return fw;
    },
  };
  return { farm, ops };
}

/** The farm without ids, so a re-created object compares equal to the original. */
function shape(f: FarmDetail) {
  const vnetName = (id: string) => f.vnets.find((v) => v.id === id)?.name ?? `?${id}`;
  const routerName = (id: string) => f.routers.find((r) => r.id === id)?.name ?? `?${id}`;
  return {
    vnets: f.vnets.map((v) => `${v.name} ${v.cidr} ${v.vnid}`).sort(),
    vms: f.vms.map((vm) => `${vm.name}: ${vm.vifs.map((x) => `${vnetName(x.vnetId)} ${x.mac} ${x.ip}`).join(', ')}`).sort(),
    routers: f.routers.map((r) => `${r.name}: ${r.interfaces.map((i) => `${vnetName(i.vnetId)} ${i.ip}/${i.prefixLen}`).join(', ')} routes ${r.staticRoutes.map((s) => s.destination).join(',')}`).sort(),
    links: f.routerLinks.map((l) => `${routerName(l.routerAId)}-${routerName(l.routerBId)} ${l.cidr}`).sort(),
    firewalls: f.firewalls.map((w) => `${w.name} ${w.defaultPolicy}: ${w.interfaces.map((i) => `${i.name}@${vnetName(i.vnetId)}`).join(',')} rules ${w.rules.length}`).sort(),
  };
}

const place = () => {};

describe('designer commands', () => {
  it('deletes a vnet with everything attached and brings it all back on undo; earlier commands still reach the new ids', async () => {
    const { farm, ops } = fakeFarm();
    const stack = new CommandStack();
    const ids: Record<string, string> = {};
    const keep = (k: string) => (id: string) => (ids[k] = id);
    await stack.run(addNodeCommand(ops, { kind: 'vnet', name: 'front', cidr: '10.1.0.0/24' }, { x: 0, y: 0 }, place, keep('vnet')));
    await stack.run(addNodeCommand(ops, { kind: 'vm', name: 'web' }, { x: 0, y: 0 }, place, keep('vm')));
    await stack.run(addNodeCommand(ops, { kind: 'router', name: 'gw' }, { x: 0, y: 0 }, place, keep('router')));
    await stack.run(addNodeCommand(ops, { kind: 'firewall', name: 'fw' }, { x: 0, y: 0 }, place, keep('fw')));
    await stack.run(connectCommand(ops, { op: 'vif', vmId: ids.vm!, vnetId: ids.vnet! }, 'eth0'));
    await stack.run(connectCommand(ops, { op: 'routerInterface', routerId: ids.router!, vnetId: ids.vnet! }, 'eth0'));
    await stack.run(connectCommand(ops, { op: 'firewallInterface', firewallId: ids.fw!, vnetId: ids.vnet! }, 'eth0'));
    const full = shape(farm);

    await stack.run(deleteCommand(ops, structuredClone(farm), findInFarm(farm, ids.vnet!)!, place, () => undefined));
    expect(farm.vnets).toHaveLength(0);
    expect(farm.vms[0]!.vifs).toHaveLength(0);

    await stack.undo();
    expect(shape(farm)).toEqual(full);
    expect(farm.vnets[0]!.id).not.toBe(ids.vnet); // re-created

    // Undo the three connects: each must find the re-created edge by its old id.
    await stack.undo();
    await stack.undo();
    await stack.undo();
    expect(farm.vms[0]!.vifs).toHaveLength(0);
    expect(farm.routers[0]!.interfaces).toHaveLength(0);
    expect(farm.firewalls[0]!.interfaces).toHaveLength(0);

    // And all the way forward again.
    for (let i = 0; i < 4; i++) await stack.redo();
    expect(farm.vnets).toHaveLength(0);
    await stack.undo();
    expect(shape(farm)).toEqual(full);
  });

  it('brings back a router with its interfaces, static routes and links', async () => {
    const { farm, ops } = fakeFarm();
    const a = await ops.createVnet({ name: 'a', cidr: '10.1.0.0/24' });
    const r1 = await ops.createRouter({ name: 'r1', interfaces: [{ vnetId: a.id, ip: '10.1.0.1' }] });
    const r2 = await ops.createRouter({ name: 'r2' });
    await ops.link({ routerAId: r1.id, routerBId: r2.id, cidr: '10.9.0.0/30' });
    await ops.addStaticRoute({ routerId: r1.id, destination: '10.50.0.0/16', nextHop: '10.9.0.2' });
    const before = shape(farm);
    const stack = new CommandStack();
    await stack.run(deleteCommand(ops, structuredClone(farm), findInFarm(farm, r1.id)!, place, () => undefined));
    expect(shape(farm).links).toEqual([]);
    await stack.undo();
    expect(shape(farm)).toEqual(before);
    // Deleting r2 now, then undoing, re-links with the re-created r1.
    await stack.run(deleteCommand(ops, structuredClone(farm), findInFarm(farm, r2.id)!, place, () => undefined));
    await stack.undo();
    expect(shape(farm)).toEqual(before);
  });

  it('brings back a VM with its VIFs (same MAC and IP) and a firewall with its rules', async () => {
    const { farm, ops } = fakeFarm();
    const a = await ops.createVnet({ name: 'a', cidr: '10.1.0.0/24' });
    const vm = await ops.createVm({ name: 'web', vifs: [{ vnetId: a.id, mac: '02:aa:00:00:00:01', ip: '10.1.0.7' }] });
    const fw = await ops.createFirewall({ name: 'fw', interfaces: [{ name: 'eth0', vnetId: a.id }] });
    await ops.setRules(fw.id, [{ action: 'allow', protocol: 'tcp', portFrom: 80, portTo: 80, interface: 'eth0' }]);
    const before = shape(farm);
    const stack = new CommandStack();
    await stack.run(deleteCommand(ops, structuredClone(farm), findInFarm(farm, vm.id)!, place, () => undefined));
    await stack.run(deleteCommand(ops, structuredClone(farm), findInFarm(farm, fw.id)!, place, () => undefined));
    expect(farm.vms).toHaveLength(0);
    await stack.undo();
    await stack.undo();
    expect(shape(farm)).toEqual(before);
    expect(farm.firewalls[0]!.rules[0]).toMatchObject({ action: 'allow', protocol: 'tcp', portFrom: 80, interface: 'eth0' });
  });

  it('edits only changed fields and restores the old values on undo', async () => {
    const { farm, ops } = fakeFarm();
    const a = await ops.createVnet({ name: 'a', cidr: '10.1.0.0/24' });
    const vm = await ops.createVm({ name: 'web', vifs: [{ vnetId: a.id, ip: '10.1.0.7' }] });
    const vif = vm.vifs[0]!;
    const { before, after } = changedFields({ mac: vif.mac, ip: vif.ip }, { mac: vif.mac, ip: '10.1.0.8' });
    expect(before).toEqual({ ip: '10.1.0.7' });
    expect(after).toEqual({ ip: '10.1.0.8' });
    const stack = new CommandStack();
    await stack.run(editCommand(ops, { kind: 'vif', id: vif.id, before, after }, 'change IP'));
    expect(farm.vms[0]!.vifs[0]!.ip).toBe('10.1.0.8');
    await stack.undo();
    expect(farm.vms[0]!.vifs[0]!.ip).toBe('10.1.0.7');
  });

  it('places a re-created node where it was', async () => {
    const { farm, ops } = fakeFarm();
    const v = await ops.createVnet({ name: 'a', cidr: '10.1.0.0/24' });
    const placed: [string, { x: number; y: number }][] = [];
    const stack = new CommandStack();
    await stack.run(deleteCommand(ops, structuredClone(farm), findInFarm(farm, v.id)!, (id, p) => placed.push([id, p]), () => ({ x: 3, y: 4 })));
    await stack.undo();
    expect(placed).toEqual([[farm.vnets[0]!.id, { x: 3, y: 4 }]]);
  });
});
