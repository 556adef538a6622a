// Per-host differences between two sets of desired states: what `farm.plan`
// shows before a deploy. Items are matched by their ids on the hosts and
// listed by their display names (`shop/web-1/eth0`), which people read.
import { canonicalJson } from './compile.ts';
import type { HostState } from './types.ts';

/** Display names of the items added, changed and removed. */
export interface ItemDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

interface Item {
  id: string | number;
  name?: string | undefined;
}

const labelOf = (x: Item) => x.name ?? String(x.id);

export interface HostDiff {
  host: string;
  kind: 'added' | 'changed' | 'removed' | 'unchanged';
  vifs: ItemDiff;
  vnets: ItemDiff;
  routers: ItemDiff;
  firewalls: ItemDiff;
  /** Underlay, peers or relay settings changed. */
  underlayChanged: boolean;
}

function diffItems(before: Item[], after: Item[]): ItemDiff {
  const b = new Map(before.map((t) => [t.id, t]));
  const out: ItemDiff = { added: [], changed: [], removed: [] };
  for (const t of after) {
    const old = b.get(t.id);
    if (old === undefined) out.added.push(labelOf(t));
    else if (canonicalJson(old) !== canonicalJson(t)) out.changed.push(labelOf(t));
  }
  const a = new Set(after.map((t) => t.id));
  for (const t of before) if (!a.has(t.id)) out.removed.push(labelOf(t));
  return out;
}

const EMPTY: Omit<HostState, 'host' | 'underlay'> = { vnets: [], vifs: [], routers: [], firewalls: [], relay: null };

export function diffHost(host: string, before: HostState | undefined, after: HostState | undefined): HostDiff {
  const b = before ?? { host, underlay: after!.underlay, ...EMPTY };
  const a = after ?? { host, underlay: before!.underlay, ...EMPTY };
  const d: HostDiff = {
    host,
    kind: 'unchanged',
    vifs: diffItems(b.vifs, a.vifs),
    vnets: diffItems(b.vnets, a.vnets),
    routers: diffItems(b.routers, a.routers),
    firewalls: diffItems(b.firewalls, a.firewalls),
    underlayChanged: canonicalJson([b.underlay, b.relay]) !== canonicalJson([a.underlay, a.relay]),
  };
  const touched = [d.vifs, d.vnets, d.routers, d.firewalls].some(
    (x) => x.added.length + x.changed.length + x.removed.length > 0,
  );
  d.kind = !before ? 'added' : !after ? 'removed' : touched || d.underlayChanged ? 'changed' : 'unchanged';
  return d;
}

export function diffStates(before: Map<string, HostState>, after: Map<string, HostState>): HostDiff[] {
  const hosts = [...new Set([...before.keys(), ...after.keys()])].sort();
  return hosts.map((h) => diffHost(h, before.get(h), after.get(h)));
}
