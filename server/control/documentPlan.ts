// Planning a farm document (farm.planDocument, the CLI's `plan`): what
// applying it would change in the farm's model, item by item, and what a
// deploy of the result would then change on each host. The document gets
// every check an apply gives it, the database-facing ones included (host
// names, vnet ids, VLANs), so a plan that passes is an apply that passes
// unless something changes meanwhile. Writes nothing.
import type { Db } from '../db/index.ts';
import type { UserActor } from '../auth/actors.ts';
import type { FarmDocument } from '../farms/farmDocument.ts';
import { compareDocument, loadStoredFarm, snapshotOf } from '../farms/farmApply.ts';
import { checkDocumentRefs } from '../farms/farmImport.ts';
import { checkDocumentPlacements } from '../farms/placements.ts';
import { hostChecks, planHosts } from './plan.ts';
import type { DocumentPlanView } from './controlShapes.ts';

const READ_TX = { isolationLevel: 'RepeatableRead' as const, maxWait: 10_000, timeout: 60_000 };

export async function planDocument(o: { db: Db; actor: UserActor; document: FarmDocument }): Promise<DocumentPlanView> {
  return o.db.$transaction(async (tx) => {
    const stored = await loadStoredFarm(tx, o.actor.tenantId, o.document.name);
    const { resolved, changes } = compareDocument(o.document, stored);
    // A plan writes nothing: it does not take the vnet id allocation lock, which would stall every tenant's vnet creation.
    const refs = await checkDocumentRefs(tx, resolved, {
      actor: o.actor, prefix: 'document.', nameField: 'document.name', vnids: 'keep', ownFarmId: stored?.farm.id, lock: false,
    });
    const snapshot = snapshotOf(resolved, stored?.rows ?? null, refs.vnids);
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
