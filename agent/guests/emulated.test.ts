import { describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { parseState, type VifSpec } from '../state.ts';
import { BROADCAST_MAC, ETHERTYPE_IPV4, encodeEthernet, parseIp, parseMac } from '../wire/index.ts';
import { EmulatedGuest } from './emulated.ts';
import { ProbeError } from './probe.ts';

function vif(id: string, mac: string, ip: string, extra: Partial<VifSpec> = {}): VifSpec {
  const s = parseState({
    host: 'h',
    underlay: { address: '127.0.0.2' },
    vnets: [{ id: 7 }],
    vifs: [{ id, vnet: 7, mac, ip, version: 1, guest: { kind: 'emulated' }, ...extra }],
  });
  return s.vifs[0]!;
}

/** Two guests on a wire; `drop` decides per frame whether the wire loses it. */
async function pair(drop: (frame: Buffer) => boolean = () => false) {
  const counters = new Counters();
  const ctx = { logger: silentLogger, counters };
  const a = new EmulatedGuest(vif('a', '02:00:00:00:00:0a', '10.1.0.10/24'), ctx);
  const b = new EmulatedGuest(vif('b', '02:00:00:00:00:0b', '10.1.0.11/24'), ctx);
  const wire = (to: EmulatedGuest) => (f: Buffer) => {
    if (!drop(f)) setImmediate(() => to.deliver(f));
  };
  a.onFrame = wire(b);
  b.onFrame = wire(a);
  await a.start();
  await b.start();
  return { a, b, counters };
}

describe('emulated guest', () => {
  it('resolves by ARP and answers ping', async () => {
    const { a, counters } = await pair();
    const r = await a.ping('10.1.0.11', { count: 3, intervalMs: 5, timeoutMs: 3000 });
    expect(r).toMatchObject({ sent: 3, received: 3, lossPct: 0 });
    expect(r.rttsMs.every((x) => x !== null && x >= 0)).toBe(true);
    // One resolution before the first echo (a slow machine may retry it once;
    // every request is answered), none after: the cache serves the rest.
    const requests = counters.get('softudc_emulated_arp_requests_total');
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(2);
    expect(counters.get('softudc_emulated_arp_replies_total')).toBe(requests);
    expect(counters.get('softudc_emulated_icmp_echo_replies_total')).toBe(3);
  });

  it('reports loss for an address nobody answers, within the timeout', async () => {
    const { a } = await pair();
    const t0 = Date.now();
    const r = await a.ping('10.1.0.99', { count: 2, intervalMs: 0, timeoutMs: 150 });
    expect(r).toMatchObject({ sent: 2, received: 0, lossPct: 100, rttsMs: [null, null], avgMs: null });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('echoes UDP on port 7 and measures a stream', async () => {
    const { a, counters } = await pair();
    const r = await a.udpStream('10.1.0.11', { packets: 200, size: 100, drainMs: 100 });
    expect(r).toMatchObject({ sent: 200, bytes: 20_000, echoed: 200, lossPct: 0 });
    expect(r.rttP50Ms).not.toBeNull();
    expect(counters.get('softudc_emulated_udp_rx_packets_total')).toBe(400);
  });

  it('counts stream loss on a lossy wire', async () => {
    let n = 0;
    const { a } = await pair((f) => f.length > 100 && ++n % 4 === 0);
    const r = await a.udpStream('10.1.0.11', { packets: 100, size: 100, drainMs: 100 });
    expect(r.echoed).toBeLessThan(100);
    expect(r.lossPct).toBeGreaterThan(0);
  });

  it('has no route off its prefix without a gateway, and uses the gateway when given', async () => {
    const { a } = await pair();
    expect((await a.ping('192.0.2.1', { timeoutMs: 50 })).received).toBe(0);
    const counters = new Counters();
    const g = new EmulatedGuest(vif('g', '02:00:00:00:00:0c', '10.1.0.12/24', { gateway: '10.1.0.1' }), { logger: silentLogger, counters });
    const sent: Buffer[] = [];
    g.onFrame = (f) => sent.push(f);
    await g.start();
    void g.ping('192.0.2.1', { timeoutMs: 30 });
    await new Promise((r) => setTimeout(r, 5));
    // The ARP request is for the gateway, not for the off-link target.
    expect(sent[0]!.readUInt32BE(14 + 24)).toBe(parseIp('10.1.0.1'));
    await g.stop();
  });

  it('counts malformed frames and ignores frames for others', async () => {
    const { b, counters } = await pair();
    b.deliver(Buffer.alloc(5));
    b.deliver(encodeEthernet({ dst: parseMac('02:00:00:00:00:0b'), src: 2, ethertype: ETHERTYPE_IPV4, payload: Buffer.alloc(30, 0xff) }));
    b.deliver(encodeEthernet({ dst: parseMac('02:00:00:00:00:99'), src: 2, ethertype: ETHERTYPE_IPV4, payload: Buffer.alloc(30) }));
    b.deliver(encodeEthernet({ dst: BROADCAST_MAC, src: 2, ethertype: 0x86dd, payload: Buffer.alloc(30) }));
    expect(counters.get('softudc_emulated_rx_malformed_total')).toBe(2);
    expect(counters.get('softudc_emulated_rx_ignored_total')).toBe(2);
  });

  it('ends a running ping when stopped, and rejects bad options naming the field', async () => {
    const { a } = await pair(() => true);
    const p = a.ping('10.1.0.11', { count: 3, intervalMs: 10_000, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    await a.stop();
    expect((await p).received).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    const { b } = await pair();
    await expect(b.ping('10.1.0.10', { count: 0 })).rejects.toThrow(ProbeError);
    await expect(b.ping('10.1.0.10', { count: 0 })).rejects.toMatchObject({ field: 'count' });
    await expect(b.udpStream('10.1.0.10', { size: 99_999 })).rejects.toMatchObject({ field: 'size' });
  });
});
