// Each deployed farm's part of the hosts' desired states (compile/farm.ts),
// stored per farm (table FarmContribution) at the revision it was compiled
// from. A deploy compiles the farm it changes and reuses every other farm's
// stored part, so its cost follows the farm, not the deployment. A stored
// part is reused only while it is current: compiled from the farm's deployed
// revision, by this console's compile (FARM_PART_FORMAT), and with no host
// since enrolled under a name the revision places things on.
import { consoleLogger } from '../../log/index.ts';
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { compileFarm, CompileError, type CompileHost, type FarmPart } from '../compile/index.ts';
import type { CompiledInput, FarmRow } from './deployedFarms.ts';

type Tx = Prisma.TransactionClient;
type Q = Tx | Db;

/**
 * The shape of what compileFarm writes: raise it with every change to
 * compile/farm.ts's output, and stored parts are recompiled on their next use.
 */
export const FARM_PART_FORMAT = 3;

export interface CompiledPart {
  part: FarmPart;
  revision: number;
  warnings: string[];
  unknownHosts: string[];
}

export interface StoredPart {
  part: FarmPart;
  warnings: string[];
}

/** True when the farm's stored part can stand for its deployed revision. */
export function isCurrent(f: FarmRow, hostNames: ReadonlySet<string>): boolean {
  const s = f.stored;
  if (f.revision === null || f.override || !s) return false;
  return s.revision === f.revision && s.format === FARM_PART_FORMAT && !s.unknownHosts.some((n) => hostNames.has(n));
}

/**
 * Compiles farms' parts; a compile error is the caller's BAD_REQUEST. A change
 * `about` one farm is a tenant's: another farm compiled again on its way (its
 * stored part no longer current) may be another tenant's, so its error names
 * nothing of it to the caller (the console's log has it, with the farm's id).
 * A change about every host (hosts, segments, external networks, keys) is an
 * admin's, who reads every tenant's objects on hosts (docs/api.md "Tenants"):
 * its error names the farm and the field.
 */
export function compileParts(inputs: CompiledInput[], hosts: CompileHost[], about?: string | null): CompiledPart[] {
  const hostsById = new Map(hosts.map((h) => [h.id, h]));
  return inputs.map((c) => {
    try {
      return { part: compileFarm(c.farm, hostsById), revision: c.farm.revision, warnings: c.warnings, unknownHosts: c.unknownHosts };
    } catch (err) {
      if (!(err instanceof CompileError)) throw err;
      if (about == null || c.farm.id === about) throw new AppError('BAD_REQUEST', err.message, { field: err.field, cause: err });
      consoleLogger().error('a deployed farm cannot be compiled again', { farmId: c.farm.id, field: err.field, error: err.message });
      throw new AppError(
        'BAD_REQUEST',
        "another deployed farm on the hosts this change reaches cannot be compiled again; nothing was changed (the console's log names it)",
        { cause: err },
      );
    }
  });
}

/**
 * The stored parts of the given farms; with `reaching`, only those that
 * reach one of these hosts.
 */
export async function loadParts(q: Q, farmIds: string[], reaching?: string[]): Promise<StoredPart[]> {
  if (!farmIds.length || reaching?.length === 0) return [];
  const rows = await q.farmContribution.findMany({
    where: { farmId: { in: farmIds }, ...(reaching ? { hostIds: { hasSome: reaching } } : {}) },
    select: { part: true, warnings: true },
    orderBy: { farmId: 'asc' },
  });
  return rows.map((r) => ({ part: r.part as unknown as FarmPart, warnings: r.warnings as unknown as string[] }));
}

/**
 * Stores a farm's part. The part is the largest document a deploy writes
 * (megabytes for a farm on 1,000 hosts): it goes as one JSON text,
 * serialised once here, where the client's JSON parameter handling took
 * longer than Postgres took to store it.
 */
export async function storePart(tx: Tx, c: CompiledPart): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO "FarmContribution" ("farmId", revision, format, "hostIds", "unknownHosts", part, warnings, "updatedAt")
     VALUES ($1::uuid, $2, $3, $4::text[], $5::text[], $6::jsonb, $7::jsonb, now())
     ON CONFLICT ("farmId") DO UPDATE SET revision = EXCLUDED.revision, format = EXCLUDED.format, "hostIds" = EXCLUDED."hostIds",
       "unknownHosts" = EXCLUDED."unknownHosts", part = EXCLUDED.part, warnings = EXCLUDED.warnings, "updatedAt" = EXCLUDED."updatedAt"`,
    c.part.farmId,
    c.revision,
    FARM_PART_FORMAT,
    c.part.hosts.map((h) => h.hostId),
    c.unknownHosts,
    JSON.stringify(c.part),
    JSON.stringify(c.warnings),
  );
}

/** A farm taken off every host keeps no part. */
export async function dropPart(tx: Tx, farmId: string): Promise<void> {
  await tx.farmContribution.deleteMany({ where: { farmId } });
}
