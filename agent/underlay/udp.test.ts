// Every behaviour holds for both unicast sockets: the addon's batched one and
// Node's dgram (the fallback), which must count every datagram alike.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { createLogger, silentLogger } from '../log.ts';
import { loadUdpAddon } from '../native/index.ts';
import { prerequisite } from '../../test/require.ts';
import { MAX_COUNTED_PEERS, UdpUnderlay, type Remote, type UnderlayIo } from './udp.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const open: UdpUnderlay[] = [];
const { addon, reason } = loadUdpAddon();
const haveAddon = prerequisite(addon !== null, `batched underlay I/O: ${reason}`);
let io: UnderlayIo = 'dgram';

async function underlay(address: string, peers: string[], multicast: string | null = null) {
  const counters = new Counters();
  const u = new UdpUnderlay({ address, port: PORT, multicast, peers, counters, logger: silentLogger, io });
  const got: { buf: Buffer; from: Remote }[] = [];
  u.on('message', (buf, from) => got.push({ buf, from }));
  await u.start();
  open.push(u);
  return { u, got, counters };
}

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

afterEach(async () => {
  for (const u of open.splice(0)) await u.stop();
});

describe.each(['batched', 'dgram'] as const)('UDP underlay (%s socket)', (mode) => {
  if (mode === 'batched' && !haveAddon) return;
  beforeEach(() => {
    io = mode;
  });

  it('uses the socket it was asked for', async () => {
    const a = await underlay('127.0.0.2', []);
    expect(a.u.io).toBe(mode);
  });

  it('sends unicast between COAs on the shared port and reports the source', async () => {
    const a = await underlay('127.0.0.2', ['127.0.0.3']);
    const b = await underlay('127.0.0.3', ['127.0.0.2']);
    a.u.sendTo(Buffer.from('hi'), '127.0.0.3');
    await until(() => b.got.length === 1);
    expect(b.got[0]!.from).toEqual({ address: '127.0.0.2', port: PORT });
    expect(b.counters.get('softudc_underlay_rx_datagrams_total')).toBe(1);
    expect(a.counters.get('softudc_underlay_tx_datagrams_total')).toBe(1);
    // Per remote address too: the console's tunnel rates between two hosts.
    expect(a.counters.get('softudc_underlay_peer_tx_datagrams_total{peer="127.0.0.3"}')).toBe(1);
    expect(a.counters.get('softudc_underlay_peer_tx_bytes_total{peer="127.0.0.3"}')).toBe(2);
    expect(b.counters.get('softudc_underlay_peer_rx_datagrams_total{peer="127.0.0.2"}')).toBe(1);
    expect(b.counters.get('softudc_underlay_peer_rx_bytes_total{peer="127.0.0.2"}')).toBe(2);
  });

  it('counts at most MAX_COUNTED_PEERS remote addresses one by one, the rest as peer="other"', async () => {
    const a = await underlay('127.0.0.2', []);
    const n = MAX_COUNTED_PEERS + 10;
    for (let i = 0; i < n; i++) a.u.sendTo(Buffer.from('x'), `127.77.${i >> 8}.${(i & 0xff) + 1}`);
    const perPeer = Object.keys(a.counters.snapshot()).filter((k) => k.startsWith('softudc_underlay_peer_tx_datagrams_total{'));
    expect(perPeer).toHaveLength(MAX_COUNTED_PEERS + 1);
    expect(a.counters.get('softudc_underlay_peer_tx_datagrams_total{peer="other"}')).toBe(10);
    expect(a.counters.sum('softudc_underlay_peer_tx_datagrams_total')).toBe(a.counters.get('softudc_underlay_tx_datagrams_total'));
  });

  it('floods by head-end replication to all peers, or to a vnet’s peers, never to itself', async () => {
    const a = await underlay('127.0.0.2', ['127.0.0.3', '127.0.0.4', '127.0.0.2']);
    const b = await underlay('127.0.0.3', []);
    const c = await underlay('127.0.0.4', []);
    a.u.flood(Buffer.from('all'));
    await until(() => b.got.length === 1 && c.got.length === 1);
    a.u.flood(Buffer.from('only-c'), ['127.0.0.4']);
    await until(() => c.got.length === 2);
    await new Promise((r) => setTimeout(r, 30));
    expect(b.got).toHaveLength(1);
    expect(a.got).toHaveLength(0);
    expect(a.counters.get('softudc_underlay_tx_datagrams_total')).toBe(3);
  });

  it('survives a throwing handler and bad destinations, counting both', async () => {
    const a = await underlay('127.0.0.2', []);
    const b = await underlay('127.0.0.3', []);
    b.u.on('message', () => {
      throw new Error('handler bug');
    });
    a.u.sendTo(Buffer.from('1'), '127.0.0.3');
    a.u.sendTo(Buffer.from('2'), 'not-an-address');
    a.u.sendTo(Buffer.from('3'), '127.0.0.3');
    await until(() => b.got.length === 2);
    await until(() => a.counters.get('softudc_underlay_tx_errors_total') === 1);
    expect(b.counters.get('softudc_underlay_rx_handler_errors_total')).toBe(2);
  });

  it('fails to start with the address in the message when it cannot bind', async () => {
    const u = new UdpUnderlay({ address: '192.0.2.1', port: PORT, multicast: null, peers: [], counters: new Counters(), logger: silentLogger, io });
    await expect(u.start()).rejects.toThrow(/192\.0\.2\.1/);
  });

  it('floods to the group when multicast is set, and falls back to peers when it is turned off', async () => {
    const a = await underlay('127.0.0.2', ['127.0.0.3'], '224.10.0.1');
    const b = await underlay('127.0.0.3', [], '224.10.0.1');
    expect(a.u.multicast).toBe('224.10.0.1');
    a.u.flood(Buffer.from('x'));
    expect(a.counters.get('softudc_underlay_tx_datagrams_total')).toBe(1); // one send, not one per peer
    // Group delivery needs multicast membership on loopback: checked when the kernel grants it (always under SOFTUDC_REQUIRE_ALL=1).
    if (prerequisite(a.u.joined && b.u.joined, 'multicast group delivery: this kernel refuses multicast membership on loopback')) {
      await until(() => b.got.length === 1);
      expect(b.got[0]!.from.address).toBe('127.0.0.2');
    }
    await a.u.setMulticast(null);
    await b.u.setMulticast(null);
    expect(a.u.joined).toBe(false);
    const before = b.got.length;
    a.u.flood(Buffer.from('y'));
    await until(() => b.got.length === before + 1);
    expect(b.got.at(-1)!.buf.toString()).toBe('y');
  });
});

