// Applying a whole farm document (farm.applyDocument, the CLI's `apply`):
// the farm named by the document is created when the tenant has none of that
// name, else brought to exactly what the document says, in one transaction
// and one revision. Items are matched by name: a vnet, VM, router or firewall
// named again keeps its id (what names it on hosts, its keys and location)
// and a VIF named again on the same VM keeps its id and number. A document
// equal to what is stored changes nothing, not even the revision. A refused
// document writes nothing.
import { randomUUID } from 'node:crypto';
import { writeAudit } from '../audit/audit.ts';
import { conflict } from '../errors.ts';
import { bumpRevision, IMPORT_TX, withFieldPrefix, type FarmRef, type ServiceCtx, type Tx } from './farmAccess.ts';
import { toFarmDocument, type FarmDocument } from './farmDocument.ts';
import { checkFarmDocument, type ResolvedDocument } from './farmDocumentCheck.ts';
import { checkDocumentRefs, writeFarmDocument, type DocumentRefs } from './farmImport.ts';
import { insertDocumentRows, vifKey, type KeptRows } from './farmRows.ts';
import { writeDocumentLegs } from './legDocument.ts';
import { canonicalDocument, diffDocuments, diffLayout, fillFromStored, type DocumentChange } from './documentDiff.ts';
import { loadFarmDetail, loadPositions } from './farmViews.ts';

export interface StoredFarm {
  farm: FarmRef;
  /** As farm.export shows it. */
  document: FarmDocument;
  rows: KeptRows;
}

/** The tenant's farm of that name, with its document and row ids; null when there is none. */
export async function loadStoredFarm(tx: Tx, tenantId: string, name: string, lock = false): Promise<StoredFarm | null> {
  const select = { id: true, tenantId: true, name: true, revision: true, deployedRevision: true } as const;
  const found = await tx.farm.findFirst({ where: { tenantId, name }, select });
  if (!found) return null;
  // The row lock keeps concurrent edits out between this read and the write.
  if (lock) await tx.$queryRawUnsafe('SELECT 1 AS locked FROM "Farm" WHERE id = $1::uuid FOR UPDATE', found.id);
  const farm = lock ? ((await tx.farm.findUnique({ where: { id: found.id }, select })) ?? found) : found;
  const where = { farmId: farm.id };
  // One after another: a transaction's statements share its one connection.
  const vnets = await tx.vnet.findMany({ where, select: { id: true, name: true } });
  const vms = await tx.vm.findMany({ where, select: { id: true, name: true } });
  const routers = await tx.router.findMany({ where, select: { id: true, name: true } });
  const firewalls = await tx.firewall.findMany({ where, select: { id: true, name: true } });
  const vifs = await tx.vif.findMany({ where: { vm: where }, select: { id: true, serial: true, name: true, vm: { select: { name: true } } } });
  const groups = await tx.securityGroup.findMany({ where, select: { id: true, name: true } });
  const named = (xs: { id: string; name: string }[]) => new Map(xs.map((x) => [x.name, x.id]));
  const rows: KeptRows = {
    vnets: named(vnets), vms: named(vms), routers: named(routers), firewalls: named(firewalls),
    vifs: new Map(vifs.map((v) => [vifKey(v.vm.name, v.name), { id: v.id, serial: v.serial }])),
    securityGroups: named(groups),
  };
  const document = toFarmDocument(await loadFarmDetail(tx, farm.id), await loadPositions(tx, farm.id));
  return { farm, document, rows };
}

export interface DocumentComparison {
  resolved: ResolvedDocument;
  changes: DocumentChange[];
}

/** Checks `doc` as a whole (errors on `document.<path>`) and lists what it changes against `stored`. */
export function compareDocument(doc: FarmDocument, stored: StoredFarm | null): DocumentComparison {
  const resolved = withFieldPrefix('document.', () => checkFarmDocument(fillFromStored(doc, stored?.document ?? null)));
  if (!stored) return { resolved, changes: diffDocuments(null, canonicalDocument(resolved)) };
  const before = canonicalDocument(checkFarmDocument(stored.document));
  const changes = [
    ...diffDocuments(before, canonicalDocument(resolved)),
    ...diffLayout(stored.farm.name, stored.document.layout, doc.layout),
  ];
  return { resolved, changes };
}

