// The deploy's contract check (stateCheck.ts) gives hostStateSchema's own
// verdict and first issue, also when the part it checks once (a shared DHCP
// section, an address seen before) is the one at fault.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hostStateSchema } from '../../contract/hostState.ts';
import { ADDRESS_LISTS, StateChecker } from './stateCheck.ts';

const dhcp = { enabled: true, names: [{ ip: '10.7.0.10', name: 'web-1' }, { ip: '10.7.0.11', name: 'web-2' }] };

const VNET = { id: 7, name: 'shop/front', farm: 'f1', security: 'none', mtu: 1400 };

function host(i: number, over: { dhcp?: unknown; peers?: unknown; members?: unknown; relayPeers?: unknown; vnets?: unknown[] } = {}) {
  return {
    host: `h${i}`,
    generation: 2,
    underlay: { address: `198.18.0.${i}`, port: 1798, multicast: null, peers: ['198.18.0.1', '198.18.0.2', '198.18.0.3'], ...(over.members === undefined ? {} : { members: over.members }) },
    vnets: over.vnets ?? [{ ...VNET, peers: over.peers ?? ['198.18.0.2'], dhcp: over.dhcp ?? dhcp }],
    vifs: [{ id: `v${i}`, name: 'shop/web/eth0', farm: 'f1', vnet: 7, mac: `02:5d:00:00:00:0${i}`, ip: '10.7.0.10/24', version: 1, guest: { kind: 'emulated' } }],
    relay: over.relayPeers === undefined ? null : { enabled: true, peers: over.relayPeers },
  };
}

const full = (doc: unknown) => {
  const r = hostStateSchema.safeParse(doc);
  return r.success ? null : r.error.issues[0]!;
};

describe('StateChecker', () => {
  it('passes what hostStateSchema passes, sharing one DHCP section', () => {
    const c = new StateChecker();
    for (let i = 1; i <= 3; i++) {
      expect(full(host(i))).toBeNull();
      expect(c.firstIssue(host(i))).toBeNull();
    }
  });

  const bad: [string, () => unknown][] = [
    ['a bad name in a shared DHCP section', () => host(2, { dhcp: { ...dhcp, names: [{ ip: 'nope', name: 'x' }] } })],
    ['a DHCP section that is not an object', () => host(2, { dhcp: 'on' })],
    ['a bad vnet peer', () => host(2, { peers: ['198.18.0.1', '198.18.0.300'] })],
    ['vnet peers that are not a list', () => host(2, { peers: '198.18.0.1' })],
    ['a bad underlay member', () => host(2, { members: ['198.18.0.1', 7] })],
    ['a bad relay peer', () => host(2, { relayPeers: ['x'] })],
    ['a duplicate vnet id', () => host(2, { vnets: [VNET, VNET] })],
    ['a VIF on a vnet not listed', () => host(2, { vnets: [] })],
  ];
  for (const [what, make] of bad) {
    it(`refuses ${what} with the schema's own first issue, also after the same parts passed elsewhere`, () => {
      const c = new StateChecker();
      expect(c.firstIssue(host(1))).toBeNull();
      const doc = make();
      const expected = full(doc);
      expect(expected).not.toBeNull();
      expect(c.firstIssue(doc)).toEqual(expected);
      // Asked again (the part's verdict is remembered): the same answer.
      expect(c.firstIssue(doc)).toEqual(expected);
    });
  }

  it('a DHCP section found bad once is bad on every host that shares it', () => {
    const shared = { ...dhcp, names: [{ ip: '10.7.0.10', name: 'bad name!' }] };
    const c = new StateChecker();
    expect(c.firstIssue(host(1, { dhcp: shared }))).toEqual(full(host(1, { dhcp: shared })));
    expect(c.firstIssue(host(2, { dhcp: shared }))).not.toBeNull();
  });

  it('the address lists it sets aside carry no list-level rule (checking them element by element is the whole check)', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    for (const schema of Object.values(ADDRESS_LISTS)) {
      expect((schema as z.ZodType).safeParse(many).success).toBe(true);
      expect((schema as z.ZodType).safeParse([]).success).toBe(true);
    }
  });
});
