// A running agent process takes 200,000 random and mutated datagrams on its
// underlay port. Afterwards it must be alive, still forward and answer, and
// its counters must account for every datagram it received: handled plus
// dropped (by reason) equals what the socket got.
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIp, parseMac } from '../agent/wire/index.ts';
import { fuzzer } from './agent-fuzz.ts';
import { family, spawnAgent, tempDir, type AgentProcess } from './agent-process.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const TOTAL = 200_000;
const BATCH = 200;
/** Flow control: never more than this many datagrams ahead of what the agent has counted. */
const MAX_AHEAD = 2_000;
const SENDER = '127.0.0.9';

const RX = 'softudc_underlay_rx_datagrams_total';
const HANDLED = 'softudc_underlay_rx_handled_total';
const DROPPED = 'softudc_underlay_rx_dropped_total';

function state(host: string, address: string, peer: string, vifs: { id: string; mac: string; ip: string }[]) {
  return {
    host,
    generation: 1,
    // The fuzzing sender is a peer: admission would drop everything from a stranger before any decoder saw it.
    underlay: { address, port: PORT, multicast: null, peers: [peer, SENDER] },
    vnets: [{ id: 7, security: 'none' }],
    vifs: vifs.map((v) => ({ ...v, vnet: 7, version: 1, guest: { kind: 'emulated' } })),
  };
}

/** UDP receive-buffer overflows of the whole machine (/proc/net/snmp), to explain kernel losses. */
async function rcvbufErrors(): Promise<number | null> {
  try {
    const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf('RcvbufErrors')]);
  } catch {
    return null;
  }
}

describe('agent robustness', () => {
  let target: AgentProcess;
  let peer: AgentProcess;
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const t = await tempDir('softudc-robust-');
    cleanup = t.cleanup;
    [target, peer] = await Promise.all([
      spawnAgent(t.dir, 'target', state('target', '127.0.0.2', '127.0.0.3', [
        { id: 'a', mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24' },
        { id: 'b', mac: '02:5d:00:00:00:0b', ip: '10.7.0.11/24' },
      ])),
      spawnAgent(t.dir, 'peer', state('peer', '127.0.0.3', '127.0.0.2', [{ id: 'c', mac: '02:5d:00:00:00:0c', ip: '10.7.0.12/24' }])),
    ]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([target?.stop(), peer?.stop()]);
    await cleanup();
  });

  it('survives 200,000 hostile datagrams and accounts for each one', async () => {
    expect((await peer.ping('c', '10.7.0.10', { timeoutMs: 2000 })).received).toBe(1);
    const before = await target.metrics();
    const kernelBefore = await rcvbufErrors();

    const sock = dgram.createSocket('udp4');
    await new Promise<void>((ok) => sock.bind(0, SENDER, ok));
    const next = fuzzer({ vnet: 7, mac: parseMac('02:5d:00:00:00:0a'), ip: parseIp('10.7.0.10'), coa: parseIp(SENDER) }, 0x5eed);
    const t0 = performance.now();
    let sent = 0;
    try {
      while (sent < TOTAL) {
        await Promise.all(
          Array.from({ length: Math.min(BATCH, TOTAL - sent) }, () => {
            const buf = next();
            return new Promise<void>((ok) => sock.send(buf, PORT, '127.0.0.2', () => ok()));
          }),
        );
        sent += Math.min(BATCH, TOTAL - sent);
        if (sent % (MAX_AHEAD / 2) === 0) {
          // Wait for the agent to catch up; give up after a while (what was lost in the kernel never arrives).
          for (let i = 0; i < 50; i++) {
            const rx = (await target.metrics()).get(RX)! - before.get(RX)!;
            if (rx >= sent - MAX_AHEAD) break;
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      }
    } finally {
      sock.close();
    }
    const sendMs = performance.now() - t0;

    // Let the agent drain its socket: wait until its receive counter stops moving.
    let m = await target.metrics();
    for (let last = -1; m.get(RX) !== last; ) {
      last = m.get(RX)!;
      await new Promise((r) => setTimeout(r, 300));
      m = await target.metrics();
    }
    const kernelAfter = await rcvbufErrors();

    expect(target.child.exitCode).toBeNull();
    const rx = m.get(RX)!;
    const handled = family(m, HANDLED);
    const dropped = family(m, DROPPED);
    expect(handled + dropped).toBe(rx);
    const received = rx - before.get(RX)!;
    console.log(
      `[robustness] sent ${TOTAL} in ${(sendMs / 1000).toFixed(1)} s; agent received ${received}, ` +
        `handled ${handled - family(before, HANDLED)}, dropped ${dropped - family(before, DROPPED)}; ` +
        `machine UDP receive-buffer overflows during the run: ${kernelBefore === null ? 'n/a' : kernelAfter! - kernelBefore}`,
    );
    const reasons = [...m].filter(([k]) => k.startsWith(DROPPED)).sort((x, y) => y[1] - x[1]);
    console.log(`[robustness] drop reasons: ${reasons.map(([k, v]) => `${k.slice(DROPPED.length)}=${v}`).join(' ')}`);
    expect(received).toBeGreaterThanOrEqual(TOTAL * 0.9);
    expect(reasons.length).toBeGreaterThan(10);
    expect(m.get('softudc_underlay_rx_handler_errors_total') ?? 0).toBe(0);

    // Still forwarding and answering: locally, and across the underlay both ways.
    expect((await target.ping('a', '10.7.0.11', { count: 3, intervalMs: 10, timeoutMs: 2000 })).received).toBe(3);
    expect((await peer.ping('c', '10.7.0.10', { count: 3, intervalMs: 10, timeoutMs: 2000 })).received).toBe(3);
    expect((await target.ping('b', '10.7.0.12', { count: 3, intervalMs: 10, timeoutMs: 2000 })).received).toBe(3);
  }, 300_000);
});
