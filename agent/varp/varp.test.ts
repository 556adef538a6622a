// The VARP state machine under fake timers, one default of the spec's table at a time.
import { describe, expect, it, vi } from 'vitest';
import { parseMac } from '../wire/addr.ts';
import { VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, VARP_FLAG_PROXY, VARP_REQUEST } from '../wire/constants.ts';
import type { VarpMessage } from '../wire/varp.ts';
import { VARP_COUNTERS as C, frameDropped, messageIgnored } from './counters.ts';
import { DEFAULT_VARP_CONFIG, type VarpConfig } from './types.ts';
import { ONE_HOST, PORT, datagram, oneHost, type Host } from './testing.ts';
import { HeldFrames } from '../switch/held.ts';

const { VNET, MAC, IP, A, B, C2 } = ONE_HOST;
const { make, announce, answer, state } = oneHost(HeldFrames);
let host: Host;

describe('resolution (spec defaults: 5 REQUESTs 3 s apart, FAILED 3 s later, kept 3 s)', () => {
  it('floods the first REQUEST at once, then every 3 s, 5 in all, sharing one nonce', () => {
    host = make();
    expect(host.resolve(VNET, MAC, datagram(0))).toBeNull();
    expect(host.floods).toHaveLength(1);
    const first = host.floods[0]!.msg;
    expect(first).toMatchObject({ opcode: VARP_REQUEST, vnet: VNET, mac: MAC, flags: 0, ip: 0, coa: A });
    expect(state(host)?.state).toBe('INCOMPLETE');
    for (let n = 2; n <= 5; n++) {
      vi.advanceTimersByTime(2999);
      expect(host.floods).toHaveLength(n - 1);
      vi.advanceTimersByTime(1);
      expect(host.floods).toHaveLength(n);
    }
    expect(new Set(host.floods.map((s) => s.msg.nonce))).toEqual(new Set([first.nonce]));
    vi.advanceTimersByTime(60_000);
    expect(host.floods).toHaveLength(5);
    expect(host.counters.get(C.requestsSent)).toBe(5);
  });

  it('fails 3 s after the last unanswered REQUEST, discards the queue, drops meanwhile, forgets 3 s later', () => {
    host = make();
    host.resolve(VNET, MAC, datagram(0));
    host.resolve(VNET, MAC, datagram(1));
    vi.advanceTimersByTime(12_000); // the 5th REQUEST
    expect(host.floods).toHaveLength(5);
    vi.advanceTimersByTime(2999);
    expect(state(host)?.state).toBe('INCOMPLETE');
    vi.advanceTimersByTime(1); // t = 15 s
    expect(state(host)?.state).toBe('FAILED');
    expect(host.counters.get(frameDropped('queue_discarded'))).toBe(2);
    expect(host.counters.get(C.resolutionsFailed)).toBe(1);
    expect(host.resolve(VNET, MAC, datagram(2))).toBeNull();
    expect(host.counters.get(frameDropped('failed'))).toBe(1);
    expect(host.floods).toHaveLength(5); // no new resolution while FAILED
    vi.advanceTimersByTime(2999);
    expect(state(host)?.state).toBe('FAILED');
    vi.advanceTimersByTime(1); // t = 18 s
    expect(state(host)).toBeUndefined();
    expect(host.transmitted).toHaveLength(0);
    // The next frame starts a new resolution with a new nonce.
    host.resolve(VNET, MAC, datagram(3));
    expect(host.floods).toHaveLength(6);
    expect(host.floods[5]!.msg.nonce).not.toBe(host.floods[0]!.msg.nonce);
  });

  it('queues at most 16 datagrams FIFO, counts the overflow, releases the queue on the answer', () => {
    host = make();
    for (let i = 0; i < 20; i++) expect(host.resolve(VNET, MAC, datagram(i))).toBeNull();
    expect(host.counters.get(C.framesQueued)).toBe(16);
    expect(host.counters.get(frameDropped('queue_overflow'))).toBe(4);
    vi.advanceTimersByTime(3000); // answered after a retry: same nonce
    answer(host);
    expect(host.transmitted).toEqual([{ vnet: VNET, coa: B, port: PORT, frames: Array.from({ length: 16 }, (_, i) => datagram(i)) }]);
    expect(host.counters.get(C.framesReleased)).toBe(16);
    expect(host.resolve(VNET, MAC, datagram(99))).toEqual({ coa: B, port: PORT });
    expect(state(host)).toMatchObject({ state: 'REACHABLE', coa: B, ip: IP, version: 1, proxy: false });
    vi.advanceTimersByTime(60_000);
    expect(host.floods).toHaveLength(2); // retries stopped by the answer
  });
});

