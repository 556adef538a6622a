// One edit of a farm's intent, the way every such edit is made: in one
// transaction, the farm taken to its next revision under optimistic
// concurrency (which also announces `farm.changed` at commit: farmAccess.ts
// bumpRevision), the change itself, and its audit entry. An edit commits
// whole or not at all, and nobody hears of one that was rolled back.
import { writeAudit, type AuditEntry } from '../audit/audit.ts';
import { bumpRevision, WRITE_TX, type ServiceCtx, type Tx } from './farmAccess.ts';

export interface FarmEditStep {
  tx: Tx;
  /**
   * Takes the farm to its next revision if it is still at the caller's
   * `expectedRevision` (CONFLICT otherwise); call it once, after finding the
   * farm and before any check that reads what concurrent edits may change.
   */
  bump(farm: { id: string; tenantId: string }): Promise<number>;
}

/** What the audit entry says; the actor is the edit's. */
export type FarmAudit = Omit<AuditEntry, 'actor'>;

export interface TxOptions {
  maxWait: number;
  timeout: number;
}

/**
 * Runs `edit` as one farm edit and returns its result with the farm's new
 * revision. `edit` finds what it changes, calls `bump`, makes the change,
 * and returns the result and the audit entry.
 */
export async function editFarm<R extends object>(
  o: ServiceCtx & { expectedRevision: number },
  edit: (step: FarmEditStep) => Promise<{ result: R; audit: FarmAudit }>,
  txOptions: TxOptions = WRITE_TX,
): Promise<{ farmRevision: number } & R> {
  return o.db.$transaction(async (tx) => {
    let farmRevision: number | undefined;
    const bump = async (farm: { id: string; tenantId: string }) => {
      if (farmRevision !== undefined) throw new Error('a farm edit takes the farm one revision forward, once');
      farmRevision = await bumpRevision(tx, farm, o.expectedRevision);
      return farmRevision;
    };
    const { result, audit } = await edit({ tx, bump });
    if (farmRevision === undefined) throw new Error('a farm edit must take the farm to its next revision');
    await writeAudit(tx, { actor: o.actor, ...audit });
    return { farmRevision, ...result };
  }, txOptions);
}
