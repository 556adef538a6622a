// A farm's revision and deployed revision now, then again whenever either
// changes: an edit, a deploy or an undeploy, made through any console process
// (events fan out by LISTEN/NOTIFY). The designer learns at once that someone
// else changed the farm it edits, instead of finding out at its next save.
import type { Db } from '../db/index.ts';
import { EventInbox, getEventBus } from '../events/index.ts';
import type { UserActor } from '../auth/actors.ts';
import { requireFarm } from './farmAccess.ts';

export interface FarmChangeView {
  farmId: string;
  /** Null once the farm is deleted (the last value of the stream). */
  revision: number | null;
  deployedRevision: number | null;
  deleted: boolean;
}

export async function* farmChanges(o: { db: Db; actor: UserActor; farmId: string; signal?: AbortSignal | undefined }): AsyncGenerator<FarmChangeView> {
  // Subscribed before the first read: a change committed in between is already queued.
  const inbox = new EventInbox(await getEventBus(o.db), (e) => (e.type === 'farm.changed' || e.type === 'farm.deployed') && e.farmId === o.farmId);
  try {
    // Another tenant's farm, or none: NOT_FOUND on farmId before anything is sent.
    const first = await requireFarm(o.db, o.actor, o.farmId);
    let last = { revision: first.revision, deployedRevision: first.deployedRevision };
    yield { farmId: first.id, ...last, deleted: false };
    while (!o.signal?.aborted) {
      const events = await inbox.next({ signal: o.signal });
      if (events.length === 0) continue;
      const now = await o.db.farm.findFirst({
        where: { id: o.farmId, tenantId: o.actor.tenantId },
        select: { revision: true, deployedRevision: true },
      });
      if (!now) {
        yield { farmId: o.farmId, revision: null, deployedRevision: null, deleted: true };
        return;
      }
      if (now.revision === last.revision && now.deployedRevision === last.deployedRevision) continue;
      last = now;
      yield { farmId: o.farmId, ...now, deleted: false };
    }
  } finally {
    inbox.close();
  }
}
