// VARP authentication between real agents on loopback: a forged ANNOUNCE
// for a victim's MAC must not move the victim's cache entry. The attacker's
// address is admitted (a host of the deployment without the key): what stops
// it here is the HMAC, not underlay admission.
import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { Agent } from '../daemon/agent.ts';
import { silentLogger } from '../log.ts';
import { EmulatedGuest } from '../guests/index.ts';
import type { AgentStateInput } from '../state.ts';
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, VARP_REQUEST, decodeVarp, encodeVarp, parseIp, parseMac } from '../wire/index.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const H1 = '127.32.0.1';
const H2 = '127.32.0.2';
const ATTACKER = '127.32.0.66';
const VICTIM_MAC = '02:5d:00:00:07:02';
const running: Agent[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
  for (const s of sockets.splice(0)) s.close();
});

function state(host: string, address: string, peer: string, n: number, key: string | undefined): AgentStateInput {
  return {
    host,
    generation: 1,
    underlay: { address, port: PORT, multicast: null, peers: [peer, ATTACKER] },
    vnets: [{ id: 7, security: 'none' }],
    vifs: [{ id: `g${n}`, vnet: 7, mac: `02:5d:00:00:07:0${n}`, ip: `10.7.0.${n}/24`, version: 1, guest: { kind: 'emulated' } }],
    ...(key ? { varp: { key } } : {}),
  };
}

async function pair(key: string | undefined) {
  const h1 = new Agent({ state: state('h1', H1, H2, 1, key), logger: silentLogger });
  const h2 = new Agent({ state: state('h2', H2, H1, 2, key), logger: silentLogger });
  running.push(h1, h2);
  await h1.start();
  await h2.start();
  const g = h1.guest('g1') as EmulatedGuest;
  expect((await g.ping('10.7.0.2', { timeoutMs: 1000 })).received).toBe(1);
  return { h1, h2 };
}

async function attacker(): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, ATTACKER, () => r()));
  return s;
}

/** A GRATUITOUS ANNOUNCE claiming the victim's MAC now lives at the attacker. */
function forged(version: number, key?: Buffer): Buffer {
  return encodeVarp(
    { opcode: VARP_ANNOUNCE, vnet: 7, mac: parseMac(VICTIM_MAC), flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, ip: parseIp('10.7.0.2'), coa: parseIp(ATTACKER), nonce: 0, version },
    key,
  );
}

async function send(s: Socket, buf: Buffer): Promise<void> {
  await new Promise<void>((r) => s.send(buf, PORT, H1, () => r()));
  await new Promise((r) => setTimeout(r, 50));
}

const victim = (a: Agent) => a.snapshot().varp.find((e) => e.mac === VICTIM_MAC);

describe('VARP authentication', () => {
  it('with a deployment key, a forged ANNOUNCE without or with a wrong HMAC is dropped, counted, and moves nothing', async () => {
    const key = randomBytes(32);
    const { h1 } = await pair(key.toString('base64'));
    expect(victim(h1)).toMatchObject({ coa: H2, state: 'REACHABLE' });
    const s = await attacker();
    await send(s, forged(9)); // no trailer at all
    await send(s, forged(9, randomBytes(32))); // a trailer made with another key
    const truncated = forged(9, key).subarray(0, 40); // a real trailer, cut
    await send(s, truncated);
    expect(victim(h1)).toMatchObject({ coa: H2, version: 1 });
    expect(h1.counters.get('softudc_underlay_rx_dropped_total{reason="varp_bad_auth"}')).toBe(2);
    expect(h1.counters.get('softudc_underlay_rx_dropped_total{reason="varp_bad_length"}')).toBe(1);
    // Control: the same message signed with the deployment key is believed once the
    // announced COA answers h1's verifying REQUEST with its fresh nonce (the key is what stops the forgery).
    const asked = new Promise<Buffer>((r) => s.once('message', (m) => r(m)));
    await send(s, forged(9, key));
    const req = decodeVarp(await asked, key);
    expect(req).toMatchObject({ opcode: VARP_REQUEST, mac: parseMac(VICTIM_MAC), coa: parseIp(H1) });
    const answer = encodeVarp(
      { opcode: VARP_ANNOUNCE, vnet: 7, mac: parseMac(VICTIM_MAC), flags: VARP_FLAG_HAS_IP, ip: parseIp('10.7.0.2'), coa: parseIp(ATTACKER), nonce: req.nonce, version: 9 },
      key,
    );
    await send(s, answer);
    expect(victim(h1)).toMatchObject({ coa: ATTACKER, version: 9 });
  });

  it('without a key, an ANNOUNCE with a lower location version does not move the entry', async () => {
    const { h1 } = await pair(undefined);
    const s = await attacker();
    await send(s, forged(0));
    expect(victim(h1)).toMatchObject({ coa: H2, version: 1 });
    expect(h1.counters.get('softudc_varp_messages_ignored_total{reason="stale_version"}')).toBe(1);
    await send(s, forged(2)); // a newer version is a migration and is followed
    expect(victim(h1)).toMatchObject({ coa: ATTACKER, version: 2 });
  });

  it('accepts the key as base64 or hex, and refuses a short one naming the field', async () => {
    const { parseState } = await import('../state.ts');
    const hex = randomBytes(16).toString('hex');
    expect(parseState(state('h', H1, H2, 1, hex)).varp?.key).toBe(hex);
    expect(parseState(state('h', H1, H2, 1, randomBytes(16).toString('base64'))).varp?.key).toBeTruthy();
    expect(() => parseState(state('h', H1, H2, 1, randomBytes(8).toString('base64')))).toThrow(/varp\.key/);
    expect(() => parseState(state('h', H1, H2, 1, 'not base64!'))).toThrow(/varp\.key/);
  });
});
