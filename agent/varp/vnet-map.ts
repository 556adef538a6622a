// Two-level map keyed by (vnet, 48-bit MAC or 32-bit IP). vnet x MAC needs 80
// bits, more than a double holds exactly, and a string key would allocate per
// packet; nested Maps keep lookups allocation-free.
//
// A V8 Map keeps its hash table at the largest size it ever had: deleting
// entries frees them but not the table. After a flood of entries has gone, an
// inner map that shrank to a quarter of its peak is copied into a new one of
// the right size, so the memory comes back.

/** Inner maps smaller than this at their peak are never rebuilt (not worth it). */
const SHRINK_MIN_PEAK = 1024;

interface Inner<T> {
  map: Map<number, T>;
  peak: number;
}

export class VnetMap<T> {
  private byVnet = new Map<number, Inner<T>>();
  private count = 0;
  private peakVnets = 0;

  get(vnet: number, key: number): T | undefined {
    return this.byVnet.get(vnet)?.map.get(key);
  }

  set(vnet: number, key: number, value: T): void {
    let inner = this.byVnet.get(vnet);
    if (!inner) {
      this.byVnet.set(vnet, (inner = { map: new Map(), peak: 0 }));
      if (this.byVnet.size > this.peakVnets) this.peakVnets = this.byVnet.size;
    }
    if (!inner.map.has(key)) {
      this.count++;
      if (inner.map.size + 1 > inner.peak) inner.peak = inner.map.size + 1;
    }
    inner.map.set(key, value);
  }

  delete(vnet: number, key: number): boolean {
    const inner = this.byVnet.get(vnet);
    if (!inner || !inner.map.delete(key)) return false;
    this.count--;
    if (inner.map.size === 0) {
      this.byVnet.delete(vnet);
      this.shrinkOuter();
    } else if (inner.peak >= SHRINK_MIN_PEAK && inner.map.size * 4 <= inner.peak) {
      inner.map = new Map(inner.map);
      inner.peak = inner.map.size;
    }
    return true;
  }

  hasVnet(vnet: number): boolean {
    return this.byVnet.has(vnet);
  }

  get size(): number {
    return this.count;
  }

  /** Entries of one vnet. */
  sizeOf(vnet: number): number {
    return this.byVnet.get(vnet)?.map.size ?? 0;
  }

  /** The vnet holding the most entries (undefined when empty). */
  largestVnet(): number | undefined {
    let best: number | undefined;
    let n = 0;
    for (const [vnet, inner] of this.byVnet) {
      if (inner.map.size > n) {
        n = inner.map.size;
        best = vnet;
      }
    }
    return best;
  }

  /** One vnet's values, oldest insertion first. */
  valuesOf(vnet: number): IterableIterator<T> {
    return (this.byVnet.get(vnet)?.map ?? new Map<number, T>()).values();
  }

  *values(): IterableIterator<T> {
    for (const inner of this.byVnet.values()) yield* inner.map.values();
  }

  clear(): void {
    this.byVnet = new Map();
    this.count = 0;
    this.peakVnets = 0;
  }

  private shrinkOuter(): void {
    if (this.peakVnets >= SHRINK_MIN_PEAK && this.byVnet.size * 4 <= this.peakVnets) {
      this.byVnet = new Map(this.byVnet);
      this.peakVnets = this.byVnet.size;
    }
  }
}
