// A local VIF is let go on another host's GRATUITOUS ANNOUNCE of a higher
// version only when it is marked outgoing (a live migration away in
// progress), and with a VARP key only once the announcing host confirmed the
// move in a signed answer to a fresh nonce: one forged or replayed datagram
// must not take a VIF of this host off the network.
import { describe, expect, it, vi } from 'vitest';
import { parseIp, parseMac } from '../wire/addr.ts';
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, VARP_REQUEST } from '../wire/constants.ts';
import { encodeVarp, type VarpMessage } from '../wire/varp.ts';
import { VARP_COUNTERS as C, messageIgnored } from './counters.ts';
import { Net, PORT, datagram } from './testing.ts';
import { HeldFrames } from '../switch/held.ts';

const VNET = 7;
const WEB = { vnet: VNET, mac: parseMac('02:5d:00:00:00:0a'), ip: parseIp('10.7.0.10'), version: 1 };
const DB = { vnet: VNET, mac: parseMac('02:5d:00:00:00:0b'), ip: parseIp('10.7.0.11'), version: 1 };
const A = parseIp('198.18.0.1');
const B = parseIp('198.18.0.2');
const Cc = parseIp('198.18.0.3');
const D = parseIp('198.18.0.4');
const KEY = Buffer.from('deployment varp key');

/** A GRATUITOUS ANNOUNCE of DB at `coa` with `version`, as a forger (or the real new host) sends it. */
const gratuitous = (coa: number, version: number): VarpMessage => ({
  opcode: VARP_ANNOUNCE, vnet: VNET, mac: DB.mac, flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, ip: DB.ip, coa, nonce: 0, version,
});

function withNet(key?: Buffer): Net {
  vi.useFakeTimers();
  return new Net(HeldFrames, key);
}

function done(net: Net): void {
  for (const h of net.hosts) h.varp.stop();
  vi.useRealTimers();
}

describe('a local VIF not marked outgoing', () => {
  it('ignores a higher-version GRATUITOUS ANNOUNCE from another COA, and still answers for the VIF', () => {
    const net = withNet();
    const a = net.add('a', A);
    const c = net.add('c', Cc);
    c.varp.attach(WEB);
    c.varp.attach(DB);
    // A forged move of DB to a (unkeyed, from an admitted peer): c keeps DB.
    c.varp.handle(gratuitous(A, 0xffffffff), { address: A, port: PORT });
    expect(c.counters.get(messageIgnored('announce_for_local'))).toBe(1);
    expect(c.counters.get(C.localMovedAway)).toBe(0);
    expect(c.varp.local(VNET, DB.mac)).toMatchObject({ version: 1 });
    expect(c.varp.localByIp(VNET, DB.ip)).toBeDefined();
    // A host resolving DB afterwards is answered by c.
    const d = net.add('d', D);
    d.varp.attach({ ...WEB, mac: parseMac('02:5d:00:00:00:0c'), ip: parseIp('10.7.0.12') });
    expect(d.resolve(VNET, DB.mac, datagram(0))).toEqual({ coa: Cc, port: PORT });
    expect(a.counters.get(C.localMovedAway)).toBe(0);
    done(net);
  });

  it('is let go once the state marks it outgoing, and no longer once the mark is taken back', () => {
    const net = withNet();
    const c = net.add('c', Cc);
    c.varp.attach({ ...DB, outgoing: true });
    c.varp.attach(DB); // the move was cancelled: same version, no longer outgoing
    c.varp.handle(gratuitous(B, 2), { address: B, port: PORT });
    expect(c.varp.local(VNET, DB.mac)).toBeDefined();
    expect(c.counters.get(messageIgnored('announce_for_local'))).toBe(1);
    c.varp.attach({ ...DB, outgoing: true });
    c.varp.handle(gratuitous(B, 2), { address: B, port: PORT });
    expect(c.varp.local(VNET, DB.mac)).toBeUndefined();
    expect(c.counters.get(C.localMovedAway)).toBe(1);
    expect(() => c.varp.attach({ ...DB, outgoing: 'yes' as unknown as boolean })).toThrow(/vif\.outgoing/);
    done(net);
  });
});

describe('an outgoing VIF with a VARP key', () => {
  it('is not let go by an unverified GRATUITOUS ANNOUNCE, only by the signed answer to a fresh nonce from the announced COA', () => {
    const net = withNet(KEY);
    const b = net.add('b', B);
    const c = net.add('c', Cc);
    const moved = c.moved;
    c.varp.attach(WEB); // keeps a VIF on the vnet, so the new location is cached
    c.varp.attach({ ...DB, outgoing: true });

    // A captured (or forged by an admitted peer) GRATUITOUS of a higher version: b does not hold DB.
    c.varp.handle(gratuitous(B, 2), { address: B, port: PORT });
    expect(c.varp.local(VNET, DB.mac)).toBeDefined();
    expect(moved).toEqual([]);
    const ask = c.unicasts.at(-1)!;
    expect(ask.to).toEqual({ address: B, port: PORT });
    expect(ask.msg).toMatchObject({ opcode: VARP_REQUEST, vnet: VNET, mac: DB.mac });
    expect(c.counters.get(C.moveVerifyRequestsSent)).toBe(1);
    expect(b.counters.get(messageIgnored('not_here'))).toBe(1); // nobody answers

    // An answer with another nonce, or from another COA, or not newer: the VIF stays.
    const reply = (over: Partial<VarpMessage>) => c.varp.handle({ ...gratuitous(B, 2), flags: VARP_FLAG_HAS_IP, nonce: ask.msg.nonce, ...over }, { address: B, port: PORT });
    reply({ nonce: (ask.msg.nonce + 1) >>> 0 });
    reply({ coa: D });
    reply({ version: 1 });
    expect(c.varp.local(VNET, DB.mac)).toBeDefined();
    expect(moved).toEqual([]);

    // The real move: b activates DB with version 2 and announces it; c asks b, b's signed answer lets DB go.
    b.varp.attach({ ...DB, version: 2 });
    expect(c.counters.get(C.moveVerifyRequestsSent)).toBe(2);
    expect(c.varp.local(VNET, DB.mac)).toBeUndefined();
    expect(moved).toEqual([[VNET, DB.mac, 2]]);
    expect(c.counters.get(C.localMovedAway)).toBe(1);
    expect(c.varp.entries().find((e) => e.mac === DB.mac)).toMatchObject({ coa: B, version: 2, state: 'REACHABLE' });
    // A late replay of the answer finds nothing to let go.
    c.varp.handle({ ...gratuitous(B, 2), flags: VARP_FLAG_HAS_IP, nonce: ask.msg.nonce }, { address: B, port: PORT });
    expect(c.counters.get(C.localMovedAway)).toBe(1);
    done(net);
  });

  it('signs the verification REQUEST, and a non-outgoing VIF sends none', () => {
    const net = withNet(KEY);
    const c = net.add('c', Cc);
    c.varp.attach(DB);
    c.varp.handle(gratuitous(B, 2), { address: B, port: PORT });
    expect(c.unicasts).toHaveLength(0);
    c.varp.attach({ ...DB, outgoing: true });
    c.varp.handle(gratuitous(B, 2), { address: B, port: PORT });
    const sent = c.unicasts.at(-1)!;
    expect(sent.bytes).toEqual(encodeVarp(sent.msg, KEY));
    done(net);
  });
});
