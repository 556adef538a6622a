// The batched underlay socket: the real addon on loopback (sendmmsg past the
// kernel's per-call limit, a refused destination inside a batch, UDP GSO and
// GRO keeping datagram boundaries), and a fake addon for what loopback cannot
// produce (a full socket buffer, GSO refusals).
// Over 300 lines, kept whole: both suites share the socket helpers and the expectations of one batched socket.
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { loadUdpAddon, UDP_STATS, type UdpAddon, type UdpReaderHandle } from '../native/index.ts';
import { prerequisite } from '../../test/require.ts';
import { parseIp } from '../wire/index.ts';
import { BatchedSocket, FLUSH_AT, GSO_REFUSALS_MAX, MAX_QUEUE } from './batched.ts';
import { UdpUnderlay, type Remote } from './udp.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const { addon, reason } = loadUdpAddon();
const haveAddon = prerequisite(addon !== null, `batched underlay I/O: ${reason}`);
const open: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const u of open.splice(0)) await u.stop();
});

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};
const turn = () => new Promise((r) => setImmediate(r));

async function underlay(address: string, opts: { offload?: boolean } = {}) {
  const counters = new Counters();
  const u = new UdpUnderlay({ address, port: PORT, multicast: null, peers: [], counters, logger: silentLogger, io: 'batched', ...opts });
  const got: { buf: Buffer; from: Remote }[] = [];
  u.on('message', (buf, from) => got.push({ buf: Buffer.from(buf), from }));
  await u.start();
  open.push(u);
  return { u, got, counters };
}

/** Whether this kernel takes UDP_SEGMENT: asked once, on a loopback socket of its own. */
async function kernelTakesGso(): Promise<boolean> {
  const u = new UdpUnderlay({ address: '127.0.0.4', port: PORT, multicast: null, peers: [], counters: new Counters(), logger: silentLogger, io: 'batched', offload: true });
  await u.start();
  const gso = u.offloads.gso;
  await u.stop();
  return gso;
}
// Without GSO the GSO tests skip with this reason; under SOFTUDC_REQUIRE_ALL=1 its absence is a failure.
const haveGso = haveAddon && prerequisite(await kernelTakesGso(), 'UDP GSO: this kernel refuses UDP_SEGMENT on a loopback socket');

