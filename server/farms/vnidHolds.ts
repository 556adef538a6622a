// Who holds which vnet id. A vnet id stays taken while anything may still run
// it: the intent's vnets, but also the vnets of every farm's deployed revision
// and of its stored part (FarmContribution), which outlive an intent edit
// until the farm is deployed again. Handing such an id to another farm would
// join two farms' (two tenants') networks on the hosts once both are deployed.
import { conflict } from '../errors.ts';
import type { Tx } from './farmAccess.ts';

export interface VnidHolds {
  /** Every vnet id held by anything in the deployment. */
  all: Set<number>;
  /** The farms holding each id. */
  farms: Map<number, Set<string>>;
}

/** Vnet ids of deployed revisions and stored parts, by farm. */
const DEPLOYED_SQL = `
  SELECT r."farmId"::text AS farm, (v->>'vnid')::bigint AS vnid
    FROM "FarmRevision" r
    JOIN "Farm" f ON f.id = r."farmId" AND f."deployedRevision" = r.revision,
    jsonb_array_elements(CASE WHEN jsonb_typeof(r.snapshot->'vnets') = 'array' THEN r.snapshot->'vnets' ELSE '[]'::jsonb END) v
    WHERE v->>'vnid' IS NOT NULL
  UNION
  SELECT c."farmId"::text, (v->>'id')::bigint
    FROM "FarmContribution" c,
    jsonb_array_elements(CASE WHEN jsonb_typeof(c.part->'hosts') = 'array' THEN c.part->'hosts' ELSE '[]'::jsonb END) h,
    jsonb_array_elements(CASE WHEN jsonb_typeof(h->'vnets') = 'array' THEN h->'vnets' ELSE '[]'::jsonb END) v
    WHERE v->>'id' IS NOT NULL
  UNION
  SELECT c."farmId"::text, s::text::bigint
    FROM "FarmContribution" c,
    jsonb_array_elements(CASE WHEN jsonb_typeof(c.part->'sealedVnids') = 'array' THEN c.part->'sealedVnids' ELSE '[]'::jsonb END) s`;

const HOLDERS_SQL = `SELECT "farmId"::text AS farm, vnid::bigint AS vnid FROM "Vnet" UNION ${DEPLOYED_SQL}`;

/** Every vnet id held in the deployment (intent, deployed revisions, stored parts), with its holders. */
export async function vnidHolds(tx: Tx): Promise<VnidHolds> {
  const rows = await tx.$queryRawUnsafe<{ farm: string; vnid: bigint | number }[]>(HOLDERS_SQL);
  const farms = new Map<number, Set<string>>();
  for (const r of rows) {
    const vnid = Number(r.vnid);
    let s = farms.get(vnid);
    if (!s) farms.set(vnid, (s = new Set()));
    s.add(r.farm);
  }
  return { all: new Set(farms.keys()), farms };
}

/** The refusal of an id someone holds; it never says who (another tenant, or one of the caller's farms). */
export const vnidTakenMessage = (vnid: number) => `vnet id ${vnid} is not available in this deployment; choose another or leave it out`;

/** Whether a farm other than `farmId` (any farm when undefined) holds `vnid`. */
export function heldByOther(holds: VnidHolds, vnid: number, farmId: string | undefined): boolean {
  const s = holds.farms.get(vnid);
  if (!s) return false;
  return farmId === undefined ? s.size > 0 : [...s].some((f) => f !== farmId);
}

/**
 * Refuses to deploy revision `revision` of `farmId` when another farm's
 * deployed revision or stored part carries one of its vnet ids: the two farms'
 * networks would become one. The message never says whose farm it is.
 */
export async function refuseVnidsDeployedElsewhere(tx: Tx, farmId: string, revision: number, field: string): Promise<void> {
  const rows = await tx.$queryRawUnsafe<{ vnid: bigint | number }[]>(
    `SELECT DISTINCT (v->>'vnid')::bigint AS vnid
       FROM "FarmRevision" r,
       jsonb_array_elements(CASE WHEN jsonb_typeof(r.snapshot->'vnets') = 'array' THEN r.snapshot->'vnets' ELSE '[]'::jsonb END) v
      WHERE r."farmId" = $1::uuid AND r.revision = $2 AND v->>'vnid' IS NOT NULL
        AND (v->>'vnid')::bigint IN (SELECT x.vnid FROM (${DEPLOYED_SQL}) x WHERE x.farm <> $1::uuid::text)
      ORDER BY 1`,
    farmId, revision,
  );
  if (!rows.length) return;
  const ids = rows.map((r) => Number(r.vnid));
  throw conflict(
    field,
    `vnet id${ids.length > 1 ? 's' : ''} ${ids.join(', ')} of this revision ${ids.length > 1 ? 'are' : 'is'} still deployed elsewhere in this deployment; give the vnet${ids.length > 1 ? 's' : ''} another id and deploy again`,
    { vnids: ids },
  );
}
