// Probes of test/dhcp-dns.netns.test.ts and the feature matrix's DHCP row: a
// real DHCP client (busybox udhcpc) and busybox nslookup in a guest, a rogue
// DHCP server in one guest watched from another, and the fuzzer run with
// exact counting.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { NetnsHarness } from './netns/harness.ts';
import { metricSum, repoRoot } from './netns/agents.ts';
import type { OverlayAgent } from './overlay-fixture.ts';
import { BOOTREPLY, DhcpType, encodeDhcp } from '../agent/dhcp/codec.ts';
import { udpFrame } from '../agent/dhcp/frames.ts';

/** What every DHCP and DNS packet from a guest ends in: an answer, a forward, or a counted drop. */
const COUNTED = [
  'softudc_dhcp_replies_total', 'softudc_dhcp_dropped_total', 'softudc_dhcp_released_total', 'softudc_dhcp_declined_total',
  'softudc_dns_answers_total', 'softudc_dns_dropped_total', 'softudc_dns_forwarded_total',
];

export async function countedPackets(agent: OverlayAgent): Promise<number> {
  const text = await agent.metrics();
  return COUNTED.reduce((n, f) => n + metricSum(text, f), 0);
}

export const BUSYBOX = '/bin/busybox';

/**
 * Runs busybox udhcpc once on `ifname` in `ns` (asking for the MTU and the
 * classless static routes) with a script that records the environment it is
 * given on `bound` and configures the address and MTU, as a distribution's
 * script would; the variables it was given (ip, mask, router, mtu, dns, …).
 */