/** Datagram i: its index and the receiver in 4 bytes, then filler up to `len`. */
function numbered(i: number, len: number): Buffer {
  const b = Buffer.alloc(len, i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}

describe.skipIf(!haveAddon)('batched underlay socket (native addon)', () => {
  it('sends more datagrams in one turn than one sendmmsg may carry, in order, and counts them exactly', async () => {
    const a = await underlay('127.0.0.2', { offload: false });
    const rx = await Promise.all(['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'].map((ip) => underlay(ip)));
    expect(a.u.io).toBe('batched');
    const n = 1300; // > FLUSH_AT and > 1024, the kernel's limit per sendmmsg call
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const d = numbered(i, 20 + (i % 50));
      bytes += d.length;
      a.u.sendTo(d, `127.0.0.${3 + (i % 5)}`);
    }
    // Counted when queued, as with dgram.
    expect(a.counters.get('softudc_underlay_tx_datagrams_total')).toBe(n);
    expect(a.counters.get('softudc_underlay_tx_bytes_total')).toBe(bytes);
    await until(() => rx.every((r) => r.got.length === n / 5));
    for (const [k, r] of rx.entries()) {
      expect(r.got.map((g) => g.buf.readUInt32BE(0))).toEqual(Array.from({ length: n / 5 }, (_, j) => j * 5 + k));
      expect(r.got.every((g) => g.from.address === '127.0.0.2' && g.from.port === PORT)).toBe(true);
      expect(r.counters.get('softudc_underlay_rx_datagrams_total')).toBe(n / 5);
      expect(r.counters.get('softudc_underlay_peer_rx_datagrams_total{peer="127.0.0.2"}')).toBe(n / 5);
      expect(a.counters.get(`softudc_underlay_peer_tx_datagrams_total{peer="127.0.0.${3 + k}"}`)).toBe(n / 5);
    }
    expect(a.counters.get('softudc_underlay_tx_errors_total')).toBe(0);
    const calls = a.counters.get('softudc_underlay_tx_syscalls_total');
    expect(calls).toBeGreaterThanOrEqual(Math.ceil(n / 256)); // chunks of at most 256 messages
    expect(calls).toBeLessThan(n / 10);
  });

  it('fails only the datagram to a refused destination in the middle of a batch', async () => {
    const a = await underlay('127.0.0.2');
    const b = await underlay('127.0.0.3');
    for (let i = 0; i < 10; i++) a.u.sendTo(numbered(i, 100), '127.0.0.3');
    a.u.sendTo(numbered(99, 100), '255.255.255.255'); // a broadcast without SO_BROADCAST: EACCES
    a.u.sendTo(numbered(98, 100), 'not-an-address');
    a.u.sendTo(numbered(97, 100), '127.0.0.3', 0);
    for (let i = 10; i < 20; i++) a.u.sendTo(numbered(i, 100), '127.0.0.3');
    await until(() => b.got.length === 20);
    expect(b.got.map((g) => g.buf.readUInt32BE(0))).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(a.counters.get('softudc_underlay_tx_datagrams_total')).toBe(23);
    expect(a.counters.get('softudc_underlay_tx_errors_total')).toBe(3);
  });

  it.skipIf(!haveGso)('sends a run of equal datagrams as GSO and the receiver gets them back with their boundaries', async () => {
    const a = await underlay('127.0.0.2', { offload: true });
    const b = await underlay('127.0.0.3', { offload: true });
    expect(a.u.offloads.gso).toBe(true);
    // 100 of 1424 bytes (two GSO messages: 44 fit under 64000 bytes), then a shorter last one.
    const sent = [...Array.from({ length: 100 }, (_, i) => numbered(i, 1424)), numbered(100, 700)];
    for (const d of sent) a.u.sendTo(d, '127.0.0.3');
    await until(() => b.got.length === sent.length);
    expect(b.got.map((g) => g.buf)).toEqual(sent);
    expect(a.counters.get('softudc_underlay_tx_gso_messages_total')).toBeGreaterThanOrEqual(3);
    expect(b.counters.get('softudc_underlay_rx_datagrams_total')).toBe(sent.length);
    expect(b.counters.get('softudc_underlay_rx_bytes_total')).toBe(sent.reduce((s, d) => s + d.length, 0));
    if (b.u.offloads.gro) expect(b.counters.get('softudc_underlay_rx_batches_total')).toBeLessThan(sent.length);
  });

  it.skipIf(!haveGso)('does not blame GSO for a destination that refuses every datagram, and keeps GSO on', async () => {
    const a = await underlay('127.0.0.2', { offload: true });
    const b = await underlay('127.0.0.3', { offload: true });
    expect(a.u.offloads.gso).toBe(true);
    // Runs of equal datagrams to a broadcast address (EACCES without SO_BROADCAST), turn after turn.
    for (let t = 0; t < GSO_REFUSALS_MAX + 4; t++) {
      for (let i = 0; i < 4; i++) a.u.sendTo(numbered(i, 200), '255.255.255.255');
      await turn();
    }
    expect(a.counters.get('softudc_underlay_tx_errors_total')).toBe(4 * (GSO_REFUSALS_MAX + 4));
    expect(a.counters.get('softudc_underlay_tx_gso_refused_total')).toBe(0);
    for (let i = 0; i < 8; i++) a.u.sendTo(numbered(i, 1000), '127.0.0.3');
    await until(() => b.got.length === 8);
    expect(a.counters.get('softudc_underlay_tx_gso_messages_total')).toBeGreaterThan(0);
  });

  it('refuses a handle of the wrong kind instead of reinterpreting it', async () => {
    const { loadTapAddon } = await import('../native/index.ts');
    const { fd } = addon!.udpOpen('127.0.0.2', 0, {});
    const handle = addon!.udpStartReader(fd, () => {}, () => {}, () => {});
    expect(() => loadTapAddon().stopReader(handle as never)).toThrow(/not a TAP reader handle/);
    expect(() => addon!.udpStopReader({} as UdpReaderHandle)).toThrow(/not a UDP reader handle/);
    expect(() => addon!.udpWantWritable({} as UdpReaderHandle, true)).toThrow(/not a UDP reader handle/);
    addon!.udpStopReader(handle);
    addon!.udpStopReader(handle); // stopping twice is harmless
  });

  it('refuses an address that is not exactly an IPv4 address, never a truncated one', () => {
    expect(() => addon!.udpOpen('127.0.0.1000', 0, {})).toThrow(/IPv4/);
    expect(() => addon!.udpOpen('127.100.100.1000', 0, {})).toThrow(/IPv4/);
    expect(() => addon!.udpOpen('127.0.0.1 ', 0, {})).toThrow(/IPv4/);
  });

  it('refuses a second socket on the same address and port', async () => {
    await underlay('127.0.0.2');
    const second = new UdpUnderlay({ address: '127.0.0.2', port: PORT, multicast: null, peers: [], counters: new Counters(), logger: silentLogger, io: 'batched' });
    await expect(second.start()).rejects.toThrow(/127\.0\.0\.2:\d+.*(EADDRINUSE|in use)/);
    const viaDgram = new UdpUnderlay({ address: '127.0.0.2', port: PORT, multicast: null, peers: [], counters: new Counters(), logger: silentLogger, io: 'dgram' });
    await expect(viaDgram.start()).rejects.toThrow(/EADDRINUSE/);
  });

  it('sends what was queued before stop, then lets the address go', async () => {
    const a = await underlay('127.0.0.2');
    const b = await underlay('127.0.0.3');
    for (let i = 0; i < 5; i++) a.u.sendTo(numbered(i, 64), '127.0.0.3');
    await a.u.stop(); // in the same turn: the queue has not left yet
    await until(() => b.got.length === 5);
    a.u.sendTo(numbered(9, 64), '127.0.0.3');
    expect(a.counters.get('softudc_underlay_tx_dropped_stopped_total')).toBe(1);
    const again = await underlay('127.0.0.2');
    expect(again.u.io).toBe('batched');
  });

  it('talks to a dgram socket both ways', async () => {
    const a = await underlay('127.0.0.2');
    const counters = new Counters();
    const d = new UdpUnderlay({ address: '127.0.0.3', port: PORT, multicast: null, peers: [], counters, logger: silentLogger, io: 'dgram' });
    const got: Buffer[] = [];
    d.on('message', (buf) => got.push(buf));
    await d.start();
    open.push(d);
    expect(d.io).toBe('dgram');
    a.u.sendTo(Buffer.from('to-dgram'), '127.0.0.3');
    d.sendTo(Buffer.from('to-batched'), '127.0.0.2');
    await until(() => got.length === 1 && a.got.length === 1);
    expect(got[0]!.toString()).toBe('to-dgram');
    expect(a.got[0]!.buf.toString()).toBe('to-batched');
  });
});

