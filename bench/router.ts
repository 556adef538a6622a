// Router benchmark: packets per second through the agent's userspace
// forwarding paths, all in one process on one core, with an emulated traffic
// generator (no kernel, no sockets):
//   switch            guest → switch → guest on the same vnet (the baseline)
//   router            guest → switch → router → switch → guest on another vnet
//   router + firewall … → router → switch → stateful firewall → switch → guest
//   router ⇄ router   … → router → in-process link (seed 004) → router → …
//   router + SNAT     … → router, out of a leg with NAT: masqueraded (tracked, translated) → …
//   router + floating … → router, out of a leg with NAT: the guest's floating IP → …
//   switch + groups   the switch row with security groups on both VIFs
//                     (10 and 100 rules each, the allowing ones last):
//                     egress at the sender, ingress at the receiver, an
//                     established flow (one conntrack lookup each)
// Every path uses the agent's real Switch, so the rows compare like with like.
//
//   npm run bench:router
//   BENCH_SECONDS=5 npm run bench:router
import { cpus } from 'node:os';
import { Counters } from '../agent/metrics.ts';
import { silentLogger } from '../agent/log.ts';
import { Switch, type SwitchIo } from '../agent/switch/index.ts';
import type { GuestPort } from '../agent/guests/types.ts';
import { NodeManager } from '../agent/nodes/index.ts';
import { SgDropLog, VifFilter } from '../agent/sg/index.ts';
import { securityGroupSchema } from '../contract/securityGroups.ts';
import {
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  IPPROTO_UDP,
  decodeArp,
  encodeArp,
  encodeEthernet,
  encodeIpv4,
  encodeUdp,
  parseIp,
  parseMac,
} from '../agent/wire/index.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const SIZES = [64, 1400]; // Ethernet frame bytes (no FCS)

/** A guest that counts what it receives and answers ARP for its address (so routers resolve it). */
class Sink implements GuestPort {
  onFrame: (frame: Buffer) => void = () => {};
  received = 0;
  /** The IPv4 source of the last packet (NAT rows check it was translated). */
  lastSrc = 0;
  constructor(readonly id: string, readonly mac: number, readonly ip: number) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  deliver(frame: Buffer): void {
    if (frame.readUInt16BE(12) === ETHERTYPE_ARP) {
      const a = decodeArp(frame.subarray(14));
      if (a.op === ARP_OP_REQUEST && a.tpa === this.ip) {
        this.onFrame(encodeEthernet({ dst: a.sha, src: this.mac, ethertype: ETHERTYPE_ARP, payload: encodeArp({ op: ARP_OP_REPLY, sha: this.mac, spa: this.ip, tha: a.sha, tpa: a.spa }) }));
      }
      return;
    }
    this.received++;
    this.lastSrc = frame.readUInt32BE(26);
  }
}

const idleIo: SwitchIo = {
  varp: { resolve: () => null, lookupIp: () => undefined, resolveIp: () => {}, refresh: () => {} },
  sendTo: () => {},
  flood: () => {},
};

interface Path {
  name: string;
  sw: Switch;
  src: Sink;
  dst: Sink;
  /** The first hop's MAC (the sink itself, or the router's interface). */
  firstHop: number;
  /** The source address packets must arrive with (NAT rows). */
  expectSrc?: string;
  stop(): void;
}

function frameFor(p: Path, size: number): Buffer {
  const payload = Buffer.alloc(size - 14 - 20 - 8, 0x5a);
  const udp = encodeUdp({ srcPort: 40000, dstPort: 9000, payload }, { src: p.src.ip, dst: p.dst.ip });
  return encodeEthernet({ dst: p.firstHop, src: p.src.mac, ethertype: ETHERTYPE_IPV4, payload: encodeIpv4({ ttl: 64, protocol: IPPROTO_UDP, src: p.src.ip, dst: p.dst.ip, payload: udp }) });
}