/** The stored rows the resolved document names again. */
export function keptRows(rows: KeptRows, doc: ResolvedDocument): KeptRows {
  const keep = <V>(m: ReadonlyMap<string, V>, names: string[]) => new Map(names.flatMap((n) => (m.has(n) ? [[n, m.get(n)!] as const] : [])));
  return {
    vnets: keep(rows.vnets, doc.vnets.map((v) => v.name)),
    vms: keep(rows.vms, doc.vms.map((v) => v.name)),
    routers: keep(rows.routers, doc.routers.map((r) => r.name)),
    firewalls: keep(rows.firewalls, doc.firewalls.map((f) => f.name)),
    vifs: keep(rows.vifs, doc.vms.flatMap((vm) => vm.vifs.map((f) => vifKey(vm.name, f.name)))),
    securityGroups: keep(rows.securityGroups, doc.securityGroups.map((g) => g.name)),
  };
}

/**
 * Rewrites a stored farm's rows to `doc`: items it no longer names go, kept
 * vnets, VMs, routers and firewalls are updated in place, every child row is
 * written again (kept VIFs with their ids and numbers).
 */
async function rewriteFarm(tx: Tx, stored: StoredFarm, doc: ResolvedDocument, refs: DocumentRefs): Promise<void> {
  const farmId = stored.farm.id;
  const kept = keptRows(stored.rows, doc);
  const gone = (m: ReadonlyMap<string, string>, k: ReadonlyMap<string, string>) => [...m].filter(([n]) => !k.has(n)).map(([, id]) => id);
  // External legs are written again like every child row; one on the same network keeps its vnet id.
  const legs = await tx.externalLeg.findMany({
    where: { farmId },
    select: { vnid: true, externalNetwork: { select: { name: true } }, router: { select: { name: true } }, firewall: { select: { name: true } } },
  });
  const legVnids = new Map<string, bigint>();
  for (const l of legs) {
    const key = l.router ? `router:${l.router.name}` : `firewall:${l.firewall?.name ?? ''}`;
    const wanted = l.router ? doc.routers.find((r) => r.name === l.router!.name) : doc.firewalls.find((f) => f.name === l.firewall?.name);
    if (wanted?.external?.network === l.externalNetwork.name) legVnids.set(key, l.vnid);
  }
  await tx.externalLeg.deleteMany({ where: { farmId } });
  await tx.vnet.deleteMany({ where: { id: { in: gone(stored.rows.vnets, kept.vnets) } } });
  await tx.vm.deleteMany({ where: { id: { in: gone(stored.rows.vms, kept.vms) } } });
  await tx.router.deleteMany({ where: { id: { in: gone(stored.rows.routers, kept.routers) } } });
  await tx.firewall.deleteMany({ where: { id: { in: gone(stored.rows.firewalls, kept.firewalls) } } });
  // Groups named again keep their ids (their ids on hosts); their rules and every membership are written again.
  await tx.securityGroup.deleteMany({ where: { id: { in: gone(stored.rows.securityGroups, kept.securityGroups) } } });
  await tx.securityRule.deleteMany({ where: { group: { farmId } } });
  await tx.vif.deleteMany({ where: { vm: { farmId } } });
  await tx.vnetVlan.deleteMany({ where: { vnet: { farmId } } });
  await tx.staticRoute.deleteMany({ where: { router: { farmId } } });
  await tx.routerInterface.deleteMany({ where: { router: { farmId } } });
  await tx.routerLink.deleteMany({ where: { farmId } });
  await tx.firewallRule.deleteMany({ where: { firewall: { farmId } } });
  await tx.firewallInterface.deleteMany({ where: { firewall: { farmId } } });
  await tx.farm.update({ where: { id: farmId }, data: { description: doc.description, securityGroupMode: doc.securityGroupMode }, select: { id: true } });
  for (const g of doc.securityGroups) {
    const id = kept.securityGroups.get(g.name);
    if (id) await tx.securityGroup.update({ where: { id }, data: { description: g.description }, select: { id: true } });
  }

  // Vnet ids are unique across the deployment: ids that move between kept vnets pass through negative ones first.
  const vnetUpdates = doc.vnets.flatMap((v, i) => {
    const id = kept.vnets.get(v.name);
    return id ? [{ id, v, vnid: BigInt(refs.vnids[i]!) }] : [];
  });
  for (const [i, u] of vnetUpdates.entries()) await tx.vnet.update({ where: { id: u.id }, data: { vnid: BigInt(-1 - i) }, select: { id: true } });
  for (const u of vnetUpdates) {
    const { cidr, mtu, security, dhcp } = u.v;
    await tx.vnet.update({ where: { id: u.id }, data: { vnid: u.vnid, cidr, mtu, security, dhcp }, select: { id: true } });
  }
  const before = new Map(stored.document.vms.map((vm) => [vm.name, vm]));
  for (const vm of doc.vms) {
    const id = kept.vms.get(vm.name);
    const was = before.get(vm.name);
    if (!id || !was) continue;
    const data = { host: vm.host, guestKind: vm.guestKind, bandwidthMbps: vm.bandwidthMbps ?? null, burstKb: vm.burstKb ?? null };
    const old = { host: was.host, guestKind: was.guestKind, bandwidthMbps: was.bandwidthMbps ?? null, burstKb: was.burstKb ?? null };
    if (JSON.stringify(data) === JSON.stringify(old)) continue;
    await tx.vm.update({
      where: { id },
      data: { hostId: refs.hostId(vm.host), guestKind: vm.guestKind, bandwidthMbps: data.bandwidthMbps, burstKb: data.burstKb },
      select: { id: true },
    });
  }
  for (const r of doc.routers) {
    const id = kept.routers.get(r.name);
    if (id) await tx.router.update({ where: { id }, data: { hostId: refs.hostId(r.host) }, select: { id: true } });
  }
  for (const f of doc.firewalls) {
    const id = kept.firewalls.get(f.name);
    if (id) await tx.firewall.update({ where: { id }, data: { hostId: refs.hostId(f.host), defaultPolicy: f.defaultPolicy }, select: { id: true } });
  }
  const positions = await insertDocumentRows(tx, farmId, doc, refs, kept);
  await writeDocumentLegs(tx, farmId, doc, 'document.', legVnids);
  // An empty layout in the document keeps the designer's positions (those of removed items are ignored on read).
  if (Object.keys(doc.layout).length) {
    await tx.designerLayout.upsert({ where: { farmId }, create: { farmId, positions }, update: { positions }, select: { farmId: true } });
  }
}

