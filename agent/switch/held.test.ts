// Frames held while VARP resolves (agent/switch/held.ts), driven by the real
// VARP engine on the simulated underlay of agent/varp/testing.ts.
import { describe, expect, it, vi } from 'vitest';
import { Counters } from '../metrics.ts';
import { VARP_COUNTERS as C, frameDropped } from '../varp/index.ts';
import { datagram, netPerTest } from '../varp/testing.ts';
import { HeldFrames } from './held.ts';
import { fakeSwitch, udpFrame } from './testing.ts';
import { FRAME_HEADROOM } from '../native/headroom.ts';
import { encodeFrame } from '../wire/index.ts';
import { VARP_ANNOUNCE } from '../wire/constants.ts';

const A = 0xc6120001;
const B = 0xc6120002;
const VNET = 7;
const OTHER = 8;
const mac = (i: number) => 0x02_5d_00_00_10_00 + i;

const net = netPerTest(HeldFrames);

describe('held frames', () => {
  it('bounds the frames held per destination and per vnet, counting each refusal once', () => {
    const c = new Counters();
    const sent: Buffer[][] = [];
    const held = new HeldFrames(c, (_v, _r, f) => sent.push(f));
    held.limits = { queueLimit: 3, maxQueuedPerVnet: 5 };
    for (let i = 0; i < 4; i++) held.hold(VNET, mac(1), datagram(i));
    for (let i = 0; i < 4; i++) held.hold(VNET, mac(2), datagram(10 + i));
    held.hold(OTHER, mac(1), datagram(20));
    expect(c.get(C.framesQueued)).toBe(6);
    expect(c.get(frameDropped('queue_overflow'))).toBe(1);
    expect(c.get(frameDropped('vnet_queue_limit'))).toBe(2);
    expect([held.heldOn(VNET), held.heldOn(OTHER), held.size]).toEqual([5, 1, 6]);
    held.discard(VNET, mac(2), 'preempted');
    expect(c.get(frameDropped('preempted'))).toBe(2);
    held.release(VNET, mac(1), { coa: B, port: 1798 });
    expect(sent).toEqual([[datagram(0), datagram(1), datagram(2)]]);
    expect(c.get(C.framesReleased)).toBe(3);
    expect([held.heldOn(VNET), held.size]).toEqual([0, 1]);
  });

  it('each frame leaves once: released on the answer, or dropped when the resolution fails, is preempted or stops', () => {
    net().autoDeliver = false;
    const a = net().add('a', A);
    a.resolve(VNET, mac(1), datagram(0));
    a.resolve(VNET, mac(1), datagram(1));
    a.resolve(VNET, mac(2), datagram(2));
    const req = a.floods[0]!.msg;
    a.varp.handle({ ...req, opcode: VARP_ANNOUNCE, flags: 0, coa: B, version: 1 }, { address: B, port: 1798 });
    expect(a.transmitted).toEqual([{ vnet: VNET, coa: B, port: 1798, frames: [datagram(0), datagram(1)] }]);
    vi.advanceTimersByTime(15_000); // mac(2) FAILED
    expect(a.counters.get(frameDropped('queue_discarded'))).toBe(1);
    a.resolve(VNET, mac(3), datagram(3));
    a.varp.stop();
    expect(a.counters.get(frameDropped('stopped'))).toBe(1);
    const queued = a.counters.get(C.framesQueued);
    const left = queued - a.counters.get(C.framesReleased) - a.counters.get(frameDropped('queue_discarded')) - a.counters.get(frameDropped('stopped'));
    expect([queued, left]).toEqual([4, 0]);
  });

  it('holds a copy of a frame of a reader batch, never a view, and sends it once, when its destination resolves', () => {
    const t = fakeSwitch();
    t.sw.upsertVnet({ id: VNET, security: 'none' });
    const port = t.addPort('p', VNET, mac(1), 0x0a000001);
    t.varp.pending.add(`${VNET}/${mac(2)}`);
    const frames = [udpFrame(mac(1), mac(2), 0x0a000001, 0x0a000002, Buffer.from('one')), udpFrame(mac(1), mac(2), 0x0a000001, 0x0a000002, Buffer.from('two'))];
    const batch = Buffer.concat(frames.flatMap((f) => [Buffer.alloc(FRAME_HEADROOM), f]));
    t.sw.headroom.handleBatch(batch, Uint32Array.from(frames.map((f) => f.length)), (views) => {
      for (const v of views) port.guest.onFrame(v);
    });
    batch.fill(0); // the reader reuses its batch
    expect([t.sent.length, t.sw.held.heldOn(VNET), t.counters.get(C.framesQueued)]).toEqual([0, 2, 2]);
    t.sw.held.release(VNET, mac(2), { coa: B, port: 1798 });
    t.sw.held.release(VNET, mac(2), { coa: B, port: 1798 }); // a second notice finds nothing
    expect(t.sent).toEqual(frames.map((f) => ({ datagram: encodeFrame({ vnet: VNET, ethernet: f }), coa: B, port: 1798 })));
    expect(t.counters.get(C.framesReleased)).toBe(2);
  });
});
