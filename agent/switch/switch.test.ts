import { describe, expect, it } from 'vitest';
import {
  ARP_OP_REPLY,
  BROADCAST_MAC,
  FRAME_FLAG_SEALED,
  FRAME_HEADER_LEN,
  decodeArp,
  decodeFrame,
  encodeEthernet,
  encodeFrame,
  parseIp,
} from '../wire/index.ts';
import { arpRequest, fakeSwitch, FakeGuest, udpFrame } from './testing.ts';
import { FRAME_HEADROOM } from '../native/headroom.ts';

const ETHERTYPE_IPV6 = 0x86dd;
const A = 7; // vnet A
const B = 8; // vnet B
const MAC1 = 0x02_5d_00_00_00_01;
const MAC2 = 0x02_5d_00_00_00_02;
const MAC3 = 0x02_5d_00_00_00_03;
const REMOTE = 0x02_5d_00_00_00_99;
const IP1 = parseIp('10.0.0.1');
const IP2 = parseIp('10.0.0.2');
const IP3 = parseIp('10.0.0.3');
const COA = parseIp('127.0.0.9');

function twoVnets() {
  const f = fakeSwitch();
  f.sw.upsertVnet({ id: A, security: 'none' });
  f.sw.upsertVnet({ id: B, security: 'none', peers: ['127.0.0.5'] });
  const a1 = f.addPort('a1', A, MAC1, IP1);
  const a2 = f.addPort('a2', A, MAC2, IP2);
  // The same MAC and IP as a2, on the other vnet: only the vnet tells them apart.
  const b2 = f.addPort('b2', B, MAC2, IP2);
  const b3 = f.addPort('b3', B, MAC3, IP3);
  return { ...f, a1, a2, b2, b3 };
}

describe('switch isolation', () => {
  it('delivers a broadcast only to the other ports of the sending vnet, and floods it with that vnet id', () => {
    const t = twoVnets();
    const frame = udpFrame(MAC1, BROADCAST_MAC, IP1, 0xffffffff);
    t.a1.guest.onFrame(frame);
    expect(t.a2.guest.received).toEqual([frame]);
    expect(t.a1.guest.received).toEqual([]);
    expect(t.b2.guest.received).toEqual([]);
    expect(t.b3.guest.received).toEqual([]);
    expect(t.flooded).toHaveLength(1);
    expect(decodeFrame(t.flooded[0]!.datagram).vnet).toBe(A);
    expect(t.flooded[0]!.peers).toBeUndefined();
  });

  it('never short-circuits a unicast to a port with the same MAC on another vnet', () => {
    const t = twoVnets();
    t.b3.guest.onFrame(udpFrame(MAC3, MAC1, IP3, IP1)); // MAC1 lives on vnet A only
    expect(t.a1.guest.received).toEqual([]);
    expect(t.varp.resolveCalls).toEqual([{ vnet: B, mac: MAC1 }]);
    t.a1.guest.onFrame(udpFrame(MAC1, MAC2, IP1, IP2));
    expect(t.a2.guest.received).toHaveLength(1);
    expect(t.b2.guest.received).toEqual([]);
  });

  it('takes the FRAME vnet id from the port, never from the guest', () => {
    const t = twoVnets();
    t.varp.routes.set(`${B}/${REMOTE}`, { coa: COA, port: 1798 });
    t.b3.guest.onFrame(udpFrame(MAC3, REMOTE, IP3, IP1));
    expect(t.sent).toHaveLength(1);
    expect(decodeFrame(t.sent[0]!.datagram).vnet).toBe(B);
    expect(t.sent[0]!.coa).toBe(COA);
  });

  it('delivers a FRAME from the underlay only on its own vnet, including forged ones', () => {
    const t = twoVnets();
    const toMac2 = udpFrame(REMOTE, MAC2, IP3, IP2);
    expect(t.sw.fromUnderlay(decodeFrame(encodeFrame({ vnet: A, ethernet: toMac2 })), COA)).toBeNull();
    expect(t.a2.guest.received).toHaveLength(1);
    expect(t.b2.guest.received).toHaveLength(0);

    const bcast = udpFrame(REMOTE, BROADCAST_MAC, IP3, 0xffffffff);
    expect(t.sw.fromUnderlay(decodeFrame(encodeFrame({ vnet: B, ethernet: bcast })), COA)).toBeNull();
    expect(t.b2.guest.received).toHaveLength(1);
    expect(t.b3.guest.received).toHaveLength(1);
    expect(t.a1.guest.received).toHaveLength(0);
    expect(t.a2.guest.received).toHaveLength(1);

    // Forged: a vnet-B FRAME addressed to a MAC that exists only on vnet A.
    expect(t.sw.fromUnderlay(decodeFrame(encodeFrame({ vnet: B, ethernet: udpFrame(REMOTE, MAC1, IP3, IP1) })), COA)).toBe('no_port');
    expect(t.a1.guest.received).toHaveLength(0);
    // An unknown vnet reaches nobody.
    expect(t.sw.fromUnderlay(decodeFrame(encodeFrame({ vnet: 9, ethernet: bcast })), COA)).toBe('unknown_vnet');
    // A FRAME claiming a local VIF as its source is refused (spoofing or a loop).
    expect(t.sw.fromUnderlay(decodeFrame(encodeFrame({ vnet: A, ethernet: udpFrame(MAC2, MAC1, IP2, IP1) })), COA)).toBe('src_local_mac');
    expect(t.a1.guest.received).toHaveLength(0);
  });

  it('never delivers across vnets for any mix of random frames', () => {
    const t = twoVnets();
    const ports = [t.a1, t.a2, t.b2, t.b3];
    const macs = [MAC1, MAC2, MAC3, REMOTE, BROADCAST_MAC, 0x01_00_5e_00_00_01];
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      for (const p of ports) p.guest.received.length = 0;
      const dst = macs[rnd(macs.length)]!;
      if (rnd(2) === 0) {
        const from = ports[rnd(ports.length)]!;
        from.guest.onFrame(udpFrame(from.mac, dst, from.ip, IP1));
        for (const p of ports) if (p.guest.received.length > 0) expect(p.vnet).toBe(from.vnet);
      } else {
        const vnet = [A, B, 9][rnd(3)]!;
        t.sw.fromUnderlay(decodeFrame(encodeFrame({ vnet, ethernet: udpFrame(REMOTE, dst, IP3, IP1) })), COA);
        for (const p of ports) if (p.guest.received.length > 0) expect(p.vnet).toBe(vnet);
      }
    }
    expect(t.counters.get('softudc_switch_deliveries_total')).toBeGreaterThan(500);
  });
});

