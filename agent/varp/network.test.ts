// VARP between several engines on a simulated segment: who answers, by MAC
// and by IP, attach/detach announcements, migration, and the engine's guards.
import { describe, expect, it, vi } from 'vitest';
import { createHmac } from 'node:crypto';
import { parseIp, parseMac } from '../wire/addr.ts';
import { VARP_ANNOUNCE, VARP_FLAG_AUTH, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, VARP_REQUEST, VARP_WITHDRAW } from '../wire/constants.ts';
import { Counters } from '../metrics.ts';
import { VARP_COUNTERS as C, frameDropped, messageIgnored } from './counters.ts';
import { Varp } from './varp.ts';
import { Net, PORT, datagram, netPerTest } from './testing.ts';
import { HeldFrames } from '../switch/held.ts';

const VNET = 7;
const OTHER_VNET = 8;
const WEB = { vnet: VNET, mac: parseMac('02:5d:00:00:00:0a'), ip: parseIp('10.7.0.10'), version: 1 };
const DB = { vnet: VNET, mac: parseMac('02:5d:00:00:00:0b'), ip: parseIp('10.7.0.11'), version: 1 };
const A = parseIp('198.18.0.1');
const B = parseIp('198.18.0.2');
const Cc = parseIp('198.18.0.3');

const net = netPerTest(HeldFrames, { noTimersLeft: true });

describe('only the host where the VIF lives answers', () => {
  it('answers a REQUEST by MAC with a unicast ANNOUNCE to the UDP source: nonce copied, HAS_IP, own COA, version', () => {
    const a = net().add('a', A);
    const b = net().add('b', B);
    const c = net().add('c', Cc);
    c.varp.attach({ ...DB, version: 9 }); // before a has a VIF on the vnet: a does not learn it
    a.varp.attach(WEB);
    // Answered while the REQUEST is sent (this simulated underlay delivers at once): the frame goes out at once, never held.
    expect(a.resolve(VNET, DB.mac, datagram(0))).toEqual({ coa: Cc, port: PORT });
    const req = a.floods.at(-1)!.msg;
    expect(b.counters.get(messageIgnored('not_here'))).toBe(1);
    expect(b.unicasts).toHaveLength(0);
    expect(c.unicasts).toHaveLength(1);
    expect(c.unicasts[0]!.to).toEqual({ address: A, port: PORT });
    expect(c.unicasts[0]!.msg).toEqual({ opcode: VARP_ANNOUNCE, vnet: VNET, mac: DB.mac, flags: VARP_FLAG_HAS_IP, ip: DB.ip, coa: Cc, nonce: req.nonce, version: 9 });
    expect(c.counters.get(C.announcesSent)).toBe(1);
    expect(a.transmitted).toEqual([]);
    expect(a.counters.get(C.framesQueued)).toBe(0);
    expect(a.resolve(VNET, DB.mac, datagram(1))).toEqual({ coa: Cc, port: PORT });
  });

  it('answers on its own port when the requester uses another one', () => {
    const a = net().add('a', A, {}, 2001);
    const c = net().add('c', Cc);
    c.varp.attach(DB);
    a.resolve(VNET, DB.mac, datagram(0));
    expect(c.unicasts[0]!.to).toEqual({ address: A, port: 2001 });
    expect(a.resolve(VNET, DB.mac, datagram(1))).toEqual({ coa: Cc, port: PORT });
  });

  it('does not answer for a VIF of the same MAC on another vnet, nor without an IP for a REQUEST by IP', () => {
    const a = net().add('a', A);
    const c = net().add('c', Cc);
    c.varp.attach({ ...DB, vnet: OTHER_VNET });
    c.varp.attach({ ...WEB, ip: null });
    a.resolve(VNET, DB.mac, datagram(0));
    a.varp.resolveIp(VNET, WEB.ip);
    expect(c.unicasts).toHaveLength(0);
    expect(c.counters.get(messageIgnored('not_here'))).toBe(2);
  });
});

