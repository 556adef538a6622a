// Remote address matchers and the host's catalog of security groups. An
// address set (contract/securityGroups.ts `addressSets`, a remote group's
// members) is compiled once per host state into one matcher: its /32s as a
// sorted array searched by halving, its other prefixes as (network, mask)
// pairs. Every rule of every VIF that names the set shares that matcher, so
// a set's size costs memory once, not once per rule and VIF. The catalog
// also gives each group and set a version that changes only when its content
// does: a VIF's filter compares versions to tell a real change from a
// repeated state, instead of serialising its groups on every apply.
import * as W from '../wire/index.ts';
import type { AddressSetSpec, SecurityGroupSpec } from '../../contract/securityGroups.ts';

const { parseCidr } = W;

export class AddressMatcher {
  /** 0.0.0.0/0 is among the addresses. */
  readonly any: boolean;
  private readonly hosts: Uint32Array;
  private readonly nets: Uint32Array;
  readonly size: number;

  constructor(addresses: readonly string[]) {
    const hosts: number[] = [];
    const nets: number[] = [];
    let any = false;
    for (const n of addresses) {
      const { network, mask, prefixLen } = parseCidr(n.includes('/') ? n : `${n}/32`);
      if (prefixLen === 0) any = true;
      else if (prefixLen === 32) hosts.push(network);
      else nets.push(network, mask);
    }
    this.any = any;
    this.hosts = Uint32Array.from(hosts).sort();
    this.nets = Uint32Array.from(nets);
    this.size = addresses.length;
  }

  has(a: number): boolean {
    if (this.any) return true;
    const h = this.hosts;
    let lo = 0;
    let hi = h.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = h[mid]!;
      if (v === a) return true;
      if (v < a) lo = mid + 1;
      else hi = mid - 1;
    }
    const n = this.nets;
    for (let i = 0; i < n.length; i += 2) if (((a & n[i + 1]!) >>> 0) === n[i]) return true;
    return false;
  }
}

interface Versioned<T> {
  spec: T;
  key: string;
  version: number;
}

let versions = 0;

/** The host's groups and address sets, as last applied. */
export class SgCatalog {
  private groups = new Map<string, Versioned<SecurityGroupSpec>>();
  private sets = new Map<string, Versioned<AddressSetSpec> & { matcher: AddressMatcher }>();

  constructor(groups: readonly SecurityGroupSpec[] = [], sets: readonly AddressSetSpec[] = []) {
    this.apply(groups, sets);
  }

  /** A new state's groups and sets: unchanged ones keep their version (and matcher). */
  apply(groups: readonly SecurityGroupSpec[], sets: readonly AddressSetSpec[]): void {
    const g = new Map<string, Versioned<SecurityGroupSpec>>();
    for (const spec of groups) {
      const key = JSON.stringify(spec.rules);
      const old = this.groups.get(spec.id);
      g.set(spec.id, old && old.key === key ? { ...old, spec } : { spec, key, version: ++versions });
    }
    const s = new Map<string, Versioned<AddressSetSpec> & { matcher: AddressMatcher }>();
    for (const spec of sets) {
      const key = spec.addresses.join(',');
      const old = this.sets.get(spec.id);
      s.set(spec.id, old && old.key === key ? old : { spec, key, version: ++versions, matcher: new AddressMatcher(spec.addresses) });
    }
    this.groups = g;
    this.sets = s;
  }

  group(id: string): SecurityGroupSpec | undefined {
    return this.groups.get(id)?.spec;
  }

  set(id: string): AddressMatcher | undefined {
    return this.sets.get(id)?.matcher;
  }

  /** What a VIF listing `ids` depends on: its groups' versions and those of the sets they name. */
  signature(ids: readonly string[]): string {
    const parts: (string | number)[] = [ids.join('\u0000')];
    for (const id of ids) {
      const g = this.groups.get(id);
      if (!g) continue;
      parts.push(g.version);
      for (const r of g.spec.rules) if (r.remoteSet !== null) parts.push(this.sets.get(r.remoteSet)?.version ?? -1);
    }
    return parts.join('/');
  }
}
