import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MINIMAL_STATE } from '../contract/testing.ts';
import { loadStateFile, parseState, StateError } from './state.ts';

const MINIMAL = MINIMAL_STATE;

function issues(input: unknown): { field: string; message: string }[] {
  try {
    parseState(input);
  } catch (err) {
    expect(err).toBeInstanceOf(StateError);
    return (err as StateError).issues;
  }
  throw new Error('expected a StateError');
}

const withVif = (patch: Record<string, unknown>) => ({ ...MINIMAL, vifs: [{ ...MINIMAL.vifs[0], ...patch }] });

describe('agent state schema', () => {
  it('accepts the minimal shape as written, unchanged', () => {
    expect(parseState(MINIMAL)).toEqual(MINIMAL);
  });

  it('accepts what the console compiles (extra fields kept) and fills defaults', () => {
    const compiled = {
      host: 'h2',
      underlay: { address: '127.0.0.3' },
      vnets: [{ id: 7, name: 'front', farm: 'web', security: 'none', mtu: 1400, peers: ['127.0.0.2'] }],
      vifs: [{ ...MINIMAL.vifs[0], guest: { kind: 'tap', netns: 'g1' } }],
      routers: [{ id: 'web/r1', interfaces: [] }],
      firewalls: [],
      relay: null,
    };
    const s = parseState(compiled);
    expect(s.generation).toBe(0);
    expect(s.underlay).toEqual({ address: '127.0.0.3', port: 1798, multicast: '224.10.0.1', peers: [] });
    expect((s as Record<string, unknown>).routers).toEqual(compiled.routers);
    expect(s.vnets[0]).toMatchObject({ name: 'front', peers: ['127.0.0.2'] });
    expect(s.vifs[0]!.guest).toEqual({ kind: 'tap', netns: 'g1' });
  });

  it.each([
    [withVif({ mac: '02:5d:00:00:0a' }), 'vifs[0].mac'],
    [withVif({ mac: '01:00:5e:00:00:01' }), 'vifs[0].mac'],
    [withVif({ ip: '10.7.0.10' }), 'vifs[0].ip'],
    [withVif({ ip: '10.7.0.300/24' }), 'vifs[0].ip'],
    [withVif({ version: -1 }), 'vifs[0].version'],
    [withVif({ guest: { kind: 'vm' } }), 'vifs[0].guest.kind'],
    [withVif({ guest: { kind: 'tap', ifname: 'a-name-much-too-long' } }), 'vifs[0].guest.ifname'],
    [withVif({ vnet: 9 }), 'vifs[0].vnet'],
    [{ ...MINIMAL, vnets: [{ id: 1, security: 'none' }] }, 'vnets[0].id'],
    [{ ...MINIMAL, vnets: [{ id: 7, security: 'tls' }] }, 'vnets[0].security'],
    [{ ...MINIMAL, vnets: [{ id: 7 }, { id: 7 }] }, 'vnets[1].id'],
    [{ ...MINIMAL, vifs: [MINIMAL.vifs[0], { ...MINIMAL.vifs[0], mac: '02:5d:00:00:00:0b', ip: '10.7.0.11/24' }] }, 'vifs[1].id'],
    [{ ...MINIMAL, vifs: [MINIMAL.vifs[0], { ...MINIMAL.vifs[0], id: 'x', ip: '10.7.0.11/24' }] }, 'vifs[1].mac'],
    [{ ...MINIMAL, underlay: { ...MINIMAL.underlay, address: 'localhost' } }, 'underlay.address'],
    [{ ...MINIMAL, underlay: { ...MINIMAL.underlay, multicast: '10.0.0.1' } }, 'underlay.multicast'],
    [{ ...MINIMAL, underlay: { ...MINIMAL.underlay, port: 70000 } }, 'underlay.port'],
    [{ ...MINIMAL, varp: { key: 'not-hex' } }, 'varp.key'],
    [{ ...MINIMAL, host: '' }, 'host'],
  ])('names the offending field (%#: %s)', (input, field) => {
    const found = issues(input);
    expect(found.map((i) => i.field)).toContain(field);
    expect(found.every((i) => i.message.length > 0)).toBe(true);
  });

  it('reports a JSON syntax error in a state file as a StateError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'softudc-state-'));
    const file = join(dir, 'bad.json');
    await writeFile(file, '{"host": ');
    await expect(loadStateFile(file)).rejects.toBeInstanceOf(StateError);
    await writeFile(file, JSON.stringify(MINIMAL));
    await expect(loadStateFile(file)).resolves.toEqual(MINIMAL);
  });
});
