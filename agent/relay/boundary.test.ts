// No handler on the underlay path throws past its boundary: a datagram whose
// handling fails is a counted drop (`handler_error`) with a bug report in the
// log, and the proxy's sweep keeps running. First the datagram that used to
// kill a relay in proxy mode, through a real socket; then failures injected
// into the relay, the proxy sweep and the dispatcher.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../daemon/agent.ts';
import { Counters } from '../metrics.ts';
import { createLogger, silentLogger } from '../log.ts';
import { Dispatcher } from '../daemon/dispatch.ts';
import { Switch } from '../switch/index.ts';
import { Varp } from '../varp/index.ts';
import {
  ETHERTYPE_IPV4,
  FRAME_HEADER_LEN,
  FRAME_VNET_OFFSET,
  RELAY_INITIAL_HOPS,
  VARP_ANNOUNCE,
  VARP_FLAG_GRATUITOUS,
  encodeEthernet,
  encodeFrame,
  encodeRelay,
  encodeVarp,
  parseIp,
} from '../wire/index.ts';
import { Relay } from './relay.ts';
import type { RelayIo, RelaySettings } from './types.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const DROPPED = 'softudc_underlay_rx_dropped_total';
const HANDLED = 'softudc_underlay_rx_handled_total';
const HANDLER_ERROR = `${DROPPED}{reason="handler_error"}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const running: { stop(): unknown }[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
});

/** A unicast FRAME of 24 bytes (header and an Ethernet header) on `vnet`, which may be 0 or 1. */
function frameOn(vnet: number, dst = 0x025d_0000_07ff): Buffer {
  const f = encodeFrame({ vnet: 7, ethernet: encodeEthernet({ dst, src: 0x025d_0000_0701, ethertype: ETHERTYPE_IPV4, payload: Buffer.alloc(0) }) });
  f.writeUInt32BE(vnet, FRAME_VNET_OFFSET);
  return f;
}

function logCapture() {
  const lines: { level: string; msg: string; where?: string; heldBack?: number }[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }) };
}

function relayWith(io: Partial<RelayIo>, settings: Partial<RelaySettings> = {}) {
  const counters = new Counters();
  const { lines, logger } = logCapture();
  const full: RelayIo = {
    sendTo: () => {},
    floodLan: () => {},
    handleVarp: () => {},
    handleFrame: () => null,
    local: () => undefined,
    localByIp: () => undefined,
    carries: () => true,
    frameDestination: (d) => d.readUIntBE(FRAME_HEADER_LEN, 6),
    ...io,
  };
  const relay = new Relay(full, counters, logger);
  relay.configure({
    peers: [parseIp('198.18.9.2')],
    proxy: false,
    ownCoa: parseIp('198.18.9.1'),
    port: 1798,
    key: undefined,
    lifetimeMs: 30_000,
    requestCount: 3,
    requestIntervalMs: 20,
    queueLimit: 16,
    ...settings,
  });
  running.push(relay);
  return { relay, counters, lines };
}

describe('handler errors on the underlay path', () => {
  it('a FRAME on vnet 0 or 1 with a unicast destination is a counted drop at a proxy relay, which stays up', async () => {
    const agent = new Agent({
      logger: silentLogger,
      state: {
        host: 'r',
        generation: 1,
        underlay: { address: '127.31.5.2', port: PORT, multicast: null, peers: ['127.31.5.1', '127.31.5.9'] }, // the sender is admitted: the frame must reach the handlers
        vnets: [{ id: 7, security: 'none' }],
        vifs: [],
        relay: { enabled: true, peers: ['127.31.6.2'], proxy: true },
      },
    });
    running.push(agent);
    await agent.start();
    const sock = createSocket('udp4');
    await new Promise<void>((ok) => sock.bind(0, '127.31.5.9', ok));
    try {
      for (let i = 0; i < 20; i++) await new Promise<void>((ok) => sock.send(frameOn(i % 2), PORT, '127.31.5.2', () => ok()));
    } finally {
      sock.close();
    }
    const c = agent.counters;
    for (let i = 0; i < 100 && c.get('softudc_underlay_rx_datagrams_total') < 20; i++) await sleep(10);
    await sleep(700); // the proxy's sweep runs every 250 ms: it must find nothing to choke on
    expect(c.get(`${DROPPED}{reason="frame_bad_vnet"}`)).toBe(20);
    expect(c.get(HANDLER_ERROR)).toBe(0);
    expect(c.get('softudc_underlay_rx_handler_errors_total')).toBe(0);
    expect(c.get('softudc_relay_proxy_requests_sent_total')).toBe(0);
    expect(c.sum(HANDLED) + c.sum(DROPPED)).toBe(c.get('softudc_underlay_rx_datagrams_total'));
    expect(agent.snapshot().host).toBe('r');
  });

  it('the relay counts a throwing handler as one handler_error drop and reports it once per interval', () => {
    const { relay, counters, lines } = relayWith({
      handleVarp: () => {
        throw new Error('injected fault');
      },
    });
    const inner = encodeVarp({ opcode: VARP_ANNOUNCE, vnet: 7, mac: 0x025d_0000_0702, flags: VARP_FLAG_GRATUITOUS, ip: 0, coa: parseIp('198.18.9.5'), nonce: 0, version: 1 });
    const relayed = encodeRelay({ hops: RELAY_INITIAL_HOPS, origin: parseIp('198.18.9.5'), inner });
    for (let i = 0; i < 100; i++) expect(relay.intercept(relayed, { address: parseIp('198.18.9.2'), port: 1798 })).toBe(true);
    expect(counters.get(HANDLER_ERROR)).toBe(100);
    expect(counters.sum(HANDLED)).toBe(0);
    const bugs = lines.filter((l) => l.level === 'error' && l.msg.startsWith('bug'));
    expect(bugs).toHaveLength(1);
    expect(bugs[0]).toMatchObject({ where: 'relay handler' });
  });

  it('the proxy sweep survives a failing retry: that request is dropped and counted, the sweep goes on', async () => {
    let floods = 0;
    const { relay, counters, lines } = relayWith(
      {
        floodLan: () => {
          if (++floods > 1) throw new Error('injected fault');
        },
      },
      { proxy: true },
    );
    // A unicast frame to an unknown destination: queued while the proxy resolves it (first REQUEST goes out).
    expect(relay.intercept(frameOn(7), { address: parseIp('198.18.9.7'), port: 1798 })).toBe(true);
    expect(counters.get('softudc_relay_proxy_frames_queued_total')).toBe(1);
    for (let i = 0; i < 100 && counters.get('softudc_relay_proxy_sweep_errors_total') === 0; i++) await sleep(20);
    expect(counters.get('softudc_relay_proxy_sweep_errors_total')).toBe(1);
    expect(counters.get('softudc_relay_proxy_frames_dropped_total{reason="handler_error"}')).toBe(1);
    expect(lines.some((l) => l.where === 'proxy request retry')).toBe(true);
    // It carries on: the next sweeps run and find nothing more to fail on.
    await sleep(300);
    expect(counters.get('softudc_relay_proxy_sweep_errors_total')).toBe(1);
  });

  it('the dispatcher drops a datagram whose handler throws as handler_error and goes on', async () => {
    const counters = new Counters();
    const { lines, logger } = logCapture();
    const varp = new Varp({ ownCoa: parseIp('127.0.0.2'), port: 1798, sendFlood: () => {}, sendTo: () => {}, resolved: () => {}, unresolved: () => {} }, counters);
    varp.start();
    varp.handle = () => {
      throw new Error('injected fault');
    };
    const sw = new Switch({ varp, sendTo: () => {}, flood: () => {} }, counters);
    const d = new Dispatcher(counters, logger);
    const target = { varp, sw, varpKey: undefined, ownAddress: '127.0.0.2', ownPort: 1798 };
    const msg = encodeVarp({ opcode: VARP_ANNOUNCE, vnet: 7, mac: 0x025d_0000_0702, flags: VARP_FLAG_GRATUITOUS, ip: 0, coa: parseIp('127.0.0.9'), nonce: 0, version: 1 });
    for (let i = 0; i < 10; i++) d.handle(target, msg, { address: '127.0.0.9', port: 1798 });
    varp.stop();
    expect(counters.get(HANDLER_ERROR)).toBe(10);
    expect(counters.sum(HANDLED) + counters.sum(DROPPED)).toBe(10);
    expect(lines.filter((l) => l.msg.startsWith('bug'))).toHaveLength(1);
  });
});
