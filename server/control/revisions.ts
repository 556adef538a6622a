// Farm revisions: immutable snapshots of a farm's intent (the farm document)
// taken at a revision number. Deploying means deploying a revision, so what
// runs is always something that can be shown and compared later.
import { notFound } from '../errors.ts';
import { writeAudit } from '../audit/audit.ts';
import { requireFarm, WRITE_TX, type ServiceCtx, type Tx } from '../farms/farmAccess.ts';
import { toFarmDocument, type FarmDocument } from '../farms/farmDocument.ts';
import { loadFarmDetail, loadPositions, lockFarmForRead } from '../farms/farmViews.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';

export interface RevisionSummary {
  id: string;
  farmId: string;
  revision: number;
  createdById: string | null;
  createdAt: Date;
}

export interface RevisionView extends RevisionSummary {
  snapshot: FarmDocument;
}

const summarySelect = { id: true, farmId: true, revision: true, createdById: true, createdAt: true } as const;

/**
 * The farm's current intent as a revision snapshot has it: the document, with
 * the database ids (and VIF numbers) that name its parts on hosts.
 */
export async function snapshotDocument(tx: Tx, farmId: string): Promise<FarmDocument> {
  const vifs = await tx.vif.findMany({ where: { vm: { farmId } }, select: { id: true, serial: true } });
  const links = await tx.routerLink.findMany({ where: { farmId }, select: { id: true, vnid: true } });
  const legs = await tx.externalLeg.findMany({ where: { farmId }, select: { id: true, vnid: true } });
  const detail = await loadFarmDetail(tx, farmId);
  return toFarmDocument(detail, await loadPositions(tx, farmId), {
    serials: new Map(vifs.map((v) => [v.id, v.serial])),
    linkVnids: new Map(links.map((l) => [l.id, Number(l.vnid)])),
    legVnids: new Map(legs.map((l) => [l.id, Number(l.vnid)])),
  });
}

/**
 * Snapshots the farm's current intent at its current revision, inside the
 * caller's transaction (deploy uses it too). Idempotent: a revision already
 * snapshotted is returned as it was. `created` says whether this call made it.
 */
export async function snapshotFarm(
  tx: Tx,
  farmId: string,
  createdById: string | null,
): Promise<{ revision: RevisionSummary; created: boolean }> {
  await lockFarmForRead(tx, farmId);
  const farm = await tx.farm.findUnique({ where: { id: farmId }, select: { revision: true } });
  if (!farm) throw notFound('farm', 'farmId');
  const key = { farmId_revision: { farmId, revision: farm.revision } };
  const existing = await tx.farmRevision.findUnique({ where: key, select: summarySelect });
  if (existing) return { revision: existing, created: false };
  const snapshot = await snapshotDocument(tx, farmId);
  // A concurrent snapshot of the same revision is identical; whichever lands first is kept.
  const r = await tx.farmRevision.createMany({
    data: [{ farmId, revision: farm.revision, snapshot, createdById }],
    skipDuplicates: true,
  });
  const row = await tx.farmRevision.findUnique({ where: key, select: summarySelect });
  if (!row) throw notFound('farm revision', 'farmId');
  return { revision: row, created: r.count === 1 };
}

export async function createRevision(o: ServiceCtx & { farmId: string }): Promise<RevisionSummary> {
  return o.db.$transaction(async (tx) => {
    await requireFarm(tx, o.actor, o.farmId);
    const { revision, created } = await snapshotFarm(tx, o.farmId, o.actor.userId);
    if (created) {
      await writeAudit(tx, {
        actor: o.actor, action: 'farm.createRevision', entity: 'farm', entityId: o.farmId, after: { revision: revision.revision },
      });
    }
    return revision;
  }, WRITE_TX);
}

export async function listRevisions(o: ServiceCtx & { farmId: string; cursor?: string | undefined; limit: number }) {
  await requireFarm(o.db, o.actor, o.farmId);
  const where = { farmId: o.farmId };
  await checkCursor(o.cursor, (id) => o.db.farmRevision.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await o.db.farmRevision.findMany({ where, select: summarySelect, orderBy: ORDER_BY_CREATED, ...pageArgs(o) });
  return toPage(rows, o);
}

export async function getRevision(o: ServiceCtx & { farmId: string; revision: number }): Promise<RevisionView> {
  await requireFarm(o.db, o.actor, o.farmId);
  const row = await o.db.farmRevision.findUnique({
    where: { farmId_revision: { farmId: o.farmId, revision: o.revision } },
    select: { ...summarySelect, snapshot: true },
  });
  if (!row) throw notFound('farm revision', 'revision');
  return { ...row, snapshot: row.snapshot as unknown as FarmDocument };
}
