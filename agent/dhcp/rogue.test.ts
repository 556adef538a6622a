// The rogue DHCP server drop looks through VLAN tags and never reads a
// non-first IPv4 fragment as a UDP header.
import { describe, expect, it } from 'vitest';
import { fakeSwitch } from '../switch/testing.ts';
import { silentLogger } from '../log.ts';
import { parseState } from '../state.ts';
import { BROADCAST_MAC, parseIp, parseMac } from '../wire/index.ts';
import { peekUdp } from '../wire/udp.ts';
import { DhcpType, encodeDhcp, BOOTREPLY } from './codec.ts';
import { udpFrame } from './frames.ts';
import { GuestServices } from './services.ts';

const MAC_A = parseMac('02:5d:00:00:00:0a');
const IP_A = parseIp('10.7.0.10');
const ROGUE = 'softudc_dhcp_dropped_total{reason="rogue_server"}';
const state = parseState({
  host: 'h1', generation: 1, underlay: { address: '127.0.0.2', multicast: null },
  vnets: [{ id: 7, dhcp: { gateway: '10.7.0.1', resolver: '10.7.0.254' } }],
  vifs: [{ id: 'a', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', version: 1, guest: { kind: 'emulated' } }],
});

function setup() {
  const f = fakeSwitch();
  f.sw.upsertVnet({ id: 7, security: 'none' });
  const services = new GuestServices(f.counters, silentLogger);
  services.configure(state);
  f.sw.services = services;
  return { ...f, a: f.addPort('a', 7, MAC_A, IP_A) };
}

function offer(): Buffer {
  const payload = encodeDhcp({ op: BOOTREPLY, htype: 1, hlen: 6, hops: 0, xid: 42, secs: 0, flags: 0, ciaddr: 0, yiaddr: parseIp('10.7.0.99'), siaddr: 0, giaddr: 0, chaddr: parseMac('02:5d:00:00:00:99'), options: { messageType: DhcpType.OFFER } });
  return udpFrame({ srcMac: MAC_A, dstMac: BROADCAST_MAC, src: IP_A, dst: 0xffffffff, srcPort: 67, dstPort: 68, payload });
}

/** `frame` with VLAN tags of the given ethertypes inserted after the source MAC (outermost first). */
function tagged(frame: Buffer, ...types: number[]): Buffer {
  const tags = types.map((t, i) => Buffer.from([t >> 8, t & 0xff, 0, 10 + i]));
  return Buffer.concat([frame.subarray(0, 12), ...tags, frame.subarray(12)]);
}

/** Sets the IPv4 flags/fragment-offset word of an untagged frame (header checksum left stale: nothing decodes it). */
function fragmented(frame: Buffer, flagsOffset: number): Buffer {
  const out = Buffer.from(frame);
  out.writeUInt16BE(flagsOffset, 14 + 6);
  return out;
}

describe('rogue DHCP server drop', () => {
  it('drops an OFFER behind an 802.1Q, an 802.1ad or a stacked tag, and floods none of them', () => {
    const t = setup();
    t.a.guest.onFrame(tagged(offer(), 0x8100));
    expect(t.counters.get(ROGUE)).toBe(1);
    t.a.guest.onFrame(tagged(offer(), 0x88a8));
    t.a.guest.onFrame(tagged(offer(), 0x88a8, 0x8100));
    t.a.guest.onFrame(tagged(offer(), 0x9100, 0x8100));
    expect(t.counters.get(ROGUE)).toBe(4);
    expect(t.flooded).toHaveLength(0);
  });

  it('never reads a non-first fragment as UDP; a first fragment from port 67 is dropped as rogue', () => {
    const t = setup();
    // Offset 185 (1480 bytes): the "ports" are payload bytes that happen to read 67 → 68.
    const later = fragmented(offer(), 185);
    expect(peekUdp(later)).toBeNull();
    expect(peekUdp(tagged(later, 0x8100))).toBeNull();
    t.a.guest.onFrame(later);
    expect(t.counters.get(ROGUE)).toBe(0);
    expect(t.flooded).toHaveLength(1); // not DHCP: on to port security, which passes it (security 'none')
    const first = fragmented(offer(), 0x2000); // MF set, offset 0
    expect(peekUdp(first)).toMatchObject({ srcPort: 67, dstPort: 68, fragment: true, tagged: false });
    t.a.guest.onFrame(first);
    expect(t.counters.get(ROGUE)).toBe(1);
    expect(t.flooded).toHaveLength(1);
  });

  it('peeks through tags to the same IPv4 offset and ports, and gives up on a deeper stack', () => {
    expect(peekUdp(offer())).toMatchObject({ ip: 14, srcPort: 67, dstPort: 68, tagged: false, fragment: false });
    expect(peekUdp(tagged(offer(), 0x88a8, 0x8100))).toMatchObject({ ip: 22, srcPort: 67, dstPort: 68, tagged: true });
    expect(peekUdp(tagged(offer(), 0x8100, 0x8100, 0x8100, 0x8100, 0x8100))).toBeNull();
    expect(peekUdp(offer().subarray(0, 14 + 20 + 7))).toBeNull();
  });
});
