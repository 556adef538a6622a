// Address sets at the agent: a remote group's members matched through one
// matcher per host state, shared by every rule and VIF naming the set; a
// repeated state recognised by versions, a changed set recompiling only the
// VIFs whose rules name it.
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { createLogger } from '../log.ts';
import { TCP_SYN } from '../firewall/flow.ts';
import { addressSetSchema, securityGroupSchema, type SecurityGroupSpec } from '../../contract/securityGroups.ts';
import { VifFilter } from './filter.ts';
import { SgDropLog } from './log.ts';
import { AddressMatcher, SgCatalog } from './sets.ts';
import { tcpFrame } from './testing.ts';
import { parseIp } from '../wire/index.ts';

const filters: VifFilter[] = [];
afterEach(() => {
  for (const f of filters.splice(0)) f.stop();
});
const counters = new Counters();
const log = new SgDropLog(createLogger({ level: 'error', write: () => {} }), counters);
const members = (n: number) => Array.from({ length: n }, (_, i) => `10.${i >> 8}.${i & 255}.1/32`);
const db = (rules: number): SecurityGroupSpec =>
  securityGroupSchema.parse({ id: 'db', rules: Array.from({ length: rules }, (_, j) => ({ id: `r${j}`, direction: 'ingress', protocol: 'tcp', portFrom: 1000 + j, remote: [], remoteSet: 'web' })) });

describe('address sets', () => {
  it('matches /32s by halving and prefixes by mask', () => {
    const m = new AddressMatcher(['10.0.0.9/32', '10.0.0.1/32', '192.168.4.0/22', '10.0.0.5/32']);
    for (const a of ['10.0.0.1', '10.0.0.5', '10.0.0.9', '192.168.7.255']) expect(m.has(parseIp(a))).toBe(true);
    for (const a of ['10.0.0.2', '10.0.0.10', '192.168.8.0', '0.0.0.0']) expect(m.has(parseIp(a))).toBe(false);
    expect(new AddressMatcher([]).has(0)).toBe(false);
    expect(new AddressMatcher(['0.0.0.0/0']).has(parseIp('203.0.113.1'))).toBe(true);
  });

  it('one matcher per set, shared by all rules and VIFs; a repeated state changes nothing', () => {
    const catalog = new SgCatalog([db(1000)], [addressSetSchema.parse({ id: 'web', addresses: members(4096) })]);
    const vifs = Array.from({ length: 4 }, (_, i) => new VifFilter(`v${i}`, ['db'], catalog, { counters, log }));
    filters.push(...vifs);
    const shared = vifs[0]!.rules()[0]!.remoteSet;
    expect(shared).toBeInstanceOf(AddressMatcher);
    for (const f of vifs) for (const r of f.rules()) expect(r.remoteSet).toBe(shared);
    // A member may open port 1000..1999; an address outside the set may not.
    expect(vifs[1]!.ingress(tcpFrame('10.15.255.1', 40000, '10.200.0.5', 1999, TCP_SYN))).toBe(true);
    expect(vifs[1]!.ingress(tcpFrame('10.16.0.1', 40000, '10.200.0.5', 1999, TCP_SYN))).toBe(false);
    // The same state again (new objects, same content): no filter changes.
    catalog.apply([db(1000)], [addressSetSchema.parse({ id: 'web', addresses: members(4096) })]);
    for (const f of vifs) expect(f.update(['db'], catalog)).toBe(false);
    // A new member: the set's version changes, so the VIFs naming it recompile and match it.
    catalog.apply([db(1000)], [addressSetSchema.parse({ id: 'web', addresses: [...members(4096), '10.16.0.1/32'] })]);
    expect(vifs[0]!.update(['db'], catalog)).toBe(true);
    expect(vifs[0]!.ingress(tcpFrame('10.16.0.1', 40000, '10.200.0.5', 1500, TCP_SYN))).toBe(true);
  });

  it('a rule matches its own remote CIDRs or its set', () => {
    const g = securityGroupSchema.parse({ id: 'g', rules: [{ id: 'r', direction: 'ingress', remote: ['192.0.2.0/24'], remoteSet: 's' }] });
    const f = new VifFilter('v', ['g'], new SgCatalog([g], [{ id: 's', addresses: ['198.51.100.7/32'] }]), { counters, log });
    filters.push(f);
    expect(f.ingress(tcpFrame('192.0.2.200', 1, '10.0.0.5', 22, TCP_SYN))).toBe(true);
    expect(f.ingress(tcpFrame('198.51.100.7', 1, '10.0.0.5', 22, TCP_SYN))).toBe(true);
    expect(f.ingress(tcpFrame('198.51.100.8', 1, '10.0.0.5', 22, TCP_SYN))).toBe(false);
  });
});
