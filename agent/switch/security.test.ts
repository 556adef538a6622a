// Port security against every way a guest can wrap IPv4 and ARP: behind
// stacked or service VLAN tags, in LLC/SNAP, in plain LLC. Wrapped frames with
// a spoofed address must be dropped and counted, never delivered.
import { describe, expect, it } from 'vitest';
import { BROADCAST_MAC, parseIp } from '../wire/index.ts';
import { arpRequest, fakeSwitch, udpFrame } from './testing.ts';
import { checkPortSecurity } from './security.ts';

const VNET = 7;
const MAC1 = 0x02_5d_00_00_00_01;
const MAC2 = 0x02_5d_00_00_00_02;
const REMOTE = 0x02_5d_00_00_00_99;
const IP1 = parseIp('10.0.0.1');
const IP2 = parseIp('10.0.0.2');
const SPOOFED = parseIp('10.0.0.66');

type Wrap = (frame: Buffer) => Buffer;

/** Inserts `bytes` after the MAC addresses (before the ethertype). */
function insert(frame: Buffer, bytes: Buffer): Buffer {
  return Buffer.concat([frame.subarray(0, 12), bytes, frame.subarray(12)]);
}
const tag = (tpid: number, vid: number): Buffer => Buffer.from([tpid >> 8, tpid & 0xff, vid >> 8, vid & 0xff]);
/** RFC 1042: the ethertype moves behind AA AA 03 + OUI; the type field becomes the 802.3 length. */
function snap(frame: Buffer, oui = 0x000000): Buffer {
  const payload = frame.subarray(14);
  const llc = Buffer.from([0xaa, 0xaa, 0x03, oui >> 16, (oui >> 8) & 0xff, oui & 0xff]);
  const out = Buffer.concat([frame.subarray(0, 12), Buffer.alloc(2), llc, frame.subarray(12, 14), payload]);
  out.writeUInt16BE(out.length - 14, 12);
  return out;
}
/** IPv4 straight behind an LLC header with SAP 0x06 (no SNAP). */
function plainLlc(frame: Buffer): Buffer {
  const out = Buffer.concat([frame.subarray(0, 12), Buffer.alloc(2), Buffer.from([0x06, 0x06, 0x03]), frame.subarray(14)]);
  out.writeUInt16BE(out.length - 14, 12);
  return out;
}

const WRAPS: [string, string, Wrap][] = [
  ['802.1Q in 802.1Q', 'vlan_stacked', (f) => insert(f, Buffer.concat([tag(0x8100, 10), tag(0x8100, 20)]))],
  ['802.1ad + 802.1Q', 'vlan_stacked', (f) => insert(f, Buffer.concat([tag(0x88a8, 10), tag(0x8100, 20)]))],
  ['802.1ad alone', 'vlan_stacked', (f) => insert(f, tag(0x88a8, 10))],
  ['0x9100 + 802.1Q', 'vlan_stacked', (f) => insert(f, Buffer.concat([tag(0x9100, 10), tag(0x8100, 20)]))],
  ['LLC/SNAP', 'checked', (f) => snap(f)],
  ['LLC/SNAP, 802.1H', 'checked', (f) => snap(f, 0x0000f8)],
  ['802.1Q + LLC/SNAP', 'checked', (f) => insert(snap(f), tag(0x8100, 10))],
  ['LLC/SNAP + 802.1Q', 'vlan_stacked', (f) => snap(insert(f, tag(0x8100, 10)))],
  ['plain LLC, SAP 6', 'llc_ip', (f) => plainLlc(f)],
];

function setup() {
  const f = fakeSwitch();
  f.sw.upsertVnet({ id: VNET, security: 'none' });
  const a1 = f.addPort('a1', VNET, MAC1, IP1);
  const a2 = f.addPort('a2', VNET, MAC2, IP2);
  const delivered = () => a2.guest.received.length + f.sent.length + f.flooded.length + f.varp.resolveCalls.length;
  return { ...f, a1, a2, delivered };
}

describe('port security: wrapped IPv4 and ARP', () => {
  it('drops 200 wrapped frames with a spoofed address, delivering none and counting all', () => {
    const t = setup();
    const dsts = [MAC2, REMOTE, BROADCAST_MAC];
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      const [name, , wrap] = WRAPS[i % WRAPS.length]!;
      const arp = i % 2 === 1;
      const inner = arp ? arpRequest(MAC1, SPOOFED, IP2) : udpFrame(MAC1, dsts[i % dsts.length]!, SPOOFED, IP2);
      sent.push(name);
      t.a1.guest.onFrame(wrap(inner));
    }
    const counted = t.counters.sum('softudc_switch_port_security_drops_total');
    const byReason = ['ipv4_src', 'arp_sender_ip', 'vlan_stacked', 'llc_ip'].map(
      (r) => `${r} ${t.counters.get(`softudc_switch_port_security_drops_total{reason="${r}"}`)}`,
    );
    console.log(`port security: 200 wrapped spoofed frames (${WRAPS.length} wrappings) → ${t.delivered()} delivered, ${counted} counted (${byReason.join(', ')})`);
    expect(t.delivered()).toBe(0);
    expect(counted).toBe(200);
  });

  it.each(WRAPS)('%s: IPv4 and ARP inside are %s', (_name, reason, wrap) => {
    const b = { mac: MAC1, ip: IP1 };
    const or = (r: string | null) => (reason === 'checked' ? r : reason);
    expect(checkPortSecurity(wrap(udpFrame(MAC1, MAC2, SPOOFED, IP2)), b)).toBe(or('ipv4_src'));
    expect(checkPortSecurity(wrap(arpRequest(MAC1, SPOOFED, IP2)), b)).toBe(or('arp_sender_ip'));
    expect(checkPortSecurity(wrap(arpRequest(MAC1, IP1, IP2, MAC2)), b)).toBe(or('arp_sender_mac'));
    // The same wrapping around the bound address: checkable wrappings pass.
    expect(checkPortSecurity(wrap(udpFrame(MAC1, MAC2, IP1, IP2)), b)).toBe(or(null));
  });

  it('checks a truncated SNAP-wrapped IPv4 header as truncated, and passes other LLC by MAC', () => {
    const b = { mac: MAC1, ip: IP1 };
    expect(checkPortSecurity(snap(udpFrame(MAC1, MAC2, IP1, IP2)).subarray(0, 14 + 8 + 10), b)).toBe('ipv4_truncated');
    // A spanning-tree BPDU (LLC 42 42 03): no address to check.
    const bpdu = Buffer.concat([Buffer.alloc(12), Buffer.from([0x00, 0x26, 0x42, 0x42, 0x03]), Buffer.alloc(35)]);
    bpdu.writeUIntBE(0x0180c2000000, 0, 6);
    bpdu.writeUIntBE(MAC1, 6, 6);
    expect(checkPortSecurity(bpdu, b)).toBe(null);
  });
});
