// Desired state per host: every deployed farm, at its deployed revision,
// compiled into one state document per host. A recompute takes its steps in
// order: load what is deployed and compile the parts that changed
// (desiredCompute.ts, reads only), create the keys they need (vnetKeys.ts
// provisionKeys), store where each VM now runs (vmLocations.ts) and the
// farms' parts (farmParts.ts), assemble the hosts' states, store what
// changed. A recompute about one farm compiles that farm alone and decides
// only the hosts it can change. A plan loads and compiles only, so it never
// writes. A host's generation goes up only when its own state changed (by
// hash), and the change is announced (`host.desired`) in the same
// transaction, so agents hear of it exactly when it is committed. Recomputes
// are serialized by a transaction-scoped advisory lock: with several console
// processes on one Postgres, generations stay monotonic and no two
// recomputes interleave their read-compare-write.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { badRequest } from '../errors.ts';
import { stateHash, type CompileHost } from '../compile/index.ts';
import { publishMany } from '../events/index.ts';
import type { ControlHost } from './deployedFarms.ts';
import { assembleDesired, baselineState, prepareDesired, type DesiredComputation, type DesiredScope } from './desiredCompute.ts';
import { dropPart, storePart } from './farmParts.ts';
import { storeVmLocations } from './vmLocations.ts';
import { storeDesiredStates, type DesiredRow } from './desiredWrite.ts';
import { provisionKeys } from './vnetKeys.ts';
import { StateChecker } from './stateCheck.ts';

export type { ControlHost, CurrentDesired, FarmOverride } from './deployedFarms.ts';
export { baselineState, computeDesired, type DesiredComputation, type DesiredScope } from './desiredCompute.ts';

type Tx = Prisma.TransactionClient;

/** pg_advisory_xact_lock key of the control loop ("SUDC" in ASCII). */
export const CONTROL_LOCK_KEY = 0x53554443;
/** Recomputes wait for each other inside the transaction; compiling thousands of hosts takes a while. */
export const CONTROL_TX = { maxWait: 30_000, timeout: 120_000 } as const;

/** Why an agent's credential no longer opens its stream or takes its reports. */
export const HOST_CREDENTIAL_REVOKED = 'host credential is not valid (revoked or re-enrolled); enroll the agent again';

/**
 * Serializes control-loop writers until the caller's transaction ends, and
 * turns Postgres's JIT off for the rest of it. The control loop's statements
 * unnest JSON documents (snapshots, parts), whose row counts the planner
 * cannot estimate: it guessed millions of rows for a check of 20 vnets, and
 * compiling that statement with LLVM took 0.5 s of a 1,000-host deploy whose
 * statements all run in milliseconds.
 */
export async function lockControlLoop(tx: Tx): Promise<void> {
  await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${CONTROL_LOCK_KEY}), set_config('jit', 'off', true)`);
}

/** The hash a host without a stored state is considered to have. */
export function baselineHash(host: Pick<CompileHost, 'name' | 'address' | 'port'>): string {
  return stateHash(baselineState(host));
}

export interface ChangedHost {
  hostId: string;
  host: string;
  generation: number;
}

/** Decided hosts whose new state differs from what they have now. */
export function changedHosts(c: DesiredComputation): ControlHost[] {
  return c.hosts.filter((h) => {
    const next = c.next.get(h.id);
    return next !== undefined && next.hash !== (c.current.get(h.id)?.hash ?? baselineHash(h));
  });
}

/**
 * A state the host's agent would refuse is never stored (nor sent): the
 * change that led to it is refused, naming the host and the field.
 */
function refuseInvalid(checker: StateChecker, host: string, doc: unknown): void {
  const issue = checker.firstIssue(doc);
  if (!issue) return;
  const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  throw badRequest('id', `host ${host} would refuse its new state (${field}: ${issue.message}); nothing was deployed`);
}

/**
 * Recomputes the desired states inside the caller's transaction and stores
 * the ones that changed, with a new generation each: about `farmId` (a
 * deploy, undeploy or migration of that farm: only the hosts it can change),
 * or about every host. Takes the control-loop lock (held until the
 * transaction ends).
 */
export async function recomputeDesired(tx: Tx, scope: DesiredScope = {}): Promise<{ changed: ChangedHost[]; warnings: string[] }> {
  await lockControlLoop(tx);
  const p = await prepareDesired(tx, scope);
  // The steps that write come first, each explicit: keys, where each VM now runs, the farms' parts.
  const sealed = [...p.reused, ...p.compiled].flatMap((x) => x.part.sealedVnids);
  if (p.farmId === null) await provisionKeys(tx, [...new Set(sealed)].sort((a, b) => a - b));
  else await provisionKeys(tx, p.compiled.flatMap((c) => c.part.sealedVnids), p.farmId);
  await storeVmLocations(tx, p.locations.stored, p.locations.placed);
  for (const c of p.compiled) await storePart(tx, c);
  for (const farmId of p.removed) await dropPart(tx, farmId);
  const c = await assembleDesired(tx, p);
  const changed: ChangedHost[] = [];
  const rows: DesiredRow[] = [];
  const checker = new StateChecker();
  for (const h of changedHosts(c)) {
    const { state, hash } = c.next.get(h.id)!;
    const generation = Math.max(h.desiredGeneration, c.current.get(h.id)?.generation ?? 0) + 1;
    refuseInvalid(checker, h.name, { ...state, generation });
    rows.push({ hostId: h.id, generation, hash, state: { ...state, generation } });
    changed.push({ hostId: h.id, host: h.name, generation });
  }
  await storeDesiredStates(tx, rows);
  // Delivered at commit: agents never hear of a generation that was rolled back.
  await publishMany(tx, changed.map((x) => ({ type: 'host.desired', hostId: x.hostId, generation: x.generation })));
  return { changed, warnings: c.warnings };
}

/**
 * Recompute in a transaction of its own: for changes outside a deploy that
 * alter what hosts must run (a host's address or port, LAN segments, relays).
 */
export async function refreshDesiredStates(o: { db: Db }): Promise<{ changed: ChangedHost[]; warnings: string[] }> {
  return o.db.$transaction((tx) => recomputeDesired(tx), CONTROL_TX);
}
