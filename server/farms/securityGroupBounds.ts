// What a farm's security groups put on each host, checked when they are
// edited (docs/security-groups.md "What hosts get"): on every host running
// VMs of the farm, the rules of the groups its VIFs use and the members of
// the remote groups those rules name (sent once per host as address sets)
// must stay within the host bounds of contract/limits.ts, which compile
// enforces at deploy. Refused here first, naming the edited field.
import { SG_MAX_REMOTE_ENTRIES, SG_MAX_RULES_PER_HOST } from '../../contract/limits.ts';
import { badRequest } from '../errors.ts';
import type { Tx } from './farmAccess.ts';

export async function checkHostBounds(tx: Tx, farmId: string, field: string): Promise<void> {
  const vifs = await tx.vif.findMany({
    where: { vm: { farmId } }, select: { vm: { select: { hostId: true } }, securityGroups: { select: { groupId: true } } },
  });
  // Counted in the database, one row per group and remote group: a farm may hold tens of thousands of rules.
  const rules = await tx.securityRule.groupBy({ by: ['groupId', 'remoteGroupId'], where: { group: { farmId } }, _count: { _all: true } });
  const members = new Map<string, number>();
  const byHost = new Map<string, Set<string>>();
  for (const v of vifs) {
    for (const { groupId } of v.securityGroups) members.set(groupId, (members.get(groupId) ?? 0) + 1);
    if (v.vm.hostId === null) continue;
    let used = byHost.get(v.vm.hostId);
    if (!used) byHost.set(v.vm.hostId, (used = new Set()));
    for (const { groupId } of v.securityGroups) used.add(groupId);
  }
  const rulesOf = new Map<string, { remote: string | null; n: number }[]>();
  for (const r of rules) {
    let l = rulesOf.get(r.groupId);
    if (!l) rulesOf.set(r.groupId, (l = []));
    l.push({ remote: r.remoteGroupId, n: r._count._all });
  }
  for (const used of byHost.values()) {
    let count = 0;
    let cidrs = 0;
    const sets = new Set<string>();
    for (const g of used) {
      for (const { remote, n } of rulesOf.get(g) ?? []) {
        count += n;
        if (remote === null) cidrs += n;
        else sets.add(remote);
      }
    }
    if (count > SG_MAX_RULES_PER_HOST) {
      throw badRequest(field, `the security groups of this farm's VIFs on one host would have ${count} rules; a host takes at most ${SG_MAX_RULES_PER_HOST}`);
    }
    const entries = cidrs + [...sets].reduce((n, s) => n + (members.get(s) ?? 0), 0);
    if (entries > SG_MAX_REMOTE_ENTRIES) {
      throw badRequest(field, `the remote groups named by this farm's rules on one host would hold ${entries} addresses with the rules' own; a host takes at most ${SG_MAX_REMOTE_ENTRIES}`);
    }
  }
}
