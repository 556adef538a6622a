// Two-level map keyed by (vnet, 48-bit MAC or 32-bit IP). vnet x MAC needs 80
// bits, more than a double holds exactly, and a string key would allocate per
// packet; nested Maps keep lookups allocation-free.

export class VnetMap<T> {
  private readonly byVnet = new Map<number, Map<number, T>>();
  private count = 0;

  get(vnet: number, key: number): T | undefined {
    return this.byVnet.get(vnet)?.get(key);
  }

  set(vnet: number, key: number, value: T): void {
    let inner = this.byVnet.get(vnet);
    if (!inner) this.byVnet.set(vnet, (inner = new Map()));
    if (!inner.has(key)) this.count++;
    inner.set(key, value);
  }

  delete(vnet: number, key: number): boolean {
    const inner = this.byVnet.get(vnet);
    if (!inner || !inner.delete(key)) return false;
    this.count--;
    if (inner.size === 0) this.byVnet.delete(vnet);
    return true;
  }

  hasVnet(vnet: number): boolean {
    return this.byVnet.has(vnet);
  }

  get size(): number {
    return this.count;
  }

  *values(): IterableIterator<T> {
    for (const inner of this.byVnet.values()) yield* inner.values();
  }

  clear(): void {
    this.byVnet.clear();
    this.count = 0;
  }
}