describe('port security', () => {
  it.each([
    ['src_mac', () => udpFrame(MAC3, MAC2, IP1, IP2)],
    ['ipv4_src', () => udpFrame(MAC1, MAC2, IP3, IP2)],
    ['ipv4_src', () => udpFrame(MAC1, MAC2, 0, IP2)],
    ['arp_sender_ip', () => arpRequest(MAC1, IP3, IP2)],
    ['arp_sender_mac', () => arpRequest(MAC1, IP1, IP2, MAC3)],
    ['runt', () => Buffer.alloc(10)],
    ['ipv4_truncated', () => encodeEthernet({ dst: MAC2, src: MAC1, ethertype: 0x0800, payload: Buffer.alloc(8) })],
  ])('drops and counts %s', (reason, make) => {
    const t = twoVnets();
    t.a1.guest.onFrame(make());
    expect(t.a2.guest.received).toEqual([]);
    expect(t.flooded).toEqual([]);
    expect(t.sent).toEqual([]);
    expect(t.counters.get(`softudc_switch_port_security_drops_total{reason="${reason}"}`)).toBe(1);
  });

  it('passes a frame with the bound MAC and address, and other ethertypes by MAC alone', () => {
    const t = twoVnets();
    t.a1.guest.onFrame(udpFrame(MAC1, MAC2, IP1, IP2));
    t.a1.guest.onFrame(encodeEthernet({ dst: MAC2, src: MAC1, ethertype: ETHERTYPE_IPV6, payload: Buffer.alloc(40) }));
    expect(t.a2.guest.received).toHaveLength(2);
    expect(t.counters.sum('softudc_switch_port_security_drops_total')).toBe(0);
  });
});

