// Underlay admission (wire.md "Admission") between real agents on loopback:
// FRAMEs and VARP from an address the desired state does not name reach no
// guest and get no answer, each counted as `not_admitted`; the same sender
// listed as a peer is heard. And an ANNOUNCE goes to the REQUEST's UDP source,
// never to a third party written in the REQUEST.
import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { Agent } from '../daemon/agent.ts';
import { silentLogger } from '../log.ts';
import type { AgentStateInput } from '../state.ts';
import {
  ETHERTYPE_IPV4, ICMP_ECHO_REQUEST, IPPROTO_ICMP, KIND_VARP, VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_REQUEST, decodeVarp, encodeEthernet, encodeFrame, encodeIcmp,
  encodeIpv4, encodeVarp, parseIp, parseMac,
} from '../wire/index.ts';
import { admittedAddresses } from './admission.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const H1 = '127.34.0.1';
const H2 = '127.34.0.2';
const STRANGER = '127.34.0.66';
const THIRD = '127.34.0.77';
const G1_MAC = '02:5d:00:00:07:01';
const running: Agent[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
  for (const s of sockets.splice(0)) s.close();
});

function state(peers: string[], generation = 1): AgentStateInput {
  return {
    host: 'h1',
    generation,
    underlay: { address: H1, port: PORT, multicast: null, peers },
    vnets: [{ id: 7, security: 'none' }],
    vifs: [{ id: 'g1', vnet: 7, mac: G1_MAC, ip: '10.7.0.1/24', version: 1, guest: { kind: 'emulated' } }],
  };
}

async function socket(address: string, port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(port, address, () => r()));
  return s;
}

/** An ICMP echo request to g1, as a FRAME on vnet 7. */
function echo(seq: number): Buffer {
  const icmp = encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id: 1, seq, payload: Buffer.alloc(8) });
  const ip = encodeIpv4({ protocol: IPPROTO_ICMP, src: parseIp('10.7.0.50'), dst: parseIp('10.7.0.1'), payload: icmp });
  return encodeFrame({ vnet: 7, ethernet: encodeEthernet({ dst: parseMac(G1_MAC), src: 0x025d00000750, ethertype: ETHERTYPE_IPV4, payload: ip }) });
}

const request = (coa: string) =>
  encodeVarp({ opcode: VARP_REQUEST, vnet: 7, mac: parseMac(G1_MAC), flags: 0, ip: 0, coa: parseIp(coa), nonce: 0x1234, version: 0 });

async function sendAll(s: Socket, bufs: Buffer[]): Promise<void> {
  for (const b of bufs) await new Promise<void>((r) => s.send(b, PORT, H1, () => r()));
  await new Promise((r) => setTimeout(r, 200));
}

function collect(s: Socket): Buffer[] {
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  return got;
}

describe('underlay admission', () => {
  it('the admitted set is every COA the state names', () => {
    const set = admittedAddresses({
      underlay: { address: H1, port: PORT, multicast: '224.10.0.1', peers: [H2], members: ['127.34.0.3'] },
      vnets: [{ id: 7, security: 'none', peers: ['127.34.0.4'] }],
      relay: { enabled: true, peers: ['127.34.0.5'], proxy: false },
    });
    expect([...set].sort()).toEqual([H1, H2, '127.34.0.3', '127.34.0.4', '127.34.0.5']);
  });

  it('0 of 500 FRAMEs from a non-peer reach the guest, its REQUEST gets no answer, its ANNOUNCE teaches nothing; as a peer it is heard', async () => {
    const h1 = new Agent({ state: state([H2]), logger: silentLogger });
    running.push(h1);
    await h1.start();
    const s = await socket(STRANGER);
    const answers = collect(s);
    const c = h1.counters;
    const rx0 = c.get('softudc_emulated_rx_frames_total');

    // Without a VARP key: a gratuitous ANNOUNCE with the highest version would pin a MAC to the stranger for good.
    const hijack = encodeVarp({
      opcode: VARP_ANNOUNCE, vnet: 7, mac: 0x025d00000702, flags: VARP_FLAG_GRATUITOUS, ip: 0, coa: parseIp(STRANGER), nonce: 0, version: 0xffffffff,
    });
    await sendAll(s, [...Array.from({ length: 500 }, (_, i) => echo(i)), request(STRANGER), hijack]);
    expect(c.get('softudc_emulated_rx_frames_total') - rx0).toBe(0);
    expect(c.get('softudc_underlay_rx_dropped_total{reason="not_admitted"}')).toBe(502);
    expect(h1.snapshot().varp).toEqual([]);
    expect(answers.filter((m) => m.readUInt16BE(0) === KIND_VARP)).toHaveLength(0);
    expect(c.sum('softudc_underlay_rx_handled_total') + c.sum('softudc_underlay_rx_dropped_total')).toBe(c.get('softudc_underlay_rx_datagrams_total'));

    // Control: the same sender, once a peer, is heard (admission is what stopped it).
    await h1.apply(state([H2, STRANGER], 2));
    await sendAll(s, [...Array.from({ length: 20 }, (_, i) => echo(i)), request(STRANGER)]);
    expect(c.get('softudc_emulated_rx_frames_total') - rx0).toBe(20);
    expect(c.get('softudc_underlay_rx_dropped_total{reason="not_admitted"}')).toBe(502);
    expect(answers.map((m) => decodeVarp(m)).filter((m) => m.opcode === VARP_ANNOUNCE && m.nonce === 0x1234)).toHaveLength(1);
  });

  it('an ANNOUNCE answers the UDP source of a REQUEST, not a third party written in it', async () => {
    const h1 = new Agent({ state: state([H2]), logger: silentLogger });
    running.push(h1);
    await h1.start();
    const third = await socket(THIRD, PORT); // a host that asked nothing, listening on the underlay port
    const thirdGot = collect(third);
    const peer = await socket(H2); // an admitted peer, from another port
    const peerGot = collect(peer);
    await sendAll(peer, [request(THIRD)]);
    expect(thirdGot).toHaveLength(0);
    const answers = peerGot.map((m) => decodeVarp(m)).filter((m) => m.opcode === VARP_ANNOUNCE);
    expect(answers).toEqual([expect.objectContaining({ nonce: 0x1234, coa: parseIp(H1), mac: parseMac(G1_MAC) })]);
  });
});
