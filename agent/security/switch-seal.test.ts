// Sealed vnets through two real switches: what one host's switch puts on the
// underlay is what the other's accepts, and nothing else.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { BROADCAST_MAC, FRAME_FLAG_SEALED, decodeFrame, encodeFrame, parseIp } from '../wire/index.ts';
import { fakeSwitch, udpFrame } from '../switch/testing.ts';
import { VnetKeyring, type KeyMaterial } from './keyring.ts';

const V = 300;
const MAC1 = 0x025d00000001;
const MAC2 = 0x025d00000002;
const IP1 = parseIp('10.3.0.1');
const IP2 = parseIp('10.3.0.2');
const COA_A = parseIp('198.18.0.1');
const COA_B = parseIp('198.18.0.2');
const K1: KeyMaterial = { id: 1, key: randomBytes(32), salt: randomBytes(4) };
const K2: KeyMaterial = { id: 2, key: randomBytes(32), salt: randomBytes(4) };

function host(coa: number, level: 'auth' | 'conf', keys: KeyMaterial[], send?: number) {
  const f = fakeSwitch();
  const ring = new VnetKeyring(V, undefined);
  ring.setSender(coa);
  ring.update(level, keys, send);
  f.sw.upsertVnet({ id: V, security: level, sealer: ring });
  const learned: { vnet: number; mac: number; coa: number }[] = [];
  (f.varp as unknown as { learn: (vnet: number, mac: number, coa: number) => void }).learn = (vnet, mac, c) => learned.push({ vnet, mac, coa: c });
  return { ...f, ring, learned };
}

