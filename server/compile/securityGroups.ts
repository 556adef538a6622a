// A farm's security groups as hosts get them (contract/securityGroups.ts):
// on each host, the groups its VIFs of the farm belong to, rule ids the
// database's, and a rule's remote group replaced by the addresses (/32) of
// all the group's members, on whichever host they run (placed or not: the
// address is theirs either way). A membership change therefore changes the
// rules of every host holding a VIF whose group names that group as remote;
// they are all hosts of this farm's part, so recompiling the farm reaches them.
import { SG_MAX_REMOTES } from '../../contract/limits.ts';
import { byString, CompileError } from './common.ts';
import type { CompileFarm, StateSecurityGroup } from './types.ts';

/** A function giving, for a host's VIFs of the farm, the groups they use (by id). */
export function securityGroupsOf(farm: CompileFarm): (vifs: { securityGroups?: string[] | undefined }[]) => StateSecurityGroup[] {
  const groups = farm.securityGroups ?? [];
  if (!groups.length) return () => [];
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
  const compiled = new Map<string, StateSecurityGroup>();
  groups.forEach((g, i) => {
    compiled.set(g.id, {
      id: g.id,
      name: `${farm.name}/${g.name}`,
      rules: g.rules.map((r, j) => {
        let remote: string[];
        if (r.remoteGroup !== null) {
          remote = [...(members.get(r.remoteGroup) ?? [])].sort(byString);
          if (remote.length > SG_MAX_REMOTES) {
            throw new CompileError(
              `securityGroups.${i}.rules.${j}.remoteGroup`,
              `the remote group of a rule of ${g.name} has ${remote.length} member addresses; hosts take at most ${SG_MAX_REMOTES}`,
            );
          }
        } else {
          remote = [r.remoteCidr ?? '0.0.0.0/0'];
        }
        return {
          id: r.id, direction: r.direction, protocol: r.protocol, portFrom: r.portFrom, portTo: r.portTo,
          icmpType: r.icmpType, icmpCode: r.icmpCode, remote,
        };
      }),
    });
  });
  return (vifs) => {
    const used = new Set(vifs.flatMap((v) => v.securityGroups ?? []));
    return [...used].sort(byString).map((id) => {
      const g = compiled.get(id);
      if (!g) throw new CompileError('securityGroups', `a VIF of farm ${farm.name} belongs to unknown security group ${id}`);
      return g;
    });
  };
}