/** The document's layout as the farm's positions, by the ids of the stored items it names. */
async function saveLayout(tx: Tx, stored: StoredFarm, doc: ResolvedDocument): Promise<void> {
  const ids = new Map<string, string>();
  const kinds = [['vnet', stored.rows.vnets], ['vm', stored.rows.vms], ['router', stored.rows.routers], ['firewall', stored.rows.firewalls]] as const;
  for (const [kind, rows] of kinds) for (const [name, id] of rows) ids.set(`${kind}:${name}`, id);
  const positions = Object.fromEntries(Object.entries(doc.layout).flatMap(([key, p]) => (ids.has(key) ? [[ids.get(key)!, { x: p.x, y: p.y }]] : [])));
  const farmId = stored.farm.id;
  await tx.designerLayout.upsert({ where: { farmId }, create: { farmId, positions }, update: { positions }, select: { farmId: true } });
}

export interface ApplyResult {
  farmId: string;
  name: string;
  /** The farm's revision after the call (unchanged when nothing changed). */
  revision: number;
  created: boolean;
  changed: boolean;
  changes: DocumentChange[];
}

/**
 * Applies `document`. `expectedRevision`: the farm's revision the caller
 * planned against (CONFLICT when it moved); null: the farm must not exist
 * yet; omitted: whatever is stored when the call runs.
 */
