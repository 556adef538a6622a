import { describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { VifShaper, chargedBytes, type Clock } from './shaper.ts';

class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  get pending(): number {
    return this.timers.length;
  }
  /** Advances time, firing due timers in order (those they arm too). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

/** An IPv4 frame whose charged size is `ip` bytes; byte 14.. carries a sequence number. */
function frame(ip: number, n = 0): Buffer {
  const f = Buffer.alloc(14 + ip);
  f.writeUInt16BE(0x0800, 12);
  f.writeUInt32BE(n, 14);
  return f;
}

function setup(rateMbps: number, burstKb?: number) {
  const clock = new FakeClock();
  const counters = new Counters();
  const shaper = new VifShaper('web-1/eth0', counters, clock);
  const out: { t: number; n: number; size: number }[] = [];
  const admit = shaper.wrap((f) => out.push({ t: clock.t, n: f.readUInt32BE(14), size: chargedBytes(f) }));
  shaper.configure({ rateMbps, burstKb });
  return { clock, counters, shaper, out, admit };
}

const DROPPED = 'softudc_vif_limit_dropped_frames_total{vif="web-1/eth0"}';

describe('VifShaper (token bucket with a short FIFO)', () => {
  it('passes a burst at once, then spaces frames at the rate', () => {
    // 8 Mbit/s = 1000 bytes per ms; a 4 KiB bucket holds four 1000-byte frames.
    const s = setup(8, 4);
    for (let i = 0; i < 7; i++) s.admit(frame(1000, i));
    expect(s.out.map((o) => o.t)).toEqual([0, 0, 0, 0]);
    s.clock.advance(10);
    expect(s.out.map((o) => o.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(s.out.map((o) => o.t)).toEqual([0, 0, 0, 0, 1, 2, 3]);
    expect(s.counters.get('softudc_vif_limit_delayed_frames_total{vif="web-1/eth0"}')).toBe(3);
  });

  it('holds a sustained overload to the rate (within 1 %) and drops the excess', () => {
    const s = setup(80); // 10 000 bytes per ms
    let n = 0;
    // Offer 4x the rate for two seconds, one frame every 0.035 ms.
    for (let step = 0; step < 2000 * 8; step++) {
      for (let k = 0; k < 4; k++) s.admit(frame(1250, n++));
      s.clock.advance(0.125);
    }
    const passed = s.out.reduce((a, o) => a + o.size, 0);
    const expected = 10_000 * 2000;
    const burst = 10_000 * 10; // default bucket: 10 ms at the rate
    expect(passed).toBeGreaterThan(expected * 0.99);
    expect(passed).toBeLessThan((expected + burst) * 1.01);
    expect(s.counters.get(DROPPED)).toBeGreaterThan(n * 0.7);
    expect(s.out.every((o, i) => i === 0 || o.n > s.out[i - 1]!.n)).toBe(true); // FIFO order
  });

  it('bounds the queue: a frame that does not fit is dropped and counted', () => {
    // A 1 KiB bucket is raised to 4 ms at the rate (4 frames); the queue holds at least 64 KiB (65 frames).
    const s = setup(8, 1);
    for (let i = 0; i < 201; i++) s.admit(frame(1000, i));
    expect(s.out).toHaveLength(4);
    expect(s.counters.get(DROPPED)).toBe(201 - 4 - 65);
    expect(s.counters.get('softudc_vif_limit_dropped_bytes_total{vif="web-1/eth0"}')).toBe(132 * 1000);
  });

  it('counts IP bytes: Ethernet header and 802.1Q tag are free', () => {
    expect(chargedBytes(frame(100))).toBe(100);
    const tagged = Buffer.alloc(18 + 100);
    tagged.writeUInt16BE(0x8100, 12);
    expect(chargedBytes(tagged)).toBe(100);
  });

  it('without a limit passes everything synchronously; removing a limit releases the queue in order', () => {
    const s = setup(8, 1);
    for (let i = 0; i < 6; i++) s.admit(frame(1000, i));
    expect(s.out).toHaveLength(4);
    s.shaper.configure(undefined);
    expect(s.out.map((o) => o.n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.clock.pending).toBe(0);
    s.admit(frame(1_000_000 - 14, 9));
    expect(s.out).toHaveLength(7);
  });

  it('changing the rate applies to what waits; stop() drops the queue and leaves no timer', () => {
    const s = setup(8, 1);
    for (let i = 0; i < 11; i++) s.admit(frame(1000, i));
    s.shaper.configure({ rateMbps: 80, burstKb: 1 });
    s.clock.advance(1);
    expect(s.out.length).toBe(11);
    for (let i = 0; i < 5; i++) s.admit(frame(1000, 100 + i));
    s.shaper.stop();
    expect(s.clock.pending).toBe(0);
    expect(s.counters.get(DROPPED)).toBeGreaterThan(0);
    s.clock.advance(100);
    expect(s.out.length).toBeLessThan(16);
  });

  it('a late drain timer costs the backlog nothing: the long-run rate holds when timers fire late', () => {
    const late = new FakeClock(); // 8 Mbit/s below: 1000 bytes per ms, a 4000-byte bucket
    const shaper = new VifShaper('late', new Counters(), {
      now: () => late.now(),
      setTimeout: (fn, ms) => late.setTimeout(fn, ms + 20), // every timer fires 20 ms late
      clearTimeout: (h) => late.clearTimeout(h),
    });
    let bytes = 0;
    const admit = shaper.wrap((f) => (bytes += chargedBytes(f)));
    shaper.configure({ rateMbps: 8, burstKb: 4 });
    for (let t = 0; t < 1000; t++) {
      admit(frame(1000)); // offered at the rate, exactly
      admit(frame(1000)); // and as much again: the FIFO stays busy
      late.advance(1);
    }
    expect(bytes).toBeGreaterThan(1000 * 1000 * 0.97);
    expect(bytes).toBeLessThan(1000 * 1000 + 4000 + 1000);
  });

  it('holds copies of the frames it delays, never views that keep a whole read batch alive', () => {
    const clock = new FakeClock();
    const shaper = new VifShaper('web-1/eth0', new Counters(), clock);
    const out: Buffer[] = [];
    const admit = shaper.wrap((f) => out.push(f));
    shaper.configure({ rateMbps: 8, burstKb: 4 });
    const batch = Buffer.alloc(200_000);
    const frames = [0, 1, 2, 3, 4, 5].map((i) => {
      const f = batch.subarray(i * 1100, i * 1100 + 1014);
      f.writeUInt16BE(0x0800, 12);
      f.writeUInt32BE(i, 14);
      return f;
    });
    for (const f of frames) admit(f);
    clock.advance(10);
    expect(out.map((f) => f.readUInt32BE(14))).toEqual([0, 1, 2, 3, 4, 5]);
    // The first four passed at once (the bucket), as they were; the delayed two are copies.
    expect(out.slice(4).every((f) => f.buffer.byteLength < batch.length)).toBe(true);
  });

  it('lets a frame larger than the bucket through once the bucket is full', () => {
    const s = setup(8, 1); // bucket 4000 bytes
    s.admit(frame(9000, 1));
    expect(s.out).toHaveLength(1);
    s.admit(frame(9000, 2));
    expect(s.out).toHaveLength(1);
    s.clock.advance(8.5); // 5000 bytes of debt, then a full bucket: 9 ms
    expect(s.out).toHaveLength(1);
    s.clock.advance(1);
    expect(s.out.map((o) => o.n)).toEqual([1, 2]);
  });
});