export async function udhcpc(h: NetnsHarness, ns: string, files: string, ifname = 'eth0'): Promise<Record<string, string>> {
  const out = `${files}.env`;
  const script = `${files}.sh`;
  await writeFile(script, `#!/bin/sh\ncase "$1" in bound|renew)\n  env | sort > ${out}\n  ip addr add "$ip/$mask" dev "$interface"\n  ip link set "$interface" mtu "$mtu"\n;; esac\nexit 0\n`);
  await chmod(script, 0o755);
  await h.mustExec(ns, 'ip', ['addr', 'flush', 'dev', ifname]);
  await h.mustExec(ns, 'ip', ['link', 'set', ifname, 'mtu', '1500']);
  await h.mustExec(ns, BUSYBOX, ['udhcpc', '-i', ifname, '-f', '-q', '-n', '-t', '5', '-T', '1', '-O', 'mtu', '-O', 'staticroutes', '-s', script], { timeoutMs: 30_000 });
  return Object.fromEntries((await readFile(out, 'utf8')).split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** busybox nslookup's output (both streams); its exit status also counts the AAAA query, which may have no answer. */
export async function nslookup(h: NetnsHarness, ns: string, name: string, server: string): Promise<string> {
  const r = await h.exec(ns, BUSYBOX, ['nslookup', name, server], { timeoutMs: 20_000 });
  return r.stdout + r.stderr;
}

function lines(stream: NodeJS.ReadableStream | null | undefined, on: (line: string) => void): void {
  if (stream) createInterface({ input: stream }).on('line', on);
}

/**
 * `from` sends three DHCP OFFERs (UDP 67 → 68, to the subnet broadcast) and
 * then a plain broadcast sentinel; tcpdump in `watcher` reports what it saw
 * from `sentinelFrom` up to the sentinel.
 */
/** With `vlan`, the three OFFERs go out as raw frames behind an 802.1Q tag of that id (a packet socket). */
export async function sendRogueOffer(
  h: NetnsHarness, o: { from: string; watcher: string; sentinelFrom: string; vlan?: number },
): Promise<{ sentinel: boolean; fromPort67: number }> {
  const dump = h.spawn(o.watcher, 'tcpdump', ['-i', 'eth0', '-n', '-l', '-U', `(udp and src host ${o.sentinelFrom}) or (vlan and udp and src port 67)`]);
  let fromPort67 = 0;
  const sentinel = new Promise<boolean>((resolve) => {
    lines(dump.stdout, (l) => {
      if (l.includes(`${o.sentinelFrom}.67 >`)) fromPort67++;
      if (l.includes('.9999:')) resolve(true);
    });
    dump.once('exit', () => resolve(false));
  });
  await new Promise<void>((resolve) => lines(dump.stderr, (l) => l.includes('listening on') && resolve()));
  const offer = encodeDhcp({
    op: BOOTREPLY, htype: 1, hlen: 6, hops: 0, xid: 99, secs: 0, flags: 0x8000, ciaddr: 0, yiaddr: 0x0a640063, siaddr: 0, giaddr: 0, chaddr: 0x025d00006499,
    options: { messageType: DhcpType.OFFER, serverId: 0x0a64000c, subnetMask: 0xffffff00, routers: [0x0a64000c], leaseTime: 60 },
  });
  if (o.vlan !== undefined) {
    const mac = parseInt((await h.mustExec(o.from, 'cat', ['/sys/class/net/eth0/address'])).trim().replace(/:/g, ''), 16);
    const frame = udpFrame({ srcMac: mac, dstMac: 0xffffffffffff, src: ipv4(o.sentinelFrom), dst: ipv4('10.100.0.255'), srcPort: 67, dstPort: 68, payload: offer });
    const tag = Buffer.from([0x81, 0x00, (o.vlan >> 8) & 0x0f, o.vlan & 0xff]);
    const hex = Buffer.concat([frame.subarray(0, 12), tag, frame.subarray(12)]).toString('hex');
    const py = `import socket\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind(('eth0',0))\nfor _ in range(3): s.send(bytes.fromhex('${hex}'))\n`;
    await h.mustExec(o.from, '/usr/bin/python3', ['-c', py], { timeoutMs: 20_000 });
  }
  const offers = o.vlan === undefined ? 3 : 0;
  const js = `const d=require('dgram');const s=d.createSocket('udp4');const t=d.createSocket('udp4');
s.bind(67,()=>{s.setBroadcast(true);t.bind(0,()=>{t.setBroadcast(true);const p=Buffer.from('${offer.toString('hex')}','hex');let n=0;
const next=()=>{if(n++<${offers})return s.send(p,68,'10.100.0.255',next);t.send(Buffer.from('done'),9999,'10.100.0.255',()=>{s.close();t.close();});};next();});});`;
  await h.mustExec(o.from, process.execPath, ['-e', js], { timeoutMs: 20_000 });
  const seen = await sentinel;
  await h.kill(dump);
  return { sentinel: seen, fromPort67 };
}

function ipv4(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** Sends `packets` fuzz packets from `ns` in batches, waiting after each until the agent has counted all of them. */
export async function runFuzz(
  h: NetnsHarness, agent: OverlayAgent, o: { ns: string; script: string; target: string; mac: string; packets: number },
): Promise<{ dhcp: number; dns: number; counted: number }> {
  const BATCH = 500;
  const base = await countedPackets(agent);
  const child = h.spawn(o.ns, process.execPath, ['--import', 'tsx', o.script, o.target, o.mac.replace(/:/g, '')], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting: ((l: string) => void)[] = [];
  lines(child.stdout, (l) => waiting.shift()?.(l));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  if ((await next()) !== 'ready') throw new Error('fuzzer did not start');
  let dhcp = 0;
  let dns = 0;
  let counted = 0;
  for (let sent = 0; sent < o.packets; sent += BATCH) {
    const reply = next();
    child.stdin!.write(`${Math.min(BATCH, o.packets - sent)} ${sent + 1}\n`);
    const m = /^sent (\d+) (\d+)$/.exec(await reply);
    if (!m) throw new Error('fuzzer: unexpected output');
    dhcp += Number(m[1]);
    dns += Number(m[2]);
    for (let tries = 0; tries < 300; tries++) {
      agent.checkAlive();
      counted = (await countedPackets(agent)) - base;
      if (counted >= dhcp + dns) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (counted < dhcp + dns) break; // lost before the agent: the caller's assertion shows the difference
  }
  child.stdin!.end();
  await h.kill(child);
  return { dhcp, dns, counted };
}
