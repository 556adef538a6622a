// Three agent processes on 127.0.0.2-4 (no root, no multicast: head-end
// replication to peers), emulated guests on two vnets that share one address
// plan, so that any leak between vnets would answer. Pings cross hosts and
// never vnets; VARP entries name the right care-of addresses; a VIF moved
// between hosts by rewriting their state files carries traffic again, and the
// time that takes is measured and printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, tempDir, type AgentProcess } from './agent-process.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const HOSTS = { h1: '127.0.0.2', h2: '127.0.0.3', h3: '127.0.0.4' } as const;
type Host = keyof typeof HOSTS;
const V = 7; // vnet "a"
const W = 8; // vnet "b"

interface Vif {
  id: string;
  vnet: number;
  mac: string;
  ip: string;
  version: number;
}
const vif = (id: string, vnet: number, n: number, ip: string, version = 1): Vif => ({
  id,
  vnet,
  mac: `02:5d:00:00:${vnet.toString(16).padStart(2, '0')}:${n.toString(16).padStart(2, '0')}`,
  ip: `${ip}/24`,
  version,
});

// vnet 8 reuses vnet 7's address plan: b3 has a2's address.
const A1 = vif('a1/eth0', V, 1, '10.50.0.1');
const A2 = vif('a2/eth0', V, 2, '10.50.0.2');
const A3 = vif('a3/eth0', V, 3, '10.50.0.3');
const B1 = vif('b1/eth0', W, 11, '10.50.0.11');
const B2 = vif('b2/eth0', W, 12, '10.50.0.12');
const B3 = vif('b3/eth0', W, 13, '10.50.0.2');

function stateOf(host: Host, vifs: Vif[], generation = 1) {
  const address = HOSTS[host];
  return {
    host,
    generation,
    underlay: { address, port: PORT, multicast: null, peers: Object.values(HOSTS).filter((a) => a !== address) },
    vnets: [
      { id: V, security: 'none' },
      { id: W, security: 'none' },
    ],
    vifs: vifs.map((v) => ({ ...v, guest: { kind: 'emulated' } })),
  };
}

/** On a failure, what each agent knew: its VARP cache and its drop counters. */
async function dump(agents: Record<string, AgentProcess>, what: string): Promise<void> {
  console.log(`[diagnostics] ${what}`);
  for (const [name, a] of Object.entries(agents)) {
    const s = await a.state();
    const drops = Object.entries(s.counters).filter(([k]) => /dropped|drops|failed|ignored|errors/.test(k));
    console.log(name, JSON.stringify(s.varp), JSON.stringify(Object.fromEntries(drops)));
  }
}

