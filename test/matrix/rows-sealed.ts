// Rows: sealed `auth` and `conf` vnets, a key rotation through the API, and
// VARP authentication with the deployment's key. Captures are taken on host
// h1's underlay link; tags and trailers are checked with the keys the
// console keeps in its database (the API never returns them).
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { waitFor } from '../managed-agent.ts';
import { captureUnderlay, continuousPing, inject } from '../overlay-fixture.ts';
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, encodeFrame, encodeVarp, parseIp, parseMac } from '../../agent/wire/index.ts';
import { GUEST_IFNAME, MatrixFarm, type Guest } from './farm.ts';
import { once, row } from './row.ts';
import { ping, reaches, tcpdumpLines } from './traffic.ts';
import { isFrameOf, isSealed, isVarp, keyIdOf, openSealed, sealedPayload, sequenceOf, varpSignedWith, type SealKeyMaterial } from './wire-check.ts';
import type { MatrixWorld } from './world.ts';

/** What the guests put in their pings: a capture of a conf vnet must never show it. */
const MARKER = 'c0ffee5ec2e7d00dfeedfacecafe5ec1';
const marker = Buffer.from(MARKER, 'hex').subarray(0, 8);
const rxDropped = (reason: string) => `softudc_underlay_rx_dropped_total{reason="${reason}"}`;

