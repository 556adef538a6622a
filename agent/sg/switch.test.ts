// Security groups where the switch calls them: egress after port security,
// ingress before every delivery (short path, flood, underlay); services next
// to the port (DHCP) come first; unfiltered ports are untouched.
import { afterEach, describe, expect, it } from 'vitest';
import { BROADCAST_MAC, decodeFrame, encodeFrame, parseIp } from '../wire/index.ts';
import { fakeSwitch, udpFrame } from '../switch/testing.ts';
import { securityGroupSchema } from '../../contract/securityGroups.ts';
import { silentLogger } from '../log.ts';
import { VifFilter } from './filter.ts';
import { SgDropLog } from './log.ts';
import type { Counters } from '../metrics.ts';

const filters: VifFilter[] = [];
afterEach(() => {
  for (const f of filters.splice(0)) f.stop();
});

const V = 5;
const mac = (n: number) => 0x025d_0000_0000 + n;
const ip = (n: number) => parseIp(`10.5.0.${n}`);
const COA = parseIp('198.18.0.9');

function filter(counters: Counters, id: string, rules: Record<string, unknown>[]): VifFilter {
  const f = new VifFilter(id, ['g'], [securityGroupSchema.parse({ id: 'g', rules })], { counters, log: new SgDropLog(silentLogger, counters) });
  filters.push(f);
  return f;
}

function setup() {
  const t = fakeSwitch();
  t.sw.upsertVnet({ id: V, security: 'none' });
  const sender = t.addPort('sender', V, mac(1), ip(1));
  const allows = t.addPort('allows', V, mac(2), ip(2)); // UDP 9 in
  const refuses = t.addPort('refuses', V, mac(3), ip(3)); // nothing in
  const open = t.addPort('open', V, mac(4), ip(4)); // not filtered
  sender.filter = filter(t.counters, 'sender', [{ id: 'out', direction: 'egress', protocol: 'udp', portFrom: 9 }]);
  allows.filter = filter(t.counters, 'allows', [{ id: 'in', direction: 'ingress', protocol: 'udp', portFrom: 9 }]);
  refuses.filter = filter(t.counters, 'refuses', []);
  return { ...t, sender, allows, refuses, open };
}

describe('security groups in the switch', () => {
  it('a broadcast reaches each filtered port its rules allow, and every unfiltered one', () => {
    const t = setup();
    t.sender.guest.onFrame(udpFrame(mac(1), BROADCAST_MAC, ip(1), parseIp('10.5.0.255')));
    expect(t.allows.guest.received).toHaveLength(1);
    expect(t.refuses.guest.received).toHaveLength(0);
    expect(t.open.guest.received).toHaveLength(1);
    expect(t.flooded).toHaveLength(1); // and the other hosts of the vnet
    expect(t.counters.get('softudc_sg_drops_total{direction="ingress",reason="no_rule"}')).toBe(1);
  });

  it('checks egress before the frame goes anywhere: nothing local, nothing on the underlay', () => {
    const t = setup();
    t.varp.routes.set(`${V}/${mac(9)}`, { coa: COA, port: 1798 });
    const tcpLike = udpFrame(mac(1), mac(9), ip(1), parseIp('10.5.0.9'));
    tcpLike.writeUInt16BE(7, 14 + 20 + 2); // UDP 7: no egress rule
    t.sender.guest.onFrame(tcpLike);
    t.sender.guest.onFrame(udpFrame(mac(1), mac(4), ip(1), ip(4)).fill(0, 14 + 20 + 2, 14 + 20 + 4));
    expect(t.sent).toHaveLength(0);
    expect(t.open.guest.received).toHaveLength(0);
    expect(t.counters.get('softudc_sg_drops_total{direction="egress",reason="no_rule"}')).toBe(2);
    // Allowed: UDP 9 to the remote host.
    t.sender.guest.onFrame(udpFrame(mac(1), mac(9), ip(1), parseIp('10.5.0.9')));
    expect(t.sent).toHaveLength(1);
  });

  it('checks ingress for frames from the underlay as for local ones', () => {
    const t = setup();
    const from = (dst: number, dstIp: number) => decodeFrame(encodeFrame({ vnet: V, ethernet: udpFrame(mac(9), dst, parseIp('10.5.0.9'), dstIp) }));
    expect(t.sw.fromUnderlay(from(mac(2), ip(2)), COA)).toBeNull();
    expect(t.sw.fromUnderlay(from(mac(3), ip(3)), COA)).toBeNull();
    expect(t.allows.guest.received).toHaveLength(1);
    expect(t.refuses.guest.received).toHaveLength(0);
    expect(t.counters.get('softudc_switch_deliveries_total')).toBe(1);
  });

  it('leaves what the port services answer (DHCP) to them, before any group', () => {
    const t = setup();
    const taken: string[] = [];
    t.sw.services = { fromGuest: (port) => (taken.push(port.id), true) };
    t.refuses.guest.onFrame(udpFrame(mac(3), BROADCAST_MAC, 0, 0xffffffff));
    expect(taken).toEqual(['refuses']);
    expect(t.counters.get('softudc_sg_drops_total{direction="egress",reason="no_rule"}')).toBe(0);
  });
});
