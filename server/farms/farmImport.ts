// Writing a whole farm document into the database (import, clone). The
// document has already passed checkFarmDocument; what remains needs the
// database: the farm's name in the tenant, vnet ids across the deployment,
// host names and what those hosts can run. All of it is checked before the
// first row is written, and everything happens in the caller's transaction,
// so a refused document leaves nothing behind.
import { randomUUID } from 'node:crypto';
import { badRequest, conflict } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import type { Tx } from './farmAccess.ts';
import type { ResolvedDocument } from './farmDocumentCheck.ts';
import { cannotRunMessage, checkGuestPlacement } from './placements.ts';
import { allocateVnids } from './ipam.ts';
import { heldByOther, vnidHolds, vnidTakenMessage } from './vnidHolds.ts';
import { insertDocumentRows } from './farmRows.ts';

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
  /** A stored farm the document replaces (farm.applyDocument): its own vnet ids and VLANs are not taken. */
  ownFarmId?: string | undefined;
  /** `false`: do not take the vnet id allocation lock (a plan, which writes nothing). */
  lock?: boolean;
}

/** What the database-facing checks resolved: host ids by name, and every vnet's final id (in document order). */
export interface DocumentRefs {
  hostId: (name: string | null) => string | null;
  vnids: number[];
}

/** A VLAN on a host interface carries one vnet, whichever farm or tenant holds the other one. */
async function checkVlansFree(
  tx: Tx, doc: ResolvedDocument, prefix: string, hostId: (name: string) => string, ownFarmId: string | undefined,
): Promise<void> {
  const wanted = doc.vnets.flatMap((v, i) =>
    v.vlans.map((l, j) => ({ field: `${prefix}vnets.${i}.vlans.${j}.vid`, hostId: hostId(l.host), host: l.host, interface: l.interface, vid: l.vid })),
  );
  if (!wanted.length) return;
  const taken = await tx.vnetVlan.findMany({
    where: {
      OR: wanted.map((w) => ({ hostId: w.hostId, interface: w.interface, vid: w.vid })),
      // A farm being rewritten gives up its own bridges first.
      ...(ownFarmId ? { vnet: { farmId: { not: ownFarmId } } } : {}),
    },
    select: { hostId: true, interface: true, vid: true },
  });
  for (const w of wanted) {
    if (taken.some((t) => t.hostId === w.hostId && t.interface === w.interface && t.vid === w.vid)) {
      throw conflict(w.field, `VLAN ${w.vid} on ${w.host} ${w.interface} already carries another vnet`);
    }
  }
}

/**
 * Every check of a document that needs the database, except the farm's name:
 * host names, what those hosts run, VLANs and vnet ids across the deployment.
 * Takes the vnet id allocation lock until the transaction ends (unless `lock: false`).
 */
export async function checkDocumentRefs(tx: Tx, doc: ResolvedDocument, opts: WriteDocumentOptions): Promise<DocumentRefs> {
  const { prefix } = opts;
  const vnidField = opts.vnidField ?? ((i: number) => `${prefix}vnets.${i}.vnid`);

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
  await checkVlansFree(tx, doc, prefix, (name) => hosts.get(name)!.id, opts.ownFarmId);

  // Vnet ids are unique across the deployment, whichever tenant holds them, and
  // stay taken while a deployed revision or stored part still carries them.
  if (opts.lock !== false) await lockVnidAllocation(tx);
  const holds = await vnidHolds(tx);
  const vnids: (number | undefined)[] = doc.vnets.map((v, i) => {
    if (v.vnid === undefined || !heldByOther(holds, v.vnid, opts.ownFarmId)) return v.vnid;
    if (opts.vnids === 'auto') return undefined;
    throw conflict(vnidField(i), vnidTakenMessage(v.vnid));
  });
  const taken = new Set([...holds.all, ...vnids.filter((v): v is number => v !== undefined)]);
  const fresh = allocateVnids(taken, vnids.filter((v) => v === undefined).length, vnidField(0));
  return { hostId, vnids: vnids.map((v) => v ?? fresh.shift()!) };
}

export async function writeFarmDocument(tx: Tx, doc: ResolvedDocument, opts: WriteDocumentOptions): Promise<string> {
  const { actor } = opts;
  const clash = await tx.farm.findFirst({ where: { tenantId: actor.tenantId, name: doc.name }, select: { id: true } });
  if (clash) throw conflict(opts.nameField, `a farm named "${doc.name}" already exists`);
  const refs = await checkDocumentRefs(tx, doc, opts);

  // Nothing below can be refused by a rule; only the database itself could still fail.
  const farmId = randomUUID();
  await tx.farm.create({
    data: { id: farmId, tenantId: actor.tenantId, name: doc.name, description: doc.description, securityGroupMode: doc.securityGroupMode },
    select: { id: true },
  });
  const positions = await insertDocumentRows(tx, farmId, doc, refs);
  if (Object.keys(positions).length) {
    await tx.designerLayout.create({ data: { farmId, positions }, select: { farmId: true } });
  }
  return farmId;
}
