// Per-host differences between two sets of desired states: what `farm.plan`
// shows before a deploy, and what tells the deploy service which hosts need a
// new generation.
import { canonicalJson } from './compile.ts';
import type { HostState } from './types.ts';

export interface ItemDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

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

function diffItems<T>(before: T[], after: T[], key: (t: T) => string): ItemDiff {
  const b = new Map(before.map((t) => [key(t), canonicalJson(t)]));
  const a = new Map(after.map((t) => [key(t), canonicalJson(t)]));
  const out: ItemDiff = { added: [], changed: [], removed: [] };
  for (const [k, v] of a) {
    const old = b.get(k);
    if (old === undefined) out.added.push(k);
    else if (old !== v) out.changed.push(k);
  }
  for (const k of b.keys()) if (!a.has(k)) out.removed.push(k);
  return out;
}

const EMPTY: Omit<HostState, 'host' | 'underlay'> = { vnets: [], vifs: [], routers: [], firewalls: [], relay: null };

export function diffHost(host: string, before: HostState | undefined, after: HostState | undefined): HostDiff {
  const b = before ?? { host, underlay: after!.underlay, ...EMPTY };
  const a = after ?? { host, underlay: before!.underlay, ...EMPTY };
  const d: HostDiff = {
    host,
    kind: 'unchanged',
    vifs: diffItems(b.vifs, a.vifs, (v) => v.id),
    vnets: diffItems(b.vnets, a.vnets, (v) => String(v.id)),
    routers: diffItems(b.routers, a.routers, (r) => r.id),
    firewalls: diffItems(b.firewalls, a.firewalls, (f) => f.id),
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