describe('UDP underlay: choosing the socket', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const make = (extra: object = {}) => new UdpUnderlay({ address: '127.0.0.2', port: PORT, multicast: null, peers: [], counters: new Counters(), logger, ...extra });

  afterEach(() => {
    delete process.env.SOFTUDC_UNDERLAY_BATCH;
    delete process.env.SOFTUDC_UNDERLAY_GSO;
    lines.length = 0;
  });

  it('falls back to dgram with SOFTUDC_UNDERLAY_BATCH=0, and says so', async () => {
    process.env.SOFTUDC_UNDERLAY_BATCH = '0';
    const u = make();
    await u.start();
    open.push(u);
    expect(u.io).toBe('dgram');
    expect(lines.find((l) => l.msg === 'underlay socket')).toMatchObject({ io: 'dgram' });
  });

  it.skipIf(!haveAddon)('uses the addon by default, with the UDP offloads unless SOFTUDC_UNDERLAY_GSO=0', async () => {
    const u = make();
    await u.start();
    open.push(u);
    expect(u.io).toBe('batched');
    expect(lines.find((l) => l.msg === 'underlay socket')).toMatchObject({ io: 'batched', gso: u.offloads.gso, gro: u.offloads.gro });
    await u.stop();
    open.pop();
    process.env.SOFTUDC_UNDERLAY_GSO = '0';
    const plain = make();
    await plain.start();
    open.push(plain);
    expect(plain.io).toBe('batched');
    expect(plain.offloads).toEqual({ gso: false, gro: false });
  });

  it('falls back to dgram without the addon, and refuses to start when batched I/O is required', async () => {
    const u = make({ addon: null });
    await u.start();
    open.push(u);
    expect(u.io).toBe('dgram');
    expect(lines.find((l) => l.msg === 'underlay socket')).toMatchObject({ io: 'dgram', reason: 'no addon' });
    await expect(make({ addon: null, io: 'batched', port: PORT + 1 }).start()).rejects.toThrow(/batched I\/O unavailable/);
  });
});
