// A farm's security groups as hosts get them (contract/securityGroups.ts):
// on each host, the groups its VIFs of the farm belong to, rule ids the
// database's. A rule's remote group becomes an address set named by the
// rule (`remoteSet`, the group's id): the addresses (/32) of all the
// group's members, on whichever host they run (placed or not: the address
// is theirs either way), sent once per host however many rules name it. A
// membership change therefore changes the sets of every host holding a VIF
// whose group names that group as remote; they are all hosts of this farm's
// part, so recompiling the farm reaches them. A host's remote entries (sets
// and rules' own CIDRs) and rules are bounded: past the bound the farm is
// refused, naming the rule whose remote group carries the most addresses.
import { SG_MAX_REMOTE_ENTRIES, SG_MAX_RULES_PER_HOST } from '../../contract/limits.ts';
import { byString, CompileError } from './common.ts';
import type { CompileFarm, StateAddressSet, StateSecurityGroup } from './types.ts';

export interface HostSecurityGroups {
  securityGroups: StateSecurityGroup[];
  addressSets: StateAddressSet[];
}

/** A function giving, for a host's VIFs of the farm, the groups they use (by id) and the address sets those name. */
export function securityGroupsOf(farm: CompileFarm): (vifs: { securityGroups?: string[] | undefined }[]) => HostSecurityGroups {
  const groups = farm.securityGroups ?? [];
  if (!groups.length) return () => ({ securityGroups: [], addressSets: [] });
  const members = new Map<string, Set<string>>();
  for (const vm of farm.vms) {
    for (const vif of vm.vifs) {
      for (const g of vif.securityGroups ?? []) {
        let s = members.get(g);
        if (!s) members.set(g, (s = new Set()));
        s.add(`${vif.ip}/32`);
      }
    }
  }
  const sets = new Map<string, StateAddressSet>();
  const setOf = (id: string): StateAddressSet => {
    let s = sets.get(id);
    if (!s) sets.set(id, (s = { id, addresses: [...(members.get(id) ?? [])].sort(byString) }));
    return s;
  };
  const compiled = new Map<string, { index: number; group: StateSecurityGroup }>();
  groups.forEach((g, i) => {
    compiled.set(g.id, {
      index: i,
      group: {
        id: g.id,
        name: `${farm.name}/${g.name}`,
        rules: g.rules.map((r) => ({
          id: r.id, direction: r.direction, protocol: r.protocol, portFrom: r.portFrom, portTo: r.portTo,
          icmpType: r.icmpType, icmpCode: r.icmpCode,
          ...(r.remoteGroup !== null ? { remote: [], remoteSet: setOf(r.remoteGroup).id } : { remote: [r.remoteCidr ?? '0.0.0.0/0'], remoteSet: null }),
        })),
      },
    });
  });
  return (vifs) => {
    const used = new Set(vifs.flatMap((v) => v.securityGroups ?? []));
    const out = [...used].sort(byString).map((id) => {
      const g = compiled.get(id);
      if (!g) throw new CompileError('securityGroups', `a VIF of farm ${farm.name} belongs to unknown security group ${id}`);
      return g;
    });
    const named = new Set(out.flatMap((g) => g.group.rules.flatMap((r) => (r.remoteSet !== null ? [r.remoteSet] : []))));
    const addressSets = [...named].sort(byString).map((id) => sets.get(id)!);
    checkBounds(farm, out, addressSets);
    return { securityGroups: out.map((g) => g.group), addressSets };
  };
}

/** Refuses a host part past the host bounds (contract/limits.ts), naming the field that weighs most. */
function checkBounds(farm: CompileFarm, used: { index: number; group: StateSecurityGroup }[], sets: StateAddressSet[]): void {
  const rules = used.reduce((n, g) => n + g.group.rules.length, 0);
  if (rules > SG_MAX_RULES_PER_HOST) {
    const big = used.reduce((a, b) => (b.group.rules.length > a.group.rules.length ? b : a));
    throw new CompileError(
      `securityGroups.${big.index}.rules`,
      `the security groups of farm ${farm.name} on one host have ${rules} rules; a host takes at most ${SG_MAX_RULES_PER_HOST}`,
    );
  }
  const entries = sets.reduce((n, s) => n + s.addresses.length, 0) + used.reduce((n, g) => n + g.group.rules.reduce((m, r) => m + r.remote.length, 0), 0);
  if (entries <= SG_MAX_REMOTE_ENTRIES) return;
  const size = new Map(sets.map((s) => [s.id, s.addresses.length]));
  let field = 'securityGroups';
  let most = -1;
  for (const g of used) {
    g.group.rules.forEach((r, j) => {
      const n = r.remoteSet !== null ? size.get(r.remoteSet)! : 0;
      if (n > most) [most, field] = [n, `securityGroups.${g.index}.rules.${j}.remoteGroup`];
    });
  }
  throw new CompileError(
    field,
    `the remote groups of farm ${farm.name}'s security groups on one host hold ${entries} addresses with the rules' own; a host takes at most ${SG_MAX_REMOTE_ENTRIES}`,
  );
}
