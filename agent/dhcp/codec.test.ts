import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { codeOf } from './testing.ts';
import { parseIp, parseMac } from '../wire/addr.ts';
import { BOOTREPLY, BOOTREQUEST, decodeClasslessRoutes, decodeDhcp, DhcpType, encodeClasslessRoutes, encodeDhcp, FLAG_BROADCAST, type DhcpMessage } from './codec.ts';

const ip = parseIp;
const offer: DhcpMessage = {
  op: BOOTREPLY, htype: 1, hlen: 6, hops: 0, xid: 0xdeadbeef, secs: 3, flags: FLAG_BROADCAST,
  ciaddr: 0, yiaddr: ip('10.7.0.10'), siaddr: 0, giaddr: 0, chaddr: parseMac('02:5d:00:00:00:0a'),
  options: {
    messageType: DhcpType.OFFER, serverId: ip('10.7.0.254'), leaseTime: 3600, renewalTime: 1800, rebindingTime: 3150,
    subnetMask: ip('255.255.255.0'), routers: [ip('10.7.0.1')], dnsServers: [ip('10.7.0.254'), ip('9.9.9.9')],
    hostName: 'web-1', domainName: 'shop.example.internal', mtu: 1400,
    classlessRoutes: [{ destination: ip('10.8.0.0'), prefixLen: 16, gateway: ip('10.7.0.2') }, { destination: 0, prefixLen: 0, gateway: ip('10.7.0.1') }],
  },
};

describe('DHCP codec', () => {
  it('round-trips an OFFER with every option the server sends', () => {
    const buf = encodeDhcp(offer);
    expect(buf.length).toBeGreaterThanOrEqual(300);
    const d = decodeDhcp(buf);
    const { raw, ...msg } = d;
    expect(msg).toEqual(offer);
    expect(raw.get(53)).toEqual(Buffer.from([2]));
  });

  it('round-trips a DISCOVER with a parameter list and requested address', () => {
    const m: DhcpMessage = { ...offer, op: BOOTREQUEST, flags: 0, yiaddr: 0, options: { messageType: DhcpType.DISCOVER, params: [1, 3, 6, 12, 15, 26, 121], requestedIp: ip('10.7.0.10') } };
    const { raw: _raw, ...back } = decodeDhcp(encodeDhcp(m));
    expect(back).toEqual(m);
  });

  it('encodes classless routes as RFC 3442 shows them', () => {
    // RFC 3442 section 3: 10.17.0.0/16 via 10.0.0.1 is "16 10 17 10 0 0 1"; the default route is "0 r1 r2 r3 r4".
    const b = encodeClasslessRoutes([{ destination: ip('10.17.0.0'), prefixLen: 16, gateway: ip('10.0.0.1') }, { destination: 0, prefixLen: 0, gateway: ip('10.0.0.1') }]);
    expect([...b]).toEqual([16, 10, 17, 10, 0, 0, 1, 0, 10, 0, 0, 1]);
    expect(decodeClasslessRoutes(b)).toEqual([{ destination: ip('10.17.0.0'), prefixLen: 16, gateway: ip('10.0.0.1') }, { destination: 0, prefixLen: 0, gateway: ip('10.0.0.1') }]);
  });

  it('rejects malformed messages with a typed error', () => {
    const good = encodeDhcp(offer);
    const mut = (f: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      f(b);
      return b;
    };
    expect(codeOf(() => decodeDhcp(good.subarray(0, 239)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeDhcp(mut((b) => (b[0] = 3))))).toBe('BAD_OPCODE');
    expect(codeOf(() => decodeDhcp(mut((b) => (b[1] = 6))))).toBe('BAD_HEADER');
    expect(codeOf(() => decodeDhcp(mut((b) => (b[236] = 0))))).toBe('BAD_HEADER');
    expect(codeOf(() => decodeDhcp(mut((b) => b.fill(0, 240)))))
      .toBe('TRUNCATED'); // no end option
    expect(codeOf(() => decodeDhcp(Buffer.concat([good.subarray(0, 240), Buffer.from([53, 1, 9, 255])])))).toBe('BAD_KIND');
    expect(codeOf(() => decodeDhcp(Buffer.concat([good.subarray(0, 240), Buffer.from([54, 3, 1, 2, 3, 255])])))).toBe('BAD_LENGTH');
    expect(codeOf(() => decodeDhcp(Buffer.concat([good.subarray(0, 240), Buffer.from([26, 2, 0, 10, 255])])))).toBe('BAD_HEADER');
    expect(codeOf(() => decodeDhcp(Buffer.concat([good.subarray(0, 240), Buffer.from([121, 3, 33, 1, 1, 255])])))).toBe('BAD_HEADER');
    expect(codeOf(() => decodeDhcp(Buffer.concat([good.subarray(0, 240), Buffer.from([121, 3, 24, 10, 1, 255])])))).toBe('TRUNCATED');
    expect(codeOf(() => decodeDhcp(Buffer.concat([good.subarray(0, 240), Buffer.from([12, 40, 65])])))).toBe('TRUNCATED');
    expect(codeOf(() => decodeDhcp(Buffer.concat([good.subarray(0, 240), Buffer.from([52, 1, 3, 255])])))).toBe('BAD_HEADER');
  });

  it('never throws anything but WireError on random or mutated input', () => {
    const good = encodeDhcp(offer);
    for (let i = 0; i < 5000; i++) {
      const b = i % 2 ? randomBytes(i % 400) : Buffer.from(good);
      if (i % 2 === 0) for (let k = 0; k < 1 + (i % 8); k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      codeOf(() => decodeDhcp(i % 3 === 0 ? b.subarray(0, Math.floor(Math.random() * b.length)) : b));
    }
  });
});
