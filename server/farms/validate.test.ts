import { FARM_VNID_MAX } from '../../contract/limits.ts';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import {
  broadcastOf, checkHostAddress, checkMtu, checkName, checkVnid, cidrContains, cidrsOverlap, formatIpv4, hostCount,
  isLocallyAdministeredMac, isUnicastMac, naturalCompare, parseCidr, parseIpv4, parseMac, requireCidr, requireMac, VNET_PREFIX,
} from './validate.ts';

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('MAC addresses', () => {
  it('normalises every accepted notation to lower-case colon form', () => {
    for (const text of ['02:5D:00:AA:0b:0C', '02-5d-00-aa-0b-0c', '025d.00aa.0b0c', '025D00AA0B0C']) {
      expect(parseMac(text)).toBe('02:5d:00:aa:0b:0c');
    }
  });

  it('refuses malformed text', () => {
    for (const text of ['', '02:5d:00:aa:0b', '02:5d:00:aa:0b:0c:0d', '02:5d-00:aa:0b:0c', 'g2:5d:00:aa:0b:0c', '2:5d:0:aa:b:c', ' 02:5d:00:aa:0b:0c:']) {
      expect(parseMac(text), text).toBeNull();
    }
  });

  it('tells unicast from group addresses by the I/G bit and sees the U/L bit', () => {
    expect(isUnicastMac('02:00:00:00:00:01')).toBe(true);
    expect(isUnicastMac('01:00:5e:00:00:01')).toBe(false);
    expect(isUnicastMac('33:33:00:00:00:01')).toBe(false);
    expect(isUnicastMac('ff:ff:ff:ff:ff:ff')).toBe(false);
    expect(isLocallyAdministeredMac('02:5d:00:00:00:01')).toBe(true);
    expect(isLocallyAdministeredMac('00:16:3e:00:00:01')).toBe(false);
  });

  it('requireMac names the field and says why', () => {
    expect(requireMac('mac', '00:16:3E:01:02:03')).toBe('00:16:3e:01:02:03');
    expect(refusal(() => requireMac('vifs.0.mac', 'nonsense')).message).toMatch(/^vifs\.0\.mac: "nonsense" is not a MAC/);
    expect(refusal(() => requireMac('mac', '01:00:5e:00:00:01')).message).toContain('unicast');
    expect(refusal(() => requireMac('mac', '00:00:00:00:00:00')).field).toBe('mac');
  });
});

describe('IPv4 addresses and prefixes', () => {
  it('parses strict dotted quads', () => {
    expect(parseIpv4('10.7.0.10')).toBe(0x0a07000a);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('0.0.0.0')).toBe(0);
    for (const text of ['10.7.0', '10.7.0.256', '10.07.0.1', '10.7.0.1 ', '-1.0.0.0', '1.2.3.4.5', 'a.b.c.d', '']) {
      expect(parseIpv4(text), text).toBeNull();
    }
    expect(formatIpv4(0xc0a80001)).toBe('192.168.0.1');
  });

  it('parses CIDRs whose address is the network address, within bounds', () => {
    expect(parseCidr('10.7.0.0/24', VNET_PREFIX)).toEqual({ network: 0x0a070000, prefixLen: 24, text: '10.7.0.0/24' });
    expect(parseCidr('0.0.0.0/0')).toEqual({ network: 0, prefixLen: 0, text: '0.0.0.0/0' });
    expect(parseCidr('10.7.0.9/32')?.text).toBe('10.7.0.9/32');
    expect(parseCidr('10.7.0.1/24')).toBeNull();
    expect(parseCidr('10.7.0.0/31', VNET_PREFIX)).toBeNull();
    expect(parseCidr('10.0.0.0/7', VNET_PREFIX)).toBeNull();
    expect(parseCidr('10.7.0.0/33')).toBeNull();
    expect(parseCidr('10.7.0.0')).toBeNull();
  });

  it('requireCidr explains each refusal', () => {
    expect(refusal(() => requireCidr('cidr', '10.7.0.1/24', VNET_PREFIX)).message).toBe('cidr: 10.7.0.1/24 has host bits set; the network address is 10.7.0.0/24');
    expect(refusal(() => requireCidr('cidr', '10.7.0.0/31', VNET_PREFIX)).message).toBe('cidr: prefix length /31 is outside /8–/30');
    expect(refusal(() => requireCidr('cidr', '10.7/16')).message).toContain('not an IPv4 CIDR');
  });

  it('computes containment, overlap, broadcast and host counts', () => {
    const c = parseCidr('10.7.0.0/24')!;
    expect(formatIpv4(broadcastOf(c))).toBe('10.7.0.255');
    expect(cidrContains(c, parseIpv4('10.7.0.200')!)).toBe(true);
    expect(cidrContains(c, parseIpv4('10.7.1.0')!)).toBe(false);
    expect(cidrsOverlap(c, parseCidr('10.0.0.0/8')!)).toBe(true);
    expect(cidrsOverlap(c, parseCidr('10.7.1.0/24')!)).toBe(false);
    expect(cidrsOverlap(parseCidr('0.0.0.0/0')!, c)).toBe(true);
    expect(hostCount(c)).toBe(254);
    expect(hostCount(parseCidr('10.0.0.0/31')!)).toBe(2);
  });

  it('refuses the network and broadcast address of a prefix, not of a /31', () => {
    const c = parseCidr('10.7.0.0/24')!;
    expect(refusal(() => checkHostAddress('ip', parseIpv4('10.7.0.0')!, c)).message).toContain('network address');
    expect(refusal(() => checkHostAddress('ip', parseIpv4('10.7.0.255')!, c)).message).toContain('broadcast address');
    expect(refusal(() => checkHostAddress('ip', parseIpv4('10.8.0.1')!, c)).message).toContain('outside');
    expect(() => checkHostAddress('ip', parseIpv4('10.7.0.1')!, c)).not.toThrow();
    expect(() => checkHostAddress('ip', parseIpv4('10.0.0.0')!, parseCidr('10.0.0.0/31')!)).not.toThrow();
  });
});

describe('names, vnet ids and MTU', () => {
  it('accepts names of 1–63 characters starting with a letter or digit', () => {
    expect(checkName('name', 'web-1.a_b')).toBe('web-1.a_b');
    expect(checkName('name', 'x'.repeat(63))).toHaveLength(63);
    for (const bad of ['', '-web', '.web', 'we b', 'wéb', 'x'.repeat(64)]) expect(refusal(() => checkName('name', bad)).field).toBe('name');
  });

  it('accepts vnet ids 2..FARM_VNID_MAX only (docs/wire.md: 0 invalid, 1 physical; router links above)', () => {
    expect(checkVnid('vnid', 2)).toBe(2);
    expect(checkVnid('vnid', FARM_VNID_MAX)).toBe(FARM_VNID_MAX);
    for (const bad of [0, 1, FARM_VNID_MAX + 1, 2 ** 32 - 1, 2 ** 32, -5, 1.5]) expect(refusal(() => checkVnid('vnid', bad)).field).toBe('vnid');
  });

  it('accepts MTUs 576–9000', () => {
    expect(checkMtu('mtu', 576)).toBe(576);
    expect(checkMtu('mtu', 9000)).toBe(9000);
    expect(refusal(() => checkMtu('mtu', 575)).message).toBe('mtu: 575 is outside 576–9000');
  });

  it('sorts interface names naturally', () => {
    expect(['eth10', 'eth2', 'eth0', 'eth1'].sort(naturalCompare)).toEqual(['eth0', 'eth1', 'eth2', 'eth10']);
  });
});
