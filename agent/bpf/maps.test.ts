import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { FDB_LOCAL, FDB_REMOTE, FDB_TAP, FDB_VETH, cfgValue, coaKey, decodeFdbKey, decodeSeen, fdbKey, fdbValue, sumPerCpu, vifValue } from './maps.ts';
import { parseIp, parseMac } from '../wire/index.ts';

// The C structs of softudc.bpf.c on a little-endian host: host-order u32s, network-order addresses and ports.
const LE = endianness() === 'LE';

describe('fast path map layouts', () => {
  it('keys the FDB by (vnet, MAC) and round-trips it', () => {
    const k = fdbKey(0x01020304, parseMac('02:5d:00:64:00:0b'));
    expect(k.toString('hex')).toBe('04030201025d0064000b0000');
    expect(decodeFdbKey(k)).toEqual({ vnet: 0x01020304, mac: parseMac('02:5d:00:64:00:0b') });
  });

  it('encodes the four kinds of FDB entry', () => {
    expect(fdbValue({ kind: FDB_TAP, ifindex: 7 }).toString('hex')).toBe('01000000070000000000000000000000');
    expect(fdbValue({ kind: FDB_REMOTE, coa: parseIp('198.18.0.2'), port: 1798 }).toString('hex')).toBe('0200000000000000c612000207060000');
    expect(fdbValue({ kind: FDB_LOCAL }).toString('hex')).toBe('03000000000000000000000000000000');
    expect(fdbValue({ kind: FDB_VETH, ifindex: 9 }).toString('hex')).toBe('04000000090000000000000000000000');
    // A remote namespace guest on a kernel path: FDB_F_GSO in the last two bytes (host order).
    expect(fdbValue({ kind: FDB_REMOTE, coa: parseIp('198.18.0.2'), port: 1798, gso: true }).subarray(12).toString('hex')).toBe(LE ? '07060100' : '07060001');
    // A local offloaded guest (a VM attached with vnet_hdr=on): the same flag, beside its ifindex.
    expect(fdbValue({ kind: FDB_TAP, ifindex: 7, gso: true }).toString('hex')).toBe(LE ? '01000000070000000000000000000100' : '00000001000000070000000000000001');
    expect(fdbValue({ kind: FDB_LOCAL, gso: true } as never).subarray(14).toString('hex')).toBe('0000');
  });

  it('encodes a VIF, the configuration and a peer key', () => {
    expect(vifValue(100, parseIp('10.100.0.1'), parseMac('02:5d:00:64:00:01')).toString('hex')).toBe('640000000a640001025d006400010000');
    expect(vifValue(100, parseIp('10.100.0.1'), parseMac('02:5d:00:64:00:01'), true).subarray(14).toString('hex')).toBe(LE ? '0100' : '0001');
    expect(cfgValue({ coa: parseIp('198.18.0.1'), port: 1798, ifindex: 3, maxFrame: 1462 }).toString('hex')).toBe('c61200010706000003000000b605000000000000');
    expect(cfgValue({ coa: parseIp('198.18.0.1'), port: 1798, ifindex: 3, maxFrame: 1462, groIfindex: 9 }).subarray(16).toString('hex')).toBe(LE ? '09000000' : '00000009');
    expect(coaKey(parseIp('198.18.0.2')).toString('hex')).toBe('c6120002');
  });

  it('reads the last-seen record and sums per-CPU counters', () => {
    const seen = Buffer.from('0100000000000000c612000200000000', 'hex');
    expect(decodeSeen(seen)).toEqual({ ns: 1n, coa: parseIp('198.18.0.2'), offload: false });
    expect(decodeSeen(Buffer.from('0100000000000000c612000201000000', 'hex'))).toMatchObject({ offload: true });
    const percpu = Buffer.alloc(16);
    percpu.writeBigUInt64LE(5n, 0);
    percpu.writeBigUInt64LE(7n, 8);
    expect(sumPerCpu(percpu, 2)).toBe(12);
  });
});
