// Sealed vnets and VARP authentication between two hosts (network namespaces
// on a veth underlay, one agent process each, kernel guests behind TAPs):
// what a capture of the underlay shows, what forged traffic gets, and a key
// rotation under a 10 ms ping.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, captureUnderlay, inject, pingCount, pingUntil, sealKey, tapVif, type FullState } from './overlay-fixture.ts';
import { FRAME_FLAG_SEALED, VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, encodeFrame, encodeVarp, parseIp, parseMac } from '../agent/wire/index.ts';

const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/bin/tcpdump') && hasCommand('/usr/bin/curl'),
  'the security test needs root, `ip netns`, the TAP addon, bin/softudc-agent.js, tcpdump and curl (bash .ci/install-deps.sh)',
);

const A = '198.18.0.1';
const B = '198.18.0.2';
/** What the guests put in their pings: it must never appear on the underlay of the conf vnet. */
const PATTERN = 'c0ffee5ec2e7d00dfeedfacecafe5ec1';
const CONF = 100;
const OPEN = 101;

describe.skipIf(!ok)('sealed vnets and VARP authentication on the wire', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let ha: string;
  let hb: string;
  let a: OverlayAgent;
  let b: OverlayAgent;
  const k1 = sealKey(1);
  const k2 = sealKey(2);
  const varpKey = randomBytes(32);
  const g = { c1: h.name('sc1'), c2: h.name('sc2'), o1: h.name('so1'), o2: h.name('so2') };
  const vc1 = tapVif('sc1/eth0', CONF, 1, g.c1);
  const vc2 = tapVif('sc2/eth0', CONF, 2, g.c2);
  const vo1 = tapVif('so1/eth0', OPEN, 1, g.o1);
  const vo2 = tapVif('so2/eth0', OPEN, 2, g.o2);

  function host(name: string, address: string, peer: string, vifs: FullState['vifs']): FullState {
    return {
      host: name,
      generation: 1,
      underlay: { address, port: 1798, multicast: null, peers: [peer] },
      vnets: [
        { id: CONF, security: 'conf', mtu: 1400, keys: [k1], sendKeyId: 1 },
        { id: OPEN, security: 'none', mtu: 1400 },
      ],
      vifs,
      varp: { key: varpKey.toString('base64') },
    };
  }

  /** Captures the underlay of host A while `during` runs. */
  const capture = (file: string, during: () => Promise<unknown>) => captureUnderlay(h, ha, file, during);

  const drops = (reason: string) => b.counter(`softudc_underlay_rx_dropped_total{reason="${reason}"}`);

  beforeAll(async () => {
    dir = await stateDir();
    ha = await h.addNs('sha');
    hb = await h.addNs('shb');
    await h.veth({ ns: ha, ifname: 'u0', cidr: `${A}/24` }, { ns: hb, ifname: 'u0', cidr: `${B}/24` });
    for (const ns of Object.values(g)) h.track(ns);
    a = new OverlayAgent(h, ha, `${dir.dir}/a.json`, host('ha', A, B, [vc1, vo1]));
    b = new OverlayAgent(h, hb, `${dir.dir}/b.json`, host('hb', B, A, [vc2, vo2]));
    await Promise.all([a.start(), b.start()]);
    expect(await pingUntil(h, g.c1, '10.100.0.2')).toBe(true);
    expect(await pingUntil(h, g.o1, '10.101.0.2')).toBe(true);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  it('a capture of the conf vnet shows no guest payload in clear (the open vnet does)', async () => {
    const pattern = Buffer.from(PATTERN, 'hex');
    const sealed = await capture(`${dir.dir}/conf.pcap`, () => pingCount(h, g.c1, '10.100.0.2', ['-c', '10', '-i', '0.05', '-p', PATTERN]));
    const frames = sealed.filter((p) => p.length > 10 && p.readUInt16BE(0) === 2 && p.readUInt32BE(6) === CONF);
    console.log(`conf capture: ${sealed.length} datagrams, ${frames.length} FRAMEs of vnet ${CONF}, all sealed: ${frames.every((f) => f.readUInt16BE(2) & FRAME_FLAG_SEALED)}`);
    expect(frames.length).toBeGreaterThanOrEqual(20);
    expect(frames.every((f) => (f.readUInt16BE(2) & FRAME_FLAG_SEALED) !== 0)).toBe(true);
    expect(sealed.some((p) => p.includes(pattern.subarray(0, 8)))).toBe(false);
    // The same capture on the open vnet finds the payload: the method would see it.
    const open = await capture(`${dir.dir}/open.pcap`, () => pingCount(h, g.o1, '10.101.0.2', ['-c', '5', '-i', '0.05', '-p', PATTERN]));
    expect(open.some((p) => p.includes(pattern))).toBe(true);
  });

  it('drops and counts tampered, replayed, unsealed and unknown-key frames, and sealed ones on an open vnet', async () => {
    const caught = await capture(`${dir.dir}/replay.pcap`, () => pingCount(h, g.c1, '10.100.0.2', ['-c', '3', '-i', '0.05']));
    const original = caught.find((p) => p.length > 10 && p.readUInt16BE(0) === 2 && p.readUInt32BE(6) === CONF && p.readUInt32BE(10) === 1 && Number(p.readBigUInt64BE(14) >> 32n) === parseIp(A));
    expect(original).toBeDefined();
    const sealedFrame = original!;
    // A changed copy of a frame B already took would be refused as a replay
    // before its tag is even checked: give it an unused sequence, so only the tag can catch it.
    const tampered = Buffer.from(sealedFrame);
    tampered.writeBigUInt64BE(tampered.readBigUInt64BE(14) + 100_000n, 14);
    tampered[40] = tampered[40]! ^ 0x20;
    const unknownKey = Buffer.from(sealedFrame);
    unknownKey.writeUInt32BE(77, 10);
    const onOpenVnet = Buffer.from(sealedFrame);
    onOpenVnet.writeUInt32BE(OPEN, 6);
    const eth = Buffer.alloc(60);
    Buffer.from(vc2.mac.replace(/:/g, '') + vc1.mac.replace(/:/g, ''), 'hex').copy(eth, 0);
    eth.writeUInt16BE(0x0800, 12);
    const unsealed = encodeFrame({ vnet: CONF, ethernet: eth });
    const before = {
      replay: (await drops('frame_seal_replay')) + (await drops('frame_seal_too_old')),
      tag: await drops('frame_seal_bad_tag'),
      key: await drops('frame_seal_unknown_key'),
      unsealed: await drops('frame_unsealed_on_secure_vnet'),
      open: await drops('frame_sealed_on_open_vnet'),
    };
    await inject(h, ha, A, B, [sealedFrame, tampered, unknownKey, unsealed, onOpenVnet]);
    await new Promise((r) => setTimeout(r, 200));
    const after = {
      replay: (await drops('frame_seal_replay')) + (await drops('frame_seal_too_old')),
      tag: await drops('frame_seal_bad_tag'),
      key: await drops('frame_seal_unknown_key'),
      unsealed: await drops('frame_unsealed_on_secure_vnet'),
      open: await drops('frame_sealed_on_open_vnet'),
    };
    console.log('drops on hb:', JSON.stringify({ before, after }));
    expect(after).toEqual({ replay: before.replay + 1, tag: before.tag + 1, key: before.key + 1, unsealed: before.unsealed + 1, open: before.open + 1 });
    // The vnet still works.
    expect((await pingCount(h, g.c1, '10.100.0.2', ['-c', '3', '-i', '0.05', '-W', '1'])).received).toBe(3);
  });

  it('rotates keys under a 10 ms ping without losing a packet', async () => {
    const sealDrops = async () => (await drops('frame_seal_unknown_key')) + (await drops('frame_seal_bad_tag')) + (await drops('frame_seal_replay'));
    const dropsBefore = await sealDrops();
    const ping = pingCount(h, g.c1, '10.100.0.2', ['-c', '500', '-i', '0.01', '-W', '1']);
    const step = async (keys: unknown[], sendKeyId: number) => {
      await new Promise((r) => setTimeout(r, 600));
      await Promise.all(
        [a, b].map((x) => x.update((s) => ({ ...s, vnets: s.vnets.map((v) => (v.id === CONF ? { ...v, keys, sendKeyId } : v)) }))),
      );
    };
    // The console's schedule: distribute the new key, then send with it, then retire the old one.
    await step([k1, k2], 1);
    await step([k1, k2], 2);
    await step([k2], 2);
    const r = await ping;
    const dropped = (await sealDrops()) - dropsBefore;
    console.log(`key rotation (add key 2, send with it, retire key 1) under a 10 ms ping: ${r.received}/${r.sent} received, ${dropped} sealed frames dropped by hb`);
    expect(dropped).toBe(0);
    expect(r.sent).toBe(500);
    expect(r.received).toBe(500);
    // Key 1 is gone on both sides: a frame sealed with it is now an unknown key.
    const caught = await capture(`${dir.dir}/k2.pcap`, () => pingCount(h, g.c1, '10.100.0.2', ['-c', '2', '-i', '0.05']));
    const frames = caught.filter((p) => p.length > 14 && p.readUInt16BE(0) === 2 && p.readUInt32BE(6) === CONF);
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.readUInt32BE(10) === 2)).toBe(true);
  });

  it('a forged VARP ANNOUNCE for a guest MAC does not move the cache entry', async () => {
    const victim = vc2.mac;
    expect(await a.entry(victim)).toMatchObject({ coa: B, state: 'REACHABLE' });
    const forged = (key?: Buffer) =>
      encodeVarp(
        { opcode: VARP_ANNOUNCE, vnet: CONF, mac: parseMac(victim), flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, ip: parseIp('10.100.0.2'), coa: parseIp('198.18.0.66'), nonce: 0, version: 99 },
        key,
      );
    const wrongHmac = forged(randomBytes(32));
    const unsigned = forged();
    // A trailer computed over other bytes: right key, wrong message.
    const spliced = Buffer.concat([unsigned, createHmac('sha256', varpKey).update(Buffer.alloc(32)).digest().subarray(0, 16)]);
    spliced[14] = spliced[14]! | 2;
    const before = await a.counter('softudc_underlay_rx_dropped_total{reason="varp_bad_auth"}');
    await inject(h, hb, B, A, [unsigned, wrongHmac, spliced]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await a.counter('softudc_underlay_rx_dropped_total{reason="varp_bad_auth"}')).toBe(before + 3);
    expect(await a.entry(victim)).toMatchObject({ coa: B });
    expect((await pingCount(h, g.c1, '10.100.0.2', ['-c', '3', '-i', '0.05', '-W', '1'])).received).toBe(3);
  });
});
