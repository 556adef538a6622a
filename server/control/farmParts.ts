// Each deployed farm's part of the hosts' desired states (compile/farm.ts),
// stored per farm (table FarmContribution) at the revision it was compiled
// from. A deploy compiles the farm it changes and reuses every other farm's
// stored part, so its cost follows the farm, not the deployment. A stored
// part is reused only while it is current: compiled from the farm's deployed
// revision, by this console's compile (FARM_PART_FORMAT), and with no host
// since enrolled under a name the revision places things on.
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

/** Compiles farms' parts; a compile error is the caller's BAD_REQUEST. */
export function compileParts(inputs: CompiledInput[], hosts: CompileHost[]): CompiledPart[] {
  const hostsById = new Map(hosts.map((h) => [h.id, h]));
  try {
    return inputs.map((c) => ({ part: compileFarm(c.farm, hostsById), revision: c.farm.revision, warnings: c.warnings, unknownHosts: c.unknownHosts }));
  } catch (err) {
    if (err instanceof CompileError) throw new AppError('BAD_REQUEST', err.message, { field: err.field, cause: err });
    throw err;
  }
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

export async function storePart(tx: Tx, c: CompiledPart): Promise<void> {
  const data = {
    revision: c.revision,
    format: FARM_PART_FORMAT,
    hostIds: c.part.hosts.map((h) => h.hostId),
    unknownHosts: c.unknownHosts,
    part: c.part as unknown as Prisma.InputJsonValue,
    warnings: c.warnings,
  };
  await tx.farmContribution.upsert({ where: { farmId: c.part.farmId }, create: { farmId: c.part.farmId, ...data }, update: data, select: { farmId: true } });
}

/** A farm taken off every host keeps no part. */
export async function dropPart(tx: Tx, farmId: string): Promise<void> {
  await tx.farmContribution.deleteMany({ where: { farmId } });
}
