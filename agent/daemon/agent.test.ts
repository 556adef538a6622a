import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from './agent.ts';
import { silentLogger } from '../log.ts';
import { StateError, type AgentStateInput } from '../state.ts';
import { EmulatedGuest } from '../guests/index.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const running: Agent[] = [];

afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
});

type Vif = { id: string; vnet: number; n: number; version?: number; guest?: Record<string, unknown> };

function state(host: string, address: string, peers: string[], vifs: Vif[], extra: Partial<AgentStateInput> = {}): AgentStateInput {
  const vnets = [...new Set(vifs.map((v) => v.vnet))].map((id) => ({ id, security: 'none' as const }));
  return {
    host,
    generation: 1,
    underlay: { address, port: PORT, multicast: null, peers },
    vnets,
    vifs: vifs.map((v) => ({
      id: v.id,
      vnet: v.vnet,
      mac: `02:5d:00:00:${v.vnet.toString(16).padStart(2, '0')}:${v.n.toString(16).padStart(2, '0')}`,
      ip: `10.${v.vnet}.0.${v.n}/24`,
      version: v.version ?? 1,
      guest: (v.guest ?? { kind: 'emulated' }) as { kind: 'emulated' },
    })),
    ...extra,
  };
}

async function agent(s: AgentStateInput): Promise<Agent> {
  const a = new Agent({ state: s, logger: silentLogger });
  running.push(a);
  await a.start();
  return a;
}

function emulated(a: Agent, id: string): EmulatedGuest {
  const g = a.guest(id);
  if (!(g instanceof EmulatedGuest)) throw new Error(`${id} is not a running emulated guest`);
  return g;
}

