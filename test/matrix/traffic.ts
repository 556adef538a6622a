// Kernel traffic probes inside guest namespaces for the matrix rows.
import type { ChildProcess } from 'node:child_process';
import type { NetnsHarness } from '../netns/harness.ts';
import { pingCount } from '../overlay-fixture.ts';
import type { Guest } from './farm.ts';

export { pingCount };

/** `ping -c count -i interval -W 1` from a guest; sent and received. */
export function ping(h: NetnsHarness, from: Guest | string, to: string, count = 10, intervalS = 0.05, extra: string[] = []) {
  return pingCount(h, typeof from === 'string' ? from : from.ns, to, ['-c', String(count), '-i', String(intervalS), '-W', '1', ...extra]);
}

/** Pings once a second until a reply comes (first resolutions take a moment); false on timeout. */
export async function reaches(h: NetnsHarness, from: Guest | string, to: string, timeoutMs = 15_000): Promise<boolean> {
  const ns = typeof from === 'string' ? from : from.ns;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await h.exec(ns, 'ping', ['-n', '-c', '1', '-W', '1', to], { timeoutMs: 5000 })).code === 0) return true;
  }
  return false;
}

/** The MAC a guest's kernel resolved `ip` to, or null. */
export async function neighbourMac(h: NetnsHarness, g: Guest, ip: string): Promise<string | null> {
  const out = JSON.parse((await h.mustExec(g.ns, 'ip', ['-j', 'neigh', 'show', ip])) || '[]') as Array<{ lladdr?: string }>;
  return out[0]?.lladdr ?? null;
}

/** tcpdump (text, -e) on `ifname` in `ns` while `during` runs; the packet lines it printed. */
export async function tcpdumpLines(h: NetnsHarness, ns: string, ifname: string, filter: string[], during: () => Promise<unknown>): Promise<string[]> {
  const td = h.spawn(ns, 'tcpdump', ['--immediate-mode', '-n', '-e', '-l', '-i', ifname, ...filter]);
  let out = '';
  let err = '';
  td.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  td.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 50 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
  if (!err.includes('listening')) throw new Error(`tcpdump in ${ns} did not start: ${err}`);
  await during();
  await new Promise((r) => setTimeout(r, 300));
  await h.kill(td);
  return out.split('\n').filter((l) => l.trim());
}

/** A TCP connection attempt from `ns` (1.5 s): connected, refused or timed out. */
export async function tcpConnect(h: NetnsHarness, ns: string, ip: string, port: number): Promise<string> {
  const script = `
    const s = require('node:net').connect(${port}, ${JSON.stringify(ip)});
    const done = (what) => { console.log(what); s.destroy(); process.exit(0); };
    s.setTimeout(1500, () => done('timed out'));
    s.on('connect', () => done('connected'));
    s.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code));`;
  return (await h.mustExec(ns, process.execPath, ['-e', script])).trim();
}

/** One UDP datagram from `ns` to `ip`:`port` and 1.5 s for the echo: answered or timed out. */
export async function udpAsk(h: NetnsHarness, ns: string, ip: string, port: number): Promise<string> {
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    const done = (what) => { console.log(what); s.close(); process.exit(0); };
    s.on('message', (m) => done(m.toString() === 'hello' ? 'answered' : 'garbled'));
    setTimeout(() => done('timed out'), 1500);
    s.send('hello', ${port}, ${JSON.stringify(ip)});`;
  return (await h.mustExec(ns, process.execPath, ['-e', script])).trim();
}

/**
 * Servers in a guest: TCP listeners and UDP ports that echo what they get. Resolves once they listen; kill the process to stop them.
 */
export async function listen(h: NetnsHarness, g: Guest, ports: { tcp?: number[]; udp?: number[] }): Promise<ChildProcess> {
  const script = `
    const [ip, tcp, udp] = [process.argv[1], JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
    let left = tcp.length + udp.length;
    const up = () => { if (--left === 0) console.log('ready'); };
    for (const p of tcp) require('node:net').createServer((c) => c.on('error', () => {}).pipe(c)).listen(p, ip, up);
    for (const p of udp) {
      const s = require('node:dgram').createSocket('udp4');
      s.on('message', (m, r) => s.send(m, r.port, r.address));
      s.bind(p, ip, up);
    }`;
  const child = h.spawn(g.ns, process.execPath, ['-e', script, g.ip, JSON.stringify(ports.tcp ?? []), JSON.stringify(ports.udp ?? [])]);
  await new Promise<void>((ok, fail) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && ok());
    child.once('exit', (code) => fail(new Error(`listeners in ${g.ns} exited ${code}`)));
  });
  return child;
}

/**
 * A TCP connection from `ns` held for `seconds`, one byte written every 100 ms:
 * when each echo came back (ms since the epoch), and how many bytes were written.
 */
export async function heldTcp(h: NetnsHarness, ns: string, ip: string, port: number, seconds: number): Promise<{ sent: number; echoes: number[]; error?: string }> {
  const script = `
    const s = require('node:net').connect(${port}, ${JSON.stringify(ip)});
    const r = { sent: 0, echoes: [] };
    s.on('connect', () => setInterval(() => { s.write('x'); r.sent++; }, 100));
    s.on('data', (d) => { for (let i = 0; i < d.length; i++) r.echoes.push(Date.now()); });
    s.on('error', (e) => { r.error = e.code; });
    setTimeout(() => { console.log(JSON.stringify(r)); process.exit(0); }, ${seconds * 1000});`;
  return JSON.parse(await h.mustExec(ns, process.execPath, ['-e', script], { timeoutMs: seconds * 1000 + 10_000 }));
}
