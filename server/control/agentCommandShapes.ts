// What the console's router manager procedures return (router.inspect,
// router.fib, firewall.inspect): the agent's answer, as the contract has it
// (contract/commands.ts), with the deployed router or firewall it came from.
import { z } from 'zod';
import { firewallViewData, routerViewData } from '../../contract/commands.ts';

/** A deployed router or firewall and the host it runs on. */
export const nodeRefView = z.object({
  id: z.string(),
  name: z.string(),
  farmId: z.string(),
  farmName: z.string(),
  /** Its id on the hosts (its database id, as written into the desired state), as in the agent's metrics. */
  agentId: z.string(),
  host: z.object({ id: z.string(), name: z.string() }),
});

export const routerInspectView = z.object({ router: nodeRefView, view: routerViewData, fetchedAt: z.date() });
export const routerFibView = z.object({
  router: nodeRefView,
  routes: routerViewData.shape.routes,
  routesTotal: z.int().min(0),
  fetchedAt: z.date(),
});
export const firewallInspectView = z.object({ firewall: nodeRefView, view: firewallViewData, fetchedAt: z.date() });
