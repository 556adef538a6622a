// Writing a whole farm document into the database (import, clone). The
// document has already passed checkFarmDocument; what remains needs the
// database: the farm's name in the tenant, vnet ids across the deployment,
// host names and what those hosts can run. All of it is checked before the
// first row is written, and everything happens in the caller's transaction,
// so a refused document leaves nothing behind.
import { randomUUID } from 'node:crypto';
import { insertRows } from '../db/bulkInsert.ts';
import { badRequest, conflict } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import type { Tx } from './farmAccess.ts';
import type { ResolvedDocument } from './farmDocumentCheck.ts';
import { cannotRunMessage, checkGuestPlacement } from './placements.ts';
import { allocateVnids, usedVnids } from './ipam.ts';

/** Serialises vnet id allocation across concurrent writers (pg_advisory_xact_lock key). */
const VNID_LOCK_KEY = 0x5d_0001;

export async function lockVnidAllocation(tx: Tx): Promise<void> {
  await tx.$queryRawUnsafe('SELECT 1 AS locked FROM pg_advisory_xact_lock($1::bigint)', VNID_LOCK_KEY);
}

export interface WriteDocumentOptions {
  actor: UserActor;
  /** Where errors point: `document.` for import, `` for clone. */
  prefix: string;
  /** The field that names the farm (`name` when the caller overrode the document's). */
  nameField: string;
  /** `keep`: a vnet id already used elsewhere is a CONFLICT. `auto`: it is replaced by a free one. */
  vnids: 'keep' | 'auto';
  /** Field blamed for vnet i's id. */
  vnidField?: (index: number) => string;
}

/** A VLAN on a host interface carries one vnet, whichever farm or tenant holds the other one. */
async function checkVlansFree(tx: Tx, doc: ResolvedDocument, prefix: string, hostId: (name: string) => string): Promise<void> {
  const wanted = doc.vnets.flatMap((v, i) =>
    v.vlans.map((l, j) => ({ field: `${prefix}vnets.${i}.vlans.${j}.vid`, hostId: hostId(l.host), host: l.host, interface: l.interface, vid: l.vid })),
  );
  if (!wanted.length) return;
  const taken = await tx.vnetVlan.findMany({
    where: { OR: wanted.map((w) => ({ hostId: w.hostId, interface: w.interface, vid: w.vid })) },
    select: { hostId: true, interface: true, vid: true },
  });
  for (const w of wanted) {
    if (taken.some((t) => t.hostId === w.hostId && t.interface === w.interface && t.vid === w.vid)) {
      throw conflict(w.field, `VLAN ${w.vid} on ${w.host} ${w.interface} already carries another vnet`);
    }
  }
}

