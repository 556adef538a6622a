// A firewall with an external leg: its rules see the untranslated inside
// addresses (a port forward is allowed by a rule on the VM's own address and
// port), the leg answers ARP for its floating IP, announces its addresses,
// and nothing but NAT state, forwards and floating IPs gets in.
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../metrics.ts';
import { silentLogger } from '../log.ts';
import { IPPROTO_TCP, IPPROTO_UDP, internetChecksum, parseIp, pseudoHeaderSum } from '../wire/index.ts';
import { TestLan, rawHost } from '../ipnode/testing.ts';
import { VirtualFirewall } from './firewall.ts';
import { TCP_ACK, TCP_SYN } from './flow.ts';
import { firewallSchema } from '../../contract/firewall.ts';

const running: VirtualFirewall[] = [];
afterEach(() => {
  for (const f of running.splice(0)) f.stop();
});

function tcp(src: number, dst: number, sport: number, dport: number, flags: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(internetChecksum(h, 0, 20, pseudoHeaderSum(src, dst, IPPROTO_TCP, 20)), 16);
  return h;
}

function setup() {
  const counters = new Counters();
  const lan = new TestLan();
  const fw = new VirtualFirewall(
    firewallSchema.parse({
      id: 'f1',
      defaultPolicy: 'deny',
      interfaces: [
        { name: 'inside', vnet: 11, mac: '02:0f:00:00:00:11', ip: '10.1.0.1/24' },
        {
          name: 'outside', vnet: 10, mac: '02:0f:00:00:00:10', ip: '203.0.113.2/24',
          nat: {
            snat: ['10.1.0.0/24'],
            floatingIps: [{ external: '203.0.113.10', internal: '10.1.0.11' }],
            portForwards: [{ protocol: 'tcp', external: '203.0.113.2', externalPort: 8080, internal: '10.1.0.10', internalPort: 80 }],
          },
        },
      ],
      rules: [
        // Rules name inside addresses: the forward's VM and port, not 203.0.113.2:8080.
        { action: 'allow', protocol: 'tcp', destination: '10.1.0.10/32', portFrom: 80 },
        { action: 'allow', source: '10.1.0.0/24', interface: 'inside' },
      ],
    }),
    { counters, logger: silentLogger, ports: lan },
  );
  running.push(fw);
  fw.start();
  // The outside routes the inside prefix to the leg (it still must not get in).
  const out = rawHost(lan, 10, 'out', 0x02_00_00_00_00_01, '203.0.113.1/24', '203.0.113.2');
  const web = rawHost(lan, 11, 'web', 0x02_00_00_00_00_0a, '10.1.0.10/24', '10.1.0.1');
  const vm = rawHost(lan, 11, 'vm', 0x02_00_00_00_00_0b, '10.1.0.11/24', '10.1.0.1');
  const other = rawHost(lan, 11, 'other', 0x02_00_00_00_00_0c, '10.1.0.12/24', '10.1.0.1');
  const n = (name: string) => fw.view().counters[name] ?? 0;
  const nat = (reason: string) => counters.get(`softudc_nat_dropped_packets_total{firewall="f1",reason="${reason}"}`);
  return { fw, out, web, vm, other, n, nat };
}

describe('a firewall with an external leg', () => {
  it('forwards a port to an inside VM allowed by a rule on its inside address, and translates the reply', () => {
    const { fw, out, web } = setup();
    const ext = parseIp('203.0.113.2');
    out.send({ protocol: IPPROTO_TCP, dst: ext, payload: tcp(out.ip, ext, 40000, 8080, TCP_SYN) });
    expect(web.received).toHaveLength(1);
    expect(web.received[0]).toMatchObject({ src: out.ip, dst: web.ip });
    expect(web.received[0]!.payload.readUInt16BE(2)).toBe(80);
    web.send({ protocol: IPPROTO_TCP, dst: out.ip, payload: tcp(web.ip, out.ip, 80, 40000, TCP_SYN | TCP_ACK) });
    expect(out.received).toHaveLength(1);
    expect(out.received[0]).toMatchObject({ src: ext, dst: out.ip });
    expect(out.received[0]!.payload.readUInt16BE(0)).toBe(8080);
    // The rules' connection is by inside addresses; the NAT table has the translation.
    const v = fw.view();
    expect(v.connections).toEqual([expect.objectContaining({ from: '203.0.113.1:40000', to: '10.1.0.10:80', rule: 0 })]);
    expect(v.nat).toEqual([expect.objectContaining({ kind: 'forward', original: '203.0.113.1:40000 -> 203.0.113.2:8080', reply: '10.1.0.10:80 -> 203.0.113.1:40000' })]);
    expect(fw.natGauges()).toEqual({ 'softudc_nat_connections{firewall="f1"}': 1 });
    // The view (router.inspect / firewall.inspect, the live view) carries the NAT's counters and table size.
    expect(v.counters).toMatchObject({ nat_connections: 1, 'nat_translated_packets_total{direction="in"}': 1, 'nat_translated_packets_total{direction="out"}': 1 });
  });

  it('its own ICMP errors about a forwarded packet quote it as the outside sent it', () => {
    const { out } = setup();
    const ext = parseIp('203.0.113.2');
    out.send({ protocol: IPPROTO_TCP, dst: ext, ttl: 1, payload: tcp(out.ip, ext, 40003, 8080, TCP_SYN) });
    const [err] = out.icmp();
    expect(err).toMatchObject({ src: ext, msg: { type: 11 } });
    const q = (err!.msg as { payload: Buffer }).payload;
    expect(q.readUInt32BE(16)).toBe(ext); // not 10.1.0.10
    expect(q.readUInt16BE(20 + 2)).toBe(8080);
    expect(internetChecksum(q, 0, 20)).toBe(0);
  });

  it('answers ARP for its floating IP; the rules still judge what the floating IP lets in', () => {
    const { out, vm, n } = setup();
    const fip = parseIp('203.0.113.10');
    expect(out.resolve(fip)).toBe(0x02_0f_00_00_00_10);
    expect(n('arp_announcements_sent_total')).toBeGreaterThanOrEqual(2); // its address and the floating IP
    const filtered = n('dropped_packets_total{reason="filtered"}');
    out.send({ protocol: IPPROTO_TCP, dst: fip, payload: tcp(out.ip, fip, 40001, 22, TCP_SYN) });
    expect(vm.received).toHaveLength(0); // translated to 10.1.0.11:22, which no rule allows
    expect(n('dropped_packets_total{reason="filtered"}')).toBe(filtered + 1);
    // The VM's own traffic leaves from the floating IP.
    vm.udp(out.ip, 53, Buffer.from('q'));
    expect(out.received.at(-1)).toMatchObject({ src: fip, protocol: IPPROTO_UDP });
  });

  it('masquerades the other inside hosts and lets nothing else in', () => {
    const { out, other, web, nat } = setup();
    other.udp(out.ip, 53, Buffer.from('q'), {}, 5353);
    expect(out.received.at(-1)).toMatchObject({ src: parseIp('203.0.113.2') });
    for (const dst of [web.ip, other.ip]) out.send({ protocol: IPPROTO_TCP, dst, payload: tcp(out.ip, dst, 40002, 80, TCP_SYN) });
    expect(web.received).toHaveLength(0);
    expect(nat('unmapped')).toBe(2);
  });
});