describe('configurability of every default', () => {
  it('honours lifetime, request count and interval, queue limit and FAILED hold', () => {
    host = make({ lifetimeMs: 1000, requestCount: 2, requestIntervalMs: 500, queueLimit: 2, failedHoldMs: 100, refreshAheadMs: 0 });
    for (let i = 0; i < 3; i++) host.resolve(VNET, MAC, datagram(i));
    expect(host.counters.get(frameDropped('queue_overflow'))).toBe(1);
    vi.advanceTimersByTime(500);
    expect(host.floods).toHaveLength(2);
    vi.advanceTimersByTime(499);
    expect(state(host)?.state).toBe('INCOMPLETE');
    vi.advanceTimersByTime(1);
    expect(state(host)?.state).toBe('FAILED');
    expect(host.floods).toHaveLength(2);
    vi.advanceTimersByTime(100);
    expect(state(host)).toBeUndefined();
    host.resolve(VNET, MAC, datagram(3));
    answer(host);
    vi.advanceTimersByTime(999);
    expect(host.resolve(VNET, MAC, datagram(4))).not.toBeNull();
    vi.advanceTimersByTime(1);
    expect(host.resolve(VNET, MAC, datagram(5))).toBeNull();
  });

  it('defaults to the spec table and rejects bad values naming the field', () => {
    host = make();
    expect(host.varp.config).toMatchObject({ lifetimeMs: 30_000, requestCount: 5, requestIntervalMs: 3000, queueLimit: 16, failedHoldMs: 3000 });
    expect(DEFAULT_VARP_CONFIG.queueLimit).toBe(16);
    const bad: [Partial<VarpConfig>, string][] = [
      [{ lifetimeMs: 0 }, 'lifetimeMs'],
      [{ requestCount: 0 }, 'requestCount'],
      [{ requestCount: 1.5 }, 'requestCount'],
      [{ requestIntervalMs: -1 }, 'requestIntervalMs'],
      [{ queueLimit: -1 }, 'queueLimit'],
      [{ failedHoldMs: Number.NaN }, 'failedHoldMs'],
      [{ key: Buffer.alloc(0) }, 'key'],
      [{ refreshAheadMs: 30_000 }, 'refreshAheadMs'],
      [{ maxResolving: 0 }, 'maxResolving'],
      [{ lifetime: 5 } as Partial<VarpConfig>, 'lifetime'],
    ];
    for (const [cfg, field] of bad) expect(() => make(cfg)).toThrow(new RegExp(`varp\\.${field}`));
  });
});