export async function writeFarmDocument(tx: Tx, doc: ResolvedDocument, opts: WriteDocumentOptions): Promise<string> {
  const { actor, prefix } = opts;
  const vnidField = opts.vnidField ?? ((i: number) => `${prefix}vnets.${i}.vnid`);

  const clash = await tx.farm.findFirst({ where: { tenantId: actor.tenantId, name: doc.name }, select: { id: true } });
  if (clash) throw conflict(opts.nameField, `a farm named "${doc.name}" already exists`);

  // Hosts by name.
  const refs: { field: string; name: string }[] = [];
  doc.vms.forEach((x, i) => x.host !== null && refs.push({ field: `${prefix}vms.${i}.host`, name: x.host }));
  doc.routers.forEach((x, i) => x.host !== null && refs.push({ field: `${prefix}routers.${i}.host`, name: x.host }));
  doc.firewalls.forEach((x, i) => x.host !== null && refs.push({ field: `${prefix}firewalls.${i}.host`, name: x.host }));
  doc.vnets.forEach((v, i) => v.vlans.forEach((l, j) => refs.push({ field: `${prefix}vnets.${i}.vlans.${j}.host`, name: l.host })));
  const hostRows = refs.length
    ? await tx.host.findMany({
        where: { name: { in: [...new Set(refs.map((r) => r.name))] } },
        select: { id: true, name: true, status: true, capabilities: true },
      })
    : [];
  const hosts = new Map(hostRows.map((h) => [h.name, h]));
  for (const r of refs) {
    const h = hosts.get(r.name);
    if (!h) throw badRequest(r.field, `no host named "${r.name}" in this deployment`);
    if (h.status === 'revoked') throw badRequest(r.field, `host ${r.name} is revoked; choose another host`);
  }
  // A VM's guest kind must be one its host declared it runs (unknown hosts pass).
  doc.vms.forEach((vm, i) => {
    if (vm.host === null) return;
    const check = checkGuestPlacement(hosts.get(vm.host)!.capabilities, vm.guestKind);
    if (!check.ok) {
      const details = { host: vm.host, guestKind: vm.guestKind, needs: check.needs };
      throw badRequest(`${prefix}vms.${i}.host`, cannotRunMessage(vm.host, vm.guestKind, check.has), details);
    }
  });
  const hostId = (name: string | null) => (name === null ? null : hosts.get(name)!.id);
  await checkVlansFree(tx, doc, prefix, (name) => hosts.get(name)!.id);

  // Vnet ids are unique across the deployment, whichever tenant holds them.
  await lockVnidAllocation(tx);
  const used = await usedVnids(tx);
  const vnids: (number | undefined)[] = doc.vnets.map((v, i) => {
    if (v.vnid === undefined || !used.has(v.vnid)) return v.vnid;
    if (opts.vnids === 'auto') return undefined;
    throw conflict(vnidField(i), `${v.vnid} is already used by another vnet in this deployment`);
  });
  const taken = new Set([...used, ...vnids.filter((v): v is number => v !== undefined)]);
  const fresh = allocateVnids(taken, vnids.filter((v) => v === undefined).length, vnidField(0));
  const finalVnids = vnids.map((v) => v ?? fresh.shift()!);

  // Nothing below can be refused by a rule; only the database itself could still fail.
  const farmId = randomUUID();
  await tx.farm.create({ data: { id: farmId, tenantId: actor.tenantId, name: doc.name, description: doc.description }, select: { id: true } });

  const vnetIds = new Map<string, string>();
  const vnetRows = doc.vnets.map((v, i) => {
    const id = randomUUID();
    vnetIds.set(v.name, id);
    return { id, farmId, vnid: BigInt(finalVnids[i]!), name: v.name, cidr: v.cidr, mtu: v.mtu, security: v.security, dhcp: v.dhcp };
  });
  const vnetId = (name: string) => vnetIds.get(name)!;
  const vlanRows = doc.vnets.flatMap((v) =>
    v.vlans.map((l) => ({ id: randomUUID(), vnetId: vnetId(v.name), hostId: hostId(l.host)!, interface: l.interface, vid: l.vid })),
  );

  const nodeIds = new Map<string, string>(doc.vnets.map((v) => [`vnet:${v.name}`, vnetIds.get(v.name)!]));
  const vmRows = doc.vms.map((vm) => {
    const id = randomUUID();
    nodeIds.set(`vm:${vm.name}`, id);
    return {
      id, farmId, name: vm.name, hostId: hostId(vm.host), guestKind: vm.guestKind,
      bandwidthMbps: vm.bandwidthMbps ?? null, burstKb: vm.burstKb ?? null,
    };
  });
  const vifRows = doc.vms.flatMap((vm, i) =>
    vm.vifs.map((f) => ({ id: randomUUID(), vmId: vmRows[i]!.id, vnetId: vnetId(f.vnet), name: f.name, mac: f.mac, ip: f.ip })),
  );

  const routerIds = new Map<string, string>();
  const routerRows = doc.routers.map((r) => {
    const id = randomUUID();
    routerIds.set(r.name, id);
    nodeIds.set(`router:${r.name}`, id);
    return { id, farmId, name: r.name, hostId: hostId(r.host) };
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
    const id = randomUUID();
    nodeIds.set(`firewall:${f.name}`, id);
    return { id, farmId, name: f.name, hostId: hostId(f.host), defaultPolicy: f.defaultPolicy };
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

  // Parents before children; a few statements per table whatever the farm's size (bulkInsert.ts).
  const touched = { updatedAt: true };
  await insertRows(tx, 'Vnet', { id: 'uuid', farmId: 'uuid', vnid: 'int8', name: 'text', cidr: 'text', mtu: 'int4', security: '"VnetSecurity"', dhcp: 'jsonb' }, vnetRows, touched);
  await insertRows(tx, 'VnetVlan', { id: 'uuid', vnetId: 'uuid', hostId: 'uuid', interface: 'text', vid: 'int4' }, vlanRows);
  await insertRows(
    tx, 'Vm',
    { id: 'uuid', farmId: 'uuid', name: 'text', hostId: 'uuid', guestKind: '"GuestKind"', bandwidthMbps: 'int4', burstKb: 'int4' },
    vmRows, touched,
  );
  await insertRows(tx, 'Vif', { id: 'uuid', vmId: 'uuid', vnetId: 'uuid', name: 'text', mac: 'text', ip: 'text' }, vifRows, touched);
  await insertRows(tx, 'Router', { id: 'uuid', farmId: 'uuid', name: 'text', hostId: 'uuid' }, routerRows, touched);
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
  await insertRows(tx, 'Firewall', { id: 'uuid', farmId: 'uuid', name: 'text', hostId: 'uuid', defaultPolicy: '"FirewallAction"' }, fwRows, touched);
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

  const positions = Object.fromEntries(
    Object.entries(doc.layout).flatMap(([key, p]) => {
      const id = nodeIds.get(key);
      return id ? [[id, { x: p.x, y: p.y }]] : [];
    }),
  );
  if (Object.keys(positions).length) {
    await tx.designerLayout.create({ data: { farmId, positions }, select: { farmId: true } });
  }
  return farmId;
}
