import { afterEach, describe, expect, it, vi } from 'vitest';
import { Counters } from '../metrics.ts';
import { createLogger } from '../log.ts';
import {
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REQUEST,
  ICMP_UNREACH_PORT,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  encodeIcmp,
  encodeIpv4,
  encodeUdp,
  IPPROTO_UDP,
  internetChecksum,
  parseIp,
  pseudoHeaderSum,
} from '../wire/index.ts';
import { TestLan, rawHost, type RawHost } from '../ipnode/testing.ts';
import { HEADROOM, fragment } from '../ipnode/index.ts';
import { VirtualFirewall } from './firewall.ts';
import { TCP_ACK, TCP_FIN, TCP_SYN } from './flow.ts';
import { firewallSchema, type FirewallSpecInput } from '../../contract/firewall.ts';

const running: VirtualFirewall[] = [];
afterEach(() => {
  for (const f of running.splice(0)) f.stop();
  vi.useRealTimers();
});

function tcp(src: number, dst: number, sport: number, dport: number, flags: number, data = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20 + data.length);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(1000, 4);
  h.writeUInt32BE(flags & TCP_ACK ? 2000 : 0, 8);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  data.copy(h, 20);
  h.writeUInt16BE(internetChecksum(h, 0, h.length, pseudoHeaderSum(src, dst, IPPROTO_TCP, h.length)), 16);
  return h;
}

const TIERS = { outside: 10, web: 11, app: 12, db: 13 } as const;
type Tier = keyof typeof TIERS;

/** A DMZ farm: web reachable from anywhere on 80, app only from web on 8080, db only from app on 5432. */
function farm(extra: Partial<FirewallSpecInput> = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const counters = new Counters();
  const lan = new TestLan();
  const n = (t: Tier) => TIERS[t] - 10;
  const spec: FirewallSpecInput = {
    id: 'dmz/fw',
    defaultPolicy: 'deny',
    interfaces: (Object.keys(TIERS) as Tier[]).map((t) => ({ name: t, vnet: TIERS[t], mac: `02:0f:00:00:00:0${n(t)}`, ip: `10.${n(t)}.0.1/24` })),
    rules: [
      { action: 'allow', protocol: 'tcp', destination: '10.1.0.0/24', portFrom: 80, portTo: 80 },
      { action: 'allow', protocol: 'tcp', source: '10.1.0.0/24', destination: '10.2.0.0/24', portFrom: 8080, interface: 'web' },
      { action: 'allow', protocol: 'tcp', source: '10.2.0.0/24', destination: '10.3.0.0/24', portFrom: 5432, portTo: 5432, interface: 'app' },
      { action: 'allow', protocol: 'icmp', destination: '10.1.0.0/24' },
      { action: 'deny', source: '10.0.0.0/24', destination: '10.3.0.0/24', log: true },
      { action: 'allow', protocol: 'udp', destination: '10.1.0.0/24', portFrom: 53 },
    ],
    ...extra,
  };
  const fw = new VirtualFirewall(firewallSchema.parse(spec), { counters, logger, ports: lan });
  running.push(fw);
  fw.start();
  const hosts = Object.fromEntries(
    (Object.keys(TIERS) as Tier[]).map((t) => [t, rawHost(lan, TIERS[t], t, 0x02_00_00_00_00_10 + n(t), `10.${n(t)}.0.10/24`, `10.${n(t)}.0.1`)]),
  ) as Record<Tier, RawHost>;
  const send = (from: Tier, to: Tier, sport: number, dport: number, flags: number) => {
    const s = hosts[from];
    const d = hosts[to];
    s.send({ protocol: IPPROTO_TCP, dst: d.ip, payload: tcp(s.ip, d.ip, sport, dport, flags) });
  };
  const got = (t: Tier) => hosts[t].received.length;
  const drops = (reason: string) => fw.view().counters[`dropped_packets_total{reason="${reason}"}`] ?? 0;
  return { fw, hosts, send, got, drops, lines, spec, counters };
}

