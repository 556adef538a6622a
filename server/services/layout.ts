// Designer layout: where the farm's nodes sit on the canvas. Kept apart from
// intent, so moving a node is not an edit: no revision bump, no conflict with
// someone editing the farm meanwhile, one audit entry per save.
import { writeAudit } from './audit.ts';
import { requireFarm, WRITE_TX, type ServiceCtx } from './farmAccess.ts';
import type { Position } from './farmDocument.ts';

export interface LayoutView {
  farmId: string;
  positions: Record<string, Position>;
  updatedAt: Date | null;
}

export async function getLayout(o: ServiceCtx & { farmId: string }): Promise<LayoutView> {
  await requireFarm(o.db, o.actor, o.farmId);
  const row = await o.db.designerLayout.findUnique({ where: { farmId: o.farmId }, select: { positions: true, updatedAt: true } });
  return { farmId: o.farmId, positions: (row?.positions ?? {}) as Record<string, Position>, updatedAt: row?.updatedAt ?? null };
}

/** Replaces the stored positions (node id -> {x, y}). */
export async function saveLayout(o: ServiceCtx & { farmId: string; positions: Record<string, Position> }): Promise<LayoutView> {
  return o.db.$transaction(async (tx) => {
    await requireFarm(tx, o.actor, o.farmId);
    const positions = Object.fromEntries(Object.entries(o.positions).map(([k, p]) => [k, { x: p.x, y: p.y }]));
    const row = await tx.designerLayout.upsert({
      where: { farmId: o.farmId },
      create: { farmId: o.farmId, positions },
      update: { positions },
      select: { positions: true, updatedAt: true },
    });
    // Positions themselves are noise in the audit trail; who saved and how many nodes is enough.
    await writeAudit(tx, {
      actor: o.actor, action: 'farm.saveLayout', entity: 'farm', entityId: o.farmId, after: { nodes: Object.keys(positions).length },
    });
    return { farmId: o.farmId, positions: row.positions as Record<string, Position>, updatedAt: row.updatedAt };
  }, WRITE_TX);
}
