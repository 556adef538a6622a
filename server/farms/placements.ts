// What a host can run, as its agent declared at enrollment (`host.enroll`
// `capabilities`, e.g. `guest:emulated`, `guest:tap`: agent/control/enroll.ts).
// A VM's guest kind needs `guest:<kind>` on its host. A host that declared no
// `guest:*` capability at all (never enrolled, or an agent that predates
// them) is "unknown": placements on it are allowed and a plan or deploy warns
// that it could not check those needing more than an emulated guest (which
// every agent runs), since refusing every host that has not enrolled yet
// would stop operators from preparing farms ahead of their agents.
import { badRequest } from '../errors.ts';
import type { Tx } from './farmAccess.ts';

export type GuestKind = 'emulated' | 'tap';

/** Runs inside the agent itself, so any agent can run it: no warning on an unknown host. */
const BASELINE_GUEST: GuestKind = 'emulated';

/** The capability a guest kind needs on its host. */
export const guestCapability = (kind: GuestKind): string => `guest:${kind}`;

/** A host's declared capabilities (stored as JSON), or null when they say nothing about guests. */
export function guestCapabilities(stored: unknown): string[] | null {
  const all = Array.isArray(stored) ? stored.filter((c): c is string => typeof c === 'string') : [];
  return all.some((c) => c.startsWith('guest:')) ? all : null;
}

export type PlacementCheck =
  | { ok: true; unknown: boolean }
  | { ok: false; needs: string; has: string[] };

/** Whether a host with these stored capabilities can run a guest of this kind. */
export function checkGuestPlacement(stored: unknown, kind: GuestKind): PlacementCheck {
  const caps = guestCapabilities(stored);
  if (caps === null) return { ok: true, unknown: true };
  const needs = guestCapability(kind);
  return caps.includes(needs) ? { ok: true, unknown: false } : { ok: false, needs, has: caps.filter((c) => c.startsWith('guest:')) };
}

/** "host h2 cannot run tap guests (its agent declared guest:emulated only)". */
export function cannotRunMessage(hostName: string, kind: GuestKind, has: string[]): string {
  const declared = has.length ? `${has.join(', ')} only` : 'no guest kinds';
  return `host ${hostName} cannot run ${kind} guests (its agent declared ${declared}); choose a host with ${guestCapability(kind)} or another guest kind`;
}

/**
 * Refuses (BAD_REQUEST on `field`) to place a guest of `kind` on a host
 * that declared it cannot run it. Unknown hosts pass; no host passes.
 */
export async function requireHostRunsGuest(tx: Tx, hostId: string | null, kind: GuestKind, field: string): Promise<void> {
  if (hostId === null) return;
  const host = await tx.host.findUnique({ where: { id: hostId }, select: { name: true, capabilities: true } });
  if (!host) return;
  const check = checkGuestPlacement(host.capabilities, kind);
  if (!check.ok) throw badRequest(field, cannotRunMessage(host.name, kind, check.has), { host: host.name, guestKind: kind, needs: check.needs });
}

/** One VM of a farm document placed on a host that cannot run it, or could not be checked. */
export interface PlacementIssue {
  vm: string;
  host: string;
  guestKind: GuestKind;
  message: string;
}

export interface PlacementReport {
  /** Placements a deploy refuses. */
  errors: PlacementIssue[];
  /** Placements on hosts that never declared their guest kinds: deployed, but unchecked. */
  warnings: PlacementIssue[];
}

/**
 * Checks every placed VM of a farm document (host names) against the hosts'
 * declared capabilities as they are now. Hosts the document names that do
 * not exist are left to the compiler's own warning.
 */
export async function checkDocumentPlacements(
  q: Pick<Tx, 'host'>,
  farmName: string,
  vms: { name: string; host: string | null; guestKind: GuestKind }[],
): Promise<PlacementReport> {
  const names = [...new Set(vms.flatMap((v) => (v.host === null ? [] : [v.host])))];
  const rows = names.length ? await q.host.findMany({ where: { name: { in: names } }, select: { name: true, capabilities: true } }) : [];
  const byName = new Map(rows.map((h) => [h.name, h.capabilities]));
  const out: PlacementReport = { errors: [], warnings: [] };
  for (const vm of vms) {
    if (vm.host === null || !byName.has(vm.host)) continue;
    const check = checkGuestPlacement(byName.get(vm.host), vm.guestKind);
    const base = { vm: vm.name, host: vm.host, guestKind: vm.guestKind };
    if (!check.ok) {
      out.errors.push({ ...base, message: `farm ${farmName}: VM ${vm.name}: ${cannotRunMessage(vm.host, vm.guestKind, check.has)}` });
    } else if (check.unknown && vm.guestKind !== BASELINE_GUEST) {
      out.warnings.push({
        ...base,
        message: `farm ${farmName}: VM ${vm.name} (${vm.guestKind}) is placed on host ${vm.host}, which has not declared the guest kinds it runs; not checked`,
      });
    }
  }
  return out;
}