/**
 * A group of `n` rules: n - 2 that never match this traffic (TCP ports, other
 * remotes), then egress to anywhere and UDP 9000 in from 10.10.0.0/24.
 */
function groupOf(n: number) {
  const rules: Record<string, unknown>[] = [];
  for (let i = 0; i < n - 2; i++) {
    rules.push({ id: `r${i}`, direction: i % 2 ? 'egress' : 'ingress', protocol: 'tcp', portFrom: 1000 + i, remote: [`172.${16 + (i % 16)}.${i % 256}.0/24`, '192.0.2.1/32'] });
  }
  rules.push({ id: 'out', direction: 'egress', protocol: 'any' }, { id: 'in', direction: 'ingress', protocol: 'udp', portFrom: 9000, remote: ['10.10.0.0/24'] });
  return securityGroupSchema.parse({ id: 'g', rules });
}

function build(name: string, vnets: number[], routers: unknown[], firewalls: unknown[], dstVnet: number, firstHop: string | null, rules?: number): Path {
  const counters = new Counters();
  const sw = new Switch(idleIo, counters);
  for (const id of vnets) sw.upsertVnet({ id, security: 'none' });
  const nodes = new NodeManager({
    counters,
    logger: silentLogger,
    attachment: { addPort: (p) => sw.addPort(p), removePort: (id) => sw.removePort(id), announce: () => {}, withdraw: () => {} },
  });
  const res = nodes.apply({ routers, firewalls });
  if (res.errors.length) throw new Error(JSON.stringify(res.errors));
  const src = new Sink('src', parseMac('02:be:00:00:00:01'), parseIp('10.10.0.10'));
  const dstIp = dstVnet === 10 ? '10.10.0.20' : `10.${dstVnet}.0.20`;
  const dst = new Sink('dst', parseMac('02:be:00:00:00:02'), parseIp(dstIp));
  const filters: VifFilter[] = [];
  const filter = (vif: string) => {
    if (rules === undefined) return null;
    const f = new VifFilter(vif, ['g'], [groupOf(rules)], { counters, log: new SgDropLog(silentLogger, counters) });
    filters.push(f);
    return f;
  };
  sw.addPort({ id: 'src', vnet: 10, mac: src.mac, ip: src.ip, guest: src, filter: filter('src') });
  sw.addPort({ id: 'dst', vnet: dstVnet, mac: dst.mac, ip: dst.ip, guest: dst, filter: filter('dst') });
  const stop = () => {
    nodes.stop();
    for (const f of filters) f.stop();
  };
  return { name, sw, src, dst, firstHop: firstHop ? parseMac(firstHop) : dst.mac, stop };
}

const iface = (vnet: number, ip: string, mac: string) => ({ vnet, mac, ip, rip: false });
const R1 = { id: 'b/r1', interfaces: [iface(10, '10.10.0.1/24', '02:e0:00:00:01:10'), iface(20, '10.20.0.1/24', '02:e0:00:00:01:20')] };
const R1_FW = { id: 'b/r1', interfaces: [iface(10, '10.10.0.1/24', '02:e0:00:00:01:10'), iface(20, '10.20.0.1/24', '02:e0:00:00:01:20')], staticRoutes: [{ destination: '10.30.0.0/24', nextHop: '10.20.0.2' }] };
const FW = {
  id: 'b/fw',
  defaultPolicy: 'deny',
  interfaces: [
    { name: 'app', vnet: 20, mac: '02:e0:00:00:0f:20', ip: '10.20.0.2/24' },
    { name: 'db', vnet: 30, mac: '02:e0:00:00:0f:30', ip: '10.30.0.1/24' },
  ],
  rules: [
    { action: 'deny', protocol: 'tcp', destination: '10.30.0.0/24', portFrom: 22 },
    { action: 'allow', protocol: 'udp', source: '10.10.0.0/24', destination: '10.30.0.0/24', portFrom: 9000, portTo: 9100 },
  ],
};
const RA = { id: 'b/ra', interfaces: [iface(10, '10.10.0.1/24', '02:e0:00:00:0a:10')], staticRoutes: [{ destination: '10.40.0.0/24', nextHop: '169.254.0.2' }], links: [{ peer: 'b/rb', local: '169.254.0.1/30', remote: '169.254.0.2', vnet: null }] };
const RB = { id: 'b/rb', interfaces: [iface(40, '10.40.0.1/24', '02:e0:00:00:0b:40')], staticRoutes: [{ destination: '10.10.0.0/24', nextHop: '169.254.0.1' }], links: [{ peer: 'b/ra', local: '169.254.0.2/30', remote: '169.254.0.1', vnet: null }] };

