// The rows of a farm document: every table a farm's intent lives in, written
// from a checked document (farmDocumentCheck.ts) whose database references
// were resolved (farmImport.ts checkDocumentRefs). Import writes them all;
// applying a document to a stored farm (farmApply.ts) keeps the farm's vnets,
// VMs, routers and firewalls that the document names again (their ids, which
// name them on hosts, and what hangs off them: keys, locations), updates them
// itself, and has this write every child row again, a kept VIF with its id
// and number.
import { randomUUID } from 'node:crypto';
import { insertRows } from '../db/bulkInsert.ts';
import type { Tx } from './farmAccess.ts';
import type { Position } from './farmDocument.ts';
import type { ResolvedDocument } from './farmDocumentCheck.ts';
import type { DocumentRefs } from './farmImport.ts';

/** Rows a stored farm keeps, by name (VIFs by `vifKey`). */
export interface KeptRows {
  vnets: ReadonlyMap<string, string>;
  vms: ReadonlyMap<string, string>;
  routers: ReadonlyMap<string, string>;
  firewalls: ReadonlyMap<string, string>;
  vifs: ReadonlyMap<string, { id: string; serial: number }>;
  securityGroups: ReadonlyMap<string, string>;
}

export const vifKey = (vm: string, vif: string) => `${vm}\u0000${vif}`;

export const NOTHING_KEPT: KeptRows = {
  vnets: new Map(), vms: new Map(), routers: new Map(), firewalls: new Map(), vifs: new Map(), securityGroups: new Map(),
};

/**
 * Inserts the document's rows into farm `farmId` (parents in `kept` are
 * not inserted: they exist) and answers the document's layout by node id.
 */