describe('resolution by IP and ARP suppression', () => {
  it('resolves (vnet, IP) with a HAS_IP REQUEST and a zero MAC, then looks the entry up by IP', () => {
    const a = net().add('a', A);
    const c = net().add('c', Cc);
    c.varp.attach(DB);
    a.varp.attach(WEB);
    expect(a.varp.lookupIp(VNET, DB.ip)).toBeUndefined();
    a.varp.resolveIp(VNET, DB.ip);
    const req = a.floods.at(-1)!.msg;
    expect(req).toMatchObject({ opcode: VARP_REQUEST, mac: 0, flags: VARP_FLAG_HAS_IP, ip: DB.ip, coa: A });
    expect(a.varp.lookupIp(VNET, DB.ip)).toMatchObject({ vnet: VNET, mac: DB.mac, ip: DB.ip, coa: Cc, state: 'REACHABLE' });
    expect(a.varp.lookupIp(OTHER_VNET, DB.ip)).toBeUndefined();
    expect(a.varp.localByIp(VNET, WEB.ip)).toEqual(WEB);
    expect(a.varp.localByIp(VNET, DB.ip)).toBeUndefined();
    const floods = a.floods.length;
    a.varp.resolveIp(VNET, DB.ip); // known: nothing sent
    a.varp.resolveIp(VNET, WEB.ip); // local: nothing sent
    expect(a.floods).toHaveLength(floods);
  });

  it('retries an unanswered IP resolution 5 times, then holds it 3 s before trying again', () => {
    const a = net().add('a', A);
    const ip = parseIp('10.7.0.99');
    a.varp.resolveIp(VNET, ip);
    a.varp.resolveIp(VNET, ip);
    vi.advanceTimersByTime(12_000);
    expect(a.floods).toHaveLength(5);
    vi.advanceTimersByTime(3000);
    expect(a.counters.get(C.ipResolutionsFailed)).toBe(1);
    a.varp.resolveIp(VNET, ip);
    expect(a.floods).toHaveLength(5);
    vi.advanceTimersByTime(3000);
    a.varp.resolveIp(VNET, ip);
    expect(a.floods).toHaveLength(6);
  });

  it('ignores an answer to an IP resolution that names another IP', () => {
    const a = net().add('a', A);
    net().autoDeliver = false;
    a.varp.resolveIp(VNET, DB.ip);
    const nonce = a.floods[0]!.msg.nonce;
    a.varp.handle({ opcode: VARP_ANNOUNCE, vnet: VNET, mac: DB.mac, flags: VARP_FLAG_HAS_IP, ip: WEB.ip, coa: Cc, nonce, version: 1 }, { address: Cc, port: PORT });
    a.varp.handle({ opcode: VARP_ANNOUNCE, vnet: VNET, mac: DB.mac, flags: 0, ip: 0, coa: Cc, nonce, version: 1 }, { address: Cc, port: PORT });
    expect(a.counters.get(messageIgnored('unsolicited'))).toBe(2);
    expect(a.varp.entries()).toHaveLength(0);
  });
});