const ip = (v: Vif) => v.ip.split('/')[0]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('three agents on loopback', () => {
  const agents = {} as Record<Host, AgentProcess>;
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const t = await tempDir('softudc-loopback-');
    cleanup = t.cleanup;
    const [h1, h2, h3] = await Promise.all([
      spawnAgent(t.dir, 'h1', stateOf('h1', [A1, B1])),
      spawnAgent(t.dir, 'h2', stateOf('h2', [A2, B2])),
      spawnAgent(t.dir, 'h3', stateOf('h3', [A3, B3])),
    ]);
    Object.assign(agents, { h1, h2, h3 });
  }, 90_000);

  afterAll(async () => {
    const codes = await Promise.all(Object.values(agents).map((a) => a.stop()));
    await cleanup();
    expect(codes.every((c) => c === 0)).toBe(true); // SIGTERM stops cleanly
  });

  it('pings across hosts within a vnet', async () => {
    const pairs: [Host, Vif, Vif][] = [
      ['h1', A1, A2],
      ['h1', A1, A3],
      ['h2', A2, A3],
      ['h3', A3, A1],
      ['h1', B1, B2],
      ['h1', B1, B3],
      ['h2', B2, B3],
    ];
    for (const [host, from, to] of pairs) {
      const r = await agents[host].ping(from.id, ip(to), { count: 3, intervalMs: 20, timeoutMs: 2000 });
      if (r.received !== 3) await dump(agents, `${from.id} -> ${to.id}: ${JSON.stringify(r)}`);
      expect(r.received, `${from.id} -> ${to.id}`).toBe(3);
    }
  });

  it('never lets a ping cross vnets, on one host or across hosts', async () => {
    const pairs: [Host, Vif, string][] = [
      ['h1', A1, ip(B2)], // vnet 7 to an address that exists on vnet 8 only, remote
      ['h1', A1, ip(B1)], // the same, on the same host
      ['h3', A3, ip(B1)],
      ['h1', B1, ip(A1)], // vnet 8 to vnet 7, same host
      ['h2', B2, ip(A3)],
    ];
    const results = await Promise.all(pairs.map(([h, from, to]) => agents[h].ping(from.id, to, { count: 2, intervalMs: 50, timeoutMs: 300 })));
    for (const r of results) expect(r.received).toBe(0);
    // 10.50.0.2 exists on both vnets: each vnet reaches its own VIF, on its own host.
    for (const from of [A1, B1]) {
      const r = await agents.h1.ping(from.id, '10.50.0.2', { count: 2, intervalMs: 20, timeoutMs: 2000 });
      if (r.received !== 2) await dump(agents, `${from.id} -> 10.50.0.2: ${JSON.stringify(r)}`);
      expect(r.received, `${from.id} -> 10.50.0.2`).toBe(2);
    }
    const varp = (await agents.h1.state()).varp;
    expect(varp.find((e) => e.vnet === V && e.ip === '10.50.0.2')).toMatchObject({ mac: A2.mac, coa: HOSTS.h2 });
    expect(varp.find((e) => e.vnet === W && e.ip === '10.50.0.2')).toMatchObject({ mac: B3.mac, coa: HOSTS.h3 });
  });

  it('shows VARP entries with the care-of address of the host each VIF lives on', async () => {
    const home = new Map<string, string>();
    for (const [v, h] of [[A1, 'h1'], [A2, 'h2'], [A3, 'h3'], [B1, 'h1'], [B2, 'h2'], [B3, 'h3']] as const) home.set(`${v.vnet}/${v.mac}`, HOSTS[h]);
    for (const host of Object.keys(HOSTS) as Host[]) {
      const s = await agents[host].state();
      expect(s).toMatchObject({ host, appliedGeneration: 1, underlay: { address: HOSTS[host], port: PORT } });
      const reachable = s.varp.filter((e) => e.state === 'REACHABLE');
      expect(reachable.length).toBeGreaterThan(0);
      for (const e of reachable) expect(e.coa, `${host} ${e.vnet}/${e.mac}`).toBe(home.get(`${e.vnet}/${e.mac}`));
      expect(s.vifs.every((v) => v.status === 'up' && v.guest === 'emulated')).toBe(true);
    }
  });

  it('resumes traffic to a VIF moved to another host, measuring the interruption', async () => {
    expect((await agents.h1.ping(A1.id, ip(A2), { timeoutMs: 1000 })).received).toBe(1);
    // Steady traffic across the move: one echo every 5 ms.
    const steady = agents.h1.ping(A1.id, ip(A2), { count: 300, intervalMs: 5, timeoutMs: 200 });
    await sleep(200);

    const moved = { ...A2, version: 2 };
    await Promise.all([agents.h3.writeState(stateOf('h3', [A3, B3, moved], 2)), agents.h2.writeState(stateOf('h2', [B2], 2))]);
    let appliedAt = 0;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const v = (await agents.h3.state()).vifs.find((x) => x.id === A2.id);
      if (v?.version === 2 && v.status === 'up') {
        appliedAt = performance.now();
        break;
      }
      await sleep(2);
    }
    expect(appliedAt, 'h3 applied the new state').toBeGreaterThan(0);
    let resumedAt = 0;
    for (const deadline = appliedAt + 10_000; performance.now() < deadline; ) {
      const r = await agents.h1.ping(A1.id, ip(A2), { timeoutMs: 50 });
      if (r.received === 1) {
        resumedAt = performance.now();
        break;
      }
    }
    expect(resumedAt, 'traffic resumed').toBeGreaterThan(0);
    const s = await steady;
    const lost = s.rttsMs.filter((x) => x === null).length;
    console.log(
      `[migration] ping resumed ${(resumedAt - appliedAt).toFixed(1)} ms after the new state was applied (target 100 ms); ` +
        `steady 5 ms ping lost ${lost} of ${s.sent} (≈${lost * 5} ms interruption)`,
    );
    const h1 = await agents.h1.state();
    expect(h1.varp.find((e) => e.vnet === V && e.mac === A2.mac)).toMatchObject({ coa: HOSTS.h3, version: 2, state: 'REACHABLE' });
    expect((await agents.h2.state()).vifs.map((v) => v.id)).toEqual([B2.id]);
    expect((await agents.h2.state()).appliedGeneration).toBe(2);
    // The moved VIF is still isolated from vnet 8 and reachable from everywhere on vnet 7.
    expect((await agents.h2.ping(B2.id, ip(A3), { timeoutMs: 300 })).received).toBe(0);
    expect((await agents.h3.ping(A3.id, ip(A2), { timeoutMs: 1000 })).received).toBe(1);
  });
});
