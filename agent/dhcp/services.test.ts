import { describe, expect, it } from 'vitest';
import { fakeSwitch, arpRequest } from '../switch/testing.ts';
import { silentLogger } from '../log.ts';
import { parseState } from '../state.ts';
import { BROADCAST_MAC, decodeEthernet, decodeIpv4, decodeUdp, parseIp, parseMac } from '../wire/index.ts';
import { decodeDhcp, DhcpType, encodeDhcp, BOOTREQUEST, BOOTREPLY, type DhcpOptions } from './codec.ts';
import { udpFrame } from './frames.ts';
import { GuestServices, serviceMac } from './services.ts';
import { CLASS_IN, decodeDns, encodeDns, QType, Rcode } from '../dns/codec.ts';

const MAC_A = parseMac('02:5d:00:00:00:0a');
const MAC_B = parseMac('02:5d:00:00:00:0b');
const state = parseState({
  host: 'h1', generation: 1, underlay: { address: '127.0.0.2', multicast: null },
  vnets: [
    { id: 7, farm: 'farm-shop', mtu: 1380, dhcp: { gateway: '10.7.0.1', resolver: '10.7.0.254', dnsServers: ['10.9.9.9'], domain: 'shop.example.internal', leaseTime: 600, names: [{ name: 'web-1', ip: '10.7.0.10' }, { name: 'db-1', ip: '10.7.0.20' }] } },
    { id: 8, dhcp: { enabled: false } },
  ],
  vifs: [
    { id: 'a', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', version: 1, guest: { kind: 'emulated' }, hostName: 'web-1' },
    { id: 'b', vnet: 8, mac: '02:5d:00:00:00:0b', ip: '10.8.0.10/24', version: 1, guest: { kind: 'emulated' } },
  ],
});

function setup() {
  const f = fakeSwitch();
  f.sw.upsertVnet({ id: 7, security: 'none' });
  f.sw.upsertVnet({ id: 8, security: 'none' });
  const services = new GuestServices(f.counters, silentLogger);
  services.configure(state);
  f.sw.services = services;
  const a = f.addPort('a', 7, MAC_A, parseIp('10.7.0.10'));
  const b = f.addPort('b', 8, MAC_B, parseIp('10.8.0.10'));
  return { ...f, services, a, b };
}

function dhcpFrame(mac: number, options: DhcpOptions, src = 0, op = BOOTREQUEST, ports = [68, 67]): Buffer {
  const payload = encodeDhcp({ op, htype: 1, hlen: 6, hops: 0, xid: 42, secs: 0, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: mac, options });
  return udpFrame({ srcMac: mac, dstMac: BROADCAST_MAC, src, dst: 0xffffffff, srcPort: ports[0]!, dstPort: ports[1]!, payload });
}

function dhcpOf(frame: Buffer) {
  const ip = decodeIpv4(decodeEthernet(frame).payload);
  return decodeDhcp(decodeUdp(ip.payload, ip).payload);
}

describe('DHCP and DNS next to the port', () => {
  it('offers and acknowledges exactly the state\'s address and options, and never floods the request', () => {
    const t = setup();
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.DISCOVER }));
    const offer = dhcpOf(t.a.guest.received.pop()!);
    expect(offer.options.messageType).toBe(DhcpType.OFFER);
    expect(offer.yiaddr).toBe(parseIp('10.7.0.10'));
    expect(offer.options).toMatchObject({
      subnetMask: parseIp('255.255.255.0'), routers: [parseIp('10.7.0.1')], dnsServers: [parseIp('10.7.0.254'), parseIp('10.9.9.9')],
      domainName: 'shop.example.internal', mtu: 1380, leaseTime: 600, hostName: 'web-1', serverId: parseIp('10.7.0.254'),
    });
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.REQUEST, requestedIp: parseIp('10.7.0.10'), serverId: parseIp('10.7.0.254') }));
    expect(dhcpOf(t.a.guest.received.pop()!).options.messageType).toBe(DhcpType.ACK);
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.REQUEST, requestedIp: parseIp('10.7.0.99') }));
    expect(dhcpOf(t.a.guest.received.pop()!).options.messageType).toBe(DhcpType.NAK);
    expect(t.flooded).toHaveLength(0);
    expect(t.b.guest.received).toHaveLength(0);
    expect(t.services.leaseList()).toMatchObject([{ vif: 'a', ip: '10.7.0.10', hostName: 'web-1' }]);
  });

  it('answers only the bound MAC, drops rogue server replies and counts malformed packets', () => {
    const t = setup();
    const other = parseMac('02:5d:00:00:00:ff');
    t.a.guest.onFrame(dhcpFrame(other, { messageType: DhcpType.DISCOVER })); // wrong source MAC: port security
    expect(t.counters.get('softudc_switch_port_security_drops_total{reason="src_mac"}')).toBe(1);
    const forged = encodeDhcp({ op: BOOTREQUEST, htype: 1, hlen: 6, hops: 0, xid: 1, secs: 0, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: other, options: { messageType: DhcpType.DISCOVER } });
    t.a.guest.onFrame(udpFrame({ srcMac: MAC_A, dstMac: BROADCAST_MAC, src: 0, dst: 0xffffffff, srcPort: 68, dstPort: 67, payload: forged }));
    expect(t.counters.get('softudc_dhcp_dropped_total{reason="chaddr"}')).toBe(1);
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.OFFER }, parseIp('10.7.0.10'), BOOTREPLY, [67, 68]));
    expect(t.counters.get('softudc_dhcp_dropped_total{reason="rogue_server"}')).toBe(1);
    t.a.guest.onFrame(udpFrame({ srcMac: MAC_A, dstMac: BROADCAST_MAC, src: 0, dst: 0xffffffff, srcPort: 68, dstPort: 67, payload: Buffer.from('junk') }));
    expect(t.counters.get('softudc_dhcp_dropped_total{reason="malformed_truncated"}')).toBe(1);
    expect(t.a.guest.received).toHaveLength(0);
    expect(t.flooded).toHaveLength(0);
    // DHCP off on vnet 8: its guests' DHCP goes on to port security (0.0.0.0 is not the binding).
    t.b.guest.onFrame(dhcpFrame(MAC_B, { messageType: DhcpType.DISCOVER }));
    expect(t.counters.get('softudc_switch_port_security_drops_total{reason="ipv4_src"}')).toBe(1);
  });

  it('answers ARP for the resolver, A and PTR for the farm\'s names, NXDOMAIN in its domain and REFUSED beyond', () => {
    const t = setup();
    t.a.guest.onFrame(arpRequest(MAC_A, parseIp('10.7.0.10'), parseIp('10.7.0.254')));
    expect(decodeEthernet(t.a.guest.received.pop()!).src).toBe(serviceMac(7));
    const ask = (name: string, type: number = QType.A) => {
      const q = encodeDns({ id: 9, response: false, opcode: 0, authoritative: false, truncated: false, recursionDesired: true, recursionAvailable: false, rcode: 0, questions: [{ name, type, class: CLASS_IN }], answers: [], authorityCount: 0, additionalCount: 0 });
      t.a.guest.onFrame(udpFrame({ srcMac: MAC_A, dstMac: serviceMac(7), src: parseIp('10.7.0.10'), dst: parseIp('10.7.0.254'), srcPort: 5353, dstPort: 53, payload: q }));
      const ip = decodeIpv4(decodeEthernet(t.a.guest.received.pop()!).payload);
      return decodeDns(decodeUdp(ip.payload, ip).payload);
    };
    expect(ask('db-1').answers).toMatchObject([{ type: QType.A, data: parseIp('10.7.0.20') }]);
    expect(ask('DB-1.shop.example.internal').answers).toMatchObject([{ data: parseIp('10.7.0.20') }]);
    expect(ask('20.0.7.10.in-addr.arpa', QType.PTR).answers).toMatchObject([{ data: 'db-1.shop.example.internal' }]);
    expect(ask('db-1', QType.AAAA)).toMatchObject({ rcode: Rcode.NOERROR, answers: [] });
    expect(ask('web-9').rcode).toBe(Rcode.NXDOMAIN);
    expect(ask('web-9.shop.example.internal').rcode).toBe(Rcode.NXDOMAIN);
    expect(ask('example.com').rcode).toBe(Rcode.REFUSED);
    expect(t.flooded).toHaveLength(0);
  });

  it('counts answers and drops per vnet and lists live leases, newest first, until released or expired', () => {
    const t = setup();
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.DISCOVER }));
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.REQUEST, requestedIp: parseIp('10.7.0.10') }));
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.OFFER }, parseIp('10.7.0.10'), BOOTREPLY, [67, 68])); // rogue
    const q = encodeDns({ id: 1, response: false, opcode: 0, authoritative: false, truncated: false, recursionDesired: true, recursionAvailable: false, rcode: 0, questions: [{ name: 'db-1', type: QType.A, class: CLASS_IN }], answers: [], authorityCount: 0, additionalCount: 0 });
    const dns = (payload: Buffer) => t.a.guest.onFrame(udpFrame({ srcMac: MAC_A, dstMac: serviceMac(7), src: parseIp('10.7.0.10'), dst: parseIp('10.7.0.254'), srcPort: 5353, dstPort: 53, payload }));
    dns(q);
    dns(q);
    dns(Buffer.from('xx')); // malformed: a counted drop
    const v = t.services.view();
    expect(v.vnets).toEqual([
      // The farm the state gave the vnet travels with its counts (the console shows them to that farm's tenant only),
      // and so does the resolver address its DHCP hands out (what an operator points a hand-configured guest at).
      { vnet: 7, farm: 'farm-shop', resolver: '10.7.0.254', leases: 1, dhcpReplies: 2, dhcpDrops: 1, dnsAnswers: 2, dnsForwarded: 0, dnsDrops: 1 },
      { vnet: 8, leases: 0, dhcpReplies: 0, dhcpDrops: 0, dnsAnswers: 0, dnsForwarded: 0, dnsDrops: 0 },
    ]);
    expect(v.leases).toEqual([{ vif: 'a', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10', hostName: 'web-1', ackedAt: expect.any(Number), leaseTime: 600 }]);
    // Past its lease time without a renewal the lease is gone from the list.
    expect(t.services.view(v.leases[0]!.ackedAt + 601_000).leases).toEqual([]);
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.REQUEST, requestedIp: parseIp('10.7.0.10') }));
    expect(t.services.leaseList()).toHaveLength(1);
    t.a.guest.onFrame(dhcpFrame(MAC_A, { messageType: DhcpType.RELEASE }, parseIp('10.7.0.10')));
    expect(t.services.leaseList()).toEqual([]);
    // A vnet taken out of the state takes its counts along.
    t.services.configure(parseState({ ...state, generation: 2, vnets: state.vnets.filter((x) => x.id === 8), vifs: state.vifs.filter((x) => x.vnet === 8) }));
    expect(t.services.view().vnets.map((x) => x.vnet)).toEqual([8]);
  });
});
