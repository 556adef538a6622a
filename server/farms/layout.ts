// Designer layout: where the farm's nodes sit on the canvas. Kept apart from
// intent, so moving a node is not an edit: no revision bump, no conflict with
// someone editing the farm meanwhile, one audit entry per save.
import { badRequest } from '../errors.ts';
import { writeAudit } from '../audit/audit.ts';
import { requireFarm, WRITE_TX, type ServiceCtx, type Tx } from './farmAccess.ts';
import type { Position } from './farmDocument.ts';
import { loadPositions } from './farmViews.ts';

export interface LayoutView {
  farmId: string;
  positions: Record<string, Position>;
  updatedAt: Date | null;
}

export async function getLayout(o: ServiceCtx & { farmId: string }): Promise<LayoutView> {
  await requireFarm(o.db, o.actor, o.farmId);
  const row = await o.db.designerLayout.findUnique({ where: { farmId: o.farmId }, select: { updatedAt: true } });
  return { farmId: o.farmId, positions: await loadPositions(o.db, o.farmId), updatedAt: row?.updatedAt ?? null };
}

/** The ids of the farm's nodes: what a position may be stored for. */
async function nodeIds(tx: Tx, farmId: string): Promise<Set<string>> {
  const where = { farmId };
  const select = { id: true } as const;
  const lists = [
    await tx.vnet.findMany({ where, select }),
    await tx.vm.findMany({ where, select }),
    await tx.router.findMany({ where, select }),
    await tx.firewall.findMany({ where, select }),
  ];
  return new Set(lists.flat().map((n) => n.id));
}

/** Replaces the stored positions (node id -> {x, y}); every key must name a node of the farm. */
export async function saveLayout(o: ServiceCtx & { farmId: string; positions: Record<string, Position> }): Promise<LayoutView> {
  return o.db.$transaction(async (tx) => {
    await requireFarm(tx, o.actor, o.farmId);
    const nodes = await nodeIds(tx, o.farmId);
    for (const key of Object.keys(o.positions)) {
      if (!nodes.has(key)) throw badRequest(`positions.${key}`, 'names no vnet, VM, router or firewall of this farm (keys are node ids)');
    }
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
