// The VARP cache is bounded per vnet and per host: a flood of forged
// GRATUITOUS ANNOUNCEs (no VARP key) cannot grow it past the bound, a guest's
// new destination still gets an entry (the oldest settled one makes room),
// and the sweep frees expired entries (the process-level RSS figure is in
// test/agent-robustness.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { parseIp } from '../wire/addr.ts';
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS } from '../wire/constants.ts';
import { VARP_COUNTERS as C, frameDropped, messageIgnored } from './counters.ts';
import { DEFAULT_VARP_CONFIG, type VarpConfig } from './types.ts';
import { Net, datagram, type Host } from './testing.ts';
import { HeldFrames } from '../switch/held.ts';

const A = parseIp('198.18.0.1');
const B = parseIp('198.18.0.2');
const BASE_MAC = 0x02_5e_00_00_00_00;
let host: Host;

afterEach(() => host?.varp.stop());

function make(config: Partial<VarpConfig> = {}): Host {
  const net = new Net(HeldFrames);
  net.autoDeliver = false;
  host = net.add('a', A, config);
  // VIFs here on vnets 7, 8 and 9: gratuitous announcements on them create entries.
  for (const vnet of [7, 8, 9]) host.varp.attach({ vnet, mac: 0x02_5d_00_00_00_01 + vnet, ip: null, version: 1 });
  return host;
}

function gratuitous(h: Host, vnet: number, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) {
    h.varp.handle({ opcode: VARP_ANNOUNCE, vnet, mac: BASE_MAC + i, flags: VARP_FLAG_GRATUITOUS, ip: 0, coa: B, nonce: 0, version: 0xffffffff }, { address: B, port: 1798 });
  }
}

const onVnet = (h: Host, vnet: number) => h.varp.entries().filter((e) => e.vnet === vnet).length;

describe('VARP cache bounds', () => {
  it('with the defaults, 40,000 forged GRATUITOUS ANNOUNCEs on one vnet leave at most maxEntriesPerVnet entries', () => {
    const h = make();
    gratuitous(h, 7, 40_000);
    const per = DEFAULT_VARP_CONFIG.maxEntriesPerVnet;
    expect(h.varp.entries()).toHaveLength(per);
    expect(h.counters.get(C.entriesRefused('vnet'))).toBe(40_000 - per);
    expect(h.counters.get(messageIgnored('cache_full'))).toBe(40_000 - per);
    expect(h.varp.entryCounts().REACHABLE).toBe(per);
  });

  it('a flood on one vnet leaves room on the others; the host bound caps the sum', () => {
    const h = make({ maxEntriesPerVnet: 100, maxEntries: 150 });
    gratuitous(h, 7, 500);
    expect(onVnet(h, 7)).toBe(100);
    gratuitous(h, 8, 30);
    expect(onVnet(h, 8)).toBe(30);
    gratuitous(h, 9, 100);
    expect(onVnet(h, 9)).toBe(20);
    expect(h.varp.entries()).toHaveLength(150);
    expect(h.counters.get(C.entriesRefused('vnet'))).toBe(400);
    expect(h.counters.get(C.entriesRefused('host'))).toBe(80);
    // Known entries are still updated: a refused bound never freezes what is cached.
    h.varp.handle({ opcode: VARP_ANNOUNCE, vnet: 8, mac: BASE_MAC, flags: VARP_FLAG_GRATUITOUS, ip: 0, coa: parseIp('198.18.0.3'), nonce: 0, version: 0xffffffff }, { address: B, port: 1798 });
    expect(h.varp.entries().find((e) => e.vnet === 8 && e.mac === BASE_MAC)?.coa).toBe(parseIp('198.18.0.3'));
  });

  it("a guest's new destination evicts the oldest settled entry instead of failing", () => {
    const h = make({ maxEntriesPerVnet: 100, maxEntries: 1000 });
    gratuitous(h, 7, 100);
    expect(h.resolve(7, 0x02_5f_00_00_00_01, datagram(1))).toBeNull(); // queued, REQUEST out
    expect(h.floods.at(-1)?.msg.mac).toBe(0x02_5f_00_00_00_01);
    expect(h.counters.get(C.entriesEvicted('vnet'))).toBe(1);
    expect(h.counters.get(frameDropped('cache_full'))).toBe(0);
    const macs = new Set(h.varp.entries().filter((e) => e.vnet === 7).map((e) => e.mac));
    expect(macs.size).toBe(100);
    expect(macs.has(BASE_MAC)).toBe(false); // the oldest went
    expect(macs.has(0x02_5f_00_00_00_01)).toBe(true);
  });

  it('the sweep frees expired entries', async () => {
    const h = make({ lifetimeMs: 300, refreshAheadMs: 0 });
    gratuitous(h, 7, 5_000);
    expect(h.counters.get(C.entriesLearned)).toBe(5_000);
    for (let i = 0; i < 60 && h.counters.get(C.entriesExpired) < 5_000; i++) await new Promise((r) => setTimeout(r, 50));
    expect(h.counters.get(C.entriesExpired)).toBe(5_000);
    expect(h.varp.entryPage(10).total).toBe(0);
  });

  it('the state listing pages through the cache in (vnet, MAC) order', () => {
    const h = make();
    gratuitous(h, 8, 250);
    gratuitous(h, 7, 250);
    const seen: number[] = [];
    let after: { vnet: number; mac: number } | undefined;
    for (;;) {
      const page = h.varp.entryPage(100, after);
      expect(page.total).toBe(500);
      expect(page.entries.length).toBeLessThanOrEqual(100);
      seen.push(...page.entries.map((e) => e.vnet * 2 ** 20 + (e.mac - BASE_MAC)));
      if (!page.more) break;
      after = page.entries.at(-1)!;
    }
    expect(seen).toHaveLength(500);
    expect([...seen].sort((x, y) => x - y)).toEqual(seen);
  });
});
