// The host desired state: the minimal shape always accepted, unknown fields
// kept at every level, and the cross-field rules (VLANs, TAP names) refused
// with their field path.
import { describe, expect, it } from 'vitest';
import { agentStateSchema, hostStateSchema } from './hostState.ts';
import { MINIMAL_STATE } from './testing.ts';

const MINIMAL = MINIMAL_STATE;

const KEY = { id: 1, key: Buffer.alloc(32, 7).toString('base64'), salt: Buffer.alloc(4, 9).toString('base64') };

/** A state with every section the console writes. */
const RICH = {
  host: 'h1',
  generation: 3,
  underlay: { address: '198.18.0.1', port: 1798, multicast: null, peers: ['198.18.0.2'] },
  vnets: [
    { id: 7, name: 'shop/front', farm: 'f1', security: 'conf', mtu: 1400, peers: ['198.18.0.2'], keys: [KEY], sendKeyId: 1, vlan: { interface: 'eth1', vid: 300 } },
    { id: 8, name: 'shop/back', farm: 'f1', security: 'none', mtu: 1400, peers: [] },
  ],
  vifs: [
    {
      id: 'v1', name: 'shop/web-1/eth0', farm: 'f1', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', version: 2,
      guest: { kind: 'tap', ifname: 'sdv1' }, gateway: '10.7.0.1', limit: { rateMbps: 50, burstKb: 64 },
    },
  ],
  routers: [
    {
      id: 'r1', name: 'shop/r1', farm: 'f1',
      interfaces: [{ vnet: 7, mac: '02:5d:00:00:00:01', ip: '10.7.0.1/24', rip: false }, { vnet: 8, mac: '02:5d:00:00:00:02', ip: '10.8.0.1/24', rip: true }],
      staticRoutes: [{ destination: '0.0.0.0/0', nextHop: '10.8.0.254', metric: 1 }],
      links: [],
    },
  ],
  firewalls: [
    {
      id: 'fw1', name: 'shop/fw1', farm: 'f1', defaultPolicy: 'deny',
      interfaces: [{ name: 'inside', vnet: 8, mac: '02:5d:00:00:00:03', ip: '10.8.0.2/24' }],
      rules: [{ action: 'allow', protocol: 'tcp', source: '0.0.0.0/0', destination: '10.8.0.0/24', portFrom: 80, portTo: 80, interface: 'inside', log: false }],
    },
  ],
  relay: { enabled: true, peers: ['198.18.2.2'], proxy: false },
  varp: { key: Buffer.alloc(32, 1).toString('base64') },
};

function fields(schema: typeof hostStateSchema | typeof agentStateSchema, input: unknown): string[] {
  const r = schema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
}

/** Adds `future: <path>` to every object of a value. */
function withFutureFields(value: unknown, path = 'root'): unknown {
  if (Array.isArray(value)) return value.map((v, i) => withFutureFields(v, `${path}.${i}`));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = { future: path };
    for (const [k, v] of Object.entries(value)) out[k] = withFutureFields(v, `${path}.${k}`);
    return out;
  }
  return value;
}

