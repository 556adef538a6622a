// Planning a farm document (farm.planDocument, the CLI's `plan`): what
// applying it would change in the farm's model, item by item, and what a
// deploy of the result would then change on each host. The document gets
// every check an apply gives it, the database-facing ones included (host
// names, vnet ids, VLANs), so a plan that passes is an apply that passes
// unless something changes meanwhile. Writes nothing.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import type { UserActor } from '../auth/actors.ts';
import type { FarmDocument } from '../farms/farmDocument.ts';
import { compareDocument, loadStoredFarm, snapshotOf } from '../farms/farmApply.ts';
import { checkDocumentRefs } from '../farms/farmImport.ts';
import { checkDocumentPlacements } from '../farms/placements.ts';
import { hostChecks, planHosts } from './plan.ts';
import type { DocumentPlanView } from './controlShapes.ts';

const READ_TX = { isolationLevel: 'RepeatableRead' as const, maxWait: 10_000, timeout: 60_000 };

/**
 * The stored legs' network ids and vnet ids on the snapshot's legs that stay on
 * the same network (a new leg has neither until it is written: the plan leaves it out, warning).
 */
async function withStoredLegs(tx: Prisma.TransactionClient, farmId: string | null, snap: FarmDocument): Promise<FarmDocument> {
  if (!farmId) return snap;
  const legs = await tx.externalLeg.findMany({
    where: { farmId },
    select: { externalNetworkId: true, vnid: true, externalNetwork: { select: { name: true } }, router: { select: { name: true } }, firewall: { select: { name: true } } },
  });
  const fill = <N extends { name: string; external?: FarmDocument['routers'][number]['external'] }>(kind: 'router' | 'firewall', n: N): N => {
    const leg = legs.find((l) => (kind === 'router' ? l.router?.name : l.firewall?.name) === n.name);
    if (!n.external || !leg || leg.externalNetwork.name !== n.external.network) return n;
    return { ...n, external: { ...n.external, networkId: leg.externalNetworkId, vnid: Number(leg.vnid) } };
  };
  return { ...snap, routers: snap.routers.map((r) => fill('router', r)), firewalls: snap.firewalls.map((f) => fill('firewall', f)) };
}

export async function planDocument(o: { db: Db; actor: UserActor; document: FarmDocument }): Promise<DocumentPlanView> {
  return o.db.$transaction(async (tx) => {
    const stored = await loadStoredFarm(tx, o.actor.tenantId, o.document.name);
    const { resolved, changes } = compareDocument(o.document, stored);
    // A plan writes nothing: it does not take the vnet id allocation lock, which would stall every tenant's vnet creation.
    const refs = await checkDocumentRefs(tx, resolved, {
      actor: o.actor, prefix: 'document.', nameField: 'document.name', vnids: 'keep', ownFarmId: stored?.farm.id, lock: false,
    });
    const snapshot = await withStoredLegs(tx, stored?.farm.id ?? null, snapshotOf(resolved, stored?.rows ?? null, refs.vnids));
    const placements = await checkDocumentPlacements(tx, resolved.name, snapshot.vms);
    const base = {
      name: resolved.name,
      changes,
      hostChecks: hostChecks(placements),
      errors: placements.errors.map((e) => e.message),
    };
    if (!stored) {
      // A farm that does not exist yet runs nowhere; its first deploy is planned once it is applied.
      return { ...base, farmId: null, revision: null, deployedRevision: null, hosts: [], unchangedHosts: 0, warnings: placements.warnings.map((w) => w.message) };
    }
    const next = stored.farm.revision + (changes.length ? 1 : 0);
    const plan = await planHosts(tx, stored.farm.id, next, snapshot);
    return {
      ...base,
      farmId: stored.farm.id,
      revision: stored.farm.revision,
      deployedRevision: stored.farm.deployedRevision,
      hosts: plan.hosts,
      unchangedHosts: plan.unchangedHosts,
      warnings: [...plan.warnings, ...placements.warnings.map((w) => w.message)],
    };
  }, READ_TX);
}
