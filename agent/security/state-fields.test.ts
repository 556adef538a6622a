// The state fields for sealed vnets, VLAN interfaces, VIF limits and the
// relay role: accepted shapes, and errors that name the field.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { parseState, StateError } from '../state.ts';

const key = () => ({ id: 1, key: randomBytes(32).toString('base64'), salt: randomBytes(4).toString('base64') });

function base(extra: { vnet?: Record<string, unknown>; vif?: Record<string, unknown>; top?: Record<string, unknown> } = {}) {
  return {
    host: 'h1',
    underlay: { address: '198.18.0.1', multicast: null },
    vnets: [{ id: 7, security: 'conf', ...extra.vnet }],
    vifs: [{ id: 'a', vnet: 7, mac: '02:5d:00:00:00:01', ip: '10.7.0.1/24', version: 1, guest: { kind: 'emulated' }, ...extra.vif }],
    ...extra.top,
  };
}

function fieldOf(input: unknown): string {
  try {
    parseState(input);
  } catch (err) {
    if (err instanceof StateError) return err.field;
    throw err;
  }
  return '(accepted)';
}

describe('state fields', () => {
  it('accepts keys, a send key id, a VLAN, a VIF limit and the relay role', () => {
    const k2 = { ...key(), id: 2 };
    const s = parseState(
      base({
        vnet: { keys: [key(), k2], sendKeyId: 2, vlan: { interface: 'eth1', vid: 300 } },
        vif: { limit: { rateMbps: 50, burstKb: 64 } },
        top: { relay: { enabled: true, peers: ['198.18.2.2'], proxy: true } },
      }),
    );
    expect(s.vnets[0]).toMatchObject({ sendKeyId: 2, vlan: { interface: 'eth1', vid: 300 } });
    expect(s.vifs[0]!.limit).toEqual({ rateMbps: 50, burstKb: 64 });
    expect(s.relay).toEqual({ enabled: true, peers: ['198.18.2.2'], proxy: true });
    expect(parseState(base({ top: { relay: null } })).relay).toBeNull();
    expect(parseState(base({ top: { relay: { peers: [] } } })).relay).toEqual({ enabled: true, peers: [], proxy: false });
  });

  it('names the offending field', () => {
    expect(fieldOf(base({ vnet: { keys: [{ ...key(), key: randomBytes(16).toString('base64') }] } }))).toBe('vnets[0].keys[0].key');
    expect(fieldOf(base({ vnet: { keys: [{ ...key(), salt: 'AAAAAAAA' }] } }))).toBe('vnets[0].keys[0].salt');
    expect(fieldOf(base({ vnet: { keys: [{ ...key(), id: -1 }] } }))).toBe('vnets[0].keys[0].id');
    expect(fieldOf(base({ vnet: { keys: [key(), key()] } }))).toBe('vnets[0].keys[1].id');
    expect(fieldOf(base({ vnet: { keys: [key()], sendKeyId: 5 } }))).toBe('vnets[0].sendKeyId');
    expect(fieldOf(base({ vnet: { vlan: { interface: 'eth1', vid: 4095 } } }))).toBe('vnets[0].vlan.vid');
    expect(fieldOf(base({ vnet: { vlan: { interface: 'eth1; rm -rf', vid: 5 } } }))).toBe('vnets[0].vlan.interface');
    expect(fieldOf(base({ vif: { limit: { rateMbps: 0 } } }))).toBe('vifs[0].limit.rateMbps');
    expect(fieldOf(base({ top: { relay: { peers: ['not-an-ip'] } } }))).toBe('relay.peers[0]');
    // One VLAN of one interface carries one vnet.
    const vlan = { interface: 'eth1', vid: 300 };
    const twoOnOne = base({ vnet: { vlan } });
    expect(fieldOf({ ...twoOnOne, vnets: [...twoOnOne.vnets, { id: 8, security: 'none', vlan }] })).toBe('vnets[1].vlan');
  });
});