describe('attach, detach and migration', () => {
  it('announces an attached VIF gratuitously; hosts with a VIF on that vnet learn it, others ignore it', () => {
    const a = net().add('a', A);
    const b = net().add('b', B);
    const c = net().add('c', Cc);
    a.varp.attach(WEB);
    b.varp.attach({ ...WEB, mac: parseMac('02:5d:00:00:00:0e'), vnet: OTHER_VNET });
    c.varp.attach(DB);
    expect(c.floods.at(-1)!.msg).toMatchObject({ opcode: VARP_ANNOUNCE, flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, mac: DB.mac, ip: DB.ip, coa: Cc, version: 1 });
    expect(a.resolve(VNET, DB.mac, datagram(0))).toEqual({ coa: Cc, port: PORT });
    expect(a.counters.get(C.entriesLearned)).toBe(1);
    expect(b.varp.entries()).toHaveLength(0);
    expect(b.counters.get(messageIgnored('unrelated_vnet'))).toBeGreaterThan(0);
    // Attaching the same VIF again is not news; a new version is.
    const sent = c.floods.length;
    c.varp.attach(DB);
    expect(c.floods).toHaveLength(sent);
    c.varp.attach({ ...DB, version: 2 });
    expect(c.floods).toHaveLength(sent + 1);
  });

  it('moves cached entries at once when a VIF migrates; the old host lets it go, and WITHDRAWs only what it still held', () => {
    const a = net().add('a', A);
    const b = net().add('b', B);
    const c = net().add('c', Cc);
    a.varp.attach(WEB);
    c.varp.attach(DB);
    a.resolve(VNET, DB.mac, datagram(0));
    expect(a.resolve(VNET, DB.mac, datagram(1))).toEqual({ coa: Cc, port: PORT });
    // Migration c -> b: c's state marks the VIF outgoing; the new host announces (version 2); the old one hears it
    // and lets the VIF go without a WITHDRAW.
    c.varp.attach({ ...DB, outgoing: true });
    expect(c.floods.at(-1)!.msg.version).toBe(1); // marking it outgoing is not news
    b.varp.attach({ ...DB, version: 2 });
    expect(a.resolve(VNET, DB.mac, datagram(2))).toEqual({ coa: B, port: PORT });
    expect(a.counters.get(C.entriesMoved)).toBe(1);
    expect(c.varp.local(VNET, DB.mac)).toBeUndefined();
    expect(c.counters.get(C.localMovedAway)).toBe(1);
    const sent = c.floods.length;
    c.varp.detach(VNET, DB.mac); // the old host's state drops it later: nothing left to withdraw
    expect(c.floods).toHaveLength(sent);
    expect(a.resolve(VNET, DB.mac, datagram(3))).toEqual({ coa: B, port: PORT });
    // A WITHDRAW from a host that still held it, with the old location, does not move a's entry.
    a.varp.handle({ opcode: VARP_WITHDRAW, vnet: VNET, mac: DB.mac, flags: 0, ip: 0, coa: Cc, nonce: 0, version: 1 }, { address: Cc, port: PORT });
    expect(a.counters.get(messageIgnored('withdraw_mismatch'))).toBe(1); // a's entry points to b now
    expect(a.resolve(VNET, DB.mac, datagram(4))).toEqual({ coa: B, port: PORT });
    // Once gone from b too, the WITHDRAW makes a forget it.
    b.varp.detach(VNET, DB.mac);
    expect(a.varp.entries().filter((e) => e.mac === DB.mac)).toHaveLength(0);
  });


  it('drops frames queued for a VIF that attaches here, and refuses to resolve local VIFs', () => {
    net().autoDeliver = false;
    const a = net().add('a', A);
    a.resolve(VNET, DB.mac, datagram(0));
    a.varp.attach(DB);
    expect(a.counters.get(frameDropped('now_local'))).toBe(1);
    expect(a.varp.entries()).toHaveLength(0);
    expect(a.resolve(VNET, DB.mac, datagram(1))).toBeNull();
    expect(a.counters.get(frameDropped('local_destination'))).toBe(1);
    expect(a.resolve(VNET, 0xffffffffffff, datagram(2))).toBeNull();
    expect(a.counters.get(frameDropped('group_mac'))).toBe(1);
    expect(a.resolve(1, DB.mac, datagram(3))).toBeNull();
    expect(a.counters.get(frameDropped('bad_destination'))).toBe(1);
    expect(() => a.varp.attach({ ...DB, vnet: 1 })).toThrow(/vif vnet/);
    expect(() => a.varp.attach({ ...DB, mac: 0x01005e000001 })).toThrow(/vif\.mac/);
    expect(() => a.varp.attach({ ...DB, version: -1 })).toThrow(/vif\.version/);
  });

  it('announces VIFs attached before start() once started, and ignores ANNOUNCEs for its own VIFs', () => {
    const counters = new Counters();
    const floods: Buffer[] = [];
    const varp = new Varp({ ownCoa: A, port: PORT, sendFlood: (b) => floods.push(b), sendTo: () => {}, resolved: () => {}, unresolved: () => {} }, counters);
    varp.attach(WEB);
    expect(floods).toHaveLength(0);
    varp.start();
    expect(floods).toHaveLength(1);
    // The same version elsewhere, or an answer (not GRATUITOUS) with a higher one: the VIF stays here.
    varp.handle({ opcode: VARP_ANNOUNCE, vnet: VNET, mac: WEB.mac, flags: VARP_FLAG_GRATUITOUS, ip: 0, coa: B, nonce: 0, version: 1 }, { address: B, port: PORT });
    varp.handle({ opcode: VARP_ANNOUNCE, vnet: VNET, mac: WEB.mac, flags: 0, ip: 0, coa: B, nonce: 0, version: 2 }, { address: B, port: PORT });
    expect(counters.get(messageIgnored('announce_for_local'))).toBe(2);
    expect(varp.local(VNET, WEB.mac)).toBeDefined();
    varp.stop();
  });

  it('lets an outgoing local VIF go, silently, when another host announces it with a higher version (a live migration activated there)', () => {
    const counters = new Counters();
    const floods: Buffer[] = [];
    const moved: number[][] = [];
    const varp = new Varp({ ownCoa: A, port: PORT, sendFlood: (b) => floods.push(b), sendTo: () => {}, resolved: () => {}, unresolved: () => {}, moved: (vnet, mac, version) => moved.push([vnet, mac, version]) }, counters);
    varp.start();
    varp.attach({ ...WEB, outgoing: true });
    varp.attach(DB); // keeps a VIF on the vnet, so the new location is cached
    varp.handle({ opcode: VARP_ANNOUNCE, vnet: VNET, mac: WEB.mac, flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, ip: WEB.ip, coa: B, nonce: 0, version: 2 }, { address: B, port: PORT });
    expect(moved).toEqual([[VNET, WEB.mac, 2]]);
    expect(counters.get(C.localMovedAway)).toBe(1);
    expect(varp.local(VNET, WEB.mac)).toBeUndefined();
    expect(varp.localByIp(VNET, WEB.ip)).toBeUndefined();
    expect(varp.entries().find((e) => e.mac === WEB.mac)).toMatchObject({ coa: B, version: 2, state: 'REACHABLE' });
    expect(floods).toHaveLength(2); // the two attaches' ANNOUNCEs: no WITHDRAW, the VIF lives on at B
    // Its frames now go to B.
    expect(varp.resolve(VNET, WEB.mac)).toMatchObject({ coa: B });
    varp.stop();
  });
});

