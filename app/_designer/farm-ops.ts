// The farm-intent API operations the designer uses, each sent with the
// revision this page last saw and advancing it from the answer. A stale
// revision comes back as CONFLICT on `expectedRevision` (see isStaleRevision).
import type { inferRouterInputs } from '@trpc/server';
import type { AppRouter } from '../../server/routers/_app.ts';
import type { ApiClient } from '../lib/trpc.ts';
import type { FarmDetail } from '../lib/graph/elements.ts';

type In = inferRouterInputs<AppRouter>;
type Spec<T> = Omit<T, 'farmId' | 'expectedRevision'>;
type Patch<T> = Omit<T, 'id' | 'expectedRevision'>;

export type VnetView = FarmDetail['vnets'][number];
export type VmView = FarmDetail['vms'][number];
export type VifView = VmView['vifs'][number];
export type RouterView = FarmDetail['routers'][number];
export type RouterInterfaceView = RouterView['interfaces'][number];
export type StaticRouteView = RouterView['staticRoutes'][number];
export type RouterLinkView = FarmDetail['routerLinks'][number];
export type FirewallView = FarmDetail['firewalls'][number];
export type FirewallInterfaceView = FirewallView['interfaces'][number];
export type RuleInput = In['firewall']['setRules']['rules'][number];

export type VnetSpec = Spec<In['vnet']['create']>;
export type VmSpec = Spec<In['vm']['create']>;
export type RouterSpec = Spec<In['router']['create']>;
export type FirewallSpec = Spec<In['firewall']['create']>;
export type VifSpec = Omit<In['vif']['create'], 'expectedRevision'>;
export type RouterInterfaceSpec = Omit<In['router']['addInterface'], 'expectedRevision'>;
export type FirewallInterfaceSpec = Omit<In['firewall']['addInterface'], 'expectedRevision'>;
export type StaticRouteSpec = Omit<In['router']['addStaticRoute'], 'expectedRevision'>;
export type LinkSpec = Omit<In['router']['link'], 'expectedRevision'>;

export type VnetPatch = Patch<In['vnet']['update']>;
export type VmPatch = Patch<In['vm']['update']>;
export type VifPatch = Patch<In['vif']['update']>;
export type RouterPatch = Patch<In['router']['update']>;
export type RouterInterfacePatch = Patch<In['router']['updateInterface']>;
export type FirewallPatch = Patch<In['firewall']['update']>;

/** Everything the designer's commands do to a farm; a fake implements it in tests. */
export interface FarmOps {
  createVnet(s: VnetSpec): Promise<VnetView>;
  updateVnet(id: string, p: VnetPatch): Promise<void>;
  deleteVnet(id: string): Promise<void>;
  createVm(s: VmSpec): Promise<VmView>;
  updateVm(id: string, p: VmPatch): Promise<void>;
  deleteVm(id: string): Promise<void>;
  createVif(s: VifSpec): Promise<VifView>;
  updateVif(id: string, p: VifPatch): Promise<void>;
  deleteVif(id: string): Promise<void>;
  createRouter(s: RouterSpec): Promise<RouterView>;
  updateRouter(id: string, p: RouterPatch): Promise<void>;
  deleteRouter(id: string): Promise<void>;
  addRouterInterface(s: RouterInterfaceSpec): Promise<RouterInterfaceView>;
  updateRouterInterface(id: string, p: RouterInterfacePatch): Promise<void>;
  removeRouterInterface(id: string): Promise<void>;
  addStaticRoute(s: StaticRouteSpec): Promise<StaticRouteView>;
  removeStaticRoute(id: string): Promise<void>;
  link(s: LinkSpec): Promise<RouterLinkView>;
  unlink(id: string): Promise<void>;
  createFirewall(s: FirewallSpec): Promise<FirewallView>;
  updateFirewall(id: string, p: FirewallPatch): Promise<void>;
  deleteFirewall(id: string): Promise<void>;
  addFirewallInterface(s: FirewallInterfaceSpec): Promise<FirewallInterfaceView>;
  removeFirewallInterface(id: string): Promise<void>;
  setRules(firewallId: string, rules: RuleInput[]): Promise<FirewallView>;
}