export async function applyFarmDocument(
  o: ServiceCtx & { document: FarmDocument; expectedRevision?: number | null | undefined },
): Promise<ApplyResult> {
  const { actor, document } = o;
  return o.db.$transaction(async (tx) => {
    const stored = await loadStoredFarm(tx, actor.tenantId, document.name, true);
    if (!stored) {
      if (typeof o.expectedRevision === 'number') {
        throw conflict('expectedRevision', `farm ${document.name} no longer exists (it was expected at revision ${o.expectedRevision})`);
      }
      const { resolved, changes } = compareDocument(document, null);
      const farmId = await writeFarmDocument(tx, resolved, { actor, prefix: 'document.', nameField: 'document.name', vnids: 'keep' });
      await writeAudit(tx, { actor, action: 'farm.apply', entity: 'farm', entityId: farmId, after: { created: true, changes: changes.length } });
      return { farmId, name: document.name, revision: 1, created: true, changed: true, changes };
    }
    const { farm } = stored;
    if (o.expectedRevision === null) {
      throw conflict('expectedRevision', `a farm named "${farm.name}" was created meanwhile (revision ${farm.revision})`, { revision: farm.revision });
    }
    if (o.expectedRevision !== undefined && o.expectedRevision !== farm.revision) {
      throw conflict(
        'expectedRevision',
        `the farm changed since revision ${o.expectedRevision} (it is now at ${farm.revision}); plan again and retry`,
        { revision: farm.revision },
      );
    }
    const { resolved, changes } = compareDocument(document, stored);
    if (!changes.length) return { farmId: farm.id, name: farm.name, revision: farm.revision, created: false, changed: false, changes };
    if (changes.every((c) => c.kind === 'layout')) {
      // Positions only: like the designer's saveLayout, not an edit of the intent (no revision).
      await saveLayout(tx, stored, resolved);
      return { farmId: farm.id, name: farm.name, revision: farm.revision, created: false, changed: true, changes };
    }
    const revision = await bumpRevision(tx, farm, farm.revision);
    const refs = await checkDocumentRefs(tx, resolved, {
      actor, prefix: 'document.', nameField: 'document.name', vnids: 'keep', ownFarmId: farm.id,
    });
    await rewriteFarm(tx, stored, resolved, refs);
    await writeAudit(tx, {
      actor, action: 'farm.apply', entity: 'farm', entityId: farm.id,
      before: { revision: farm.revision }, after: { revision, changes: changes.map((c) => `${c.op} ${c.kind} ${c.name}`) },
    });
    return { farmId: farm.id, name: farm.name, revision, created: false, changed: true, changes };
  }, IMPORT_TX);
}

/**
 * The resolved document as a revision snapshot would carry it: the ids of
 * what the farm keeps, fresh ones for what it adds (a plan's stand-ins).
 */
export function snapshotOf(doc: ResolvedDocument, rows: KeptRows | null, vnids: number[]): FarmDocument {
  const idOf = (m: ReadonlyMap<string, string> | undefined, name: string) => m?.get(name) ?? randomUUID();
  return {
    version: doc.version,
    name: doc.name,
    description: doc.description,
    vnets: doc.vnets.map((v, i) => ({ ...v, vnid: vnids[i] })),
    vms: doc.vms.map((vm) => ({
      ...vm,
      id: idOf(rows?.vms, vm.name),
      vifs: vm.vifs.map((f) => {
        const old = rows?.vifs.get(vifKey(vm.name, f.name));
        return { ...f, id: old?.id ?? randomUUID(), ...(old ? { serial: old.serial } : {}) };
      }),
    })),
    routers: doc.routers.map((r) => ({ ...r, id: idOf(rows?.routers, r.name) })),
    routerLinks: doc.routerLinks,
    firewalls: doc.firewalls.map((f) => ({ ...f, id: idOf(rows?.firewalls, f.name) })),
    securityGroupMode: doc.securityGroupMode,
    securityGroups: doc.securityGroups.map((g) => ({
      ...g, id: idOf(rows?.securityGroups, g.name), rules: g.rules.map((r) => ({ ...r, id: randomUUID() })),
    })),
    layout: doc.layout,
  };
}
