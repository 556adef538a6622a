import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import {
  allocateIp, allocateLinkCidr, allocateMac, allocateVnids, claimIp, claimMac, newAddressSpace, releaseAddresses,
} from './ipam.ts';
import { checkConnected, checkLinkAddresses, checkRule, checkStaticRoute, interfacePrefix, type Connected } from './intentRules.ts';
import { isLocallyAdministeredMac, isUnicastMac, parseCidr, parseIpv4 } from './validate.ts';

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('address spaces', () => {
  it('claims requested addresses once and refuses a second holder with a CONFLICT naming the first', () => {
    const s = newAddressSpace('front', '10.1.0.0/24');
    expect(claimIp(s, 'ip', '10.1.0.5', 'VM a (eth0)')).toBe('10.1.0.5');
    const e = refusal(() => claimIp(s, 'vifs.1.ip', '10.1.0.5', 'VM b (eth0)'));
    expect(e.code).toBe('CONFLICT');
    expect(e.message).toBe('vifs.1.ip: 10.1.0.5 is already used on vnet front by VM a (eth0)');
    expect(claimMac(s, 'mac', '02:AA:00:00:00:01', 'x')).toBe('02:aa:00:00:00:01');
    expect(refusal(() => claimMac(s, 'mac', '02-aa-00-00-00-01', 'y')).code).toBe('CONFLICT');
    expect(refusal(() => claimIp(s, 'ip', '10.1.0.0', 'z')).code).toBe('BAD_REQUEST');
  });

  it('hands out the lowest free address to stations and the highest to gateways', () => {
    const s = newAddressSpace('n', '10.1.0.0/29');
    claimIp(s, 'ip', '10.1.0.1', 'a');
    expect(allocateIp(s, 'ip', 'b')).toBe('10.1.0.2');
    expect(allocateIp(s, 'ip', 'gw', 'high')).toBe('10.1.0.6');
    expect(allocateIp(s, 'ip', 'gw2', 'high')).toBe('10.1.0.5');
    expect(allocateIp(s, 'ip', 'c')).toBe('10.1.0.3');
    expect(allocateIp(s, 'ip', 'd')).toBe('10.1.0.4');
    const full = refusal(() => allocateIp(s, 'ip', 'e'));
    expect(full.code).toBe('CONFLICT');
    expect(full.message).toContain('no free address');
    releaseAddresses(s, '10.1.0.3', null);
    expect(allocateIp(s, 'ip', 'e')).toBe('10.1.0.3');
  });

  it('makes locally administered unicast 02:5d MACs and retries on a collision', () => {
    const s = newAddressSpace('n', '10.1.0.0/24');
    claimMac(s, 'mac', '02:5d:00:00:00:01', 'taken');
    const sequence = [[0, 0, 0, 1], [0, 0, 0, 1], [0xde, 0xad, 0xbe, 0xef]];
    let i = 0;
    const mac = allocateMac(s, 'new', () => Uint8Array.from(sequence[i++]!));
    expect(mac).toBe('02:5d:de:ad:be:ef');
    expect(i).toBe(3);
    for (let k = 0; k < 200; k++) {
      const m = allocateMac(s, `m${k}`);
      expect(isUnicastMac(m) && isLocallyAdministeredMac(m)).toBe(true);
    }
    expect(s.macs.size).toBe(202);
  });
});

describe('vnet ids and link prefixes', () => {
  it('picks the lowest free vnet ids from 100 up', () => {
    expect(allocateVnids([100, 101, 103, 5], 3)).toEqual([102, 104, 105]);
    expect(allocateVnids([], 1)).toEqual([100]);
  });

  it('takes /30s from 169.254.0.0/16 around what is already used', () => {
    const used = [parseCidr('169.254.0.0/30')!, parseCidr('169.254.0.8/29')!];
    expect(allocateLinkCidr(used)).toEqual({ cidr: parseCidr('169.254.0.4/30'), ipA: '169.254.0.5', ipB: '169.254.0.6' });
    expect(allocateLinkCidr([parseCidr('169.254.0.0/23')!]).cidr.text).toBe('169.254.2.0/30');
    expect(refusal(() => allocateLinkCidr([parseCidr('169.254.0.0/16')!])).field).toBe('cidr');
  });

  it('checks client-chosen link prefixes', () => {
    const occupied = [{ prefix: parseCidr('10.0.0.0/8')!, what: 'vnet a' }];
    const f = (n: string) => n;
    expect(checkLinkAddresses({ cidr: '192.168.1.0/31' }, occupied, f)).toMatchObject({ ipA: '192.168.1.0', ipB: '192.168.1.1' });
    expect(checkLinkAddresses({ cidr: '192.168.1.4/30', ipA: '192.168.1.6' }, occupied, f)).toMatchObject({ ipA: '192.168.1.6', ipB: '192.168.1.5' });
    expect(refusal(() => checkLinkAddresses({ cidr: '10.1.0.0/30' }, occupied, f)).message).toContain('overlaps 10.0.0.0/8 (vnet a)');
    expect(refusal(() => checkLinkAddresses({ cidr: '192.168.1.0/29' }, occupied, f)).field).toBe('cidr');
    expect(refusal(() => checkLinkAddresses({ cidr: '192.168.1.4/30', ipB: '192.168.1.7' }, occupied, f)).field).toBe('ipB');
  });
});

