// Farms: the tenant's unit of intent. Listing, the whole-farm read, create,
// rename, delete, and the document operations (export, import, clone).
import { badRequest, conflict } from '../errors.ts';
import { writeAudit } from '../audit/audit.ts';
import {
  requireFarm, WRITE_TX, IMPORT_TX, withFieldPrefix, type ServiceCtx, type Tx,
} from './farmAccess.ts';
import { farmDocumentSchema, toFarmDocument, type FarmDocument } from './farmDocument.ts';
import { checkFarmDocument } from './farmDocumentCheck.ts';
import { writeFarmDocument } from './farmImport.ts';
import type { FarmDetail, FarmSummary } from './farmShapes.ts';
import {
  farmSummarySelect, loadFarmDetail, loadFarmSummary, loadPositions, lockFarmForRead, toFarmSummary,
} from './farmViews.ts';
import { editFarm } from './farmEdit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';
import { checkVnid } from './validate.ts';
import { ensureDefaultGroup } from './securityGroups.ts';
import type { SecurityGroupModeName } from './securityRules.ts';

/** One snapshot for multi-query reads: the farm as of a single moment. */
export const READ_TX = { isolationLevel: 'RepeatableRead' as const, maxWait: 10_000, timeout: 30_000 };

export async function listFarms(o: ServiceCtx & { cursor?: string | undefined; limit: number }) {
  const where = { tenantId: o.actor.tenantId };
  await checkCursor(o.cursor, (id) => o.db.farm.findFirst({ where: { ...where, id }, select: { id: true } }));
  return readFarmPage(o.db, o.actor.tenantId, o);
}

/** One page of a tenant's farm summaries (the cursor, if any, already checked). */
export async function readFarmPage(q: Tx, tenantId: string, page: { cursor?: string | undefined; limit: number }) {
  const rows = await q.farm.findMany({ where: { tenantId }, select: farmSummarySelect, orderBy: ORDER_BY_CREATED, ...pageArgs(page) });
  return toPage(rows.map(toFarmSummary), page);
}

export async function getFarm(o: ServiceCtx & { id: string }): Promise<FarmDetail> {
  return o.db.$transaction(async (tx) => {
    await requireFarm(tx, o.actor, o.id, 'id');
    return loadFarmDetail(tx, o.id);
  }, READ_TX);
}

/** A new, empty farm at revision 1, read back as farm.get shows it. */
export async function createFarm(
  o: ServiceCtx & { name: string; description?: string | undefined; securityGroupMode?: SecurityGroupModeName | undefined },
): Promise<FarmDetail> {
  return o.db.$transaction(async (tx) => {
    await requireFarmNameFree(tx, o.actor.tenantId, o.name);
    // A new farm is like a Neutron project unless asked otherwise: a `default` group its new VIFs join.
    const securityGroupMode = o.securityGroupMode ?? 'default';
    const farm = await tx.farm.create({
      data: { tenantId: o.actor.tenantId, name: o.name, description: o.description ?? '', securityGroupMode },
      select: { id: true },
    });
    if (securityGroupMode === 'default') await ensureDefaultGroup(tx, farm.id);
    const view = await loadFarmDetail(tx, farm.id);
    await writeAudit(tx, { actor: o.actor, action: 'farm.create', entity: 'farm', entityId: farm.id, after: summaryOf(view) });
    return view;
  }, WRITE_TX);
}

/** What the audit trail keeps of a new farm: its summary, not its whole contents (the document is one export away). */
function summaryOf(d: FarmDetail): FarmSummary {
  const { vnets: _v, vms: _m, routers: _r, routerLinks: _l, firewalls: _f, securityGroups: _g, securityGroupMode: _sm, ...summary } = d;
  return summary;
}

async function requireFarmNameFree(tx: Tx, tenantId: string, name: string, exceptId?: string, field = 'name') {
  const clash = await tx.farm.findFirst({
    where: { tenantId, name, ...(exceptId ? { NOT: { id: exceptId } } : {}) },
    select: { id: true },
  });
  if (clash) throw conflict(field, `a farm named "${name}" already exists`);
}

export async function updateFarm(
  o: ServiceCtx & { id: string; expectedRevision: number; name?: string | undefined; description?: string | undefined },
): Promise<{ farmRevision: number; farm: FarmSummary }> {
  return editFarm(o, async ({ tx, bump }) => {
    const farm = await requireFarm(tx, o.actor, o.id, 'id');
    await bump(farm);
    const before = await loadFarmSummary(tx, o.id);
    if (o.name !== undefined) await requireFarmNameFree(tx, o.actor.tenantId, o.name, o.id);
    await tx.farm.update({
      where: { id: o.id },
      data: { ...(o.name !== undefined ? { name: o.name } : {}), ...(o.description !== undefined ? { description: o.description } : {}) },
      select: { id: true },
    });
    const after = await loadFarmSummary(tx, o.id);
    return { result: { farm: after }, audit: { action: 'farm.update', entity: 'farm', entityId: o.id, before, after } };
  });
}