describe('Agent reconcile', () => {
  it('adds, changes and removes VIFs and vnets without disturbing unchanged ones', async () => {
    const base: Vif[] = [
      { id: 'a', vnet: 7, n: 10 },
      { id: 'b', vnet: 7, n: 11 },
      { id: 'c', vnet: 8, n: 12 },
    ];
    const h1 = await agent(state('h1', '127.0.0.2', ['127.0.0.3'], base));
    const h2 = await agent(state('h2', '127.0.0.3', ['127.0.0.2'], [{ id: 'e', vnet: 7, n: 20 }]));
    const ga = emulated(h1, 'a');
    const gb = emulated(h1, 'b');
    let stops = 0;
    for (const g of [ga, gb]) {
      const stop = g.stop.bind(g);
      g.stop = async () => {
        stops++;
        return stop();
      };
    }
    expect((await ga.ping('10.7.0.20', { timeoutMs: 1000 })).received).toBe(1);

    // Steady traffic on the unchanged VIFs, locally and across hosts, while the state churns.
    const local = ga.ping('10.7.0.11', { count: 150, intervalMs: 2, timeoutMs: 500 });
    const remote = ga.ping('10.7.0.20', { count: 150, intervalMs: 2, timeoutMs: 500 });
    const steps: Vif[][] = [
      [...base, { id: 'd', vnet: 9, n: 13 }],
      [base[0]!, base[1]!, { id: 'd', vnet: 9, n: 13, version: 2 }],
      [base[0]!, base[1]!, { id: 'd', vnet: 9, n: 14, version: 2 }],
      [base[0]!, base[1]!, { id: 'c', vnet: 8, n: 12 }],
    ];
    const results = [];
    for (const vifs of steps) {
      results.push(await h1.apply({ ...state('h1', '127.0.0.2', ['127.0.0.3', '127.0.0.4'], vifs), generation: results.length + 2 }));
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(results[0]).toMatchObject({ added: ['d'], removed: [], changed: [], errors: [] });
    expect(results[1]).toMatchObject({ added: [], removed: ['c'], changed: ['d'] });
    expect(results[2]).toMatchObject({ changed: ['d'] });
    expect(results[3]).toMatchObject({ added: ['c'], removed: ['d'] });

    const [l, r] = await Promise.all([local, remote]);
    expect(l.received).toBe(150);
    expect(r.received).toBe(150);
    expect(h1.guest('a')).toBe(ga);
    expect(h1.guest('b')).toBe(gb);
    expect(stops).toBe(0);
    const view = h1.snapshot();
    expect(view.appliedGeneration).toBe(5);
    expect(view.vifs.map((v) => v.id).sort()).toEqual(['a', 'b', 'c']);
    expect(view.vnets.map((v) => v.id).sort()).toEqual([7, 8]);
    expect(view.underlay.peers).toEqual(['127.0.0.3', '127.0.0.4']);
    expect(h2.snapshot().varp.find((e) => e.ip === '10.7.0.10')).toMatchObject({ coa: '127.0.0.2', state: 'REACHABLE' });
  });

  it('re-announces on a new location version without restarting the guest', async () => {
    const h1 = await agent(state('h1', '127.0.0.2', [], [{ id: 'a', vnet: 7, n: 10 }]));
    const g = h1.guest('a');
    const before = h1.counters.get('softudc_varp_gratuitous_sent_total');
    await h1.apply(state('h1', '127.0.0.2', ['127.0.0.3'], [{ id: 'a', vnet: 7, n: 10, version: 2 }]));
    expect(h1.counters.get('softudc_varp_gratuitous_sent_total')).toBe(before + 1);
    expect(h1.guest('a')).toBe(g);
    expect(h1.snapshot().vifs[0]).toMatchObject({ id: 'a', version: 2, status: 'up' });
  });

  it('rejects a bad state naming the field and keeps running the last good one', async () => {
    const good = state('h1', '127.0.0.2', ['127.0.0.3'], [{ id: 'a', vnet: 7, n: 10 }, { id: 'b', vnet: 7, n: 11 }]);
    const h1 = await agent(good);
    const bad = { ...good, generation: 9, vifs: [{ ...good.vifs![0]!, mac: 'zz:00:00:00:00:01' }] };
    await expect(h1.apply(bad)).rejects.toBeInstanceOf(StateError);
    await expect(h1.apply(bad)).rejects.toMatchObject({ field: 'vifs[0].mac' });
    expect(h1.snapshot()).toMatchObject({ appliedGeneration: 1 });
    expect((await emulated(h1, 'a').ping('10.7.0.11', { timeoutMs: 500 })).received).toBe(1);
  });

  it('reports a VIF whose guest cannot start and applies the rest', async () => {
    const h1 = await agent(
      state('h1', '127.0.0.2', [], [
        { id: 'a', vnet: 7, n: 10 },
        { id: 't', vnet: 7, n: 11, guest: { kind: 'tap', ifname: 'bad name!' } },
      ]),
    );
    const view = h1.snapshot();
    expect(view.vifs.find((v) => v.id === 'a')).toMatchObject({ status: 'up' });
    expect(view.vifs.find((v) => v.id === 't')).toMatchObject({ status: 'error' });
    expect(view.vifs.find((v) => v.id === 't')!.error).toMatch(/ifname/);
    const r = await h1.apply(state('h1', '127.0.0.2', [], [{ id: 'a', vnet: 7, n: 10 }]));
    expect(r.removed).toEqual(['t']);
    expect(h1.snapshot().vifs.map((v) => v.id)).toEqual(['a']);
  });

  it('takes a new VARP key on the same care-of address (the socket is handed over, not doubled)', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const h1 = await agent(state('h1', '127.0.0.2', ['127.0.0.3'], [{ id: 'a', vnet: 7, n: 10 }]));
    const h2 = await agent(state('h2', '127.0.0.3', ['127.0.0.2'], [{ id: 'e', vnet: 7, n: 20 }]));
    expect((await emulated(h1, 'a').ping('10.7.0.20', { timeoutMs: 1000 })).received).toBe(1);
    for (const [a, s] of [
      [h1, state('h1', '127.0.0.2', ['127.0.0.3'], [{ id: 'a', vnet: 7, n: 10 }], { generation: 2, varp: { key } })],
      [h2, state('h2', '127.0.0.3', ['127.0.0.2'], [{ id: 'e', vnet: 7, n: 20 }], { generation: 2, varp: { key } })],
    ] as const) {
      const r = await a.apply(s);
      expect(r.errors).toEqual([]);
    }
    expect((await emulated(h1, 'a').ping('10.7.0.20', { count: 3, timeoutMs: 1000 })).received).toBe(3);
  });

  it('rebinds to a new care-of address and peers follow the announcement', async () => {
    const h1 = await agent(state('h1', '127.0.0.2', ['127.0.0.3'], [{ id: 'a', vnet: 7, n: 10 }]));
    const h2 = await agent(state('h2', '127.0.0.3', ['127.0.0.2', '127.0.0.5'], [{ id: 'b', vnet: 7, n: 11 }]));
    const gb = emulated(h2, 'b');
    expect((await gb.ping('10.7.0.10', { timeoutMs: 1000 })).received).toBe(1);
    await h1.apply(state('h1', '127.0.0.5', ['127.0.0.3'], [{ id: 'a', vnet: 7, n: 10 }]));
    expect(h1.snapshot().underlay.address).toBe('127.0.0.5');
    // Peers follow once the announcement from the new address has arrived.
    for (let i = 0; i < 100 && h2.snapshot().varp.find((e) => e.ip === '10.7.0.10')?.coa !== '127.0.0.5'; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(h2.counters.get('softudc_varp_withdraws_received_total')).toBe(1);
    const r = await gb.ping('10.7.0.10', { count: 5, intervalMs: 20, timeoutMs: 500 });
    expect(r.received).toBe(5);
    expect(h2.snapshot().varp.find((e) => e.ip === '10.7.0.10')).toMatchObject({ coa: '127.0.0.5' });
  });

  it('an outgoing VIF another host announces with a higher version goes inactive here; an emulated guest marked incoming is active at once', async () => {
    const h1State = state('h1', '127.0.0.2', ['127.0.0.3'], [{ id: 'vm', vnet: 7, n: 10 }, { id: 'a', vnet: 7, n: 11 }]);
    const h1 = await agent(h1State);
    const h2 = await agent(state('h2', '127.0.0.3', ['127.0.0.2'], [{ id: 'e', vnet: 7, n: 20 }]));
    expect((await emulated(h2, 'e').ping('10.7.0.10', { timeoutMs: 1000 })).received).toBe(1);
    // The move starts: h1's state marks the VIF outgoing, a change that leaves its guest alone.
    const guest = emulated(h1, 'vm');
    const marked = await h1.apply({ ...h1State, generation: 2, vifs: h1State.vifs!.map((v) => (v.id === 'vm' ? { ...v, outgoing: true } : v)) });
    expect(marked).toMatchObject({ changed: ['vm'], errors: [] });
    expect(emulated(h1, 'vm')).toBe(guest);
    // The VM moves to h2 with version 2; h1's state still lists it (the move is not finished).
    const s2 = state('h2', '127.0.0.3', ['127.0.0.2'], [{ id: 'e', vnet: 7, n: 20 }, { id: 'vm', vnet: 7, n: 10, version: 2 }]);
    await h2.apply({ ...s2, generation: 2, vifs: s2.vifs!.map((v) => (v.id === 'vm' ? { ...v, incoming: true } : v)) });
    expect(h2.snapshot().vifs.find((v) => v.id === 'vm')).toMatchObject({ status: 'up' });
    expect(h2.snapshot().vifs.find((v) => v.id === 'vm')?.migration).toBeUndefined();
    for (let i = 0; i < 100 && h1.snapshot().vifs.find((v) => v.id === 'vm')?.movedTo === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    expect(h1.snapshot().vifs.find((v) => v.id === 'vm')).toMatchObject({ movedTo: 2, version: 1 });
    expect(h1.counters.get('softudc_varp_local_moved_away_total')).toBe(1);
    // h1's other VIF now reaches the VM at h2, and its old guest here gets nothing.
    const old = emulated(h1, 'vm');
    let delivered = 0;
    const deliver = old.deliver.bind(old);
    old.deliver = (f) => {
      delivered++;
      deliver(f);
    };
    expect((await emulated(h1, 'a').ping('10.7.0.10', { count: 3, timeoutMs: 1000 })).received).toBe(3);
    expect(delivered).toBe(0);
    expect(h1.snapshot().varp.find((e) => e.ip === '10.7.0.10')).toMatchObject({ coa: '127.0.0.3', version: 2 });
    // A cancel's state (no longer outgoing, the same version) does not take it back: the VM runs at h2, and
    // claiming it here too would make two hosts answer for its MAC (the console refuses such a cancel).
    await h1.apply({ ...h1State, generation: 3 });
    expect(h1.snapshot().vifs.find((v) => v.id === 'vm')).toMatchObject({ movedTo: 2, version: 1 });
    expect((await emulated(h1, 'a').ping('10.7.0.10', { count: 3, timeoutMs: 1000 })).received).toBe(3);
    expect(delivered).toBe(0);
    // Moving it back with a newer version brings it up fresh on h1.
    await h1.apply(state('h1', '127.0.0.2', ['127.0.0.3'], [{ id: 'vm', vnet: 7, n: 10, version: 3 }, { id: 'a', vnet: 7, n: 11 }], { generation: 4 }));
    expect(h1.snapshot().vifs.find((v) => v.id === 'vm')?.movedTo).toBeUndefined();
  });
});
