// TAP guests against real kernels: namespace guests wired back to back in
// userspace (no agent) must ping each other; the VM shape must pass frames
// to and from a process attached to the TAP like a hypervisor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { isRoot, prerequisite } from '../../test/require.ts';
import { NetnsHarness, netnsWorks } from '../../test/netns/harness.ts';
import { tapAddonAvailable, loadTapAddon } from '../native/index.ts';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { createTapGuest, tapIfname } from './tap.ts';
import { isIfname } from '../../contract/fields.ts';
import { readLink, netnsExists } from './netns.ts';
import type { GuestPort, VifSpec } from './types.ts';

const ok = prerequisite(isRoot && netnsWorks() && tapAddonAvailable(), 'TAP guest tests need root, `ip netns` and the built TAP addon (node scripts/build-native.mjs)');

function vif(id: string, mac: string, ip: string, guest: Record<string, unknown>): VifSpec {
  return { id, vnet: 100, mac, ip, version: 1, guest: { kind: 'tap', ...guest } } as VifSpec;
}

/**
 * `count` TCP segments (IPv4, ACK) of one flow toward g2, each carrying
 * `mss` bytes, consecutive sequence numbers; checksums are not needed for
 * this path (a merged frame's checksum is left to the offload header).
 */
function tcpRun(count: number, mss: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const f = Buffer.alloc(14 + 20 + 20 + mss);
    Buffer.from('025d00000002025d00000001', 'hex').copy(f, 0);
    f.writeUInt16BE(0x0800, 12);
    f[14] = 0x45;
    f.writeUInt16BE(20 + 20 + mss, 16);
    f.writeUInt16BE(0x4000, 20); // DF
    f[22] = 64;
    f[23] = 6;
    Buffer.from([10, 77, 0, 1, 10, 77, 0, 22]).copy(f, 26);
    f.writeUInt16BE(40000, 34);
    f.writeUInt16BE(9, 36); // discard: nobody listens, the kernel answers RST
    f.writeUInt32BE((1000 + i * mss) >>> 0, 38);
    f.writeUInt32BE(1, 42);
    f[46] = 0x50;
    f[47] = 0x10; // ACK
    f.writeUInt16BE(65535, 48);
    out.push(f);
  }
  return out;
}

describe('tapIfname', () => {
  it('derives valid, distinct names of at most 15 characters', () => {
    const ids = ['web-1/eth0', 'web-1-eth0', 'a', 'a very long VIF identifier/eth12', 'αβγ', 'x'.repeat(40), 'x'.repeat(41)];
    const names = ids.map(tapIfname);
    for (const n of names) expect(isIfname(n), n).toBe(true);
    expect(new Set(names).size).toBe(ids.length);
    expect(tapIfname('web-1/eth0')).toBe(tapIfname('web-1/eth0'));
  });
});

