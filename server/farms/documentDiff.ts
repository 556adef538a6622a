// Comparing a farm document with what is stored (farm.planDocument and
// farm.applyDocument). Pure. A document may leave addresses out; against a
// stored farm, an item the document names again keeps the addresses it has
// (fillFromStored), so applying one document twice assigns nothing new the
// second time. Both sides then go through the same whole-document check
// (farmDocumentCheck.ts) and into one canonical, sorted shape, and the
// difference is listed per item and field, in the document's own terms.
import { z } from 'zod';
import type { FarmDocument, Position } from './farmDocument.ts';
import type { ResolvedDocument } from './farmDocumentCheck.ts';
import { byText, naturalCompare } from './validate.ts';

export const documentChangeView = z.object({
  op: z.enum(['add', 'change', 'remove']),
  kind: z.enum(['farm', 'vnet', 'vm', 'router', 'routerLink', 'firewall', 'securityGroup', 'layout']),
  /** The item's name (a router link: `a–b`; the farm and the layout: the farm's name). */
  name: z.string(),
  /** What changed inside a changed item: `vifs.eth0.ip` and so on, values as JSON text (null: absent). */
  fields: z.array(z.object({ path: z.string(), before: z.string().nullable(), after: z.string().nullable() })),
});
export type DocumentChange = z.infer<typeof documentChangeView>;

const byName = <T extends { name: string }>(xs: readonly T[]) => new Map(xs.map((x) => [x.name, x]));

/**
 * The document with what it leaves out taken from the stored item of the
 * same name: a vnet's id; a VIF's (same VM and name, same vnet), a router
 * interface's (same router and vnet) or a firewall interface's (same
 * firewall and name, same vnet) MAC and IP; a router link's addresses.
 */
export function fillFromStored(doc: FarmDocument, stored: FarmDocument | null): FarmDocument {
  if (!stored) return doc;
  const vnets = byName(stored.vnets);
  const vms = byName(stored.vms);
  const routers = byName(stored.routers);
  const firewalls = byName(stored.firewalls);
  const fill = <T extends { mac?: string | undefined; ip?: string | undefined }>(x: T, old: { mac?: string | undefined; ip?: string | undefined } | undefined): T =>
    old ? { ...x, mac: x.mac ?? old.mac, ip: x.ip ?? old.ip } : x;
  return {
    ...doc,
    vnets: doc.vnets.map((v) => ({ ...v, vnid: v.vnid ?? vnets.get(v.name)?.vnid })),
    vms: doc.vms.map((vm) => {
      const old = vms.get(vm.name);
      return {
        ...vm,
        vifs: vm.vifs.map((f, j) => {
          const name = f.name ?? `eth${j}`;
          const was = old?.vifs.find((o) => o.name === name && o.vnet === f.vnet);
          return fill({ ...f, name }, was);
        }),
      };
    }),
    routers: doc.routers.map((r) => ({
      ...r,
      interfaces: r.interfaces.map((x) => fill(x, routers.get(r.name)?.interfaces.find((o) => o.vnet === x.vnet))),
    })),
    firewalls: doc.firewalls.map((f) => ({
      ...f,
      interfaces: f.interfaces.map((x) => fill(x, firewalls.get(f.name)?.interfaces.find((o) => o.name === x.name && o.vnet === x.vnet))),
    })),
    routerLinks: doc.routerLinks.map((l) => {
      if (l.cidr !== undefined || l.ipA !== undefined || l.ipB !== undefined) return l;
      const old = stored.routerLinks.find((o) => o.a === l.a && o.b === l.b);
      return old ? { ...l, cidr: old.cidr, ipA: old.ipA, ipB: old.ipB } : l;
    }),
  };
}