describe('sealed vnets in the switch', () => {
  for (const level of ['auth', 'conf'] as const) {
    it(`${level}: unicast and broadcast leave sealed and are delivered on the other side`, () => {
      const a = host(COA_A, level, [K1]);
      const b = host(COA_B, level, [K1]);
      const pa = a.addPort('a', V, MAC1, IP1);
      const pb = b.addPort('b', V, MAC2, IP2);
      a.varp.routes.set(`${V}/${MAC2}`, { coa: COA_B, port: 1798 });
      const uni = udpFrame(MAC1, MAC2, IP1, IP2, Buffer.from('unicast secret'));
      const bc = udpFrame(MAC1, BROADCAST_MAC, IP1, 0xffffffff, Buffer.from('broadcast secret'));
      pa.guest.onFrame(uni);
      pa.guest.onFrame(bc);
      const out = [a.sent[0]!.datagram, a.flooded[0]!.datagram];
      for (const d of out) {
        expect(d.readUInt16BE(2) & FRAME_FLAG_SEALED).toBe(FRAME_FLAG_SEALED);
        expect(d.includes(Buffer.from('secret'))).toBe(level === 'auth');
      }
      for (const d of out) expect(b.sw.fromUnderlay(decodeFrame(d), COA_A, d)).toBeNull();
      expect(pb.guest.received).toEqual([uni, bc]);
      // Straight from its sender: VARP may learn the source's location.
      expect(b.learned).toEqual([
        { vnet: V, mac: MAC1, coa: COA_A },
        { vnet: V, mac: MAC1, coa: COA_A },
      ]);
    });
  }

  it('drops, with a reason, what does not authenticate, repeats, is unsealed or uses an unknown key', () => {
    const a = host(COA_A, 'conf', [K1, K2], 1);
    const b = host(COA_B, 'conf', [K1]);
    const pb = b.addPort('b', V, MAC2, IP2);
    a.addPort('a', V, MAC1, IP1).guest.onFrame(udpFrame(MAC1, BROADCAST_MAC, IP1, 0xffffffff));
    const d = a.flooded[0]!.datagram;
    const tampered = Buffer.from(d);
    tampered[30] = tampered[30]! ^ 0xff;
    expect(b.sw.fromUnderlay(decodeFrame(tampered), COA_A, tampered)).toBe('seal_bad_tag');
    expect(b.sw.fromUnderlay(decodeFrame(d), COA_A, d)).toBeNull();
    expect(b.sw.fromUnderlay(decodeFrame(d), COA_A, d)).toBe('seal_replay');
    const plain = encodeFrame({ vnet: V, ethernet: udpFrame(MAC1, MAC2, IP1, IP2) });
    expect(b.sw.fromUnderlay(decodeFrame(plain), COA_A, plain)).toBe('unsealed_on_secure_vnet');
    a.ring.update('conf', [K1, K2], 2);
    a.sw.fromGuest(a.sw.port('a')!, udpFrame(MAC1, BROADCAST_MAC, IP1, 0xffffffff));
    const k2 = a.flooded[1]!.datagram;
    expect(b.sw.fromUnderlay(decodeFrame(k2), COA_A, k2)).toBe('seal_unknown_key');
    expect(pb.guest.received).toHaveLength(1);
  });

  it('opens a frame handed over without its datagram (header rebuilt) and never learns from a relayed one', () => {
    const a = host(COA_A, 'auth', [K1]);
    const b = host(COA_B, 'auth', [K1]);
    const pb = b.addPort('b', V, MAC2, IP2);
    a.addPort('a', V, MAC1, IP1).guest.onFrame(udpFrame(MAC1, BROADCAST_MAC, IP1, 0xffffffff));
    const d = a.flooded[0]!.datagram;
    // Arrives from a relay's address: delivered, but the relay is not where MAC1 lives.
    expect(b.sw.fromUnderlay(decodeFrame(d), parseIp('198.18.9.9'))).toBeNull();
    expect(pb.guest.received).toHaveLength(1);
    expect(b.learned).toEqual([]);
  });

  it('a sealed vnet without keys stays local; held plain datagrams are sealed on the way out', () => {
    const a = host(COA_A, 'conf', []);
    const p1 = a.addPort('a', V, MAC1, IP1);
    p1.guest.onFrame(udpFrame(MAC1, MAC2, IP1, IP2));
    expect(a.sent).toEqual([]);
    expect(a.counters.get('softudc_switch_tx_dropped_total{reason="security_unavailable"}')).toBe(1);
    const queued = encodeFrame({ vnet: V, ethernet: udpFrame(MAC1, MAC2, IP1, IP2) });
    const route = { coa: COA_B, port: 1798 };
    a.sw.held.hold(V, MAC2, queued);
    a.sw.held.release(V, MAC2, route); // the keys went meanwhile
    expect(a.sent).toEqual([]);
    expect(a.counters.get('softudc_switch_tx_dropped_total{reason="security_unavailable"}')).toBe(2);
    a.ring.update('conf', [K1]);
    a.sw.held.hold(V, MAC2, queued);
    a.sw.held.release(V, MAC2, route);
    const out = a.sent[0]!.datagram;
    expect(a.sent[0]).toMatchObject({ coa: COA_B, port: 1798 });
    expect(out.readUInt16BE(2) & FRAME_FLAG_SEALED).toBe(FRAME_FLAG_SEALED);
    const b = host(COA_B, 'conf', [K1]);
    const pb = b.addPort('b', V, MAC2, IP2);
    expect(b.sw.fromUnderlay(decodeFrame(out), COA_A, out)).toBeNull();
    expect(pb.guest.received[0]).toEqual(queued.subarray(10));
    const open = fakeSwitch();
    open.sw.upsertVnet({ id: 7, security: 'none' });
    const plain7 = encodeFrame({ vnet: 7, ethernet: udpFrame(MAC1, MAC2, IP1, IP2) });
    open.sw.held.hold(7, MAC2, plain7);
    open.sw.held.release(7, MAC2, { coa: COA_B, port: 1798 });
    expect(open.sent.map((s) => s.datagram)).toEqual([plain7]);
  });
});
