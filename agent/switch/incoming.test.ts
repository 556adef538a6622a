// Inactive ports (incoming.ts): a live migration's destination claims nothing
// until its own guest speaks with its own MAC.
import { describe, expect, it } from 'vitest';
import { BROADCAST_MAC, encodeEthernet, encodeFrame, parseIp } from '../wire/index.ts';
import { FakeGuest, arpRequest, fakeSwitch, udpFrame } from './testing.ts';
import { C, type SwitchPort } from './types.ts';

const V = 100;
const VM = 0x02_5d_00_00_64_14;
const PEER = 0x02_5d_00_00_64_0a;
const OTHER = 0x02_5d_00_00_64_99;
const VM_IP = parseIp('10.100.0.20');
const PEER_IP = parseIp('10.100.0.10');
const OLD_HOST = parseIp('198.18.3.2');
const RARP = 0x8035;

function setup() {
  const f = fakeSwitch();
  f.sw.upsertVnet({ id: V, security: 'none' });
  const peer = f.addPort('peer', V, PEER, PEER_IP);
  const vm: SwitchPort & { guest: FakeGuest } = { id: 'vm', vnet: V, mac: VM, ip: VM_IP, guest: new FakeGuest('vm') };
  const activated: string[] = [];
  f.sw.addInactivePort(vm, { activated: (p) => activated.push(p.id) });
  // The VM still lives on its old host: VARP routes its MAC there.
  f.varp.routes.set(`${V}/${VM}`, { coa: OLD_HOST, port: 1798 });
  return { ...f, peer, vm, activated };
}

/** QEMU's announcement as the VM resumes (qemu_announce_self): a RARP request from the VM's MAC. */
const rarp = (src: number) => encodeEthernet({ dst: BROADCAST_MAC, src, ethertype: RARP, payload: Buffer.alloc(28) });

describe('an inactive (incoming) port', () => {
  it('claims nothing before its guest speaks: frames for its MAC follow VARP to the old host, underlay frames never reach it', () => {
    const t = setup();
    expect(t.sw.portList().map((p) => p.id)).toEqual(['peer']);
    expect(t.sw.isInactive('vm')).toBe(true);
    expect(t.sw.port('vm')).toBe(t.vm);
    t.peer.guest.onFrame(udpFrame(PEER, VM, PEER_IP, VM_IP));
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]!.coa).toBe(OLD_HOST);
    expect(t.vm.guest.received).toEqual([]);
    // A FRAME from the underlay with the VM's own MAC as source (the VM on its old host) reaches the peer and activates nothing.
    const fromOld = encodeFrame({ vnet: V, flags: 0, ethernet: udpFrame(VM, PEER, VM_IP, PEER_IP) });
    expect(t.sw.fromUnderlay({ vnet: V, flags: 0, ethernet: fromOld.subarray(10) }, OLD_HOST)).toBeNull();
    expect(t.peer.guest.received).toHaveLength(1);
    // A FRAME for the VM's MAC is not delivered here; a broadcast from the underlay skips it too.
    expect(t.sw.fromUnderlay({ vnet: V, flags: 0, ethernet: udpFrame(OTHER, VM, 1, VM_IP) }, OLD_HOST)).toBe('no_port');
    t.sw.fromUnderlay({ vnet: V, flags: 0, ethernet: arpRequest(OTHER, 1, VM_IP) }, OLD_HOST);
    expect(t.vm.guest.received).toEqual([]);
    expect(t.activated).toEqual([]);
    expect(t.sw.isInactive('vm')).toBe(true);
  });

  it('drops and counts what its guest sends with another source MAC, and stays inactive', () => {
    const t = setup();
    t.vm.guest.onFrame(rarp(OTHER));
    t.vm.guest.onFrame(udpFrame(OTHER, PEER, VM_IP, PEER_IP));
    t.vm.guest.onFrame(Buffer.alloc(8));
    expect(t.counters.get(C.inactiveDropped.src_mac)).toBe(2);
    expect(t.counters.get(C.inactiveDropped.runt)).toBe(1);
    expect(t.peer.guest.received).toEqual([]);
    expect(t.flooded).toEqual([]);
    expect(t.activated).toEqual([]);
  });

  it('activates on its guest\'s first frame with its own MAC, then switches that frame and those after it locally', () => {
    const t = setup();
    t.vm.guest.onFrame(rarp(VM));
    expect(t.activated).toEqual(['vm']);
    expect(t.counters.get(C.activations)).toBe(1);
    expect(t.sw.isInactive('vm')).toBe(false);
    expect(t.sw.portList().map((p) => p.id).sort()).toEqual(['peer', 'vm']);
    expect(t.peer.guest.received).toHaveLength(1); // the RARP broadcast, as any broadcast
    expect(t.flooded).toHaveLength(1);
    // The peer's frames for the VM now stay on this host.
    t.peer.guest.onFrame(udpFrame(PEER, VM, PEER_IP, VM_IP));
    expect(t.vm.guest.received).toHaveLength(1);
    t.vm.guest.onFrame(udpFrame(VM, PEER, VM_IP, PEER_IP));
    expect(t.peer.guest.received).toHaveLength(2);
    expect(t.activated).toEqual(['vm']);
  });

  it('is activated by the state without a frame, and a port that moved away drops its paused guest\'s frames', () => {
    const t = setup();
    t.sw.activatePort('vm');
    expect(t.sw.isInactive('vm')).toBe(false);
    expect(t.activated).toEqual([]);
    t.sw.deactivatePort('vm');
    expect(t.sw.isInactive('vm')).toBe(true);
    t.vm.guest.onFrame(udpFrame(VM, PEER, VM_IP, PEER_IP));
    expect(t.counters.get(C.inactiveDropped.moved)).toBe(1);
    expect(t.peer.guest.received).toEqual([]);
    t.sw.removePort('vm');
    expect(t.sw.port('vm')).toBeUndefined();
  });
});
