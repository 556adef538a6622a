// Two TAP guests joined by a wire in this process (each frame one guest
// sends is delivered to the other): the ceiling the TAP I/O alone allows,
// with no switching, encapsulation or underlay on the path.
import { createTapGuest } from '../../agent/guests/tap.ts';
import { Counters } from '../../agent/metrics.ts';
import { silentLogger } from '../../agent/log.ts';
import type { GuestPort, VifSpec } from '../../agent/guests/types.ts';
import type { NetnsHarness } from '../../test/netns/harness.ts';
import type { GuestPair } from './reference.ts';

export interface TapWire extends GuestPair {
  counters: Counters;
  stop(): Promise<void>;
}

export async function tapWire(h: NetnsHarness, prefix: string, mtu = 1400): Promise<TapWire> {
  const counters = new Counters();
  const ctx = { logger: silentLogger, counters, mtu };
  const ends = ['A', 'B'].map((s, i) => {
    const ns = h.name(`${prefix}${s}`);
    h.track(ns);
    const vif = { id: `${prefix}${s}/eth0`, vnet: 100, mac: `02:5d:00:00:0f:0${i + 1}`, ip: `10.103.0.${i + 1}/24`, version: 1, guest: { kind: 'tap', ifname: 'eth0', netns: ns } } as VifSpec;
    return { ns, ip: `10.103.0.${i + 1}`, port: createTapGuest(vif, ctx) };
  });
  const [a, b] = ends as [(typeof ends)[0], (typeof ends)[0]];
  a.port.onFrame = (f) => b.port.deliver(f);
  b.port.onFrame = (f) => a.port.deliver(f);
  await a.port.start();
  await b.port.start();
  const ports: GuestPort[] = [a.port, b.port];
  return {
    a: { ns: a.ns, ip: a.ip },
    b: { ns: b.ns, ip: b.ip },
    counters,
    async stop() {
      for (const p of ports) await p.stop();
    },
  };
}