describe('router and firewall rules', () => {
  const conn = (vnet: string | null, ip: string, len: number, n: number): Connected => {
    const a = parseIpv4(ip)!;
    return { vnet, vnetName: vnet ?? '', prefix: interfacePrefix('ip', a, len), ip: a, fieldVnet: `interfaces.${n}.vnetId`, fieldIp: `interfaces.${n}.ip` };
  };

  it('refuses two interfaces on one vnet and overlapping prefixes, blaming the later one', () => {
    expect(() => checkConnected([conn('a', '10.1.0.1', 24, 0), conn('b', '10.2.0.1', 24, 1)], 'router r')).not.toThrow();
    expect(refusal(() => checkConnected([conn('a', '10.1.0.1', 24, 0), conn('a', '10.2.0.1', 24, 1)], 'router r')).field).toBe('interfaces.1.vnetId');
    const e = refusal(() => checkConnected([conn('a', '10.1.0.1', 24, 0), conn('b', '10.1.200.1', 16, 1)], 'router r'));
    expect(e.field).toBe('interfaces.1.ip');
    expect(e.message).toContain('overlaps 10.1.0.0/24');
  });

  it('keeps static routes pointing at a neighbour on a connected prefix', () => {
    const c = [conn('a', '10.1.0.1', 24, 0)];
    const f = (n: string) => `staticRoutes.0.${n}`;
    expect(checkStaticRoute({ destination: '0.0.0.0/0', nextHop: '10.1.0.254' }, c, 'r', f)).toEqual({ destination: '0.0.0.0/0', nextHop: '10.1.0.254', metric: 1 });
    expect(refusal(() => checkStaticRoute({ destination: '0.0.0.0/0', nextHop: '10.2.0.1' }, c, 'r', f)).field).toBe('staticRoutes.0.nextHop');
    expect(refusal(() => checkStaticRoute({ destination: '0.0.0.0/0', nextHop: '10.1.0.1' }, c, 'r', f)).message).toContain('own address');
    expect(refusal(() => checkStaticRoute({ destination: '10.1.0.0/24', nextHop: '10.1.0.2' }, c, 'r', f)).field).toBe('staticRoutes.0.destination');
    expect(refusal(() => checkStaticRoute({ destination: '10.9.0.0/16', nextHop: '10.1.0.2', metric: 0 }, c, 'r', f)).field).toBe('staticRoutes.0.metric');
  });

  it('normalises firewall rules and checks ports, protocols and interfaces', () => {
    const f = (n: string) => `rules.3.${n}`;
    expect(checkRule({ action: 'allow', protocol: 'udp', portFrom: 53 }, ['in'], 'fw', f)).toEqual({
      action: 'allow', protocol: 'udp', source: '0.0.0.0/0', destination: '0.0.0.0/0', portFrom: 53, portTo: 53,
      interface: null, log: false, description: '',
    });
    expect(refusal(() => checkRule({ action: 'allow', protocol: 'tcp', portTo: 80 }, [], 'fw', f)).field).toBe('rules.3.portFrom');
    expect(refusal(() => checkRule({ action: 'allow', protocol: 'tcp', portFrom: 1, portTo: 65536 }, [], 'fw', f)).field).toBe('rules.3.portTo');
    expect(refusal(() => checkRule({ action: 'allow', protocol: 'any', portFrom: 22 }, [], 'fw', f)).message).toContain('not any');
    expect(refusal(() => checkRule({ action: 'deny', destination: '10.0.0.1/8' }, [], 'fw', f)).field).toBe('rules.3.destination');
    expect(refusal(() => checkRule({ action: 'deny', interface: 'out' }, ['in'], 'fw', f)).message).toContain('(it has: in)');
  });
});