describe('ANNOUNCE handling', () => {
  it('ignores a lower version than the cached one, accepts equal and higher', () => {
    host = make();
    host.resolve(VNET, MAC, datagram(0));
    answer(host, { version: 5 });
    host.varp.handle(announce({ flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, coa: C2, version: 4 }), { address: C2, port: PORT });
    expect(host.counters.get(messageIgnored('stale_version'))).toBe(1);
    expect(state(host)?.coa).toBe(B);
    host.varp.handle(announce({ flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, coa: C2, version: 6 }), { address: C2, port: PORT });
    expect(state(host)).toMatchObject({ coa: C2, version: 6, state: 'REACHABLE' });
    expect(host.counters.get(C.entriesMoved)).toBe(1);
    expect(host.resolve(VNET, MAC, datagram(1))).toEqual({ coa: C2, port: PORT });
  });

  it('ignores a reply whose nonce answers nothing of ours, or another MAC, and late duplicates', () => {
    host = make();
    host.resolve(VNET, MAC, datagram(0));
    const nonce = host.floods[0]!.msg.nonce;
    host.varp.handle(announce({ nonce: (nonce + 1) >>> 0 }), { address: B, port: PORT });
    host.varp.handle(announce({ nonce, mac: parseMac('02:5d:00:00:00:0c') }), { address: B, port: PORT });
    host.varp.handle(announce({ nonce, vnet: 8 }), { address: B, port: PORT });
    expect(host.counters.get(messageIgnored('unsolicited'))).toBe(3);
    expect(state(host)?.state).toBe('INCOMPLETE');
    host.varp.handle(announce({ nonce }), { address: B, port: PORT });
    expect(state(host)?.state).toBe('REACHABLE');
    host.varp.handle(announce({ nonce, coa: C2 }), { address: C2, port: PORT });
    expect(host.counters.get(messageIgnored('unsolicited'))).toBe(4);
    expect(state(host)?.coa).toBe(B);
  });

  it('completes a resolution or a FAILED entry at once from a GRATUITOUS ANNOUNCE', () => {
    host = make();
    host.resolve(VNET, MAC, datagram(0));
    host.varp.handle(announce({ flags: VARP_FLAG_GRATUITOUS }), { address: B, port: PORT });
    expect(host.transmitted).toHaveLength(1);
    expect(state(host)).toMatchObject({ state: 'REACHABLE', ip: null });
    const other = parseMac('02:5d:00:00:00:0c');
    host.resolve(VNET, other, datagram(1));
    vi.advanceTimersByTime(15_000);
    expect(state(host, other)?.state).toBe('FAILED');
    host.varp.handle(announce({ mac: other, flags: VARP_FLAG_GRATUITOUS }), { address: B, port: PORT });
    expect(state(host, other)?.state).toBe('REACHABLE');
    vi.advanceTimersByTime(3000); // the FAILED hold timer was cancelled
    expect(state(host, other)?.state).toBe('REACHABLE');
  });

  it('records the PROXY flag and takes the port from a reply sent straight from the COA', () => {
    host = make();
    host.resolve(VNET, MAC, datagram(0));
    answer(host, { flags: VARP_FLAG_HAS_IP | VARP_FLAG_PROXY });
    expect(state(host)?.proxy).toBe(true);
    const other = parseMac('02:5d:00:00:00:0c');
    host.resolve(VNET, other, datagram(1));
    const nonce = host.floods.at(-1)!.msg.nonce;
    host.varp.handle(announce({ mac: other, nonce }), { address: B, port: 2000 });
    expect(host.resolve(VNET, other, datagram(2))).toEqual({ coa: B, port: 2000 });
  });
});

describe('WITHDRAW', () => {
  it('forgets the entry only when it still points to that COA and is not newer', () => {
    host = make();
    host.resolve(VNET, MAC, datagram(0));
    answer(host, { version: 3 });
    const withdraw = (over: Partial<VarpMessage>) => host.varp.handle({ ...announce({ opcode: 3, nonce: 0, flags: 0, ip: 0 }), ...over }, { address: over.coa ?? B, port: PORT });
    withdraw({ coa: C2, version: 3 });
    withdraw({ coa: B, version: 2 });
    expect(state(host)?.state).toBe('REACHABLE');
    expect(host.counters.get(messageIgnored('withdraw_mismatch'))).toBe(1);
    expect(host.counters.get(messageIgnored('stale_version'))).toBe(1);
    withdraw({ coa: B, version: 3 });
    expect(state(host)).toBeUndefined();
    expect(host.varp.lookupIp(VNET, IP)).toBeUndefined();
    expect(host.counters.get(C.entriesWithdrawn)).toBe(1);
    expect(host.resolve(VNET, MAC, datagram(1))).toBeNull();
    expect(host.floods).toHaveLength(2);
  });
});
