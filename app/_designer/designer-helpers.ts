// Small pure helpers of the designer page: what a delete will take with it,
// which names are taken, and which keys do what.
import type { FarmDetail, FarmNodeKind } from '../lib/graph/elements.ts';
import type { FarmSelection } from '../lib/graph/farm-graph.ts';
import { attachmentsOf } from './farm-commands.ts';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The confirmation text for deleting `sel`, naming what goes with it. */
export function describeDelete(farm: FarmDetail, sel: FarmSelection): { title: string; detail: string } {
  switch (sel.kind) {
    case 'vm':
      return { title: `Delete VM ${sel.item.name}?`, detail: sel.item.vifs.length ? `Its ${plural(sel.item.vifs.length, 'VIF')} will be removed too.` : 'It has no VIFs.' };
    case 'vnet': {
      const a = attachmentsOf(farm, sel.item.id);
      const n = a.vifs.length + a.routerInterfaces.length + a.firewallInterfaces.length;
      return { title: `Delete vnet ${sel.item.name}?`, detail: n ? `${plural(n, 'VIF or interface', 'VIFs and interfaces')} on it will be removed first.` : 'Nothing is attached to it.' };
    }
    case 'router': {
      const links = farm.routerLinks.filter((l) => l.routerAId === sel.item.id || l.routerBId === sel.item.id).length;
      return { title: `Delete router ${sel.item.name}?`, detail: `Its ${plural(sel.item.interfaces.length, 'interface')}, ${plural(sel.item.staticRoutes.length, 'static route')} and ${plural(links, 'link')} go with it.` };
    }
    case 'firewall':
      return { title: `Delete firewall ${sel.item.name}?`, detail: `Its ${plural(sel.item.interfaces.length, 'interface')} and ${plural(sel.item.rules.length, 'rule')} go with it.` };
    case 'vif':
      return { title: `Remove VIF ${sel.vm.name}/${sel.item.name}?`, detail: `The VM loses ${sel.item.ip} (${sel.item.mac}).` };
    case 'routerInterface':
      return { title: `Remove interface ${sel.item.ip} of router ${sel.router.name}?`, detail: 'The router stops routing for that vnet.' };
    case 'firewallInterface':
      return { title: `Remove interface ${sel.item.name} of firewall ${sel.firewall.name}?`, detail: `${sel.item.ip} goes away.` };
    case 'externalLeg': {
      const n = sel.item.floatingIps.length + sel.item.portForwards.length;
      return { title: `Detach from external network ${sel.item.networkName}?`, detail: `${sel.item.ip}${n ? ` and ${plural(n, 'floating IP or port forward', 'floating IPs and port forwards')}` : ''} go back to the pool.` };
    }
    case 'routerLink':
      return { title: 'Remove this router link?', detail: `The ${sel.item.cidr} link between the two routers goes away.` };
  }
}

/** Every node name in the farm: new nodes get one that is free across kinds. */
export function takenNames(farm: FarmDetail): string[] {
  return [...farm.vnets, ...farm.vms, ...farm.routers, ...farm.firewalls].map((x) => x.name);
}

export function nodeKindOf(farm: FarmDetail, id: string): FarmNodeKind | null {
  if (farm.vnets.some((x) => x.id === id)) return 'vnet';
  if (farm.vms.some((x) => x.id === id)) return 'vm';
  if (farm.routers.some((x) => x.id === id)) return 'router';
  if (farm.firewalls.some((x) => x.id === id)) return 'firewall';
  return null;
}

export type DesignerKey = 'delete' | 'undo' | 'redo' | 'escape' | null;

/** The designer action a key press means, unless the user is typing in a field. */
export function designerKey(e: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }, typing: boolean): DesignerKey {
  if (typing || e.altKey) return null;
  const mod = e.ctrlKey || e.metaKey;
  const k = e.key.toLowerCase();
  if (mod && k === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (mod && k === 'y') return 'redo';
  if (!mod && (e.key === 'Delete' || e.key === 'Backspace')) return 'delete';
  if (e.key === 'Escape') return 'escape';
  return null;
}

/** Whether keys typed into `el` belong to a form field rather than to the canvas. */
export function isTyping(el: Element | null): boolean {
  if (!el) return false;
  if (el.closest('dialog[open]')) return true;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (el as HTMLElement).isContentEditable;
}

/** All objects of a farm for the "select" list (keyboard access to the canvas). */
export function outline(farm: FarmDetail): { id: string; label: string }[] {
  const vnet = (id: string) => farm.vnets.find((v) => v.id === id)?.name ?? '?';
  const router = (id: string) => farm.routers.find((r) => r.id === id)?.name ?? '?';
  return [
    ...farm.vnets.map((v) => ({ id: v.id, label: `vnet ${v.name}` })),
    ...farm.vms.map((v) => ({ id: v.id, label: `VM ${v.name}` })),
    ...farm.routers.map((r) => ({ id: r.id, label: `router ${r.name}` })),
    ...farm.firewalls.map((f) => ({ id: f.id, label: `firewall ${f.name}` })),
    ...farm.vms.flatMap((v) => v.vifs.map((f) => ({ id: f.id, label: `VIF ${v.name}/${f.name} → ${vnet(f.vnetId)}` }))),
    ...farm.routers.flatMap((r) => r.interfaces.map((i) => ({ id: i.id, label: `interface ${r.name} → ${vnet(i.vnetId)}` }))),
    ...farm.firewalls.flatMap((f) => f.interfaces.map((i) => ({ id: i.id, label: `interface ${f.name}/${i.name} → ${vnet(i.vnetId)}` }))),
    ...farm.routerLinks.map((l) => ({ id: l.id, label: `link ${router(l.routerAId)} – ${router(l.routerBId)}` })),
  ];
}