/** The revision this page works from; every successful write moves it on. */
export interface RevisionRef {
  current: number;
}

/** Sends one write with the current revision and adopts the farm revision it answers with. */
export const revisionWriter = (rev: RevisionRef) =>
  async <T extends { farmRevision: number }>(send: (expectedRevision: number) => Promise<T>): Promise<T> => {
    const out = await send(rev.current);
    rev.current = out.farmRevision;
    return out;
  };

export function makeFarmOps(client: ApiClient, farmId: string, rev: RevisionRef): FarmOps {
  const write = revisionWriter(rev);
  const done = () => undefined;
  return {
    createVnet: (s) => write((e) => client.vnet.create.mutate({ ...s, farmId, expectedRevision: e })).then((r) => r.vnet),
    updateVnet: (id, p) => write((e) => client.vnet.update.mutate({ ...p, id, expectedRevision: e })).then(done),
    deleteVnet: (id) => write((e) => client.vnet.delete.mutate({ id, expectedRevision: e })).then(done),
    createVm: (s) => write((e) => client.vm.create.mutate({ ...s, farmId, expectedRevision: e })).then((r) => r.vm),
    updateVm: (id, p) => write((e) => client.vm.update.mutate({ ...p, id, expectedRevision: e })).then(done),
    deleteVm: (id) => write((e) => client.vm.delete.mutate({ id, expectedRevision: e })).then(done),
    createVif: (s) => write((e) => client.vif.create.mutate({ ...s, expectedRevision: e })).then((r) => r.vif),
    updateVif: (id, p) => write((e) => client.vif.update.mutate({ ...p, id, expectedRevision: e })).then(done),
    deleteVif: (id) => write((e) => client.vif.delete.mutate({ id, expectedRevision: e })).then(done),
    createRouter: (s) => write((e) => client.router.create.mutate({ ...s, farmId, expectedRevision: e })).then((r) => r.router),
    updateRouter: (id, p) => write((e) => client.router.update.mutate({ ...p, id, expectedRevision: e })).then(done),
    deleteRouter: (id) => write((e) => client.router.delete.mutate({ id, expectedRevision: e })).then(done),
    addRouterInterface: (s) => write((e) => client.router.addInterface.mutate({ ...s, expectedRevision: e })).then((r) => r.interface),
    updateRouterInterface: (id, p) => write((e) => client.router.updateInterface.mutate({ ...p, id, expectedRevision: e })).then(done),
    removeRouterInterface: (id) => write((e) => client.router.removeInterface.mutate({ id, expectedRevision: e })).then(done),
    addStaticRoute: (s) => write((e) => client.router.addStaticRoute.mutate({ ...s, expectedRevision: e })).then((r) => r.staticRoute),
    removeStaticRoute: (id) => write((e) => client.router.removeStaticRoute.mutate({ id, expectedRevision: e })).then(done),
    link: (s) => write((e) => client.router.link.mutate({ ...s, expectedRevision: e })).then((r) => r.link),
    unlink: (id) => write((e) => client.router.unlink.mutate({ id, expectedRevision: e })).then(done),
    createFirewall: (s) => write((e) => client.firewall.create.mutate({ ...s, farmId, expectedRevision: e })).then((r) => r.firewall),
    updateFirewall: (id, p) => write((e) => client.firewall.update.mutate({ ...p, id, expectedRevision: e })).then(done),
    deleteFirewall: (id) => write((e) => client.firewall.delete.mutate({ id, expectedRevision: e })).then(done),
    addFirewallInterface: (s) => write((e) => client.firewall.addInterface.mutate({ ...s, expectedRevision: e })).then((r) => r.interface),
    removeFirewallInterface: (id) => write((e) => client.firewall.removeInterface.mutate({ id, expectedRevision: e })).then(done),
    setRules: (firewallId, rules) => write((e) => client.firewall.setRules.mutate({ firewallId, rules, expectedRevision: e })).then((r) => r.firewall),
  };
}