/** A fake addon: `accept` says how many datagrams each udpSend call takes before the socket buffer is "full". */
function fakeAddon(accept: number[]) {
  const sent: { data: Buffer; addr: number; port: number }[] = [];
  let onWritable: () => void = () => {};
  let wantWritable = false;
  const f: UdpAddon = {
    udpOpen: () => ({ fd: 99, gso: true, gro: false }),
    udpSend: (_fd, bufs, addrs, ports, count, _gso, stats) => {
      stats.fill(0);
      const take = Math.min(count, accept.length > 0 ? accept.shift()! : count);
      for (let i = 0; i < take; i++) sent.push({ data: bufs[i]!, addr: addrs[i]!, port: ports[i]! });
      stats[UDP_STATS.sent] = take;
      stats[UDP_STATS.syscalls] = 1;
      stats[UDP_STATS.blocked] = take < count ? 1 : 0;
      return take;
    },
    udpStartReader: (_fd, _onData, onW) => {
      onWritable = onW;
      return {} as UdpReaderHandle;
    },
    udpWantWritable: (_h, on) => {
      wantWritable = on;
    },
    udpStopReader: () => {},
    closeFd: () => {},
  };
  return {
    addon: f,
    sent,
    get wantWritable() {
      return wantWritable;
    },
    writable() {
      wantWritable = false;
      onWritable();
    },
  };
}