describe('VirtualFirewall in a three-tier farm', () => {
  it('passes only the allowed flows and their replies; everything else is dropped and counted', () => {
    const { fw, send, got, drops, lines } = farm();
    // outside → web:80, a whole TCP conversation.
    send('outside', 'web', 40000, 80, TCP_SYN);
    expect(got('web')).toBe(1);
    send('web', 'outside', 80, 40000, TCP_SYN | TCP_ACK);
    expect(got('outside')).toBe(1);
    expect(fw.view().connections).toEqual([expect.objectContaining({ from: '10.0.0.10:40000', to: '10.1.0.10:80', state: 'ESTABLISHED', rule: 0 })]);
    send('outside', 'web', 40000, 80, TCP_ACK);
    send('web', 'outside', 80, 40000, TCP_ACK | TCP_FIN);
    expect(fw.view().connections[0]!.state).toBe('FIN_WAIT');
    send('outside', 'web', 40000, 80, TCP_ACK | TCP_FIN);
    send('web', 'outside', 80, 40000, TCP_ACK);
    expect(fw.view().connections[0]!.state).toBe('CLOSED');
    expect([got('web'), got('outside')]).toEqual([3, 3]);

    // web → app:8080 and app → db:5432 are allowed, with replies.
    send('web', 'app', 41000, 8080, TCP_SYN);
    send('app', 'web', 8080, 41000, TCP_SYN | TCP_ACK);
    send('app', 'db', 42000, 5432, TCP_SYN);
    send('db', 'app', 5432, 42000, TCP_SYN | TCP_ACK);
    expect([got('app'), got('db'), got('web')]).toEqual([2, 1, 4]);

    const before = { web: got('web'), app: got('app'), db: got('db'), outside: got('outside') };
    send('outside', 'web', 40001, 22, TCP_SYN); // not port 80: default deny
    send('outside', 'db', 40002, 5432, TCP_SYN); // the database from outside: explicit deny, logged
    send('web', 'db', 41001, 5432, TCP_SYN); // the database only from the app tier
    send('app', 'web', 43000, 8080, TCP_SYN); // web → app does not open app → web
    send('outside', 'app', 40003, 8080, TCP_SYN); // rule 1 only for packets entering from the web tier
    send('db', 'app', 5432, 42999, TCP_SYN | TCP_ACK); // a reply without a connection
    send('outside', 'web', 40004, 80, TCP_ACK); // mid-stream segment without a connection
    expect({ web: got('web'), app: got('app'), db: got('db'), outside: got('outside') }).toEqual(before);
    expect(drops('filtered')).toBe(5);
    expect(drops('invalid')).toBe(2);

    const v = fw.view();
    expect(v.rules.map((r) => r.hits)).toEqual([1, 1, 1, 0, 1, 0]); // SYNs that opened connections, and rule 4's deny
    expect(v.defaultHits).toBe(4);
    const denied = lines.filter((l) => l.msg === 'firewall denied a flow');
    expect(denied.map((l) => [l.rule, l.dst, l.dstPort])).toEqual([
      ['default', '10.1.0.10', 22],
      [4, '10.3.0.10', 5432],
      ['default', '10.3.0.10', 5432],
      ['default', '10.1.0.10', 8080],
      ['default', '10.2.0.10', 8080],
    ]);
    expect(denied[1]).toMatchObject({ firewall: 'dmz/fw', ingress: 'outside', egress: 'db', protocol: 6, src: '10.0.0.10', srcPort: 40002 });
  });

  it('tracks ICMP echo and UDP, and lets ICMP errors about a tracked flow through', () => {
    const { hosts, got, drops } = farm();
    const { outside, web, db } = hosts;
    const echo = encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id: 77, seq: 1, payload: Buffer.from('ping') });
    outside.send({ protocol: IPPROTO_ICMP, dst: web.ip, payload: echo });
    expect(got('web')).toBe(1);
    web.send({ protocol: IPPROTO_ICMP, dst: outside.ip, payload: encodeIcmp({ type: 0, code: 0, id: 77, seq: 1, payload: Buffer.from('ping') }) });
    expect(got('outside')).toBe(1);
    web.send({ protocol: IPPROTO_ICMP, dst: outside.ip, payload: encodeIcmp({ type: 0, code: 0, id: 78, seq: 1, payload: Buffer.from('x') }) });
    web.send({ protocol: IPPROTO_ICMP, dst: outside.ip, payload: echo }); // the web tier may not ping out
    expect(got('outside')).toBe(1);

    outside.udp(web.ip, 53, Buffer.from('query'));
    web.udp(outside.ip, 40000, Buffer.from('answer'), {}, 53);
    expect([got('web'), got('outside')]).toEqual([2, 2]);

    // An ICMP port unreachable quoting the outside→web datagram goes back; one quoting nothing known does not.
    const quoted = encodeIpv4({ protocol: 17, src: outside.ip, dst: web.ip, payload: Buffer.from([0x9c, 0x40, 0, 53, 0, 13, 0, 0]) });
    web.send({ protocol: IPPROTO_ICMP, dst: outside.ip, payload: encodeIcmp({ type: ICMP_DEST_UNREACHABLE, code: ICMP_UNREACH_PORT, nextHopMtu: 0, payload: quoted }) });
    expect(got('outside')).toBe(3);
    const stray = encodeIpv4({ protocol: 17, src: db.ip, dst: outside.ip, payload: Buffer.from([0, 9, 0, 9, 0, 8, 0, 0]) });
    db.send({ protocol: IPPROTO_ICMP, dst: outside.ip, payload: encodeIcmp({ type: ICMP_DEST_UNREACHABLE, code: ICMP_UNREACH_PORT, nextHopMtu: 0, payload: stray }) });
    expect(got('outside')).toBe(3);
    expect(drops('invalid')).toBe(2); // the unsolicited echo reply and the stray error
    expect(drops('filtered')).toBe(1); // the echo request from the web tier
  });

  it('expires idle connections, after which replies are judged as new flows', () => {
    vi.useFakeTimers();
    const { hosts, got, fw } = farm({ conntrack: { udpMs: 1_000, udpStreamMs: 5_000 } });
    const { outside, web } = hosts;
    outside.udp(web.ip, 53, Buffer.from('q'));
    web.udp(outside.ip, 40000, Buffer.from('a'), {}, 53);
    expect(got('outside')).toBe(1);
    vi.advanceTimersByTime(4_000);
    web.udp(outside.ip, 40000, Buffer.from('a'), {}, 53); // still within the stream timeout
    expect(got('outside')).toBe(2);
    vi.advanceTimersByTime(5_001);
    web.udp(outside.ip, 40000, Buffer.from('late'), {}, 53);
    expect(got('outside')).toBe(2);
    expect(fw.view().connections).toEqual([]);
  });

  it('closes open connections that new rules refuse', () => {
    const { fw, send, got, spec } = farm();
    send('outside', 'web', 40000, 80, TCP_SYN);
    send('web', 'outside', 80, 40000, TCP_SYN | TCP_ACK);
    send('web', 'app', 41000, 8080, TCP_SYN);
    expect(fw.view().connections).toHaveLength(2);
    fw.update(firewallSchema.parse({ ...spec, rules: spec.rules!.slice(1) })); // web:80 no longer allowed
    expect(fw.view().connections.map((c) => c.to)).toEqual(['10.2.0.10:8080']);
    send('outside', 'web', 40000, 80, TCP_ACK); // its connection is gone: a mid-stream segment now
    expect(got('web')).toBe(1);
  });

  it('rate-limits the log of denied flows with a token bucket, counting what it suppresses', () => {
    const { send, lines, fw } = farm({ logRate: 1, logBurst: 3 });
    for (let i = 0; i < 50; i++) send('outside', 'db', 30000 + i, 5432, TCP_SYN);
    expect(lines.filter((l) => l.msg === 'firewall denied a flow')).toHaveLength(3);
    expect(fw.view().counters['deny_logs_suppressed_total']).toBe(47);
    expect(fw.view().counters['dropped_packets_total{reason="filtered"}']).toBe(50);
  });

  it('routes between its interfaces and answers ping on its own address only when a rule allows it', () => {
    const { hosts, drops } = farm();
    const { outside, app } = hosts;
    const echo = encodeIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id: 5, seq: 1, payload: Buffer.alloc(0) });
    outside.send({ protocol: IPPROTO_ICMP, dst: parseIp('10.1.0.1'), payload: echo }); // its web-side address: rule 3
    expect(outside.icmp().map((m) => m.msg.type)).toEqual([0]);
    app.send({ protocol: IPPROTO_ICMP, dst: parseIp('10.2.0.1'), payload: echo }); // its app-side address: default deny
    expect(app.icmp()).toEqual([]);
    expect(drops('filtered')).toBe(1);
  });
});