export async function insertDocumentRows(
  tx: Tx, farmId: string, doc: ResolvedDocument, refs: DocumentRefs, kept: KeptRows = NOTHING_KEPT,
): Promise<Record<string, Position>> {
  const vnetIds = new Map<string, string>();
  const vnetRows = doc.vnets.map((v, i) => {
    const id = kept.vnets.get(v.name) ?? randomUUID();
    vnetIds.set(v.name, id);
    return { id, farmId, vnid: BigInt(refs.vnids[i]!), name: v.name, cidr: v.cidr, mtu: v.mtu, security: v.security, dhcp: v.dhcp };
  });
  const vnetId = (name: string) => vnetIds.get(name)!;
  const vlanRows = doc.vnets.flatMap((v) =>
    v.vlans.map((l) => ({ id: randomUUID(), vnetId: vnetId(v.name), hostId: refs.hostId(l.host)!, interface: l.interface, vid: l.vid })),
  );

  const nodeIds = new Map<string, string>(doc.vnets.map((v) => [`vnet:${v.name}`, vnetIds.get(v.name)!]));
  const vmRows = doc.vms.map((vm) => {
    const id = kept.vms.get(vm.name) ?? randomUUID();
    nodeIds.set(`vm:${vm.name}`, id);
    return {
      id, farmId, name: vm.name, hostId: refs.hostId(vm.host), guestKind: vm.guestKind,
      bandwidthMbps: vm.bandwidthMbps ?? null, burstKb: vm.burstKb ?? null,
    };
  });
  const vifRows = doc.vms.flatMap((vm, i) =>
    vm.vifs.map((f) => {
      const old = kept.vifs.get(vifKey(vm.name, f.name));
      return { id: old?.id ?? randomUUID(), serial: old?.serial, vmId: vmRows[i]!.id, vnetId: vnetId(f.vnet), name: f.name, mac: f.mac, ip: f.ip };
    }),
  );

  const routerIds = new Map<string, string>();
  const routerRows = doc.routers.map((r) => {
    const id = kept.routers.get(r.name) ?? randomUUID();
    routerIds.set(r.name, id);
    nodeIds.set(`router:${r.name}`, id);
    return { id, farmId, name: r.name, hostId: refs.hostId(r.host) };
  });
  const routerIfRows = doc.routers.flatMap((r) =>
    r.interfaces.map((x) => ({
      id: randomUUID(), routerId: routerIds.get(r.name)!, vnetId: vnetId(x.vnet), ip: x.ip, prefixLen: x.prefixLen, mac: x.mac, rip: x.rip,
    })),
  );
  const routeRows = doc.routers.flatMap((r) =>
    r.staticRoutes.map((s) => ({ id: randomUUID(), routerId: routerIds.get(r.name)!, ...s })),
  );
  const linkRows = doc.routerLinks.map((l) => ({
    id: randomUUID(), farmId, routerAId: routerIds.get(l.a)!, routerBId: routerIds.get(l.b)!, cidr: l.cidr, ipA: l.ipA, ipB: l.ipB, rip: l.rip,
  }));

  const fwRows = doc.firewalls.map((f) => {
    const id = kept.firewalls.get(f.name) ?? randomUUID();
    nodeIds.set(`firewall:${f.name}`, id);
    return { id, farmId, name: f.name, hostId: refs.hostId(f.host), defaultPolicy: f.defaultPolicy };
  });
  const fwIfIds = new Map<string, string>();
  const fwIfRows = doc.firewalls.flatMap((f, i) =>
    f.interfaces.map((x) => {
      const id = randomUUID();
      fwIfIds.set(`${i}\u0000${x.name}`, id);
      return { id, firewallId: fwRows[i]!.id, name: x.name, vnetId: vnetId(x.vnet), ip: x.ip, prefixLen: x.prefixLen, mac: x.mac };
    }),
  );
  const ruleRows = doc.firewalls.flatMap((f, i) =>
    f.rules.map((r, position) => ({
      id: randomUUID(), firewallId: fwRows[i]!.id, position, action: r.action, protocol: r.protocol, source: r.source,
      destination: r.destination, portFrom: r.portFrom, portTo: r.portTo,
      interfaceId: r.interface === null ? null : fwIfIds.get(`${i}\u0000${r.interface}`)!, log: r.log, description: r.description,
    })),
  );

  const groupIds = new Map(doc.securityGroups.map((g) => [g.name, kept.securityGroups.get(g.name) ?? randomUUID()]));
  const groupRows = doc.securityGroups.map((g) => ({ id: groupIds.get(g.name)!, farmId, name: g.name, description: g.description }));
  const securityRuleRows = doc.securityGroups.flatMap((g) =>
    g.rules.map((r, position) => ({
      id: randomUUID(), groupId: groupIds.get(g.name)!, position, direction: r.direction, protocol: r.protocol, portFrom: r.portFrom,
      portTo: r.portTo, icmpType: r.icmpType, icmpCode: r.icmpCode, remoteCidr: r.remoteCidr,
      remoteGroupId: r.remoteGroup === null ? null : groupIds.get(r.remoteGroup)!, description: r.description,
    })),
  );
  let vifAt = 0;
  const membershipRows = doc.vms.flatMap((vm) =>
    vm.vifs.flatMap((f) => {
      const vifId = vifRows[vifAt++]!.id;
      return f.securityGroups.map((n) => ({ vifId, groupId: groupIds.get(n)! }));
    }),
  );

  // Parents before children; a few statements per table whatever the farm's size (bulkInsert.ts).
  const touched = { updatedAt: true };
  await insertRows(tx, 'Vnet', { id: 'uuid', farmId: 'uuid', vnid: 'int8', name: 'text', cidr: 'text', mtu: 'int4', security: '"VnetSecurity"', dhcp: 'jsonb' }, vnetRows.filter((r) => !kept.vnets.has(r.name)), touched);
  await insertRows(tx, 'VnetVlan', { id: 'uuid', vnetId: 'uuid', hostId: 'uuid', interface: 'text', vid: 'int4' }, vlanRows);
  await insertRows(
    tx, 'Vm',
    { id: 'uuid', farmId: 'uuid', name: 'text', hostId: 'uuid', guestKind: '"GuestKind"', bandwidthMbps: 'int4', burstKb: 'int4' },
    vmRows.filter((r) => !kept.vms.has(r.name)), touched,
  );
  const vifColumns = { id: 'uuid', vmId: 'uuid', vnetId: 'uuid', name: 'text', mac: 'text', ip: 'text' } as const;
  // A VIF the farm keeps keeps its number too: it names the VIF's TAP device on hosts.
  await insertRows(tx, 'Vif', vifColumns, vifRows.filter((r) => r.serial === undefined).map(({ serial: _s, ...r }) => r), touched);
  await insertRows(tx, 'Vif', { ...vifColumns, serial: 'int4' }, vifRows.filter((r) => r.serial !== undefined), touched);
  await insertRows(tx, 'Router', { id: 'uuid', farmId: 'uuid', name: 'text', hostId: 'uuid' }, routerRows.filter((r) => !kept.routers.has(r.name)), touched);
  await insertRows(
    tx, 'RouterInterface',
    { id: 'uuid', routerId: 'uuid', vnetId: 'uuid', ip: 'text', prefixLen: 'int4', mac: 'text', rip: 'bool' },
    routerIfRows, touched,
  );
  await insertRows(tx, 'StaticRoute', { id: 'uuid', routerId: 'uuid', destination: 'text', nextHop: 'text', metric: 'int4' }, routeRows);
  await insertRows(
    tx, 'RouterLink',
    { id: 'uuid', farmId: 'uuid', routerAId: 'uuid', routerBId: 'uuid', cidr: 'text', ipA: 'text', ipB: 'text', rip: 'bool' },
    linkRows,
  );
  await insertRows(tx, 'Firewall', { id: 'uuid', farmId: 'uuid', name: 'text', hostId: 'uuid', defaultPolicy: '"FirewallAction"' }, fwRows.filter((r) => !kept.firewalls.has(r.name)), touched);
  await insertRows(
    tx, 'FirewallInterface',
    { id: 'uuid', firewallId: 'uuid', name: 'text', vnetId: 'uuid', ip: 'text', prefixLen: 'int4', mac: 'text' },
    fwIfRows,
  );
  await insertRows(
    tx, 'FirewallRule',
    {
      id: 'uuid', firewallId: 'uuid', position: 'int4', action: '"FirewallAction"', protocol: '"FirewallProtocol"', source: 'text',
      destination: 'text', portFrom: 'int4', portTo: 'int4', interfaceId: 'uuid', log: 'bool', description: 'text',
    },
    ruleRows,
  );
  await insertRows(
    tx, 'SecurityGroup', { id: 'uuid', farmId: 'uuid', name: 'text', description: 'text' },
    groupRows.filter((r) => !kept.securityGroups.has(r.name)), touched,
  );
  await insertRows(
    tx, 'SecurityRule',
    {
      id: 'uuid', groupId: 'uuid', position: 'int4', direction: '"SecurityDirection"', protocol: '"FirewallProtocol"', portFrom: 'int4',
      portTo: 'int4', icmpType: 'int4', icmpCode: 'int4', remoteCidr: 'text', remoteGroupId: 'uuid', description: 'text',
    },
    securityRuleRows,
  );
  await insertRows(tx, 'VifSecurityGroup', { vifId: 'uuid', groupId: 'uuid' }, membershipRows);

  return Object.fromEntries(
    Object.entries(doc.layout).flatMap(([key, p]) => {
      const id = nodeIds.get(key);
      return id ? [[id, { x: p.x, y: p.y }]] : [];
    }),
  );
}
