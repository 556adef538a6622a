// The switch side of a VLAN interface, with a fake LAN: what goes out to the
// LAN, what comes in, and what is refused.
import { describe, expect, it } from 'vitest';
import { BROADCAST_MAC, decodeFrame, encodeFrame, parseIp } from '../wire/index.ts';
import { fakeSwitch, udpFrame } from '../switch/testing.ts';
import type { Uplink } from '../switch/index.ts';
import { vlanDeviceNames } from './uplink.ts';

const V = 300;
const VIF = 0x025d00000001;
const LAN = 0x0a0000000099; // a machine on the VLAN
const REMOTE = 0x025d000000ff; // a VIF on another host
const IP_VIF = parseIp('10.30.0.1');
const IP_LAN = parseIp('10.30.0.99');
const IP_REMOTE = parseIp('10.30.0.255');
const COA = parseIp('198.18.0.2');

class FakeLan implements Uplink {
  readonly sent: Buffer[] = [];
  readonly macs = new Set<number>([LAN]);
  deliver(frame: Buffer): void {
    this.sent.push(frame);
  }
  owns(mac: number): boolean {
    return this.macs.has(mac);
  }
}

function setup() {
  const f = fakeSwitch();
  const lan = new FakeLan();
  f.sw.upsertVnet({ id: V, security: 'none', uplink: lan });
  const port = f.addPort('vif', V, VIF, IP_VIF);
  return { ...f, lan, port };
}

describe('a vnet with a VLAN uplink', () => {
  it('sends a VIF frame for a LAN MAC to the LAN only, and broadcasts to LAN and underlay', () => {
    const t = setup();
    t.port.guest.onFrame(udpFrame(VIF, LAN, IP_VIF, IP_LAN));
    expect(t.lan.sent).toHaveLength(1);
    expect(t.varp.resolveCalls).toEqual([]);
    t.port.guest.onFrame(udpFrame(VIF, BROADCAST_MAC, IP_VIF, 0xffffffff));
    expect(t.lan.sent).toHaveLength(2);
    expect(t.flooded).toHaveLength(1);
  });

  it('switches LAN frames to local VIFs, to remote VIFs through VARP, and floods LAN broadcasts', () => {
    const t = setup();
    t.sw.fromUplink(V, udpFrame(LAN, VIF, IP_LAN, IP_VIF));
    expect(t.port.guest.received).toHaveLength(1);
    t.varp.routes.set(`${V}/${REMOTE}`, { coa: COA, port: 1798 });
    t.sw.fromUplink(V, udpFrame(LAN, REMOTE, IP_LAN, IP_REMOTE));
    expect(t.sent.map((s) => s.coa)).toEqual([COA]);
    t.sw.fromUplink(V, udpFrame(LAN, BROADCAST_MAC, IP_LAN, 0xffffffff));
    expect(t.port.guest.received).toHaveLength(2);
    expect(t.flooded).toHaveLength(1);
    expect(t.lan.sent).toEqual([]); // never back to where it came from
  });

  it('refuses LAN frames with a VIF source MAC or for a LAN MAC, and runts', () => {
    const t = setup();
    t.sw.fromUplink(V, udpFrame(VIF, REMOTE, IP_VIF, IP_REMOTE));
    t.lan.macs.add(0x0a0000000098);
    t.sw.fromUplink(V, udpFrame(LAN, 0x0a0000000098, IP_LAN, IP_LAN));
    t.sw.fromUplink(V, Buffer.alloc(10));
    expect(t.counters.get('softudc_switch_uplink_rx_dropped_total{reason="src_mac"}')).toBe(1);
    expect(t.counters.get('softudc_switch_uplink_rx_dropped_total{reason="lan_local"}')).toBe(1);
    expect(t.counters.get('softudc_switch_uplink_rx_dropped_total{reason="runt"}')).toBe(1);
    expect(t.sent).toEqual([]);
  });

  it('delivers underlay frames for LAN MACs and broadcasts to the LAN', () => {
    const t = setup();
    const uni = encodeFrame({ vnet: V, ethernet: udpFrame(REMOTE, LAN, IP_REMOTE, IP_LAN) });
    expect(t.sw.fromUnderlay(decodeFrame(uni), COA, uni)).toBeNull();
    const bc = encodeFrame({ vnet: V, ethernet: udpFrame(REMOTE, BROADCAST_MAC, IP_REMOTE, 0xffffffff) });
    expect(t.sw.fromUnderlay(decodeFrame(bc), COA, bc)).toBeNull();
    expect(t.lan.sent).toHaveLength(2);
    const unknown = encodeFrame({ vnet: V, ethernet: udpFrame(REMOTE, 0x0a0000000077, IP_REMOTE, IP_LAN) });
    expect(t.sw.fromUnderlay(decodeFrame(unknown), COA, unknown)).toBe('no_port');
  });

  it('names its kernel devices within 15 characters', () => {
    for (const [vnet, spec] of [
      [300, { interface: 'eth1', vid: 300 }],
      [4294967295, { interface: 'enp0s31f6abcdef', vid: 4094 }],
    ] as const) {
      const n = vlanDeviceNames(vnet, spec);
      for (const name of Object.values(n)) expect(name.length).toBeLessThanOrEqual(15);
    }
    expect(vlanDeviceNames(300, { interface: 'eth1', vid: 300 }).sub).toBe('eth1.300');
  });
});
