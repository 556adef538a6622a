// The upstream forwarder against a real UDP resolver on loopback.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { parseIp } from '../wire/addr.ts';
import { CLASS_IN, decodeDns, encodeDns, QType, type DnsMessage } from './codec.ts';
import { UpstreamForwarder, VNET_PENDING_MAX } from './upstream.ts';

const drops = (reason: string) => `softudc_dns_upstream_dropped_total{reason="${reason}"}`;

function message(id: number, name: string, response: boolean, type: number = QType.A): DnsMessage {
  const question = { name, type, class: CLASS_IN };
  const answers = response ? [{ name, type: QType.A, class: CLASS_IN, ttl: 30, data: parseIp('192.0.2.7') }] : [];
  return { id, response, opcode: 0, authoritative: false, truncated: false, recursionDesired: true, recursionAvailable: response, rcode: 0, questions: [question], answers, authorityCount: 0, additionalCount: 0 };
}

interface Seen {
  msg: DnsMessage;
  port: number;
  answer: (m: DnsMessage) => void;
}

/** A resolver on 127.0.0.1 that records every query; the test decides what to answer. */
async function upstream() {
  const seen: Seen[] = [];
  const s = dgram.createSocket('udp4');
  let wake = () => {};
  s.on('message', (buf, r) => {
    seen.push({ msg: decodeDns(buf), port: r.port, answer: (m) => s.send(encodeDns(m), r.port, r.address) });
    wake();
  });
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  const until = async (n: number) => {
    while (seen.length < n) await new Promise<void>((ok) => (wake = ok));
  };
  return { seen, until, port: s.address().port, close: () => s.close() };
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

async function setup(opts = {}) {
  const u = await upstream();
  const counters = new Counters();
  const f = new UpstreamForwarder(counters, { port: u.port, ...opts });
  f.configure([parseIp('127.0.0.1')]);
  cleanup.push(() => f.stop(), u.close);
  const ask = (vnet: number, id: number, name: string, sink: Buffer[] = []) => {
    f.forward(vnet, encodeDns(message(id, name, false)), { name, type: QType.A, class: CLASS_IN }, { reply: (b) => sink.push(b) });
    return sink;
  };
  return { u, counters, f, ask };
}

const settle = (ms = 50) => new Promise((ok) => setTimeout(ok, ms));

describe('upstream forwarder', () => {
  it('drops a forged answer with the right id but another question, and takes the real one', async () => {
    const t = await setup();
    const got = t.ask(1, 0x1234, 'www.example.com');
    await t.u.until(1);
    const q = t.u.seen[0]!;
    q.answer(message(q.msg.id, 'evil.example.net', true)); // right id, other name
    q.answer(message(q.msg.id, 'www.example.com', true, QType.AAAA)); // right id and name, other type
    await settle();
    expect(got).toHaveLength(0);
    expect(t.counters.get(drops('question_mismatch'))).toBe(2);
    q.answer(message(q.msg.id, 'WWW.Example.COM', true)); // case does not matter
    await settle();
    expect(got).toHaveLength(1);
    expect(decodeDns(got[0]!)).toMatchObject({ id: 0x1234, questions: [{ name: 'www.example.com' }] });
    expect(t.counters.get('softudc_dns_upstream_answers_total')).toBe(1);
  });

  it('keeps one vnet flooding from stopping another vnet\'s queries', async () => {
    const t = await setup();
    for (let i = 0; i < 1100; i++) t.ask(1, i, `flood-${i}.example.com`);
    expect(t.f.pendingCount(1)).toBe(VNET_PENDING_MAX);
    const refused = t.counters.get(drops('vnet_pending')) + t.counters.get(drops('vnet_rate'));
    expect(refused).toBe(1100 - VNET_PENDING_MAX);
    expect(t.counters.get(drops('too_many_pending'))).toBe(0);
    const got = t.ask(2, 7, 'other.example.com');
    await t.u.until(VNET_PENDING_MAX + 1);
    const q = t.u.seen.find((s) => s.msg.questions[0]!.name === 'other.example.com')!;
    q.answer(message(q.msg.id, 'other.example.com', true));
    await settle();
    expect(got).toHaveLength(1);
  });

  it('rate-limits a vnet with a token bucket and counts each refusal', async () => {
    const t = await setup({ vnetRate: 1, vnetBurst: 3 });
    const reasons: string[] = [];
    for (let i = 0; i < 5; i++) t.f.forward(3, encodeDns(message(i, 'a.example.com', false)), { name: 'a.example.com', type: QType.A, class: CLASS_IN }, { reply: () => {}, dropped: (r) => reasons.push(r) });
    expect(reasons).toEqual(['vnet_rate', 'vnet_rate']);
    expect(t.counters.get(drops('vnet_rate'))).toBe(2);
  });

  it('sends every query from its own source port with a fresh id, and counts it once sent', async () => {
    const t = await setup();
    let sent = 0;
    for (let i = 0; i < 8; i++) t.f.forward(1, encodeDns(message(42, `n${i}.example.com`, false)), { name: `n${i}.example.com`, type: QType.A, class: CLASS_IN }, { reply: () => {}, sent: () => sent++ });
    expect(sent).toBe(0); // not before the datagram left
    await t.u.until(8);
    expect(new Set(t.u.seen.map((s) => s.port)).size).toBe(8);
    expect(new Set(t.u.seen.map((s) => s.msg.id)).size).toBeGreaterThan(1);
    await settle();
    expect(sent).toBe(8);
    expect(t.counters.get('softudc_dns_upstream_queries_total')).toBe(8);
  });

  it('times a query out, closes its socket and frees the vnet\'s slot', async () => {
    const t = await setup({ timeoutMs: 30 });
    const reasons: string[] = [];
    t.f.forward(1, encodeDns(message(1, 'slow.example.com', false)), { name: 'slow.example.com', type: QType.A, class: CLASS_IN }, { reply: () => {}, dropped: (r) => reasons.push(r) });
    expect(t.f.pendingCount(1)).toBe(1);
    await settle(100);
    expect(reasons).toEqual(['timeout']);
    expect(t.f.pendingCount()).toBe(0);
  });
});
