// The one-line summary above a plan's table.
import type { RouterOutputs } from '../lib/graph/elements.ts';

type Plan = RouterOutputs['farm']['plan'];

/** "Deployed: revision 3. 2 hosts would change, 1 stays as it is." */
export function planSummary(plan: Pick<Plan, 'deployedRevision' | 'hosts' | 'unchangedHosts'>): string {
  const deployed = plan.deployedRevision === null ? 'Not deployed yet.' : `Deployed: revision ${plan.deployedRevision}.`;
  const n = plan.hosts.length;
  const changing = n === 0 ? 'Deploying changes no host' : `${n} host${n === 1 ? '' : 's'} would change`;
  const u = plan.unchangedHosts;
  const staying = u === 0 ? '' : `; ${u} host${u === 1 ? '' : 's'} stay${u === 1 ? 's' : ''} as ${u === 1 ? 'it is' : 'they are'}`;
  return `${deployed} ${changing}${staying}.`;
}
