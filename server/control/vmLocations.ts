// Where each VM was last deployed, and the location version its hosts were
// given there (table VmLocation). VARP receivers ignore ANNOUNCEs older than
// what they cache (docs/wire.md, VARP), so every deployed move must count
// up, a rollback to an earlier placement included. The version a deploy
// gives is stored with it; nothing is read back from compiled host states.
// Rows are keyed by the VM's id without a foreign key: a deployed revision
// can still hold a VM that was deleted from the intent since.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';

type Q = Prisma.TransactionClient | Db;

/** VM id → the host it runs on and its location version there. */
export type VmLocations = Map<string, { hostId: string; version: number }>;

/**
 * The version a VM placed on `hostId` runs with: the one it has if it stays
 * where it was last deployed, otherwise one above both that and `floor` (the
 * version its intent carries, bumped by every placement edit).
 */
export function nextLocation(last: { hostId: string; version: number } | undefined, hostId: string, floor: number): number {
  if (!last) return floor;
  return last.hostId === hostId ? last.version : Math.max(last.version + 1, floor);
}

export async function loadVmLocations(q: Q, vmIds: string[]): Promise<VmLocations> {
  if (!vmIds.length) return new Map();
  const rows = await q.vmLocation.findMany({ where: { vmId: { in: vmIds } }, select: { vmId: true, hostId: true, version: true } });
  return new Map(rows.map((r) => [r.vmId, { hostId: r.hostId, version: r.version }]));
}

/** Stores the placements a deploy gives hosts, where they differ from what was stored. */
export async function storeVmLocations(tx: Prisma.TransactionClient, stored: VmLocations, placed: VmLocations): Promise<void> {
  for (const [vmId, at] of placed) {
    const was = stored.get(vmId);
    if (was && was.hostId === at.hostId && was.version === at.version) continue;
    await tx.vmLocation.upsert({
      where: { vmId },
      create: { vmId, hostId: at.hostId, version: at.version },
      update: { hostId: at.hostId, version: at.version },
      select: { vmId: true },
    });
  }
}
