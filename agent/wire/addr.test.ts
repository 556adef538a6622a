import { describe, expect, it } from 'vitest';
import {
  BROADCAST_MAC,
  cidrToString,
  inPrefix,
  ipToString,
  isGroupMac,
  isLocalMac,
  macToString,
  parseCidr,
  parseIp,
  parseMac,
} from './addr.ts';
import { expectWireError } from './testing.ts';

describe('MAC addresses', () => {
  it('round-trips text and number, keeping leading zeros', () => {
    expect(parseMac('02:5d:00:00:00:0a')).toBe(0x025d0000000a);
    expect(macToString(0x025d0000000a)).toBe('02:5d:00:00:00:0a');
    expect(macToString(0)).toBe('00:00:00:00:00:00');
    expect(parseMac('FF-FF-FF-FF-FF-FF')).toBe(BROADCAST_MAC);
    expect(macToString(BROADCAST_MAC)).toBe('ff:ff:ff:ff:ff:ff');
  });

  it('rejects bad syntax with BAD_ADDRESS naming the text', () => {
    for (const bad of ['', '02:5d:00:00:00', '02:5d:00:00:00:0a:0b', '02:5d-00:00:00:0a', 'g2:5d:00:00:00:0a', '2:5d:0:0:0:a']) {
      const err = expectWireError(() => parseMac(bad), 'BAD_ADDRESS');
      expect(err.message).toContain(bad);
    }
  });

  it('classifies group (I/G) and locally administered (U/L) bits of the first octet', () => {
    expect(isGroupMac(BROADCAST_MAC)).toBe(true);
    expect(isGroupMac(parseMac('01:00:5e:0a:00:01'))).toBe(true);
    expect(isGroupMac(parseMac('33:33:00:00:00:01'))).toBe(true);
    expect(isGroupMac(parseMac('02:5d:00:00:00:0a'))).toBe(false);
    expect(isGroupMac(parseMac('00:00:00:00:00:01'))).toBe(false);
    expect(isLocalMac(parseMac('02:5d:00:00:00:0a'))).toBe(true);
    expect(isLocalMac(parseMac('00:16:3e:00:00:01'))).toBe(false);
  });
});

describe('IPv4 addresses and prefixes', () => {
  it('round-trips dotted quads as unsigned 32-bit numbers', () => {
    expect(parseIp('10.7.0.10')).toBe(0x0a07000a);
    expect(parseIp('255.255.255.255')).toBe(0xffffffff);
    expect(ipToString(0xffffffff)).toBe('255.255.255.255');
    expect(ipToString(parseIp('224.10.0.1'))).toBe('224.10.0.1');
    expect(ipToString(0)).toBe('0.0.0.0');
  });

  it('rejects bad syntax, out-of-range octets and leading zeros', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', '1..3.4', 'a.b.c.d', ' 1.2.3.4']) {
      expectWireError(() => parseIp(bad), 'BAD_ADDRESS');
    }
  });

  it('parses CIDRs keeping the host address and deriving network and mask', () => {
    expect(parseCidr('10.7.0.10/24')).toEqual({ ip: 0x0a07000a, prefixLen: 24, network: 0x0a070000, mask: 0xffffff00 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ ip: 0, prefixLen: 0, network: 0, mask: 0 });
    expect(parseCidr('198.18.1.2/32').mask).toBe(0xffffffff);
    expect(cidrToString(0x0a07000a, 24)).toBe('10.7.0.10/24');
    for (const bad of ['10.7.0.10', '10.7.0.10/33', '10.7.0.10/', '10.7.0.10/024', '10.7.0/24']) {
      expectWireError(() => parseCidr(bad), 'BAD_ADDRESS');
    }
  });

  it('tests prefix membership, including /0 and /32', () => {
    const net = parseIp('10.7.0.0');
    expect(inPrefix(parseIp('10.7.0.200'), net, 24)).toBe(true);
    expect(inPrefix(parseIp('10.7.1.1'), net, 24)).toBe(false);
    expect(inPrefix(parseIp('10.7.1.1'), net, 16)).toBe(true);
    expect(inPrefix(parseIp('192.168.0.1'), 0, 0)).toBe(true);
    expect(inPrefix(parseIp('10.7.0.1'), parseIp('10.7.0.1'), 32)).toBe(true);
    expect(inPrefix(parseIp('10.7.0.2'), parseIp('10.7.0.1'), 32)).toBe(false);
    expect(inPrefix(parseIp('200.0.0.1'), parseIp('128.0.0.0'), 1)).toBe(true);
  });
});