/** A resolved document in one order (items by name, rules as written), without layout. */
export function canonicalDocument(d: ResolvedDocument) {
  const sorted = <T extends { name: string }>(xs: readonly T[]) => [...xs].sort((a, b) => byText(a.name, b.name));
  return {
    name: d.name,
    description: d.description,
    vnets: sorted(d.vnets).map((v) => ({ ...v, vlans: [...v.vlans].sort((a, b) => byText(a.host, b.host)) })),
    vms: sorted(d.vms).map((vm) => ({
      name: vm.name, host: vm.host, guestKind: vm.guestKind, bandwidthMbps: vm.bandwidthMbps ?? null, burstKb: vm.burstKb ?? null,
      vifs: [...vm.vifs].sort((a, b) => naturalCompare(a.name, b.name)).map(({ securityGroups, ...f }) => ({
        ...f, ...(securityGroups.length ? { securityGroups: [...securityGroups].sort(byText) } : {}),
      })),
    })),
    routers: sorted(d.routers).map((r) => ({
      ...r,
      interfaces: [...r.interfaces].sort((a, b) => byText(a.vnet, b.vnet)),
      staticRoutes: [...r.staticRoutes].sort((a, b) => byText(a.destination, b.destination)),
    })),
    routerLinks: [...d.routerLinks].map((l) => ({ name: `${l.a}–${l.b}`, ...l })).sort((x, y) => byText(x.name, y.name)),
    firewalls: sorted(d.firewalls).map((f) => ({ ...f, interfaces: sorted(f.interfaces) })),
    securityGroupMode: d.securityGroupMode,
    securityGroups: sorted(d.securityGroups),
  };
}
export type CanonicalDocument = ReturnType<typeof canonicalDocument>;

/** How the elements of a list inside an item are told apart in a field path. */
function elementLabel(listKey: string, el: unknown, index: number): string {
  if (listKey === 'rules' || el === null || typeof el !== 'object') return String(index);
  const o = el as Record<string, unknown>;
  const label = o.name ?? o.vnet ?? o.destination ?? o.host;
  return typeof label === 'string' ? label : String(index);
}

/** Every leaf of a value by its path (lists by their elements' labels). */
function flatten(value: unknown, path: string, out: Map<string, string>): void {
  if (Array.isArray(value)) {
    const key = path.slice(path.lastIndexOf('.') + 1);
    if (!value.length) out.set(path, '[]');
    value.forEach((el, i) => flatten(el, `${path}.${elementLabel(key, el, i)}`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (v !== undefined) flatten(v, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, JSON.stringify(value));
  }
}

function fieldDiff(before: unknown, after: unknown): DocumentChange['fields'] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before, '', a);
  flatten(after, '', b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort(naturalCompare);
  return paths
    .filter((p) => a.get(p) !== b.get(p))
    .map((path) => ({ path, before: a.get(path) ?? null, after: b.get(path) ?? null }));
}

type ItemKind = 'vnet' | 'vm' | 'router' | 'routerLink' | 'firewall' | 'securityGroup';

/** What changes from `before` (null: no farm yet) to `after`, item by item. */
export function diffDocuments(before: CanonicalDocument | null, after: CanonicalDocument): DocumentChange[] {
  const changes: DocumentChange[] = [];
  if (!before) {
    changes.push({ op: 'add', kind: 'farm', name: after.name, fields: [] });
  } else {
    const fields = fieldDiff(
      { description: before.description, securityGroupMode: before.securityGroupMode },
      { description: after.description, securityGroupMode: after.securityGroupMode },
    );
    if (fields.length) changes.push({ op: 'change', kind: 'farm', name: after.name, fields });
  }
  const lists: [ItemKind, keyof CanonicalDocument][] = [
    ['vnet', 'vnets'], ['vm', 'vms'], ['router', 'routers'], ['routerLink', 'routerLinks'], ['firewall', 'firewalls'],
    ['securityGroup', 'securityGroups'],
  ];
  for (const [kind, key] of lists) {
    const olds = byName((before?.[key] ?? []) as { name: string }[]);
    const news = byName(after[key] as { name: string }[]);
    for (const [name, item] of news) {
      const old = olds.get(name);
      if (!old) changes.push({ op: 'add', kind, name, fields: fieldDiff({}, item) });
      else {
        const fields = fieldDiff(old, item);
        if (fields.length) changes.push({ op: 'change', kind, name, fields });
      }
    }
    for (const [name, item] of olds) if (!news.has(name)) changes.push({ op: 'remove', kind, name, fields: fieldDiff(item, {}) });
  }
  return changes;
}

/** A layout change, when the document carries a layout that differs from the stored one (an empty one keeps it). */
export function diffLayout(name: string, before: Record<string, Position>, after: Record<string, Position>): DocumentChange[] {
  if (!Object.keys(after).length) return [];
  const fields = fieldDiff(before, after);
  return fields.length ? [{ op: 'change', kind: 'layout', name, fields }] : [];
}