describe('host state contract', () => {
  it('accepts the minimal shape as written, unchanged, on both sides', () => {
    expect(agentStateSchema.parse(MINIMAL)).toEqual(MINIMAL);
    expect(hostStateSchema.parse(MINIMAL)).toEqual(MINIMAL);
  });

  it('accepts everything the console writes', () => {
    expect(fields(hostStateSchema, RICH)).toEqual([]);
    expect(fields(agentStateSchema, RICH)).toEqual([]);
  });

  it('passes fields it does not know through at every level, so an older agent keeps what a newer console adds', () => {
    const future = withFutureFields(RICH) as Record<string, unknown>;
    expect(hostStateSchema.parse(future)).toEqual(future);
    expect(agentStateSchema.parse(future)).toEqual(future);
  });

  it('refuses two vnets bridged to one VLAN of one interface, naming the second', () => {
    const twice = { ...RICH, vnets: [RICH.vnets[0], { ...RICH.vnets[1], vlan: { interface: 'eth1', vid: 300 } }] };
    expect(fields(agentStateSchema, twice)).toEqual(['vnets.1.vlan']);
    expect(fields(hostStateSchema, twice)).toEqual(['vnets.1.vlan']);
    // The same VID on another interface, or another VID on the same one, is a different VLAN.
    expect(fields(agentStateSchema, { ...twice, vnets: [RICH.vnets[0], { ...RICH.vnets[1], vlan: { interface: 'eth2', vid: 300 } }] })).toEqual([]);
    expect(fields(agentStateSchema, { ...twice, vnets: [RICH.vnets[0], { ...RICH.vnets[1], vlan: { interface: 'eth1', vid: 301 } }] })).toEqual([]);
  });

  it('takes a live migration\'s incoming VIF, and refuses an `incoming` that is not a boolean by its field', () => {
    const incoming = { ...RICH, vifs: [{ ...RICH.vifs[0], incoming: true }] };
    expect(fields(hostStateSchema, incoming)).toEqual([]);
    expect(agentStateSchema.parse(incoming).vifs[0]!.incoming).toBe(true);
    expect(fields(agentStateSchema, { ...RICH, vifs: [{ ...RICH.vifs[0], incoming: 'yes' }] })).toEqual(['vifs.0.incoming']);
  });

  it('takes a VIF outgoing by live migration, and refuses an `outgoing` that is not a boolean by its field', () => {
    const outgoing = { ...RICH, vifs: [{ ...RICH.vifs[0], outgoing: true }] };
    expect(fields(hostStateSchema, outgoing)).toEqual([]);
    expect(agentStateSchema.parse(outgoing).vifs[0]!.outgoing).toBe(true);
    expect(agentStateSchema.parse(RICH).vifs[0]!.outgoing).toBeUndefined();
    expect(fields(agentStateSchema, { ...RICH, vifs: [{ ...RICH.vifs[0], outgoing: 1 }] })).toEqual(['vifs.0.outgoing']);
  });

  it('refuses two VIFs with one TAP name in one namespace', () => {
    const second = { ...RICH.vifs[0], id: 'v2', vnet: 8, mac: '02:5d:00:00:00:0b', ip: '10.8.0.10/24' };
    expect(fields(agentStateSchema, { ...RICH, vifs: [RICH.vifs[0], second] })).toEqual(['vifs.1.guest.ifname']);
    const elsewhere = { ...second, guest: { kind: 'tap', ifname: 'sdv1', netns: 'g2' } };
    expect(fields(agentStateSchema, { ...RICH, vifs: [RICH.vifs[0], elsewhere] })).toEqual([]);
  });

  it('checks routers and firewalls on the console side; the agent takes them entry by entry', () => {
    const bad = { ...RICH, routers: [{ ...RICH.routers[0], interfaces: [{ vnet: 7, mac: 'nope', ip: '10.7.0.1/24' }] }] };
    expect(fields(hostStateSchema, bad)).toEqual(['routers.0.interfaces.0.mac']);
    expect(fields(agentStateSchema, bad)).toEqual([]);
    expect(fields(hostStateSchema, { ...RICH, routers: [RICH.routers[0], RICH.routers[0]] })).toEqual(['routers.1.id']);
  });

  it('bounds security groups per host: groups, rules, address sets and their entries, sets named by rules', () => {
    const vif = { ...RICH.vifs[0], securityGroups: ['g'] };
    const rule = (j: number, remoteSet: string | null = 's') => ({ id: `r${j}`, direction: 'ingress', remote: [], remoteSet });
    const base = { ...RICH, vifs: [vif], securityGroups: [{ id: 'g', rules: [rule(0)] }], addressSets: [{ id: 's', addresses: ['10.0.0.1/32'] }] };
    expect(fields(agentStateSchema, base)).toEqual([]);
    expect(fields(agentStateSchema, { ...base, addressSets: [] })).toEqual(['securityGroups.0.rules.0.remoteSet']);
    const many = Array.from({ length: 65_536 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`);
    expect(fields(agentStateSchema, { ...base, addressSets: [{ id: 's', addresses: many }] })).toEqual([]);
    expect(fields(agentStateSchema, { ...base, addressSets: [{ id: 's', addresses: [...many, '11.0.0.1/32'] }] })).toEqual(['addressSets.0.addresses']);
    expect(fields(agentStateSchema, { ...base, addressSets: [{ id: 's', addresses: many.slice(1) }, { id: 't', addresses: ['11.0.0.1/32', '11.0.0.2/32'] }] })).toEqual(['addressSets']);
    const groups = Array.from({ length: 1025 }, (_, i) => ({ id: i ? `g${i}` : 'g', rules: [] }));
    expect(fields(agentStateSchema, { ...base, securityGroups: groups })).toEqual(['securityGroups']);
    const big = Array.from({ length: 66 }, (_, i) => ({ id: i ? `g${i}` : 'g', rules: Array.from({ length: 1000 }, (_, j) => rule(j, null)) }));
    expect(fields(agentStateSchema, { ...base, securityGroups: big })).toContain('securityGroups');
  });
});