describe('short path and ARP suppression', () => {
  it('exchanges frames between co-located ports without the underlay or VARP', () => {
    const t = twoVnets();
    for (let i = 0; i < 10; i++) t.a1.guest.onFrame(udpFrame(MAC1, MAC2, IP1, IP2));
    t.a2.guest.onFrame(udpFrame(MAC2, MAC1, IP2, IP1));
    expect(t.a2.guest.received).toHaveLength(10);
    expect(t.a1.guest.received).toHaveLength(1);
    expect(t.sent).toEqual([]);
    expect(t.flooded).toEqual([]);
    expect(t.varp.resolveCalls).toEqual([]);
    expect(t.counters.get('softudc_switch_short_path_frames_total')).toBe(11);
  });

  it('answers an ARP request for a local address itself', () => {
    const t = twoVnets();
    t.a1.guest.onFrame(arpRequest(MAC1, IP1, IP2));
    expect(t.flooded).toEqual([]);
    expect(t.a2.guest.received).toEqual([]);
    expect(t.a1.guest.received).toHaveLength(1);
    const reply = decodeArp(t.a1.guest.received[0]!.subarray(14));
    expect(reply).toMatchObject({ op: ARP_OP_REPLY, sha: MAC2, spa: IP2, tha: MAC1, tpa: IP1 });
  });

  it('answers from a REACHABLE VARP entry of the same vnet, else resolves by IP and floods', () => {
    const t = twoVnets();
    const far = parseIp('10.0.0.50');
    t.varp.ips.set(`${B}/${far}`, REMOTE); // known on vnet B only
    t.a1.guest.onFrame(arpRequest(MAC1, IP1, far));
    expect(t.a1.guest.received).toEqual([]);
    expect(t.varp.resolveIpCalls).toEqual([{ vnet: A, ip: far }]);
    expect(t.flooded).toHaveLength(1);
    expect(t.a2.guest.received).toHaveLength(1);

    t.b3.guest.onFrame(arpRequest(MAC3, IP3, far));
    expect(decodeArp(t.b3.guest.received[0]!.subarray(14))).toMatchObject({ op: ARP_OP_REPLY, sha: REMOTE, spa: far });
    expect(t.flooded).toHaveLength(1);
  });
});

describe('vnet security and underlay checks', () => {
  it('keeps an auth/conf vnet off the underlay (no keys) but switches it locally', () => {
    const f = fakeSwitch();
    f.sw.upsertVnet({ id: A, security: 'conf' });
    const p1 = f.addPort('p1', A, MAC1, IP1);
    const p2 = f.addPort('p2', A, MAC2, IP2);
    p1.guest.onFrame(udpFrame(MAC1, MAC2, IP1, IP2));
    p1.guest.onFrame(udpFrame(MAC1, REMOTE, IP1, IP3));
    p1.guest.onFrame(udpFrame(MAC1, BROADCAST_MAC, IP1, 0xffffffff));
    expect(p2.guest.received).toHaveLength(2);
    expect(f.sent).toEqual([]);
    expect(f.flooded).toEqual([]);
    expect(f.counters.get('softudc_switch_tx_dropped_total{reason="security_unavailable"}')).toBe(2);
    const frame = decodeFrame(encodeFrame({ vnet: A, ethernet: udpFrame(REMOTE, MAC1, IP3, IP1) }));
    expect(f.sw.fromUnderlay(frame, COA)).toBe('unsealed_on_secure_vnet');
    expect(p1.guest.received).toHaveLength(0);
  });

  it('drops SEALED frames on an open vnet and refreshes VARP on unicast delivery', () => {
    const t = twoVnets();
    const eth = udpFrame(REMOTE, MAC1, IP3, IP1);
    expect(t.sw.fromUnderlay(decodeFrame(encodeFrame({ vnet: A, flags: FRAME_FLAG_SEALED, ethernet: eth })), COA)).toBe('sealed_on_open_vnet');
    expect(t.sw.fromUnderlay(decodeFrame(encodeFrame({ vnet: A, ethernet: eth })), COA)).toBeNull();
    expect(t.varp.refreshCalls).toEqual([{ vnet: A, mac: REMOTE, coa: COA }]);
    expect(t.a1.guest.received[0]!.length).toBe(eth.length);
    expect(FRAME_HEADER_LEN).toBe(10);
  });

  it('stops switching a removed port at once', () => {
    const t = twoVnets();
    t.sw.removePort('a2');
    t.a1.guest.onFrame(udpFrame(MAC1, MAC2, IP1, IP2));
    expect(t.a2.guest.received).toEqual([]);
    t.a2.guest.onFrame(udpFrame(MAC2, MAC1, IP2, IP1));
    expect(t.a1.guest.received).toEqual([]);
    expect(t.varp.resolveCalls).toEqual([{ vnet: A, mac: MAC2 }]);
  });
});