export function sealedRows(world: () => MatrixWorld) {
  const setup = once(async () => {
    const w = world();
    const f = await MatrixFarm.create(w, 'sealed');
    const auth = await f.vnet('auth', '10.51.0.0/24', { security: 'auth' });
    const conf = await f.vnet('conf', '10.52.0.0/24', { security: 'conf' });
    const vms = [
      await f.vm('sa1', 'h1', auth, '10.51.0.1'),
      await f.vm('sa2', 'h2', auth, '10.51.0.2'),
      await f.vm('sc1', 'h1', conf, '10.52.0.1'),
      await f.vm('sc2', 'h2', conf, '10.52.0.2'),
    ];
    await f.deploy();
    const [a1, a2, c1, c2] = (await Promise.all(vms.map((vm) => f.boot(vm)))) as [Guest, Guest, Guest, Guest];
    expect(await reaches(w.h, a1, a2.ip), w.agentLogs()).toBe(true);
    expect(await reaches(w.h, c1, c2.ip), w.agentLogs()).toBe(true);
    const keys = async (vnetId: string): Promise<SealKeyMaterial[]> =>
      (await w.t.prisma.vnetKey.findMany({ where: { vnetId }, select: { keyId: true, key: true, salt: true } })).map((k) => ({
        keyId: Number(k.keyId), key: Buffer.from(k.key), salt: Buffer.from(k.salt),
      }));
    let n = 0;
    /** Underlay payloads on h1 while `during` runs. */
    const capture = (during: () => Promise<unknown>) => captureUnderlay(w.h, w.hosts.h1.ns, w.file(`sealed-${n++}.pcap`), during);
    const h2Counter = (name: string) => w.hosts.h2.agent.counter(name);
    return { w, f, auth, conf, a1, a2, c1, c2, keys, capture, h2Counter };
  });

  const auth = () =>
    row('sealed auth vnet', async (note) => {
      const { w, auth, a1, a2, keys, capture, h2Counter } = await setup();
      const seen = await capture(() => ping(w.h, a1, a2.ip, 20, 0.05, ['-p', MARKER]));
      const frames = seen.filter(isFrameOf(auth.vnid));
      const ring = await keys(auth.id);
      const verified = frames.filter((p) => {
        const k = ring.find((x) => x.keyId === keyIdOf(p));
        return isSealed(p) && k !== undefined && openSealed(p, 'auth', k) !== null;
      });
      const clear = frames.filter((p) => sealedPayload(p).includes(marker)).length;

      // Forgeries from h1's address: a sealed frame of a1's with a byte of the
      // ping changed (and an unused sequence, so only the tag can catch it),
      // and the same guest frame unsealed.
      const original = frames.find((p) => Number(sequenceOf(p) >> 32n) === parseIp(w.hosts.h1.address) && sealedPayload(p).includes(marker))!;
      expect(original, 'a sealed frame from h1 in the capture').toBeDefined();
      const tampered = Buffer.from(original);
      tampered.writeBigUInt64BE(sequenceOf(original) + 100_000n, 14);
      tampered[tampered.length - 20] = tampered[tampered.length - 20]! ^ 0x01;
      const unsigned = encodeFrame({ vnet: auth.vnid, ethernet: Buffer.from(sealedPayload(original)) });
      const before = { tag: await h2Counter(rxDropped('frame_seal_bad_tag')), unsealed: await h2Counter(rxDropped('frame_unsealed_on_secure_vnet')) };
      const delivered = await tcpdumpLines(w.h, a2.ns, GUEST_IFNAME, ['icmp'], async () => {
        await inject(w.h, w.hosts.h1.ns, w.hosts.h1.address, w.hosts.h2.address, [tampered, unsigned]);
        await new Promise((r) => setTimeout(r, 300));
      });
      const after = { tag: await h2Counter(rxDropped('frame_seal_bad_tag')), unsealed: await h2Counter(rxDropped('frame_unsealed_on_secure_vnet')) };
      note(
        `auth vnet: ${verified.length} of ${frames.length} underlay FRAMEs of vnet ${auth.vnid} sealed with a tag that verifies under the console's key ` +
          `(guest frame in clear in ${clear}, as wire.md specifies for auth); injected on the underlay, a tampered frame and an unsigned one: ` +
          `${delivered.length} reached the guest, h2 counted bad tag +${after.tag - before.tag}, unsealed +${after.unsealed - before.unsealed}`,
      );
      expect(frames.length).toBeGreaterThanOrEqual(40);
      expect(verified.length).toBe(frames.length);
      expect(clear).toBeGreaterThanOrEqual(40);
      expect(delivered).toEqual([]);
      expect(after).toEqual({ tag: before.tag + 1, unsealed: before.unsealed + 1 });
      expect((await ping(w.h, a1, a2.ip, 3)).received).toBe(3);
    });

  const conf = () =>
    row('sealed conf vnet', async (note) => {
      const { w, conf, a1, a2, c1, c2, keys, capture } = await setup();
      let sent = { sent: 0, received: 0 };
      const seen = await capture(async () => (sent = await ping(w.h, c1, c2.ip, 100, 0.02, ['-p', MARKER])));
      const frames = seen.filter(isFrameOf(conf.vnid));
      const inClear = seen.filter((p) => p.includes(marker)).length;
      const ring = await keys(conf.id);
      // Decrypted with the console's key, the frames are the guests' pings.
      const opened = frames.map((p) => ring.find((k) => k.keyId === keyIdOf(p))).map((k, i) => (k ? openSealed(frames[i]!, 'conf', k) : null));
      const pings = opened.filter((e) => e?.includes(marker)).length;
      // The same probe on the auth vnet finds the marker: it would see it.
      const control = (await capture(() => ping(w.h, a1, a2.ip, 5, 0.05, ['-p', MARKER]))).filter((p) => p.includes(marker)).length;
      note(
        `conf vnet: ${inClear} of ${seen.length} underlay datagrams carry the guest payload in clear ` +
          `(${sent.received}/${sent.sent} pings with it answered; ${frames.filter(isSealed).length} of ${frames.length} FRAMEs sealed; decrypted with the console's key, ${pings} are the guests' pings; the same probe finds it in ${control} of the auth vnet's)`,
      );
      expect(sent.received).toBeGreaterThanOrEqual(95);
      expect(frames.length).toBeGreaterThanOrEqual(2 * sent.received - 2);
      expect(frames.every(isSealed)).toBe(true);
      expect(inClear).toBe(0);
      expect(pings).toBeGreaterThanOrEqual(2 * sent.received - 2);
      expect(control).toBeGreaterThanOrEqual(10);
    });

  const rotation = () =>
    row('key rotation', async (note) => {
      const { w, conf, c1, c2, capture, h2Counter } = await setup();
      const sealDrops = async () =>
        (await h2Counter(rxDropped('frame_seal_unknown_key'))) + (await h2Counter(rxDropped('frame_seal_bad_tag'))) + (await h2Counter(rxDropped('frame_seal_replay')));
      const dropsBefore = await sealDrops();
      const pinging = continuousPing(w.h, c1.ns, c2.ip, 10);
      await new Promise((r) => setTimeout(r, 500));
      const started = Date.now();
      const rotation = await w.api.vnet.rotateKey.mutate({ id: conf.id });
      // The console takes the steps (add everywhere, send with it, retire the old key) and audits each.
      let steps: string[] = [];
      await waitFor(async () => {
        const log = await w.admin.audit.list.query({ action: 'vnet.keyRotationStep', limit: 50 });
        steps = log.items.flatMap((e) => {
          const after = (e.after ?? {}) as Record<string, number[]>;
          return (['activated', 'retired'] as const).filter((s) => after[s]?.includes(conf.vnid));
        });
        return steps.includes('retired');
      }, `the rotation of vnet ${conf.vnid} to finish`, 90_000, 500);
      const tookS = (Date.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 1500));
      const run = await pinging.stop();
      const dropped = (await sealDrops()) - dropsBefore;
      const after = (await capture(() => ping(w.h, c1, c2.ip, 5, 0.05))).filter(isFrameOf(conf.vnid));
      const keyIds = [...new Set(after.map(keyIdOf))];
      note(
        `key rotation: vnet.rotateKey → key ${rotation.keyId}, added, sending and old key retired in ${tookS.toFixed(1)} s; ` +
          `10 ms ping through it: ${run.received} answered, ${run.lost} lost; ${dropped} sealed frames dropped by h2; underlay now uses key ${keyIds.join(', ')}`,
      );
      expect(run.received).toBeGreaterThan(300);
      expect(run.lost).toBe(0);
      expect(dropped).toBe(0);
      expect(keyIds).toEqual([rotation.keyId]);
    });

  const varp = () =>
    row('VARP authentication', async (note) => {
      const { w, capture } = await setup();
      // A vnet without sealing: its guests' MACs are learnt through VARP only (sealed frames teach them too).
      const f = await MatrixFarm.create(w, 'varp');
      const open = await f.vnet('open', '10.56.0.0/24');
      const w1 = await f.vm('v1', 'h1', open, '10.56.0.1');
      const w2 = await f.vm('v2', 'h2', open, '10.56.0.2');
      // From the deploy to the first ping between them (the VIFs' announcements,
      // any resolution), h1's underlay: every VARP message is signed with the deployment's key.
      let g: Guest[] = [];
      const seen = await capture(async () => {
        await f.deploy();
        g = await Promise.all([f.boot(w1), f.boot(w2)]);
        expect(await reaches(w.h, g[0]!, g[1]!.ip)).toBe(true);
      });
      const [g1, g2] = g as [Guest, Guest];
      const varp = seen.filter(isVarp);
      const varpKey = async () => {
        const secret = await w.t.prisma.deploymentSecret.findUnique({ where: { name: 'varp' }, select: { value: true } });
        expect(secret, 'the deployment has a VARP key').not.toBeNull();
        return Buffer.from(secret!.value);
      };
      const key = await varpKey();
      const signed = varp.filter((p) => varpSignedWith(p, key)).length;

      // An unsigned ANNOUNCE, and one signed with another key, claiming g2 moved to a forged address.
      const forged = (k?: Buffer) =>
        encodeVarp(
          { opcode: VARP_ANNOUNCE, vnet: open.vnid, mac: parseMac(g2.mac), flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, ip: parseIp(g2.ip), coa: parseIp('198.18.1.66'), nonce: 0, version: 99 },
          k,
        );
      const h1 = w.hosts.h1.agent;
      const badAuth = 'softudc_underlay_rx_dropped_total{reason="varp_bad_auth"}';
      const before = await h1.counter(badAuth);
      await inject(w.h, w.hosts.h2.ns, w.hosts.h2.address, w.hosts.h1.address, [forged(), forged(randomBytes(32))]);
      await new Promise((r) => setTimeout(r, 300));
      const counted = (await h1.counter(badAuth)) - before;
      const entry = await h1.entry(g2.mac, open.vnid);
      const still = await ping(w.h, g1, g2.ip, 5);

      // deployment.rotateVarpKey: once every host applied it, a new guest's announcements and resolution carry the new key.
      await w.admin.deployment.rotateVarpKey.mutate();
      await w.settled('the new VARP key');
      const rotated = await varpKey();
      const w3 = await f.vm('v3', 'h3', open, '10.56.0.3');
      const afterRotation = (
        await capture(async () => {
          await f.deploy();
          expect(await reaches(w.h, g1, (await f.boot(w3)).ip)).toBe(true);
        })
      ).filter(isVarp);
      const signedNew = afterRotation.filter((p) => varpSignedWith(p, rotated)).length;
      note(
        `VARP authentication: ${signed} of ${varp.length} VARP messages on h1's underlay carry an HMAC that verifies under the deployment's key; ` +
          `a forged unsigned ANNOUNCE and one signed with another key, injected on the underlay: ${counted} dropped and counted (varp_bad_auth), ` +
          `h1 still maps the guest to ${entry?.coa}, ping ${still.received}/${still.sent}; ` +
          `after deployment.rotateVarpKey ${signedNew} of ${afterRotation.length} verify under the new key, a new guest reached`,
      );
      expect(rotated.equals(key)).toBe(false);
      expect(afterRotation.length).toBeGreaterThan(0);
      expect(signedNew).toBe(afterRotation.length);
      expect(varp.length).toBeGreaterThan(0);
      expect(signed).toBe(varp.length);
      expect(counted).toBe(2);
      expect(entry).toMatchObject({ coa: w.hosts.h2.address });
      expect(still.received).toBe(5);
    });
  return { auth, conf, rotation, varp };
}