describe('guards', () => {
  it('ignores its own looped-back multicast', () => {
    const a = net().add('a', A);
    a.varp.attach(WEB);
    a.varp.handle(a.floods[0]!.msg, { address: A, port: PORT });
    a.varp.handle({ opcode: VARP_REQUEST, vnet: VNET, mac: WEB.mac, flags: 0, ip: 0, coa: A, nonce: 1, version: 0 }, { address: A, port: PORT });
    expect(a.counters.get(messageIgnored('own'))).toBe(2);
    expect(a.unicasts).toHaveLength(0);
  });

  it('drops and ignores everything when stopped, and stop() discards queues (counted)', () => {
    net().autoDeliver = false;
    const a = net().add('a', A);
    a.resolve(VNET, DB.mac, datagram(0));
    a.resolve(VNET, DB.mac, datagram(1));
    a.varp.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(a.counters.get(frameDropped('stopped'))).toBe(2);
    expect(a.varp.entries()).toHaveLength(0);
    expect(a.resolve(VNET, DB.mac, datagram(2))).toBeNull();
    expect(a.counters.get(frameDropped('stopped'))).toBe(3);
    a.varp.handle({ opcode: VARP_REQUEST, vnet: VNET, mac: DB.mac, flags: 0, ip: 0, coa: B, nonce: 1, version: 0 }, { address: B, port: PORT });
    expect(a.counters.get(messageIgnored('stopped'))).toBe(1);
    a.varp.start();
    expect(a.resolve(VNET, DB.mac, datagram(3))).toBeNull();
    expect(a.floods).toHaveLength(2);
  });

  it('bounds outstanding resolutions (maxResolving): a new MAC takes the place of the oldest', () => {
    net().autoDeliver = false;
    const a = net().add('a', A, { maxResolving: 3 });
    for (let i = 1; i <= 5; i++) a.resolve(VNET, 0x020000000000 + i, datagram(i));
    expect(a.floods).toHaveLength(5);
    expect(a.varp.entries().map((e) => e.mac)).toEqual([3, 4, 5].map((i) => 0x020000000000 + i));
    expect(a.counters.get(C.resolutionsPreempted)).toBe(2);
    expect(a.counters.get(frameDropped('preempted'))).toBe(2);
    vi.advanceTimersByTime(18_000); // FAILED then forgotten
    a.resolve(VNET, 0x020000000009, datagram(9));
    expect(a.floods.at(-1)!.msg.mac).toBe(0x020000000009);
  });

  it('counts a throwing underlay instead of letting it escape a timer or the caller', () => {
    const counters = new Counters();
    const varp = new Varp({ ownCoa: A, port: PORT, sendFlood: () => { throw new Error('EHOSTUNREACH'); }, sendTo: () => {}, resolved: () => {}, unresolved: () => {} }, counters);
    varp.start();
    expect(varp.resolve(VNET, DB.mac)).toBe('pending');
    vi.advanceTimersByTime(15_000);
    expect(counters.get(C.sendErrors)).toBe(5);
    expect(counters.get(C.requestsSent)).toBe(0);
    varp.stop();
  });

  it('signs every message with the VARP key when one is configured', () => {
    const key = Buffer.from('deployment varp key');
    const keyed = new Net(HeldFrames, key); // the simulated underlay decodes with the key: unsigned messages would throw
    const a = keyed.add('a', A);
    const c = keyed.add('c', Cc);
    a.varp.attach(WEB);
    c.varp.attach(DB);
    a.resolve(VNET, DB.mac, datagram(0)); // with a key a GRATUITOUS ANNOUNCE warms nothing: resolved on use
    expect(a.varp.lookupIp(VNET, DB.ip)?.coa).toBe(Cc);
    for (const s of [...a.floods, ...c.floods, ...c.unicasts]) {
      expect(s.bytes.length).toBe(48);
      expect(s.msg.flags & VARP_FLAG_AUTH).toBe(VARP_FLAG_AUTH);
      expect(s.bytes.subarray(32)).toEqual(createHmac('sha256', key).update(s.bytes.subarray(0, 32)).digest().subarray(0, 16));
    }
    for (const h of keyed.hosts) h.varp.stop();
  });
});