describe('encapsulation of frames from a TAP reader batch', () => {
  /** A batch as reader.c lays it out: FRAME_HEADROOM spare bytes before every frame. */
  function batchOf(frames: Buffer[]): { buf: Buffer; lengths: Uint32Array } {
    const buf = Buffer.alloc(frames.reduce((n, f) => n + FRAME_HEADROOM + f.length, 0));
    let off = 0;
    for (const f of frames) {
      f.copy(buf, off + FRAME_HEADROOM);
      off += FRAME_HEADROOM + f.length;
    }
    return { buf, lengths: Uint32Array.from(frames.map((f) => f.length)) };
  }

  it('sends the same bytes whether the FRAME is built in the headroom or copied', () => {
    const t = twoVnets();
    t.varp.routes.set(`${A}/${REMOTE}`, { coa: COA, port: 1798 });
    const frames = [udpFrame(MAC1, REMOTE, IP1, IP3), udpFrame(MAC1, BROADCAST_MAC, IP1, 0xffffffff), udpFrame(MAC1, REMOTE, IP1, IP3, Buffer.alloc(1300, 7))];
    const { buf, lengths } = batchOf(frames);
    t.sw.headroom.handleBatch(buf, lengths, (views) => {
      for (const v of views) t.a1.guest.onFrame(v);
    });
    for (const f of frames) t.a1.guest.onFrame(Buffer.from(f)); // plain buffers: copied
    const out = [...t.sent.map((s) => s.datagram), ...t.flooded.map((f) => f.datagram)];
    expect(out).toHaveLength(6);
    const expected = (f: Buffer) => encodeFrame({ vnet: A, ethernet: f });
    expect(t.sent.map((s) => s.datagram)).toEqual([expected(frames[0]!), expected(frames[2]!), expected(frames[0]!), expected(frames[2]!)]);
    expect(t.flooded.map((f) => f.datagram)).toEqual([expected(frames[1]!), expected(frames[1]!)]);
    // Frames of the batch to a destination with a route are built in place; plain buffers are copied.
    expect(t.sent[0]!.datagram.buffer).toBe(buf.buffer);
    expect(t.sent[1]!.datagram.buffer).toBe(buf.buffer);
    expect(t.flooded[0]!.datagram.buffer).toBe(buf.buffer);
    expect(t.sent[2]!.datagram.buffer).not.toBe(buf.buffer);
    expect(t.sent[3]!.datagram.buffer).not.toBe(buf.buffer);
    // The broadcast reached the local port unchanged.
    expect(t.a2.guest.received[0]).toEqual(frames[1]);
  });

  it('copies when a frame already sent from its headroom is forwarded again on another vnet', () => {
    const t = twoVnets();
    t.varp.routes.set(`${A}/${REMOTE}`, { coa: COA, port: 1798 });
    t.varp.routes.set(`${B}/${REMOTE}`, { coa: COA, port: 1798 });
    const f = udpFrame(MAC3, REMOTE, IP3, IP1);
    const { buf, lengths } = batchOf([f]);
    const fw = { id: 'fw', vnet: A, mac: MAC3, ip: IP3, guest: new FakeGuest('fw'), forwarder: true };
    t.sw.addPort(fw);
    // Both vnets have had a route to REMOTE: both would build in place.
    t.b3.guest.onFrame(Buffer.from(f));
    fw.guest.onFrame(Buffer.from(f));
    t.sw.headroom.handleBatch(buf, lengths, ([v]) => {
      t.b3.guest.onFrame(v!);
      // The same frame object entering again through a port of vnet A (as a
      // forwarder could): its headroom holds vnet B's header, still queued.
      fw.guest.onFrame(v!);
    });
    expect(t.sent.map((s) => decodeFrame(s.datagram).vnet)).toEqual([B, A, B, A]);
    expect(t.sent[2]!.datagram.buffer).toBe(buf.buffer);
    expect(t.sent[3]!.datagram.buffer).not.toBe(buf.buffer);
    expect(t.sent[2]!.datagram).toEqual(encodeFrame({ vnet: B, ethernet: f }));
    expect(t.sent[3]!.datagram).toEqual(encodeFrame({ vnet: A, ethernet: f }));
  });
});
