// The lifetime of a REACHABLE VARP entry (spec default 30 s) under fake timers.
import { describe, expect, it, vi } from 'vitest';
import { parseMac } from '../wire/addr.ts';
import { VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, VARP_REQUEST } from '../wire/constants.ts';
import { VARP_COUNTERS as C, messageIgnored } from './counters.ts';
import { ONE_HOST, PORT, datagram, oneHost, type Host } from './testing.ts';
import { HeldFrames } from '../switch/held.ts';

const { VNET, MAC, IP, A, B, C2 } = ONE_HOST;
const { make, announce, answer, state } = oneHost(HeldFrames);
let host: Host;

describe('REACHABLE lifetime (spec default 30 s)', () => {
  it('expires 30 s after the last confirmation and resolves again on the next frame', () => {
    host = make({ refreshAheadMs: 0 });
    host.resolve(VNET, MAC, datagram(0));
    answer(host);
    vi.advanceTimersByTime(29_999);
    expect(host.resolve(VNET, MAC, datagram(1))).toEqual({ coa: B, port: PORT });
    expect(host.varp.lookupIp(VNET, IP)?.coa).toBe(B);
    vi.advanceTimersByTime(1);
    expect(host.varp.lookupIp(VNET, IP)).toBeUndefined();
    expect(host.varp.entries()).toHaveLength(0);
    expect(host.resolve(VNET, MAC, datagram(2))).toBeNull();
    expect(host.floods).toHaveLength(2);
    expect(host.counters.get(C.entriesExpired)).toBe(1);
    answer(host);
    expect(host.transmitted.at(-1)?.frames).toEqual([datagram(2)]);
  });

  it('forgets the location version of an expired entry: the real host answer is taken again (a forged version lasts only until expiry)', () => {
    host = make({ refreshAheadMs: 0 });
    vi.advanceTimersByTime(1000); // expires at 31 s, between two sweeps (every 15 s): resolved again, not swept
    host.resolve(VNET, MAC, datagram(0));
    answer(host, { version: 100 });
    // Without a VARP key an admitted sender can announce any version (docs/wire.md "VARP freshness").
    const forged = 0x0800_0001;
    host.varp.handle(announce({ flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, coa: B, version: forged }), { address: C2, port: PORT });
    expect(state(host)).toMatchObject({ coa: B, version: forged });
    vi.advanceTimersByTime(30_000); // expired, unused
    expect(host.resolve(VNET, MAC, datagram(1))).toBeNull();
    expect(state(host)?.state).toBe('INCOMPLETE');
    answer(host, { version: 100 });
    expect(state(host)).toMatchObject({ state: 'REACHABLE', coa: B, version: 100 });
    expect(host.counters.get(messageIgnored('stale_version'))).toBe(0);
    expect(host.transmitted.at(-1)?.frames).toEqual([datagram(1)]);
  });

  it('is confirmed by FRAMEs from the same COA only, and forgotten by the sweep when unused', () => {
    host = make({ refreshAheadMs: 0 });
    host.resolve(VNET, MAC, datagram(0));
    answer(host);
    vi.advanceTimersByTime(20_000);
    host.varp.refresh(VNET, MAC, B);
    host.varp.refresh(VNET, MAC, C2); // another COA: neither confirms nor moves
    vi.advanceTimersByTime(29_999);
    expect(host.resolve(VNET, MAC, datagram(1))).toEqual({ coa: B, port: PORT });
    host.varp.refresh(VNET, parseMac('02:5d:00:00:00:99'), B); // unknown MAC: never creates
    expect(host.varp.entries()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(host.varp.entries()).toHaveLength(0);
    vi.advanceTimersByTime(30_000); // sweep
    expect(host.counters.get(C.entriesExpired)).toBe(1);
    expect(host.floods).toHaveLength(1);
  });

  it('re-confirms an entry in use shortly before expiry with one unicast REQUEST to its COA', () => {
    host = make(); // refreshAheadMs 3000
    host.resolve(VNET, MAC, datagram(0));
    answer(host);
    vi.advanceTimersByTime(26_999);
    host.resolve(VNET, MAC, datagram(1));
    expect(host.unicasts).toHaveLength(0);
    vi.advanceTimersByTime(1);
    host.resolve(VNET, MAC, datagram(2));
    host.resolve(VNET, MAC, datagram(3));
    expect(host.unicasts).toHaveLength(1);
    const probe = host.unicasts[0]!;
    expect(probe.to).toEqual({ address: B, port: PORT });
    expect(probe.msg).toMatchObject({ opcode: VARP_REQUEST, mac: MAC, coa: A });
    host.varp.handle(announce({ nonce: probe.msg.nonce }), { address: B, port: PORT });
    vi.advanceTimersByTime(29_000);
    expect(host.resolve(VNET, MAC, datagram(4))).toEqual({ coa: B, port: PORT });
    expect(host.floods).toHaveLength(1); // never expired, never flooded again
    // Used again inside the window of the new confirmation: one more refresh.
    expect(host.counters.get(C.refreshRequestsSent)).toBe(2);
    // An unanswered refresh changes nothing: the entry still expires on time.
    vi.advanceTimersByTime(1000);
    expect(host.resolve(VNET, MAC, datagram(5))).toBeNull();
    expect(host.floods).toHaveLength(2);
  });
});