export async function deleteFarm(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const farm = await requireFarm(tx, o.actor, o.id, 'id');
    if (farm.deployedRevision !== null) {
      throw conflict('id', `farm ${farm.name} is deployed (revision ${farm.deployedRevision}); undeploy it first`);
    }
    await bump(farm);
    // The whole document goes into the audit trail, so a deleted farm can be recreated from it.
    const document = toFarmDocument(await loadFarmDetail(tx, o.id), await loadPositions(tx, o.id));
    await tx.farm.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'farm.delete', entity: 'farm', entityId: o.id, before: document } };
  });
}

export async function exportFarm(o: ServiceCtx & { id: string }): Promise<FarmDocument> {
  return o.db.$transaction(async (tx) => {
    await requireFarm(tx, o.actor, o.id, 'id');
    return toFarmDocument(await loadFarmDetail(tx, o.id), await loadPositions(tx, o.id));
  }, READ_TX);
}

/** Parses a document from outside the API (a file, a CLI): errors name `document.<path>`. */
export function parseFarmDocument(value: unknown): FarmDocument {
  const r = farmDocumentSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = ['document', ...issue.path.map(String)].join('.');
  throw badRequest(path, issue.message);
}

/**
 * A new farm from a whole document. Answers with the farm's summary, not the
 * farm itself: a farm at the limits is megabytes of JSON the caller already
 * sent (`farm.get` and `farm.export` read it back).
 */
export async function importFarm(
  o: ServiceCtx & { document: FarmDocument; name?: string | undefined; vnids?: 'keep' | 'auto' | undefined },
): Promise<FarmSummary> {
  const doc = o.name !== undefined ? { ...o.document, name: o.name } : o.document;
  const resolved = withFieldPrefix('document.', () => checkFarmDocument(doc));
  return o.db.$transaction(async (tx) => {
    const farmId = await writeFarmDocument(tx, resolved, {
      actor: o.actor,
      prefix: 'document.',
      nameField: o.name !== undefined ? 'name' : 'document.name',
      vnids: o.vnids ?? 'keep',
    });
    const summary = await loadFarmSummary(tx, farmId);
    await writeAudit(tx, { actor: o.actor, action: 'farm.import', entity: 'farm', entityId: farmId, after: summary });
    return summary;
  }, IMPORT_TX);
}

/**
 * A copy of a farm under a new name (answered, like an import, with its summary): new vnet ids (free ones, or the given
 * mapping by vnet name) since vnet ids are unique across the deployment,
 * and fresh MACs; addresses, rules and layout are kept.
 */
export async function cloneFarm(
  o: ServiceCtx & { id: string; name: string; vnids?: Record<string, number> | undefined },
): Promise<FarmSummary> {
  return o.db.$transaction(async (tx) => {
    await requireFarm(tx, o.actor, o.id, 'id');
    await lockFarmForRead(tx, o.id);
    const source = toFarmDocument(await loadFarmDetail(tx, o.id), await loadPositions(tx, o.id));
    const mapping = o.vnids ?? {};
    const names = new Set(source.vnets.map((v) => v.name));
    const seen = new Map<number, string>();
    for (const [vnet, vnid] of Object.entries(mapping)) {
      if (!names.has(vnet)) throw badRequest(`vnids.${vnet}`, `farm ${source.name} has no vnet named "${vnet}"`);
      checkVnid(`vnids.${vnet}`, vnid);
      const other = seen.get(vnid);
      if (other !== undefined) throw conflict(`vnids.${vnet}`, `${vnid} is also given for vnet ${other}`);
      seen.set(vnid, vnet);
    }
    const noMac = <T extends { mac?: string | undefined }>(x: T) => ({ ...x, mac: undefined });
    const copy: FarmDocument = {
      ...source,
      name: o.name,
      // A VLAN on a host interface carries one vnet, and the source's vnets hold
      // theirs: the copy starts without VLAN bridges.
      vnets: source.vnets.map(({ vlans: _vlans, ...v }) => ({ ...v, vnid: mapping[v.name] })),
      vms: source.vms.map((vm) => ({ ...vm, vifs: vm.vifs.map(noMac) })),
      routers: source.routers.map((r) => ({ ...r, interfaces: r.interfaces.map(noMac) })),
      firewalls: source.firewalls.map((f) => ({ ...f, interfaces: f.interfaces.map(noMac) })),
    };
    const farmId = await writeFarmDocument(tx, checkFarmDocument(copy), {
      actor: o.actor,
      prefix: '',
      nameField: 'name',
      vnids: 'keep',
      vnidField: (i) => `vnids.${copy.vnets[i]?.name ?? ''}`,
    });
    const summary = await loadFarmSummary(tx, farmId);
    await writeAudit(tx, {
      actor: o.actor, action: 'farm.clone', entity: 'farm', entityId: farmId, before: { sourceId: o.id }, after: summary,
    });
    return summary;
  }, IMPORT_TX);
}
