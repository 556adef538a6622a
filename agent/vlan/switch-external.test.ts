// The switch side of an external leg (`vnets[].external`): the vnet is
// host-local, so nothing of it goes over the underlay, and every unicast MAC
// but the leg's is the LAN's.
import { describe, expect, it } from 'vitest';
import { BROADCAST_MAC, parseIp } from '../wire/index.ts';
import { fakeSwitch, udpFrame } from '../switch/testing.ts';
import type { Uplink } from '../switch/index.ts';
import { externalDeviceName } from './external.ts';

const V = 900;
const LEG = 0x025d09000001; // the router's leg
const GW = 0x0a0000000001; // the LAN's gateway
const IP_LEG = parseIp('198.19.50.2');
const IP_GW = parseIp('198.19.50.1');

/** Stands in for ExternalUplink: the same ownership rule, frames kept. */
class FakeLeg implements Uplink {
  readonly local = true;
  readonly sent: Buffer[] = [];
  deliver(frame: Buffer): void {
    this.sent.push(frame);
  }
  owns(mac: number): boolean {
    return mac !== LEG;
  }
}

function setup() {
  const f = fakeSwitch();
  const lan = new FakeLeg();
  f.sw.upsertVnet({ id: V, security: 'none', uplink: lan });
  const port = f.addPort('router:r1/vnet900', V, LEG, IP_LEG);
  return { ...f, lan, port };
}

describe('a vnet that is an external leg', () => {
  it('sends the leg\'s unicast and broadcasts to the LAN only, never to the underlay or VARP', () => {
    const t = setup();
    t.port.guest.onFrame(udpFrame(LEG, GW, IP_LEG, IP_GW));
    t.port.guest.onFrame(udpFrame(LEG, BROADCAST_MAC, IP_LEG, 0xffffffff));
    expect(t.lan.sent).toHaveLength(2);
    expect(t.flooded).toEqual([]);
    expect(t.sent).toEqual([]);
    expect(t.varp.resolveCalls).toEqual([]);
  });

  it('takes LAN frames for the leg and LAN broadcasts to the leg, and floods nothing over the underlay', () => {
    const t = setup();
    t.sw.fromUplink(V, udpFrame(GW, LEG, IP_GW, IP_LEG));
    t.sw.fromUplink(V, udpFrame(GW, BROADCAST_MAC, IP_GW, 0xffffffff));
    expect(t.port.guest.received).toHaveLength(2);
    expect(t.flooded).toEqual([]);
    expect(t.lan.sent).toEqual([]);
  });

  it('names its device from the vnet id, within 15 characters', () => {
    expect(externalDeviceName(900)).toBe('sdxm900');
    expect(externalDeviceName(4294967295).length).toBeLessThanOrEqual(15);
  });
});
