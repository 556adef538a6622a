// One vnet's flood of new destinations against the VARP engine: it fills its
// own share of resolutions and held datagrams, never another vnet's, and the
// REQUESTs it causes stay below the frames it took.
import { describe, expect, it, vi } from 'vitest';
import { parseIp, parseMac } from '../wire/addr.ts';
import { VARP_COUNTERS as C, frameDropped } from './counters.ts';
import { datagram, netPerTest } from './testing.ts';
import { HeldFrames } from '../switch/held.ts';

const FLOOD = 7;
const QUIET = 8;
const A = parseIp('198.18.0.1');
const B = parseIp('198.18.0.2');
const Cc = parseIp('198.18.0.3');
const newMac = (vnet: number, i: number) => 0x02_00_00_00_00_00 + vnet * 0x1_0000_0000 + i;

const net = netPerTest(HeldFrames);

describe('per-vnet budget of resolutions', () => {
  it('keeps resolving on a quiet vnet while another vnet floods new destinations', () => {
    const a = net().add('a', A);
    const b = net().add('b', B);
    net().add('c', Cc);
    // b's VIFs are attached before a has one on their vnet: a learns none of them from their announcements.
    const quiet = Array.from({ length: 50 }, (_, i) => ({ vnet: QUIET, mac: newMac(QUIET, 0x100 + i), ip: parseIp(`10.8.1.${i + 1}`), version: 1 }));
    for (const v of quiet) b.varp.attach(v);
    a.varp.attach({ vnet: FLOOD, mac: parseMac('02:5d:00:00:07:01'), ip: parseIp('10.7.0.1'), version: 1 });
    a.varp.attach({ vnet: QUIET, mac: parseMac('02:5d:00:00:08:01'), ip: parseIp('10.8.0.1'), version: 1 });
    expect(a.varp.entries()).toEqual([]);
    const flood = 2000;
    let done = 0;
    for (let i = 0; i < flood; i++) {
      a.resolve(FLOOD, newMac(FLOOD, i), datagram(i));
      // The quiet vnet's first packets arrive in the middle of the flood.
      if (i % 40 === 39 && done < quiet.length) {
        a.resolve(QUIET, quiet[done]!.mac, datagram(i));
        if (a.varp.entries().some((e) => e.vnet === QUIET && e.mac === quiet[done]!.mac && e.state === 'REACHABLE')) done++;
      }
    }
    const preempted = a.counters.get(C.resolutionsPreempted);
    console.log(
      `quiet vnet: ${done} of ${quiet.length} resolutions completed during a flood of ${flood} new destinations ` +
        `(flood vnet: ${preempted} of its resolutions replaced by newer ones at its limit)`,
    );
    expect(done).toBe(quiet.length);
    expect(preempted).toBe(flood - a.varp.config.maxResolvingPerVnet);
    expect(a.varp.entries().filter((e) => e.vnet === FLOOD && e.state === 'INCOMPLETE')).toHaveLength(a.varp.config.maxResolvingPerVnet);
    expect(a.counters.get(frameDropped('too_many_resolving'))).toBe(0);
  });

  it('gives each vnet an even share of a host filled by several flooding vnets', () => {
    net().autoDeliver = false;
    const a = net().add('a', A);
    const floods = [10, 11, 12, 13, 14];
    for (const vnet of floods) for (let i = 0; i < 300; i++) a.resolve(vnet, newMac(vnet, i), datagram(i));
    const resolving = (vnet: number) => a.varp.entries().filter((e) => e.vnet === vnet && e.state === 'INCOMPLETE').length;
    const shares = floods.map(resolving);
    console.log(`five flooding vnets on a host limited to 1024 resolutions: ${shares.join(', ')} in progress`);
    expect(shares.reduce((x, y) => x + y)).toBe(a.varp.config.maxResolving);
    expect(Math.min(...shares)).toBeGreaterThanOrEqual(Math.floor(a.varp.config.maxResolving / floods.length));
    // A sixth vnet's first frame still starts a resolution, in place of the oldest of the largest.
    a.resolve(QUIET, newMac(QUIET, 1), datagram(0));
    expect(resolving(QUIET)).toBe(1);
    expect(a.counters.get(C.resolutionsPreempted)).toBeGreaterThan(0);
    expect(a.counters.get(frameDropped('preempted'))).toBe(a.counters.get(C.resolutionsPreempted));
    expect(a.varp.entries().filter((e) => e.state === 'INCOMPLETE')).toHaveLength(a.varp.config.maxResolving);
  });

  it('bounds the datagrams one vnet holds, all its entries together', () => {
    net().autoDeliver = false;
    const a = net().add('a', A, { maxQueuedPerVnet: 20 });
    for (let i = 0; i < 10; i++) for (let k = 0; k < 3; k++) a.resolve(FLOOD, newMac(FLOOD, i), datagram(k));
    a.resolve(QUIET, newMac(QUIET, 1), datagram(0));
    expect(a.counters.get(C.framesQueued)).toBe(21);
    expect(a.counters.get(frameDropped('vnet_queue_limit'))).toBe(10);
    vi.advanceTimersByTime(15_000); // all FAILED: the queues are discarded and the budget returned
    expect(a.counters.get(frameDropped('queue_discarded'))).toBe(21);
    vi.advanceTimersByTime(3_000);
    a.resolve(FLOOD, newMac(FLOOD, 99), datagram(0));
    expect(a.counters.get(C.framesQueued)).toBe(22);
  });
});

describe('REQUEST amplification', () => {
  it('sends fewer REQUESTs than the frames to new destinations that caused them', () => {
    net().autoDeliver = false;
    const a = net().add('a', A);
    const frames = 1100;
    for (let i = 0; i < frames; i++) a.resolve(FLOOD, newMac(FLOOD, i), datagram(i));
    vi.advanceTimersByTime(60_000); // every resolution FAILED and forgotten
    const sent = a.counters.get(C.requestsSent);
    const suppressed = a.counters.get(C.requestsSuppressed);
    console.log(`amplification: ${frames} frames to new destinations → ${sent} REQUESTs flooded, ${suppressed} suppressed by the vnet's bucket`);
    expect(sent).toBeLessThan(frames);
    expect(suppressed).toBeGreaterThan(0);
    expect(a.floods).toHaveLength(sent);
  });

  it('keeps the spec schedule for a vnet within its rate, and another vnet keeps its own bucket', () => {
    net().autoDeliver = false;
    const a = net().add('a', A, { requestBurst: 8, requestRate: 1 });
    for (let i = 0; i < 20; i++) a.resolve(FLOOD, newMac(FLOOD, i), datagram(i));
    expect(a.floods).toHaveLength(8);
    expect(a.counters.get(C.requestsSuppressed)).toBe(12);
    a.resolve(QUIET, newMac(QUIET, 1), datagram(0));
    expect(a.floods).toHaveLength(9);
    expect(a.floods.at(-1)!.msg.vnet).toBe(QUIET);
  });
});
