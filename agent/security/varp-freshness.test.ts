// VARP freshness with the deployment key (wire.md "VARP freshness"), between
// real agents on loopback: a valid GRATUITOUS ANNOUNCE captured on the
// underlay and replayed after its VIF migrated (and the entry that pointed
// there expired) must not point anyone back at the old host.
import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { Agent } from '../daemon/agent.ts';
import { silentLogger } from '../log.ts';
import { EmulatedGuest } from '../guests/index.ts';
import type { AgentStateInput } from '../state.ts';
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, decodeVarp, parseMac } from '../wire/index.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const H1 = '127.35.0.1';
const H2 = '127.35.0.2';
const H3 = '127.35.0.3';
/** Listens on the underlay: what any host on the path can capture. */
const TAP = '127.35.0.9';
const X_MAC = '02:5d:00:00:07:02';
const KEY = randomBytes(32).toString('base64');
const VARP = { key: KEY, lifetimeMs: 3500, requestIntervalMs: 200, requestCount: 3, failedHoldMs: 100 };
const running: Agent[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
  for (const s of sockets.splice(0)) s.close();
});

const X = { id: 'x', vnet: 7, mac: X_MAC, ip: '10.7.0.2/24', guest: { kind: 'emulated' as const } };

function state(host: string, address: string, vifs: AgentStateInput['vifs'], generation = 1): AgentStateInput {
  const peers = [H1, H2, H3, TAP].filter((p) => p !== address);
  return { host, generation, underlay: { address, port: PORT, multicast: null, peers }, vnets: [{ id: 7, security: 'none' }], vifs, varp: VARP };
}

async function agent(s: AgentStateInput): Promise<Agent> {
  const a = new Agent({ state: s, logger: silentLogger });
  running.push(a);
  await a.start();
  return a;
}

async function socket(address: string, port: number): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(port, address, () => r()));
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const entry = (a: Agent) => a.snapshot().varp.find((e) => e.mac === X_MAC);

async function pings(g: EmulatedGuest, n: number): Promise<number> {
  let received = 0;
  for (let i = 0; i < n; i++) received += (await g.ping('10.7.0.2', { timeoutMs: 800 })).received;
  return received;
}

describe('VARP freshness with a key', () => {
  it('a captured ANNOUNCE replayed after the VIF moved and the entry expired points nobody at the old host', async () => {
    const tap = await socket(TAP, PORT);
    const captured: Buffer[] = [];
    tap.on('message', (m) => {
      if (m.length < 32 || m.readUInt16BE(0) !== 1) return;
      const v = decodeVarp(m, Buffer.from(KEY, 'base64'));
      if (v.opcode === VARP_ANNOUNCE && v.flags & VARP_FLAG_GRATUITOUS && v.mac === parseMac(X_MAC)) captured.push(Buffer.from(m));
    });
    const h1 = await agent(state('h1', H1, [{ id: 'g1', vnet: 7, mac: '02:5d:00:00:07:01', ip: '10.7.0.1/24', version: 1, guest: { kind: 'emulated' } }]));
    const h2 = await agent(state('h2', H2, [{ ...X, version: 1 }]));
    const h3 = await agent(state('h3', H3, []));
    for (let i = 0; i < 50 && captured.length === 0; i++) await sleep(20);
    expect(captured.length).toBeGreaterThan(0);
    const old = captured[0]!; // X at h2, version 1, signed with the deployment key
    const g1 = h1.guest('g1') as EmulatedGuest;
    expect(await pings(g1, 1)).toBe(1);
    expect(entry(h1)).toMatchObject({ coa: H2, version: 1 });

    // X migrates to h3 (version 2).
    await h3.apply(state('h3', H3, [{ ...X, version: 2 }], 2));
    await h2.apply(state('h2', H2, [], 2));
    await sleep(100);
    expect(await pings(g1, 1)).toBe(1);
    expect(entry(h1)).toMatchObject({ coa: H3, version: 2 });

    // While the entry is cached, the replay is older than what h1 knows.
    const spoof = await socket(H2, 0); // an underlay attacker forging the old host's source address
    await new Promise<void>((r) => spoof.send(old, PORT, H1, () => r()));
    await sleep(100);
    expect(entry(h1)).toMatchObject({ coa: H3, version: 2 });

    // The entry expires (no traffic), then the same bytes come again.
    const expired = () => h1.counters.get('softudc_varp_entries_expired_total');
    for (let i = 0; i < 200 && expired() === 0; i++) await sleep(50); // forgotten by the sweep, not only hidden
    expect(entry(h1)).toBeUndefined();
    await new Promise<void>((r) => spoof.send(old, PORT, H1, () => r()));
    await sleep(100);
    expect(entry(h1)?.coa).not.toBe(H2);
    expect(await pings(g1, 3)).toBe(3);
    expect(entry(h1)).toMatchObject({ coa: H3, version: 2 });
  });
});
