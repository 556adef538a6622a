// Bounds on the work one request may ask for, in one place: what the API
// enforces and what the web console's own client keeps to. Plain constants,
// so the browser bundle can import them.
import { FIREWALL_MAX_RULES } from '../contract/limits.ts';

/** Calls in one batch request (`?batch=1`); more is a BAD_REQUEST on `batch`. */
export const MAX_BATCH_CALLS = 10;

/** Bytes in one request's body; larger is refused (413) before it is read in full. A farm document at FARM_LIMITS fits. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * What one farm may hold, on every path that adds to it: farm.import and
 * farm.clone (the whole document at once) and each create or add procedure
 * (one object at a time). A farm at these limits still imports, exports,
 * plans and deploys in seconds and a few hundred megabytes at most
 * (`npm run bench:api`); past them a single request could take the console
 * and its database for minutes.
 */
export const FARM_LIMITS = {
  vnets: 1_000,
  vms: 4_000,
  vifs: 16_000,
  routers: 500,
  routerInterfaces: 4_000,
  staticRoutes: 10_000,
  routerLinks: 2_000,
  firewalls: 500,
  firewallInterfaces: 4_000,
  firewallRules: 20_000,
  vlans: 2_000,
  securityGroups: 1_000,
  securityRules: 20_000,
} as const;
export type FarmLimitKind = keyof typeof FARM_LIMITS;

/**
 * What one object of a farm may hold, on every path that adds to it: the
 * farm document's lists (import, export, clone), the create procedures' lists
 * and each add procedure, so a farm built one call at a time still exports.
 */
export const OBJECT_LIMITS = {
  vifsPerVm: 64,
  interfacesPerNode: 64,
  staticRoutesPerRouter: 1_000,
  rulesPerFirewall: FIREWALL_MAX_RULES,
  vlansPerVnet: 1_000,
} as const;

/** How each kind is named in messages. */
export const FARM_LIMIT_NOUNS: Record<FarmLimitKind, string> = {
  vnets: 'vnets',
  vms: 'VMs',
  vifs: 'VIFs',
  routers: 'routers',
  routerInterfaces: 'router interfaces',
  staticRoutes: 'static routes',
  routerLinks: 'router links',
  firewalls: 'firewalls',
  firewallInterfaces: 'firewall interfaces',
  firewallRules: 'firewall rules',
  vlans: 'VLAN bridges',
  securityGroups: 'security groups',
  securityRules: 'security group rules',
};
