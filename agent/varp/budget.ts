// What one vnet may take of the VARP engine, so that a guest (or anyone
// sending on its vnet) flooding new destinations cannot starve the other
// vnets of the host: resolutions in progress are counted per vnet against a
// share of the host-wide limit (the frames held for them are bounded per vnet
// by the switch, agent/switch/held.ts), and the
// REQUESTs a vnet floods come out of its own token bucket. A vnet at its
// share replaces its own oldest resolution: a flood's resolutions never answer,
// and a new destination (a real one among them, or after the flood) must not
// wait for them to fail. When the host's
// limit is reached all the same (many vnets flooding at once), a vnet below
// an even share takes the place of the oldest resolution of the vnet holding
// the most. Tracked only for
// vnets with something in progress (or a bucket still refilling).
import type { VarpConfig } from './types.ts';

interface Use<T> {
  /** Resolutions in progress, oldest first. */
  owners: Set<T>;
  resolving: number;
  tokens: number;
  /** When `tokens` was last brought up to date (ms, performance.now()). */
  at: number;
}

/** Why a vnet may not start one more resolution. */
export type BudgetRefusal = 'too_many_resolving' | 'vnet_resolving_limit';

export class VnetBudget<T extends { readonly vnet: number }> {
  private readonly use = new Map<number, Use<T>>();
  private resolvingTotal = 0;

  constructor(
    private readonly cfg: VarpConfig,
    private readonly clock: () => number,
  ) {}

  resolvingOn(vnet: number): number {
    return this.use.get(vnet)?.resolving ?? 0;
  }

  /** null when `vnet` may start one more resolution: below its own share and the host is not full. */
  refuseResolution(vnet: number): BudgetRefusal | null {
    if (this.resolvingTotal >= this.cfg.maxResolving) return 'too_many_resolving';
    return this.resolvingOn(vnet) >= this.cfg.maxResolvingPerVnet ? 'vnet_resolving_limit' : null;
  }

  /**
   * When the host is full: the oldest resolution of the vnet holding the most,
   * if `vnet` holds less than an even share of the host's limit among the
   * vnets resolving and that one more. Ending it (the caller does) makes room,
   * so however many vnets flood, each keeps its share.
   */
  victim(vnet: number): T | undefined {
    if (this.resolvingTotal < this.cfg.maxResolving) return undefined;
    const active = this.activeVnets() + (this.resolvingOn(vnet) > 0 ? 0 : 1);
    const share = Math.floor(this.cfg.maxResolving / active);
    if (this.resolvingOn(vnet) >= share) return undefined;
    let top: Use<T> | undefined;
    for (const u of this.use.values()) if (top === undefined || u.resolving > top.resolving) top = u;
    if (top === undefined || top.resolving <= share) return undefined;
    return top.owners.values().next().value;
  }

  /** The oldest resolution in progress on `vnet`, if any. */
  oldest(vnet: number): T | undefined {
    return this.use.get(vnet)?.owners.values().next().value;
  }

  added(owner: T): void {
    const u = this.entry(owner.vnet);
    u.owners.add(owner);
    u.resolving++;
    this.resolvingTotal++;
  }

  removed(owner: T): void {
    const u = this.use.get(owner.vnet);
    if (u === undefined || !u.owners.delete(owner)) return;
    u.resolving--;
    this.resolvingTotal--;
    this.release(owner.vnet, u);
  }

  /**
   * One REQUEST flooded on `vnet`, if its bucket allows (false: suppress it).
   * A retry leaves a quarter of the bucket to the first REQUESTs of new
   * destinations, so a vnet's own retries do not starve its new resolutions.
   */
  takeRequest(vnet: number, retry: boolean): boolean {
    const u = this.entry(vnet);
    this.refill(u);
    const floor = retry ? this.cfg.requestBurst / 4 : 0;
    if (u.tokens - 1 < floor) {
      this.release(vnet, u);
      return false;
    }
    u.tokens -= 1;
    return true;
  }

  /** Forgets vnets with nothing in progress whose bucket is full again. */
  sweep(): void {
    for (const [vnet, u] of this.use) this.release(vnet, u);
  }

  clear(): void {
    this.use.clear();
    this.resolvingTotal = 0;
  }

  private activeVnets(): number {
    let n = 0;
    for (const u of this.use.values()) if (u.resolving > 0) n++;
    return n;
  }

  private entry(vnet: number): Use<T> {
    let u = this.use.get(vnet);
    if (u === undefined) {
      u = { owners: new Set(), resolving: 0, tokens: this.cfg.requestBurst, at: this.clock() };
      this.use.set(vnet, u);
    }
    return u;
  }

  private refill(u: Use<T>): void {
    const t = this.clock();
    u.tokens = Math.min(this.cfg.requestBurst, u.tokens + ((t - u.at) * this.cfg.requestRate) / 1000);
    u.at = t;
  }

  private release(vnet: number, u: Use<T>): void {
    if (u.resolving > 0) return;
    this.refill(u);
    if (u.tokens >= this.cfg.requestBurst) this.use.delete(vnet);
  }
}
