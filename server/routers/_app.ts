// The public API: this file only maps names to routers (one procedure per
// file under server/routers/<entity>/).
import { router } from '../trpc/init.ts';
import { authRouter } from './auth/index.ts';
import { userRouter } from './user/index.ts';
import { apiTokenRouter } from './apiToken/index.ts';
import { hostRouter } from './host/index.ts';
import { segmentRouter } from './segment/index.ts';
import { auditRouter } from './audit/index.ts';
import { farmRouter } from './farm/index.ts';
import { vnetRouter } from './vnet/index.ts';
import { vmRouter } from './vm/index.ts';
import { vifRouter } from './vif/index.ts';
import { routerRouter } from './router/index.ts';
import { firewallRouter } from './firewall/index.ts';
import { securityGroupRouter } from './securityGroup/index.ts';
import { agentRouter } from './agent/index.ts';
import { deploymentRouter } from './deployment/index.ts';

export const appRouter = router({
  auth: authRouter,
  user: userRouter,
  apiToken: apiTokenRouter,
  host: hostRouter,
  segment: segmentRouter,
  audit: auditRouter,
  farm: farmRouter,
  vnet: vnetRouter,
  vm: vmRouter,
  vif: vifRouter,
  router: routerRouter,
  firewall: firewallRouter,
  securityGroup: securityGroupRouter,
  agent: agentRouter,
  deployment: deploymentRouter,
});

export type AppRouter = typeof appRouter;
