// What every farm-intent service does first: find the farm (or the part of
// it) inside the actor's tenant, take the farm's revision forward under
// optimistic concurrency, check names and host placements.
import type { Db } from '../db/index.ts';
import type { Prisma } from '../db/generated/client.ts';
import { AppError, badRequest, conflict, notFound } from '../errors.ts';
import { publish } from '../events/bus.ts';
import type { UserActor } from '../auth/actors.ts';

export type Tx = Prisma.TransactionClient;

/** Every service takes one options object with these. */
export interface ServiceCtx {
  db: Db;
  actor: UserActor;
}

/** Interactive transactions for intent edits; a large import may need longer than Prisma's 5 s default. */
export const WRITE_TX = { maxWait: 10_000, timeout: 30_000 } as const;
export const IMPORT_TX = { maxWait: 10_000, timeout: 120_000 } as const;

export interface FarmRef {
  id: string;
  tenantId: string;
  name: string;
  revision: number;
  deployedRevision: number | null;
}

const farmRefSelect = { id: true, tenantId: true, name: true, revision: true, deployedRevision: true } as const;

/** The farm if it belongs to the actor's tenant; another tenant's farm is NOT_FOUND, never FORBIDDEN. */
export async function requireFarm(q: Tx, actor: UserActor, farmId: string, field = 'farmId'): Promise<FarmRef> {
  const farm = await q.farm.findFirst({ where: { id: farmId, tenantId: actor.tenantId }, select: farmRefSelect });
  if (!farm) throw notFound('farm', field);
  return farm;
}

/**
 * Optimistic concurrency: the edit applies only if the farm is still at the
 * revision the client last saw. The UPDATE also locks the farm row until the
 * transaction ends, so two edits of one farm never interleave their checks.
 */
export async function bumpRevision(tx: Tx, farm: { id: string; tenantId: string }, expectedRevision: number): Promise<number> {
  const r = await tx.farm.updateMany({
    where: { id: farm.id, revision: expectedRevision },
    data: { revision: { increment: 1 } },
  });
  if (r.count === 0) {
    const now = await tx.farm.findUnique({ where: { id: farm.id }, select: { revision: true } });
    if (!now) throw notFound('farm', 'farmId');
    const msg =
      now.revision > expectedRevision
        ? `the farm changed since revision ${expectedRevision} (it is now at ${now.revision}); reload and retry`
        : `the farm is at revision ${now.revision}, not ${expectedRevision}; reload and retry`;
    throw conflict('expectedRevision', msg, { revision: now.revision });
  }
  const revision = expectedRevision + 1;
  // Delivered at commit, so nobody hears of an edit that was rolled back.
  await publish(tx, { type: 'farm.changed', farmId: farm.id, tenantId: farm.tenantId, revision });
  return revision;
}

export type NodeKind = 'vnet' | 'vm' | 'router' | 'firewall';
const KIND_WORD: Record<NodeKind, string> = { vnet: 'a vnet', vm: 'a VM', router: 'a router', firewall: 'a firewall' };

/** Names are unique per kind within a farm. */
export async function requireNameFree(
  tx: Tx,
  kind: NodeKind,
  farmId: string,
  name: string,
  exceptId?: string,
  field = 'name',
): Promise<void> {
  const where = { farmId, name, ...(exceptId ? { NOT: { id: exceptId } } : {}) };
  const select = { id: true } as const;
  const hit =
    kind === 'vnet'
      ? await tx.vnet.findFirst({ where, select })
      : kind === 'vm'
        ? await tx.vm.findFirst({ where, select })
        : kind === 'router'
          ? await tx.router.findFirst({ where, select })
          : await tx.firewall.findFirst({ where, select });
  if (hit) throw conflict(field, `${KIND_WORD[kind]} named "${name}" already exists in this farm`);
}

/** A placement: hosts are deployment-wide, so any existing, non-revoked host will do. */
export async function resolveHost(tx: Tx, hostId: string | null | undefined, field = 'hostId'): Promise<string | null> {
  if (hostId === null || hostId === undefined) return null;
  const host = await tx.host.findUnique({ where: { id: hostId }, select: { id: true, name: true, status: true } });
  if (!host) throw notFound('host', field);
  if (host.status === 'revoked') throw badRequest(field, `host ${host.name} is revoked; choose another host`);
  return host.id;
}

/** Vnet ids are stored as BIGINT; the API speaks plain numbers. */
export const vnidNumber = (v: bigint | number): number => Number(v);

/** Keeps AppErrors as they are and prefixes their field (e.g. `document.`), for nested validation. */
export function withFieldPrefix<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw prefixError(prefix, err);
  }
}

export function prefixError(prefix: string, err: unknown): unknown {
  if (!(err instanceof AppError) || err.field === undefined) return err;
  const field = `${prefix}${err.field}`;
  const message = err.message.startsWith(`${err.field}: `) ? `${field}: ${err.message.slice(err.field.length + 2)}` : err.message;
  return new AppError(err.code, message, { field, details: err.details, cause: err.cause });
}