const natLeg = (nat: Record<string, unknown>) => ({
  id: 'b/r1',
  interfaces: [iface(10, '10.10.0.1/24', '02:e0:00:00:01:10'), { ...iface(20, '10.20.0.1/24', '02:e0:00:00:01:20'), nat }],
});
const R1_SNAT = natLeg({ snat: ['10.10.0.0/24'] });
const R1_FLOATING = natLeg({ floatingIps: [{ external: '10.20.0.100', internal: '10.10.0.10' }] });

function paths(): Path[] {
  return [
    build('switch (same vnet)', [10], [], [], 10, null),
    build('switch + groups, 10 rules per VIF', [10], [], [], 10, null, 10),
    build('switch + groups, 100 rules per VIF', [10], [], [], 10, null, 100),
    build('router (vnet → vnet)', [10, 20], [R1], [], 20, '02:e0:00:00:01:10'),
    build('router + firewall', [10, 20, 30], [R1_FW], [FW], 30, '02:e0:00:00:01:10'),
    build('router ⇄ router (in-process link)', [10, 40], [RA, RB], [], 40, '02:e0:00:00:0a:10'),
    { ...build('router + SNAT (external leg)', [10, 20], [R1_SNAT], [], 20, '02:e0:00:00:01:10'), expectSrc: '10.20.0.1' },
    { ...build('router + floating IP (external leg)', [10, 20], [R1_FLOATING], [], 20, '02:e0:00:00:01:10'), expectSrc: '10.20.0.100' },
  ];
}

function measure(p: Path, size: number): { pps: number; delivered: number; sent: number } {
  const frame = frameFor(p, size);
  const send = p.src.onFrame; // the switch's entry for this port
  for (let i = 0; i < 2000; i++) send(frame); // warm up: ARP, JIT, connection tracking
  p.dst.received = 0;
  const batch = 10_000;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(SECONDS * 1e9));
  let now = t0;
  while (now < deadline) {
    for (let i = 0; i < batch; i++) send(frame);
    sent += batch;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - t0) / 1e9;
  return { pps: p.dst.received / secs, delivered: p.dst.received, sent };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function main(): void {
  console.log(`router benchmark: ${SECONDS} s per row and frame size, one process, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
  const rows: string[][] = [];
  const base: Record<number, number> = {};
  for (const size of SIZES) {
    for (const p of paths()) {
      const r = measure(p, size);
      if (r.delivered < r.sent * 0.99) throw new Error(`${p.name}: only ${r.delivered} of ${r.sent} frames arrived`);
      if (p.expectSrc && p.dst.lastSrc !== parseIp(p.expectSrc)) throw new Error(`${p.name}: packets arrived from ${p.dst.lastSrc}, not ${p.expectSrc}`);
      if (p.name === 'switch (same vnet)') base[size] = r.pps;
      rows.push([p.name, `${size} B`, fmt(r.pps), `${(1e9 / r.pps).toFixed(0)} ns`, `${((r.pps / base[size]!) * 100).toFixed(0)}%`]);
      p.stop();
    }
  }
  const head = ['path', 'frame', 'packets/s', 'per packet', 'vs switch'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

main();