describe.skipIf(!ok)('TAP guests in network namespaces', () => {
  const h = new NetnsHarness();
  const counters = new Counters();
  const ctx = { logger: silentLogger, counters, mtu: 1400 };
  let g1: GuestPort;
  let g2: GuestPort;
  let ns1: string;
  let ns2: string;

  beforeAll(async () => {
    ns1 = h.name('tg1');
    ns2 = await h.addNs('tg2'); // exists before: the guest must leave it in place
    h.track(ns1);
    g1 = createTapGuest(vif('t/1', '02:5d:00:00:00:01', '10.77.0.1/24', { netns: ns1, ifname: 'eth0' }), ctx);
    g2 = createTapGuest(vif('t/2', '02:5d:00:00:00:02', '10.77.0.2/24', { netns: ns2 }), ctx);
    // A wire in userspace: every frame one guest sends is delivered to the other.
    g1.onFrame = (f) => g2.deliver(f);
    g2.onFrame = (f) => g1.deliver(f);
    await g1.start();
    await g2.start();
  });

  afterAll(async () => {
    await g1?.stop().catch(() => {});
    await g2?.stop().catch(() => {});
    await h.cleanup();
  });

  it('configures MAC, address, MTU and link state inside the namespace', async () => {
    const l1 = await readLink('eth0', ns1);
    expect(l1).toMatchObject({ mac: '02:5d:00:00:00:01', mtu: 1400, up: true, cidrs: ['10.77.0.1/24'] });
    const l2 = await readLink(tapIfname('t/2'), ns2);
    expect(l2).toMatchObject({ mac: '02:5d:00:00:00:02', cidrs: ['10.77.0.2/24'] });
    expect((await readLink('lo', ns1)).up).toBe(true);
    // What /v1/state and the console's host page show for the VIF.
    expect(g1.device).toEqual({ ifname: 'eth0', netns: ns1 });
    expect(g2.device).toEqual({ ifname: tapIfname('t/2'), netns: ns2 });
  });

  it('carries the kernel ping between the two namespaces', async () => {
    const out = await h.mustExec(ns1, 'ping', ['-n', '-c', '3', '-i', '0.2', '-W', '2', '10.77.0.2']);
    expect(out).toMatch(/3 packets transmitted, 3 received/);
    expect(counters.get('softudc_tap_rx_frames_total')).toBeGreaterThan(0);
    expect(counters.get('softudc_tap_tx_frames_total')).toBeGreaterThan(0);
  });

  it('changes the address in place on update()', async () => {
    await g2.update!(vif('t/2', '02:5d:00:00:00:02', '10.77.0.22/24', { netns: ns2 }));
    expect((await readLink(tapIfname('t/2'), ns2)).cidrs).toEqual(['10.77.0.22/24']);
    const out = await h.mustExec(ns1, 'ping', ['-n', '-c', '2', '-i', '0.2', '-W', '2', '10.77.0.22']);
    expect(out).toMatch(/2 received/);
  });

  it('rejects bad guest fields with the field named', () => {
    expect(() => createTapGuest(vif('t/3', '02:5d:00:00:00:03', '10.77.0.3/24', { ifname: 'bad/name' }), ctx)).toThrow(/guest\.ifname/);
    expect(() => createTapGuest(vif('t/3', '02:5d:00:00:00:03', '10.77.0.3/24', { netns: '../etc' }), ctx)).toThrow(/guest\.netns/);
  });

  it('hands a run of TCP segments of one flow to the guest kernel as one frame', async () => {
    const ifname = tapIfname('t/2');
    const rxPackets = async () => {
      const j = JSON.parse(await h.mustExec(ns2, 'ip', ['-s', '-j', 'link', 'show', ifname])) as Array<{ stats64: { rx: { packets: number } } }>;
      return j[0]!.stats64.rx.packets;
    };
    // Cut the wire meanwhile: only the frames delivered here reach g2.
    const [on1, on2] = [g1.onFrame, g2.onFrame];
    g1.onFrame = () => {};
    g2.onFrame = () => {};
    await new Promise((r) => setTimeout(r, 50));
    const before = await rxPackets();
    const segs = tcpRun(32, 1000);
    for (const f of segs) g2.deliver(f);
    await new Promise((r) => setTimeout(r, 100));
    const merged = (await rxPackets()) - before;
    // A PSH in the middle ends the first run there.
    const pushed = tcpRun(8, 500);
    pushed[3]![14 + 20 + 13] = 0x18;
    for (const f of pushed) g2.deliver(f);
    await new Promise((r) => setTimeout(r, 100));
    const split = (await rxPackets()) - before - merged;
    g1.onFrame = on1;
    g2.onFrame = on2;
    expect({ merged, split }).toEqual({ merged: 1, split: 2 });
  });

  it('survives random and mutated frames toward the guest', async () => {
    const rnd = (n: number) => Math.floor(Math.random() * n);
    // Cut the wire meanwhile, so the counters see only the frames sent here.
    const [on1, on2] = [g1.onFrame, g2.onFrame];
    g1.onFrame = () => {};
    g2.onFrame = () => {};
    const before = counters.get('softudc_tap_tx_frames_total') + counters.get('softudc_tap_tx_drops_total');
    let delivered = 0;
    for (let round = 0; round < 400; round++) {
      const run = tcpRun(1 + rnd(40), 1 + rnd(1400));
      for (const f of run) {
        const m = Buffer.from(f.subarray(0, rnd(3) === 0 ? rnd(f.length + 1) : f.length));
        for (let k = rnd(4); k > 0 && m.length > 0; k--) m[rnd(m.length)] = rnd(256);
        g2.deliver(m);
        delivered++;
      }
      if (round % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 200));
    const after = counters.get('softudc_tap_tx_frames_total') + counters.get('softudc_tap_tx_drops_total');
    g1.onFrame = on1;
    g2.onFrame = on2;
    expect(after - before).toBe(delivered); // every frame sent or counted as dropped
    const out = await h.mustExec(ns1, 'ping', ['-n', '-c', '2', '-i', '0.2', '-W', '2', '10.77.0.22']);
    expect(out).toMatch(/2 received/);
  });

  it('removes the namespace it created on stop, and keeps one it found', async () => {
    await g1.stop();
    await g2.stop();
    expect(await netnsExists(ns1)).toBe(false);
    expect(await netnsExists(ns2)).toBe(true);
    // the TAP itself went with its descriptor
    expect((await h.exec(ns2, 'ip', ['link', 'show', tapIfname('t/2')])).code).not.toBe(0);
  });

  it('reports addon errors as errno codes, never crashes', () => {
    const addon = loadTapAddon();
    expect(() => addon.write(1 << 20, Buffer.alloc(60))).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => addon.openPacket('sdt-no-such-if')).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() => addon.write(-1, Buffer.alloc(60))).toThrow(/fd must be/);
    expect(() => (addon.writeBatch as (...a: unknown[]) => number)(0, "x")).toThrow(/array of Buffers/);
  });

  it('passes frames between the agent and an attached hypervisor (VM shape)', async () => {
    const ns = await h.addNs('vm');
    const script = fileURLToPath(new URL('../../test/netns/vm-attach.ts', import.meta.url));
    const out = await h.mustExec(ns, process.execPath, ['--import', 'tsx', script, 'sdvm0'], { timeoutMs: 60_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.hostSide).toMatchObject({ mtu: 1400, up: true, cidrs: [] });
    expect(r.secondAttach).toBe('EBUSY');
    expect(r.fromVm).toBe(1);
    expect(r.toVm).toBe(1);
    // The host kernel moves a received frame's VLAN tag out of the packet; the agent puts it back.
    expect(r.taggedIntact).toEqual([true, true]);
    expect(r.loopedBack).toBe(0);
    expect(r.drops).toBe(1);
    expect(r.existsAfterStop).toBe(false);
  });

  it('completes a VM\'s partial checksums and cuts its TCPv4 and TCPv6 GSO frames (hypervisor with vnet_hdr=on)', async () => {
    const ns = await h.addNs('vmoff');
    const script = fileURLToPath(new URL('../../test/netns/vm-offload.ts', import.meta.url));
    const out = await h.mustExec(ns, process.execPath, ['--import', 'tsx', script, 'sdvm0'], { timeoutMs: 60_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.tso4).toEqual({ seqs: [1000, 2000, 3000], lengths: [1054, 1054, 1054], checksumsOk: true });
    expect(r.tso6).toEqual({ seqs: [5000, 6000, 7000], lengths: [1074, 1074, 574], checksumsOk: true });
    expect(r.csum).toEqual({ seqs: [9000], lengths: [554], checksumsOk: true });
    expect(r.malformed).toBe(0);
    // A burst from the VM, read in batches: the two UDP GSO frames the packet socket refuses are
    // counted, the reader survives them, and every other frame arrives in order, tags put back.
    expect(r.burstIn).toEqual({ received: 150, inOrderAndIntact: true, refused: 2 });
    // A burst to the VM (sendmmsg batches, TCP runs as GSO messages): every frame arrives, in order, none dropped.
    expect(r.batch).toEqual({ tcpSeqs: Array.from({ length: 80 }, (_, k) => 100000 + k * 1000), others: 20, sent: 100, drops: 0 });
  });
});