function fakeSocket(fake: ReturnType<typeof fakeAddon>) {
  const counters = new Counters();
  const failures: { count: number; code: string }[] = [];
  const s = new BatchedSocket({
    address: '127.0.0.2',
    port: PORT,
    socket: {},
    counters,
    addon: fake.addon,
    hooks: { onDatagrams: () => {}, onSendFailed: (count, code) => failures.push({ count, code }), onError: () => {} },
  });
  return { s, counters, failures };
}

describe('batched underlay socket: a full socket buffer', () => {
  it('keeps the rest of a partly sent batch and sends it, in order, when the socket is writable', async () => {
    const fake = fakeAddon([3]);
    const { s, counters, failures } = fakeSocket(fake);
    const dst = parseIp('127.0.0.3');
    for (let i = 0; i < 10; i++) s.send(numbered(i, 8), dst, 1798);
    await turn();
    expect(fake.sent).toHaveLength(3);
    expect(s.pending).toBe(7);
    expect(fake.wantWritable).toBe(true);
    expect(counters.get('softudc_underlay_tx_blocked_total')).toBe(1);
    // Sends while blocked wait behind the queue.
    s.send(numbered(10, 8), dst, 1798);
    await turn();
    expect(fake.sent).toHaveLength(3);
    fake.writable();
    expect(fake.sent.map((x) => x.data.readUInt32BE(0))).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(fake.sent.every((x) => x.addr === dst && x.port === 1798)).toBe(true);
    expect(s.pending).toBe(0);
    expect(failures).toEqual([]);
    await s.close(50);
  });

  it('keeps copies, not views into large batch buffers, of what waits for room', async () => {
    const fake = fakeAddon([0]);
    const { s } = fakeSocket(fake);
    const batch = Buffer.alloc(200_000, 7); // e.g. a TAP read batch
    const view = batch.subarray(1000, 1060);
    s.send(view, parseIp('127.0.0.3'), 1798);
    await turn();
    expect(s.pending).toBe(1);
    fake.writable();
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]!.data.equals(view)).toBe(true);
    expect(fake.sent[0]!.data.buffer.byteLength).toBeLessThan(batch.length);
    await s.close(50);
  });

  it('fails datagrams beyond the queue limit while blocked, and what is left when stop gives up', async () => {
    const fake = fakeAddon([0]);
    const { s, failures } = fakeSocket(fake);
    const dst = parseIp('127.0.0.3');
    s.send(numbered(0, 8), dst, 1798);
    await turn(); // blocked with one queued
    for (let i = 1; i < MAX_QUEUE + 5; i++) s.send(numbered(i, 8), dst, 1798);
    expect(s.pending).toBe(MAX_QUEUE);
    expect(failures).toEqual(Array.from({ length: 5 }, () => ({ count: 1, code: 'ENOBUFS' })));
    await s.close(10); // never writable again
    expect(failures.at(-1)).toEqual({ count: MAX_QUEUE, code: 'ECANCELED' });
    s.send(numbered(0, 8), dst, 1798);
    expect(failures.at(-1)).toEqual({ count: 1, code: 'EBADF' });
  });

  it('turns GSO off for a socket whose kernel keeps refusing it', async () => {
    const fake = fakeAddon([]);
    const send = fake.addon.udpSend;
    fake.addon.udpSend = (...args) => {
      const n = send(...args);
      args[6][UDP_STATS.gsoFallbacks] = 1; // refused once, then sent one by one
      return n;
    };
    const { s, counters } = fakeSocket(fake);
    expect(s.gso).toBe(true);
    for (let i = 0; i < GSO_REFUSALS_MAX; i++) {
      s.send(numbered(i, 8), parseIp('127.0.0.3'), 1798);
      await turn();
    }
    expect(counters.get('softudc_underlay_tx_gso_refused_total')).toBe(GSO_REFUSALS_MAX);
    expect(s.gso).toBe(false);
    expect(fake.sent).toHaveLength(GSO_REFUSALS_MAX);
    await s.close(0);
  });

  it('flushes at once when a turn queues FLUSH_AT datagrams', () => {
    const fake = fakeAddon([]);
    const { s } = fakeSocket(fake);
    for (let i = 0; i < FLUSH_AT; i++) s.send(numbered(i, 8), parseIp('127.0.0.3'), 1798);
    expect(fake.sent).toHaveLength(FLUSH_AT);
    void s.close(0);
  });
});