describe('VirtualFirewall and fragments', () => {
  it('lets later fragments follow an allowed first fragment, and drops those of a refused datagram', () => {
    const { hosts, got, drops } = farm();
    const { outside, web } = hosts;
    const datagram = (port: number, id: number) => {
      const udp = encodeUdp({ srcPort: 40000, dstPort: port, payload: Buffer.alloc(600, 1) }, { src: outside.ip, dst: web.ip });
      const ip = encodeIpv4({ id, protocol: IPPROTO_UDP, src: outside.ip, dst: web.ip, payload: udp });
      return fragment(ip, 0, 20, ip.length, 300).map((f) => f.subarray(HEADROOM));
    };
    const allowed = datagram(53, 1);
    expect(allowed.length).toBe(3);
    for (const f of allowed) outside.sendRaw(f);
    expect(got('web')).toBe(3);
    for (const f of datagram(54, 2)) outside.sendRaw(f);
    expect(got('web')).toBe(3);
    expect(drops('filtered')).toBe(1);
    expect(drops('fragment')).toBe(2);
  });
});

describe('firewall spec', () => {
  it('names the offending field', () => {
    const r = firewallSchema.safeParse({
      id: 'f',
      interfaces: [{ name: 'a', vnet: 5, mac: '02:00:00:00:00:01', ip: '10.0.0.1/24' }],
      rules: [
        { action: 'allow', protocol: 'icmp', portFrom: 80 },
        { action: 'allow', protocol: 'tcp', portFrom: 90, portTo: 80 },
        { action: 'deny', interface: 'b' },
        { action: 'maybe' },
      ],
    });
    expect(r.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['rules.0.portFrom', 'rules.1.portTo', 'rules.3.action']);
    const r2 = firewallSchema.safeParse({ id: 'f', interfaces: [{ name: 'a', vnet: 5, mac: '02:00:00:00:00:01', ip: '10.0.0.1/24' }], rules: [{ action: 'deny', interface: 'b' }] });
    expect(r2.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(['rules.0.interface: firewall f has no interface named "b" (it has: a)']);
  });
});
